import TraceModel

/// Classic libpcap files (tcpdump -w, Wireshark "pcap").
///
/// ```
/// global header: magic a1b2c3d4 (µs) or a1b23c4d (ns), either byte order; version 2.4;
///                thiszone, sigfigs, snaplen, network (link type)         — 24 bytes
/// record header: ts_sec, ts_usec|ts_nsec, incl_len, orig_len           — 16 bytes, then incl_len bytes
/// ```
/// Snaplen-cut packets decode as far as their bytes go; a last record cut short is reported with its
/// byte offset.
public struct Pcap: CaptureParser, CaptureRecordReader {
    public static let id = "pcap"
    public static let summary = "libpcap capture (tcpdump -w), microsecond or nanosecond, either byte order"

    var stream = CaptureStream()
    private var header: (bigEndian: Bool, nano: Bool, linkType: UInt32)? = nil

    public init(context: ParseContext) {}

    static func magic(_ b: [UInt8]) -> (bigEndian: Bool, nano: Bool)? {
        guard b.count >= 4 else { return nil }
        switch (b[0], b[1], b[2], b[3]) {
        case (0xD4, 0xC3, 0xB2, 0xA1): return (false, false)
        case (0xA1, 0xB2, 0xC3, 0xD4): return (true, false)
        case (0x4D, 0x3C, 0xB2, 0xA1): return (false, true)
        case (0xA1, 0xB2, 0x3C, 0x4D): return (true, true)
        default: return nil
        }
    }

    public static func sniff(_ head: [UInt8]) -> Double { magic(head) == nil ? 0 : 1 }

    public mutating func consume(_ chunk: UnsafeBufferPointer<UInt8>, into sink: CaptureSink) {
        feed(chunk, into: sink)
    }

    /// Reads whole records from `b`; returns how many bytes it used.
    mutating func read(_ b: UnsafeBufferPointer<UInt8>, _ sink: CaptureSink) -> Int {
        var at = 0
        if header == nil {
            guard b.count >= 24 else { return 0 }
            guard let (be, nano) = Pcap.magic(Array(b[0..<4])) else {
                sink.unparsed(UnparsedLine(line: 0, reason: "byte offset 0: not a pcap file (bad magic)", raw: ""))
                header = (false, false, UInt32.max)
                return b.count
            }
            header = (be, nano, ByteReader(bytes: b, bigEndian: be).u32(20)!)
            stream.digits = nano ? 9 : 6
            at = 24
        }
        guard let h = header, h.linkType != UInt32.max else { return b.count }
        let r = ByteReader(bytes: b, bigEndian: h.bigEndian)
        while at + 16 <= b.count {
            let sec = Int64(r.u32(at)!), frac = Int64(r.u32(at + 4)!)
            let incl = Int(r.u32(at + 8)!), orig = Int(r.u32(at + 12)!)
            if incl > 256 << 20 {
                // A record claiming hundreds of MiB: the file is damaged here; nothing after is trustworthy.
                sink.unparsed(UnparsedLine(line: stream.bufferOffset + at, reason: "byte offset \(stream.bufferOffset + at): record length \(incl) is not plausible; the rest of the file is skipped", raw: ""))
                header = (h.bigEndian, h.nano, UInt32.max)
                return b.count
            }
            guard at + 16 + incl <= b.count else { break }
            let ts = sec * 1_000_000_000 + (h.nano ? frac : frac * 1000)
            stream.packet(UnsafeBufferPointer(rebasing: b[(at + 16)..<(at + 16 + incl)]), linkType: h.linkType,
                          wireLength: orig, ts: ts, offset: stream.bufferOffset + at, sink: sink)
            at += 16 + incl
        }
        return at
    }

    public mutating func finish(into sink: CaptureSink) -> SourceFacts {
        stream.finish(into: sink, what: "packet record")
        return stream.facts
    }
}
