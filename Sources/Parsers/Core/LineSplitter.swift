#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts a stream of byte chunks into lines, however the chunks fall.
///
/// Lines wholly inside a chunk are handed out in place (no copy); only the unfinished tail of a chunk is
/// carried into the next one, as NIO's `LineBasedFrameDecoder` does. CR before LF is dropped, a UTF-8
/// BOM is skipped, and UTF-16 input (Windows exports from Network Monitor and PowerShell write it with a
/// BOM) is transcoded to UTF-8 first. A line longer than `maxLine` is cut there and reported, so one
/// broken file cannot take all memory.
public struct LineSplitter {
    public static let defaultMaxLine = 8 << 20

    private var carry: [UInt8] = []
    /// Stream offset of the first carried byte.
    private var carryOffset: Int64 = 0
    /// Decoded bytes seen before the current piece.
    private var streamOffset: Int64 = 0
    /// Receives the decoded stream (after BOM removal and UTF-16 transcoding), in order: records'
    /// `rawAt` offsets count in it, so whoever stores it can give every record its text back.
    public var onDecoded: ((UnsafeBufferPointer<UInt8>) -> Void)?
    private var lineNumber = 0
    private var atStart = true
    private var utf16LE: Bool? = nil // nil: not UTF-16; true: LE; false: BE
    private var utf16Carry: [UInt8] = []
    private let maxLine: Int
    /// Line numbers of lines that were cut at `maxLine`.
    public private(set) var cutLines: [Int] = []

    public init(maxLine: Int = LineSplitter.defaultMaxLine) {
        self.maxLine = maxLine
    }

    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ body: (Line) throws -> Void) rethrows {
        var data = chunk
        if atStart {
            if carry.isEmpty && data.count < 3 && data.count > 0 && (data[0] == 0xEF || data[0] == 0xFF || data[0] == 0xFE) {
                // Too short to tell a BOM: wait for more.
                carry.append(contentsOf: data)
                if carry.count < 3 { return }
                let c = carry
                carry = []
                try c.withUnsafeBufferPointer { try feed($0, body) }
                return
            }
            atStart = false
            if data.count >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
                data = UnsafeBufferPointer(rebasing: data[3...])
            } else if data.count >= 2 && data[0] == 0xFF && data[1] == 0xFE {
                utf16LE = true
                data = UnsafeBufferPointer(rebasing: data[2...])
            } else if data.count >= 2 && data[0] == 0xFE && data[1] == 0xFF {
                utf16LE = false
                data = UnsafeBufferPointer(rebasing: data[2...])
            }
        }
        if let le = utf16LE {
            let utf8 = transcodeUTF16(data, littleEndian: le)
            try utf8.withUnsafeBufferPointer { try split($0, body) }
        } else {
            try split(data, body)
        }
    }

    /// End of input: a last line without a newline is still a line.
    public mutating func finish(_ body: (Line) throws -> Void) rethrows {
        if !carry.isEmpty {
            lineNumber += 1
            var c = carry
            carry = []
            if c.last == 0x0D { c.removeLast() }
            try c.withUnsafeBufferPointer { try body(Line(bytes: $0, number: lineNumber, offset: carryOffset)) }
        }
    }

    private mutating func split(_ data: UnsafeBufferPointer<UInt8>, _ body: (Line) throws -> Void) rethrows {
        guard let base = data.baseAddress, data.count > 0 else { return }
        onDecoded?(data)
        defer { streamOffset += Int64(data.count) }
        var pos = 0
        let n = data.count
        while pos < n {
            let rest = n - pos
            guard let hit = memchr(base + pos, 0x0A, rest) else {
                if carry.isEmpty { carryOffset = streamOffset + Int64(pos) }
                carry.append(contentsOf: UnsafeBufferPointer(start: base + pos, count: rest))
                if carry.count > maxLine {
                    // Cut here rather than grow without bound; the rest of this line becomes the next one.
                    lineNumber += 1
                    cutLines.append(lineNumber)
                    let c = carry
                    carry = []
                    let at = carryOffset
                    carryOffset += Int64(c.count)
                    try c.withUnsafeBufferPointer { try body(Line(bytes: $0, number: lineNumber, offset: at)) }
                }
                return
            }
            let nl = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - base
            lineNumber += 1
            if carry.isEmpty {
                var end = nl
                if end > pos && base[end - 1] == 0x0D { end -= 1 }
                try body(Line(bytes: UnsafeBufferPointer(start: base + pos, count: end - pos), number: lineNumber, offset: streamOffset + Int64(pos)))
            } else {
                carry.append(contentsOf: UnsafeBufferPointer(start: base + pos, count: nl - pos))
                if carry.last == 0x0D { carry.removeLast() }
                let c = carry
                carry.removeAll(keepingCapacity: true)
                try c.withUnsafeBufferPointer { try body(Line(bytes: $0, number: lineNumber, offset: carryOffset)) }
            }
            pos = nl + 1
        }
    }

    private mutating func transcodeUTF16(_ data: UnsafeBufferPointer<UInt8>, littleEndian: Bool) -> [UInt8] {
        var bytes = utf16Carry
        bytes.append(contentsOf: data)
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var i = 0
        while i + 1 < bytes.count {
            let u = littleEndian ? UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 : UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
            units.append(u)
            i += 2
        }
        // Keep an odd byte and a dangling high surrogate for the next chunk.
        var keep = Array(bytes[i...])
        if let last = units.last, last >= 0xD800 && last < 0xDC00 {
            units.removeLast()
            keep = (littleEndian ? [UInt8(last & 0xff), UInt8(last >> 8)] : [UInt8(last >> 8), UInt8(last & 0xff)]) + keep
        }
        utf16Carry = keep
        var out: [UInt8] = []
        out.reserveCapacity(units.count)
        _ = transcode(units.makeIterator(), from: UTF16.self, to: UTF8.self, stoppingOnError: false) { out.append($0) }
        return out
    }
}
