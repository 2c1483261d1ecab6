import CXML2
import TraceModel

/// Wireshark's PDML (`tshark -T pdml`): every packet's full dissection as XML.
///
/// ```
/// <packet>
///   <proto name="geninfo"> <field name="num" show="3"/> <field name="timestamp" value="1795801439.409866000"/> …
///   <proto name="ip"> <field name="ip.src" show="10.99.0.1"/> <field name="ip.id" show="0x5017"/> …
///   <proto name="tcp"> <field name="tcp.srcport" show="41001"/> <field name="tcp.seq" show="0"/>
///                      <field name="tcp.seq_raw" show="1876041229"/> <field name="tcp.flags" show="0x0002"/> …
/// ```
/// Read with libxml2's push parser (SAX), chunk by chunk: memory stays flat however long the file.
/// A field's first occurrence in a packet wins (an ICMP error quotes the IP header it answers later on).
/// Wireshark's own analysis (`tcp.analysis.*`) becomes the expert bits.
public struct PDML: CaptureParser {
    public static let id = "pdml"
    public static let summary = "Wireshark PDML (tshark -T pdml), read as a stream"

    /// What the SAX callbacks fill: the fields of the packet being read.
    final class State {
        var fields: [String: String] = [:]
        var protocols: [String] = []
        var inPacket = false
        var done: [([String: String], [String])] = []
        var depth = 0
    }

    private let state = State()
    private var ctxt: xmlParserCtxtPtr?
    private var handler = xmlSAXHandler()
    private var digits = 0
    private var failed = false
    private var offset = 0

    /// The fields read from each packet (nothing else is kept).
    static let wanted: Set<String> = [
        "num", "timestamp", "frame.len", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.id", "ip.proto", "ipv6.nxt",
        "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq", "tcp.seq_raw", "tcp.ack", "tcp.ack_raw", "tcp.len",
        "tcp.window_size", "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr", "tcp.options.mss_val",
        "udp.srcport", "udp.dstport", "udp.length", "eth.src", "eth.dst", "arp.src.proto_ipv4", "arp.dst.proto_ipv4",
        "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission",
        "tcp.analysis.out_of_order", "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment",
        "tcp.analysis.duplicate_ack_num", "tcp.analysis.zero_window", "tcp.analysis.window_full",
        "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack", "tcp.analysis.window_update",
        "tcp.analysis.zero_window_probe", "tcp.analysis.zero_window_probe_ack",
    ]

    public init(context: ParseContext) {
        handler.initialized = XML_SAX2_MAGIC
        handler.startElementNs = { ctx, localname, _, _, _, _, nbAttributes, _, attributes in
            guard let ctx, let localname else { return }
            let st = Unmanaged<State>.fromOpaque(ctx).takeUnretainedValue()
            let name = String(cString: localname)
            var attrs: [String: String] = [:]
            if let attributes, nbAttributes > 0 {
                // Five pointers per attribute: localname, prefix, URI, value start, value end.
                for i in 0..<Int(nbAttributes) {
                    guard let key = attributes[5 * i], let vs = attributes[5 * i + 3], let ve = attributes[5 * i + 4] else { continue }
                    let k = String(cString: key)
                    guard k == "name" || k == "show" || k == "value" else { continue }
                    attrs[k] = String(decoding: UnsafeBufferPointer(start: vs, count: ve - vs), as: UTF8.self)
                }
            }
            switch name {
            case "packet":
                st.inPacket = true
                st.fields = [:]
                st.protocols = []
            case "proto":
                if st.inPacket, let n = attrs["name"] { st.protocols.append(n) }
            case "field":
                guard st.inPacket, let n = attrs["name"], PDML.wanted.contains(n) else { return }
                // After an ICMP header, IP and transport fields are those of the packet an error quotes.
                let key = st.protocols.contains("icmp") || st.protocols.contains("icmpv6")
                    ? (n.hasPrefix("icmp") ? n : "quoted." + n) : n
                guard st.fields[key] == nil else { return }
                st.fields[key] = n == "timestamp" ? (attrs["value"] ?? attrs["show"] ?? "") : (attrs["show"] ?? attrs["value"] ?? "")
            default:
                break
            }
        }
        handler.endElementNs = { ctx, localname, _, _ in
            guard let ctx, let localname else { return }
            let st = Unmanaged<State>.fromOpaque(ctx).takeUnretainedValue()
            if strcmp(localname, "packet") == 0 && st.inPacket {
                st.inPacket = false
                st.done.append((st.fields, st.protocols))
            }
        }
    }

