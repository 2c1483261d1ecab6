import TraceModel

/// pcapng (Wireshark's default since 1.8; draft-ietf-opsawg-pcapng).
///
/// ```
/// block: type (4), total length (4), body, total length (4) again; lengths are multiples of 4
/// SHB 0x0A0D0D0A: byte-order magic 0x1A2B3C4D, version, section length, options
/// IDB 1: link type (2), reserved (2), snaplen (4), options (if_name 2, if_tsresol 9, if_tsoffset 14)
/// EPB 6: interface id, timestamp high, low, captured length, original length, data, options
/// SPB 3: original length, data (interface 0)
/// ```
/// Several sections and interfaces per file; each interface has its own link type and time
/// resolution. Name resolution blocks give host names for addresses (the endpoints' names); other blocks
/// (statistics, custom) are stepped over.
public struct Pcapng: CaptureParser, CaptureRecordReader {
    public static let id = "pcapng"
    public static let summary = "pcapng capture (Wireshark, dumpcap, tshark -w)"

    private struct Interface {
        var linkType: UInt32
        var snaplen: Int
        /// Units per second of its timestamps and whether they are a power of 2 (if_tsresol).
        var resolution: (exponent: Int, binary: Bool) = (6, false)
        var offsetSeconds: Int64 = 0
    }

    var stream = CaptureStream()
    private var bigEndian: Bool? = nil
    private var interfaces: [Interface] = []
    private var failed = false

    public init(context: ParseContext) {}

    public static func sniff(_ head: [UInt8]) -> Double {
        guard head.count >= 12, head[0] == 0x0A, head[1] == 0x0D, head[2] == 0x0D, head[3] == 0x0A else { return 0 }
        let m = Array(head[8..<12])
        return m == [0x1A, 0x2B, 0x3C, 0x4D] || m == [0x4D, 0x3C, 0x2B, 0x1A] ? 1 : 0
    }

    public mutating func consume(_ chunk: UnsafeBufferPointer<UInt8>, into sink: CaptureSink) {
        feed(chunk, into: sink)
    }

    mutating func read(_ b: UnsafeBufferPointer<UInt8>, _ sink: CaptureSink) -> Int {
        if failed { return b.count }
        var at = 0
        while at + 12 <= b.count {
            // A section header fixes the byte order of everything up to the next one.
            if b[at] == 0x0A && b[at + 1] == 0x0D && b[at + 2] == 0x0D && b[at + 3] == 0x0A {
                if b[at + 8] == 0x1A && b[at + 9] == 0x2B { bigEndian = true } else if b[at + 8] == 0x4D && b[at + 9] == 0x3C { bigEndian = false } else {
                    return fail(at, "section header with a bad byte-order magic", sink, b.count)
                }
                interfaces = []
            }
            guard let be = bigEndian else { return fail(at, "not a pcapng file (no section header)", sink, b.count) }
            let r = ByteReader(bytes: b, bigEndian: be)
            let type = r.u32(at)!
            let len = Int(r.u32(at + 4)!)
            guard len >= 12, len % 4 == 0, len <= 256 << 20 else {
                return fail(at, "block length \(len) is not valid; the rest of the file is skipped", sink, b.count)
            }
            guard at + len <= b.count else { break }
            block(type, r, at, len, sink)
            at += len
        }
        return at
    }

    private mutating func fail(_ at: Int, _ why: String, _ sink: CaptureSink, _ all: Int) -> Int {
        sink.unparsed(UnparsedLine(line: stream.bufferOffset + at, reason: "byte offset \(stream.bufferOffset + at): \(why)", raw: ""))
        failed = true
        return all
    }

    /// The smallest length each block type can have (its fixed fields and the trailing length).
    static func minimumLength(_ type: UInt32) -> Int {
        switch type {
        case 1: return 20
        case 3: return 16
        case 6: return 32
        default: return 12
        }
    }

