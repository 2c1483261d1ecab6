import Foundation
import TraceModel
import Parsers
import EventStore

/// Every capture source (pcap, pcapng) read again from its file and written as one pcapng on the aligned
/// clock: one interface per capture point (named after its host and file), packets in aligned time order,
/// so Wireshark shows the capture points' packets interleaved as they really happened.
/// (The packets are held in memory while merging: fine for case-sized captures, not for a fleet's.)
enum PcapngExport {
    struct Packet { var ts: Int64; var interface: UInt32; var data: [UInt8]; var wireLength: Int }

    /// Collects what a capture parser reads, raw.
    final class RawSink: CaptureSink {
        var packets: [Packet] = []
        var linkTypes: Set<UInt32> = []
        let interface: UInt32
        let clock: SourceClock
        init(interface: UInt32, clock: SourceClock) { self.interface = interface; self.clock = clock }
        func appendText(_ text: UnsafeBufferPointer<UInt8>) -> Int64 { 0 }
        func emit(_ record: EventRecord) {}
        func unparsed(_ line: UnparsedLine) {}
        func rawPacket(ts: Int64, linkType: UInt32, data: UnsafeBufferPointer<UInt8>, wireLength: Int) {
            linkTypes.insert(linkType)
            packets.append(Packet(ts: clock.aligned(ts), interface: interface, data: Array(data), wireLength: wireLength))
        }
    }

    /// Writes the merged file; returns (interfaces, packets) written and the sources it could not read again.
    static func write(_ store: Store, to out: FileHandle) throws -> (interfaces: Int, packets: Int, skipped: [String]) {
        var sinks: [(SourceInfo, RawSink)] = []
        var skipped: [String] = []
        for s in try store.sources() where s.format == Pcap.id || s.format == Pcapng.id {
            guard let input = inputFile(s.path), FileManager.default.fileExists(atPath: input.path) else { skipped.append(s.path); continue }
            let sink = RawSink(interface: UInt32(sinks.count), clock: s.clock)
            let context = ParseContext(path: s.path)
            if s.format == Pcap.id {
                var p = Pcap(context: context)
                try input.read { chunk in p.consume(chunk, into: sink); return true }
                _ = p.finish(into: sink)
            } else {
                var p = Pcapng(context: context)
                try input.read { chunk in p.consume(chunk, into: sink); return true }
                _ = p.finish(into: sink)
            }
            sinks.append((s, sink))
        }
        var w = PcapngWriter()
        w.sectionHeader()
        for (s, sink) in sinks {
            // One link type per interface: the capture's (a pcap has one; a pcapng's several are rare in cases).
            w.interface(linkType: sink.linkTypes.min() ?? 1, name: "\(s.host) (\((s.path as NSString).lastPathComponent))")
        }
        out.write(w.take())
        let all = sinks.flatMap { $0.1.packets }.sorted { ($0.ts, $0.interface) < ($1.ts, $1.interface) }
        for (i, p) in all.enumerated() {
            w.packet(interface: p.interface, ts: p.ts, data: p.data, wireLength: p.wireLength)
            if i % 4096 == 4095 { out.write(w.take()) }
        }
        out.write(w.take())
        return (sinks.count, all.count, skipped)
    }

    /// The file a source was read from: a path, or `archive.zip!/member`.
    static func inputFile(_ path: String) -> InputFile? {
        if let r = path.range(of: "!/") { return InputFile(path: String(path[..<r.lowerBound]), container: .zipMember(String(path[r.upperBound...]))) }
        return InputFile(path: path, container: path.hasSuffix(".gz") ? .gzip : .plain)
    }
}

/// pcapng blocks, little-endian: section header, interface descriptions with nanosecond timestamps,
/// enhanced packet blocks (the pcapng draft, sections 4.1, 4.2, 4.3).
struct PcapngWriter {
    private var buf: [UInt8] = []

    mutating func take() -> Data { defer { buf.removeAll(keepingCapacity: true) }; return Data(buf) }

    private mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { buf += $0 } }
    private mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { buf += $0 } }
    private mutating func pad() { while buf.count % 4 != 0 { buf.append(0) } }

    /// A block: type, total length, body, total length again.
    private mutating func block(_ type: UInt32, _ body: (inout PcapngWriter) -> Void) {
        let start = buf.count
        u32(type); u32(0)
        body(&self)
        pad()
        let total = UInt32(buf.count - start + 4)
        u32(total)
        withUnsafeBytes(of: total.littleEndian) { for k in 0..<4 { buf[start + 4 + k] = $0[k] } }
    }

    private mutating func option(_ code: UInt16, _ value: [UInt8]) {
        u16(code); u16(UInt16(value.count)); buf += value; pad()
    }

    mutating func sectionHeader() {
        block(0x0A0D_0D0A) { w in
            w.u32(0x1A2B_3C4D); w.u16(1); w.u16(0)
            w.u32(0xFFFF_FFFF); w.u32(0xFFFF_FFFF)     // section length unknown
            w.option(4, Array("tracejoin (aligned clock)".utf8))   // shb_userappl
            w.u16(0); w.u16(0)
        }
    }

    mutating func interface(linkType: UInt32, name: String) {
        block(1) { w in
            w.u16(UInt16(truncatingIfNeeded: linkType)); w.u16(0); w.u32(0)
            w.option(2, Array(name.utf8))          // if_name
            w.option(9, [9])                        // if_tsresol: 10^-9 s
            w.u16(0); w.u16(0)
        }
    }

    mutating func packet(interface: UInt32, ts: Int64, data: [UInt8], wireLength: Int) {
        block(6) { w in
            let t = UInt64(bitPattern: ts)
            w.u32(interface); w.u32(UInt32(t >> 32)); w.u32(UInt32(t & 0xFFFF_FFFF))
            w.u32(UInt32(data.count)); w.u32(UInt32(max(wireLength, data.count)))
            w.buf += data
        }
    }
}