    public static func sniff(_ head: [UInt8]) -> Double {
        let text = String(decoding: head.prefix(2048), as: UTF8.self)
        return text.hasPrefix("<?xml") && text.contains("<pdml") ? 1 : 0
    }

    public mutating func consume(_ chunk: UnsafeBufferPointer<UInt8>, into sink: CaptureSink) {
        guard !failed else { return }
        let ctx = Unmanaged.passUnretained(state).toOpaque()
        let rc: Int32 = chunk.withMemoryRebound(to: CChar.self) { c in
            if ctxt == nil {
                ctxt = xmlCreatePushParserCtxt(&handler, ctx, c.baseAddress, Int32(c.count), nil)
                return ctxt == nil ? -1 : 0
            }
            return xmlParseChunk(ctxt, c.baseAddress, Int32(c.count), 0)
        }
        offset += chunk.count
        if rc != 0 { fail(sink) }
        drain(sink)
    }

    public mutating func finish(into sink: CaptureSink) -> SourceFacts {
        if let ctxt, !failed {
            if xmlParseChunk(ctxt, nil, 0, 1) != 0 { fail(sink) }
        }
        drain(sink)
        if let ctxt { xmlFreeParserCtxt(ctxt) }
        ctxt = nil
        var facts = SourceFacts()
        facts.timeBasis = .absolute
        facts.timeDigits = digits
        return facts
    }

    private mutating func fail(_ sink: CaptureSink) {
        failed = true
        let line = ctxt.map { Int(xmlSAX2GetLineNumber($0)) } ?? 0
        let message = xmlGetLastError().flatMap { $0.pointee.message }.map { String(cString: $0).trimmingTrailingNewlines() } ?? "malformed XML"
        sink.unparsed(UnparsedLine(line: line, reason: "XML error at line \(line): \(message); the rest of the file is not read", raw: ""))
    }

    private mutating func drain(_ sink: CaptureSink) {
        for (f, protos) in state.done { emit(f, protos, sink) }
        state.done.removeAll(keepingCapacity: true)
    }

    private var text = TextBuilder()

