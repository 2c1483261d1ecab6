import TraceModel

/// Where a capture parser puts what it read: records, unparsed regions, and the text it writes for
/// each packet (a one-line summary, since a capture has no text of its own).
public protocol CaptureSink: RecordSink {
    /// Appends a packet's summary line (UTF-8) to the source's text; returns where it starts (the record's `rawAt`).
    func appendText(_ text: UnsafeBufferPointer<UInt8>) -> Int64
    /// Every packet's bytes as captured, before decoding (`export --format pcapng` writes them again).
    func rawPacket(ts: Int64, linkType: UInt32, data: UnsafeBufferPointer<UInt8>, wireLength: Int)
}

extension CaptureSink {
    public func rawPacket(ts: Int64, linkType: UInt32, data: UnsafeBufferPointer<UInt8>, wireLength: Int) {}
}

/// The contract of a binary capture parser (pcap, pcapng).
///
/// Like `LineParser`, it streams: `consume` gets the file's bytes in chunks of any size, keeps what an
/// unfinished block needs, and produces the same records however the chunks fall. Bytes it cannot read
/// are reported (`UnparsedLine` with the byte offset in `line`, the reason saying so), never dropped
/// silently, and reading goes on where it can.
public protocol CaptureParser {
    static var id: String { get }
    static var summary: String { get }
    /// Confidence in 0…1 from the first bytes (magic numbers).
    static func sniff(_ head: [UInt8]) -> Double

    init(context: ParseContext)
    mutating func consume(_ chunk: UnsafeBufferPointer<UInt8>, into sink: CaptureSink)
    mutating func finish(into sink: CaptureSink) -> SourceFacts
}

/// Bounds-checked little/big-endian reads over a byte buffer: nil on short input, so a truncated
/// capture ends cleanly (as NIO's `readInteger` does).
struct ByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let bigEndian: Bool

    @inline(__always) func u8(_ at: Int) -> UInt8? { at >= 0 && at < bytes.count ? bytes[at] : nil }

    @inline(__always) func u16(_ at: Int) -> UInt16? {
        guard at >= 0, at + 2 <= bytes.count else { return nil }
        let a = UInt16(bytes[at]), b = UInt16(bytes[at + 1])
        return bigEndian ? a << 8 | b : b << 8 | a
    }

    @inline(__always) func u32(_ at: Int) -> UInt32? {
        guard at >= 0, at + 4 <= bytes.count else { return nil }
        let b0 = UInt32(bytes[at]), b1 = UInt32(bytes[at + 1]), b2 = UInt32(bytes[at + 2]), b3 = UInt32(bytes[at + 3])
        return bigEndian ? b0 << 24 | b1 << 16 | b2 << 8 | b3 : b3 << 24 | b2 << 16 | b1 << 8 | b0
    }
}

/// Network byte order, as every protocol header inside a packet is.
extension UnsafeBufferPointer where Element == UInt8 {
    @inline(__always) func be16(_ at: Int) -> UInt16? {
        guard at >= 0, at + 2 <= count else { return nil }
        return UInt16(self[at]) << 8 | UInt16(self[at + 1])
    }

    @inline(__always) func be32(_ at: Int) -> UInt32? {
        guard at >= 0, at + 4 <= count else { return nil }
        return UInt32(self[at]) << 24 | UInt32(self[at + 1]) << 16 | UInt32(self[at + 2]) << 8 | UInt32(self[at + 3])
    }
}