    private mutating func block(_ type: UInt32, _ r: ByteReader, _ at: Int, _ len: Int, _ sink: CaptureSink) {
        let offset = stream.bufferOffset + at
        guard len >= Pcapng.minimumLength(type) else {
            sink.unparsed(UnparsedLine(line: offset, reason: "byte offset \(offset): block of type \(type) is \(len) bytes, too short for its fields; skipped", raw: ""))
            return
        }
        switch type {
        case 1:
            var iface = Interface(linkType: UInt32(r.u16(at + 8)!), snaplen: Int(r.u32(at + 12)!))
            var o = at + 16
            let end = at + len - 4
            while o + 4 <= end, let code = r.u16(o), let olen = r.u16(o + 2), code != 0 {
                if code == 9, let v = r.u8(o + 4) { iface.resolution = (Int(v & 0x7F), v & 0x80 != 0) }
                if code == 14, let lo = r.u32(o + 4), let hi = r.u32(o + 8) {
                    iface.offsetSeconds = Int64(bitPattern: r.bigEndian ? UInt64(lo) << 32 | UInt64(hi) : UInt64(hi) << 32 | UInt64(lo))
                }
                o += 4 + (Int(olen) + 3) / 4 * 4
            }
            interfaces.append(iface)
            if !iface.resolution.binary { stream.digits = max(stream.digits, min(iface.resolution.exponent, 9)) }
        case 6:
            let id = Int(r.u32(at + 8)!)
            guard id < interfaces.count else {
                sink.unparsed(UnparsedLine(line: offset, reason: "byte offset \(offset): packet of interface \(id), which no interface block described", raw: ""))
                return
            }
            let iface = interfaces[id]
            let ts = UInt64(r.u32(at + 12)!) << 32 | UInt64(r.u32(at + 16)!)
            let cap = Int(r.u32(at + 20)!), orig = Int(r.u32(at + 24)!)
            guard 28 + cap <= len - 4 else {
                sink.unparsed(UnparsedLine(line: offset, reason: "byte offset \(offset): packet longer than its block", raw: ""))
                return
            }
            // Options after the (padded) data: comments (opt_comment, code 1) stay with the packet.
            var comment: String? = nil
            var o = at + 28 + (cap + 3) / 4 * 4
            while o + 4 <= at + len - 4, let code = r.u16(o), let olen = r.u16(o + 2), code != 0 {
                let end = o + 4 + Int(olen)
                guard end <= at + len - 4 else { break }
                if code == 1 { comment = String(decoding: UnsafeBufferPointer(rebasing: r.bytes[(o + 4)..<end]), as: UTF8.self) }
                o += 4 + (Int(olen) + 3) / 4 * 4
            }
            stream.packet(UnsafeBufferPointer(rebasing: r.bytes[(at + 28)..<(at + 28 + cap)]), linkType: iface.linkType, wireLength: orig,
                          ts: Pcapng.nanoseconds(ts, iface), offset: offset, sink: sink, comment: comment)
        case 3:
            guard let iface = interfaces.first else { return }
            let orig = Int(r.u32(at + 8)!)
            let cap = min(orig, len - 16, iface.snaplen > 0 ? iface.snaplen : Int.max)
            // Simple packet blocks carry no time: they sit at the interface's offset.
            stream.packet(UnsafeBufferPointer(rebasing: r.bytes[(at + 12)..<(at + 12 + cap)]), linkType: iface.linkType, wireLength: orig,
                          ts: iface.offsetSeconds * 1_000_000_000, offset: offset, sink: sink)
        case 4:
            nameResolution(r, at, len, sink)
        default:
            break // section header (handled above), statistics, custom: nothing to show yet
        }
    }

    /// A name resolution block: records of an IPv4 (type 1) or IPv6 (type 2) address followed by one or
    /// more zero-terminated names, until the end record (type 0); options after it are not names.
    private func nameResolution(_ r: ByteReader, _ at: Int, _ len: Int, _ sink: CaptureSink) {
        var o = at + 8
        let end = at + len - 4
        while o + 4 <= end, let type = r.u16(o), let rlen = r.u16(o + 2), type != 0 {
            let valueEnd = o + 4 + Int(rlen)
            guard valueEnd <= end else { break }
            let size = type == 1 ? 4 : type == 2 ? 16 : 0
            if size > 0 && Int(rlen) > size {
                let raw = UnsafeBufferPointer(rebasing: r.bytes[(o + 4)..<(o + 4 + size)])
                let address: Address = size == 4
                    ? .v4(raw.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                    : .v6(raw.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, raw.dropFirst(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                for name in r.bytes[(o + 4 + size)..<valueEnd].split(separator: 0) where !name.isEmpty {
                    sink.hostName(address, String(decoding: name, as: UTF8.self))
                }
            }
            o += 4 + (Int(rlen) + 3) / 4 * 4
        }
    }

    private static func nanoseconds(_ ts: UInt64, _ iface: Interface) -> Int64 {
        // Wrapping arithmetic throughout: a damaged file may claim any resolution and any time, and
        // must give a wrong time rather than a crash.
        let (e, binary) = iface.resolution
        var ns: Int64
        if binary {
            let shift = UInt64(min(e, 63))
            let whole = ts >> shift, frac = ts & ((1 << shift) &- 1)
            let fracNS = frac.multipliedFullWidth(by: 1_000_000_000)
            ns = Int64(truncatingIfNeeded: whole) &* 1_000_000_000 &+ Int64(truncatingIfNeeded: (fracNS.low >> shift) | (shift == 0 ? 0 : fracNS.high << (64 - shift)))
        } else if e <= 9 {
            var m: Int64 = 1
            for _ in e..<9 { m *= 10 }
            ns = Int64(truncatingIfNeeded: ts) &* m
        } else {
            var d: UInt64 = 1
            for _ in 9..<min(e, 28) { d = d &* 10 }
            ns = Int64(truncatingIfNeeded: ts / max(d, 1))
        }
        return ns &+ iface.offsetSeconds &* 1_000_000_000
    }

    public mutating func finish(into sink: CaptureSink) -> SourceFacts {
        if !failed { stream.finish(into: sink, what: "block") }
        return stream.facts
    }
}