    private mutating func emit(_ f: [String: String], _ protos: [String], _ sink: CaptureSink) {
        guard let num = f["num"].flatMap({ Int64($0) }), let tsText = f["timestamp"] else { return }
        var ts: Int64 = 0
        var d = 0
        Array(tsText.utf8).withUnsafeBufferPointer { b in
            if let v = b.decimalSeconds(0, b.count) { ts = v.ns; d = v.digits }
        }
        digits = max(digits, d)
        var r = EventRecord(line: Int(num), ordinal: num, ts: ts, kind: .packet, rawAt: 0, rawLen: 0)
        func int(_ k: String) -> Int64? {
            guard let v = f[k] else { return nil }
            return v.hasPrefix("0x") ? Int64(v.dropFirst(2), radix: 16) : Int64(v)
        }
        r.frameLen = int("frame.len") ?? EventRecord.none
        if let s = f["ip.src"] ?? f["ipv6.src"], let a = Address(ip: s) { r.src = a }
        if let s = f["ip.dst"] ?? f["ipv6.dst"], let a = Address(ip: s) { r.dst = a }
        if r.src == nil, let s = f["arp.src.proto_ipv4"] { r.src = .name(f["eth.src"] ?? s) }
        if r.dst == nil, f["arp.dst.proto_ipv4"] != nil {
            // Wireshark's columns (and a capture read here) name the all-ones MAC "Broadcast".
            let mac = f["eth.dst"] ?? "ff:ff:ff:ff:ff:ff"
            r.dst = .name(mac == "ff:ff:ff:ff:ff:ff" ? "Broadcast" : mac)
        }
        r.ipID = int("ip.id") ?? EventRecord.none
        // The last protocol Wireshark named is the one its Protocol column shows — except in an ICMP
        // error, whose column stays ICMP while the packet it quotes is dissected after it.
        let icmp = protos.first(where: { $0 == "icmp" || $0 == "icmpv6" })
        let label = icmp.map { $0 == "icmp" ? "ICMP" : "ICMPv6" }
            ?? (protos.last(where: { !["geninfo", "frame", "eth", "fake-field-wrapper", "_ws.malformed"].contains($0) }) ?? "frame").uppercased()
        r.label = label
        if icmp != nil, let qs = f["quoted.ip.src"] ?? f["quoted.ipv6.src"], let qd = f["quoted.ip.dst"] ?? f["quoted.ipv6.dst"],
           let a = Address(ip: qs), let b = Address(ip: qd) {
            // An error belongs to the flow it quotes, seen from that flow's far end (as a capture reads it);
            // who reported it stays in attrs.
            if let reporter = r.src { r.attrs = "{\"icmp_from\":\"\(reporter.text)\"}" }
            r.src = b; r.dst = a
            r.proto = icmp == "icmp" ? IPProto.icmp : IPProto.icmpv6
            if let sp = int("quoted.udp.srcport"), let dp = int("quoted.udp.dstport") {
                r.proto = IPProto.udp; r.srcPort = Int32(dp); r.dstPort = Int32(sp)
            } else if let sp = int("quoted.tcp.srcport"), let dp = int("quoted.tcp.dstport") {
                r.proto = IPProto.tcp; r.srcPort = Int32(dp); r.dstPort = Int32(sp)
            }
        } else if let sp = int("tcp.srcport"), let dp = int("tcp.dstport") {
            r.proto = IPProto.tcp
            r.srcPort = Int32(sp); r.dstPort = Int32(dp)
            r.flags = Int(int("tcp.flags") ?? 0) & 0xFF
            r.seq = int("tcp.seq") ?? EventRecord.none
            r.seqRaw = int("tcp.seq_raw") ?? EventRecord.none
            if r.flags & TCPFlags.ack.rawValue != 0 {
                r.ack = int("tcp.ack") ?? EventRecord.none
                r.ackRaw = int("tcp.ack_raw") ?? EventRecord.none
            }
            r.len = int("tcp.len") ?? EventRecord.none
            r.win = int("tcp.window_size") ?? EventRecord.none
            r.tsval = int("tcp.options.timestamp.tsval") ?? EventRecord.none
            r.tsecr = int("tcp.options.timestamp.tsecr") ?? EventRecord.none
            r.mss = int("tcp.options.mss_val") ?? EventRecord.none
            var e = TCPExpert()
            if f["tcp.analysis.retransmission"] != nil { e.insert(.retransmission) }
            if f["tcp.analysis.out_of_order"] != nil { e.insert(.outOfOrder) }
            if f["tcp.analysis.window_update"] != nil { e.insert(.windowUpdate) }
            if f["tcp.analysis.zero_window_probe"] != nil { e.insert(.zeroWindowProbe) }
            if f["tcp.analysis.zero_window_probe_ack"] != nil { e.insert(.zeroWindowProbeAck) }
            if f["tcp.analysis.fast_retransmission"] != nil { e.insert([.retransmission, .fastRetransmission]) }
            if f["tcp.analysis.spurious_retransmission"] != nil { e.insert([.retransmission, .spuriousRetransmission]) }
            if f["tcp.analysis.lost_segment"] != nil { e.insert(.previousSegmentLost) }
            if f["tcp.analysis.ack_lost_segment"] != nil { e.insert(.ackedLostSegment) }
            if f["tcp.analysis.duplicate_ack_num"] != nil { e.insert(.dupAck) }
            if f["tcp.analysis.zero_window"] != nil { e.insert(.zeroWindow) }
            if f["tcp.analysis.window_full"] != nil { e.insert(.windowFull) }
            if f["tcp.analysis.keep_alive"] != nil { e.insert(.keepAlive) }
            if f["tcp.analysis.keep_alive_ack"] != nil { e.insert(.keepAliveAck) }
            r.expert = e.rawValue
        } else if let sp = int("udp.srcport"), let dp = int("udp.dstport") {
            r.proto = IPProto.udp
            r.srcPort = Int32(sp); r.dstPort = Int32(dp)
            if let l = int("udp.length") { r.len = max(0, l - 8) }
        } else if protos.contains("icmp") {
            r.proto = IPProto.icmp
        } else if protos.contains("icmpv6") {
            r.proto = IPProto.icmpv6
        }
        // The stored line: `frame LABEL src → dst [FLAGS] Seq= Ack= Win= Len=`.
        text.reset()
        text.append(num); text.append(" "); text.append(text: label); text.append(" ")
        let summaryAt = text.count
        if let s = r.srcEndpoint { text.append(text: s.text) }
        text.append(" → ")
        if let d = r.dstEndpoint { text.append(text: d.text) }
        if r.proto == IPProto.tcp {
            text.append(" ["); text.appendFlags(r.flags); text.append("] Seq="); text.append(r.seq)
            if r.ack != EventRecord.none { text.append(" Ack="); text.append(r.ack) }
            text.append(" Win="); text.append(r.win); text.append(" Len="); text.append(r.len)
        }
        let len = text.count
        text.append("\n")
        r.rawAt = text.withBytes { sink.appendText($0) }
        r.rawLen = len
        r.summaryAt = summaryAt
        sink.emit(r)
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
