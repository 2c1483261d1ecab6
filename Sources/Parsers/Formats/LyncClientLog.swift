import TraceModel

/// Lync/OCS client logs (Communicator-uccapi-*.uccapilog):
/// `12/10/2012|10:43:06.703 24F8:2648 INFO :: Sending Packet - 10.10.10.1:5061 (From Local Address: 10.98.2.1:51647) 2520 bytes:`
/// then the SIP message, its start line on the next stamped line (`… INFO :: INVITE sip:… SIP/2.0`) and its
/// headers and SDP on the lines after it, unstamped; `Data Received - R (To Local Address: L) N bytes:` the
/// same the other way. Each message is one SIP event (the attrs the other SIP parsers write) between the two
/// addresses the log gives, so it joins the TLS connection a capture shows; every other stamped line is a log
/// event. Times are the client's local clock, zone unknown unless `--tz` says it.
public struct LyncClientLog: LineParser {
    public static let id = "lync_client_log"
    public static let summary = "Lync/OCS client logs (MM/DD/YYYY|HH:MM:SS.mmm PID:TID LEVEL :: …): SIP messages sent and received with both addresses, other lines as log events"

    private let zoneOffsetNs: Int64
    private var count: Int64 = 0
    /// The `Sending Packet` / `Data Received` line waiting for its message.
    private var banner: (line: Int, offset: Int64, ts: Int64, sent: Bool, remote: Endpoint?, local: Endpoint?, bytes: Int64?)? = nil
    private var message: (record: EventRecord, sip: SIPDumpText.Message, sent: Bool, remote: Endpoint?, local: Endpoint?)? = nil

    public init(context: ParseContext) {
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
    }

    public static func sniff(_ head: SniffHead) -> Double {
        var n = 0, hits = 0, packets = 0
        for line in head.lines.prefix(50) where !line.isEmpty {
            n += 1
            guard stamp(Array(line.utf8)) != nil else { continue }
            hits += 1
            if line.contains(":: Sending Packet - ") || line.contains(":: Data Received - ") { packets += 1 }
        }
        // Its stamped lines are few where SIP messages fill the lines between them.
        return hits >= 1 && (packets > 0 || hits * 4 >= n) ? 0.85 : 0
    }

    /// `MM/DD/YYYY|HH:MM:SS.mmm PID:TID LEVEL :: ` → time (as written), level, where the text starts.
    static func stamp(_ b: [UInt8]) -> (ns: Int64, digits: Int, level: String, text: Int)? {
        guard b.count > 26, b[2] == UInt8(ascii: "/"), b[5] == UInt8(ascii: "/"), b[10] == UInt8(ascii: "|") else { return nil }
        return b.withUnsafeBufferPointer { p -> (Int64, Int, String, Int)? in
            guard let day = p.date(0, 10) else { return nil }
            var e = 11
            while e < p.count, p[e] != ASCII.space { e += 1 }
            guard let tod = p.timeOfDay(11, e) else { return nil }
            // ` PID:TID LEVEL :: `
            guard let sep = (e..<(p.count - 3)).first(where: { p[$0] == ASCII.space && p[$0 + 1] == ASCII.colon && p[$0 + 2] == ASCII.colon && p[$0 + 3] == ASCII.space })
            else { return nil }
            let words = p.string(e, sep).split(separator: " ")
            guard words.count == 2, words[0].contains(":") else { return nil }
            return (day * CivilTime.nsPerDay + tod.ns, tod.digits, String(words[1]), sep + 4)
        }
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        if line.isBlank { message?.sip.blank(); return }
        let b = Array(line.bytes)
        guard let st = LyncClientLog.stamp(b) else {
            // A header, SDP or body line of the message being read.
            guard var m = message else {
                sink.unparsed(UnparsedLine(line: line.number, reason: "not a Lync client log line (no MM/DD/YYYY|time PID:TID LEVEL ::)", raw: line.string))
                return
            }
            let p = line.bytes
            // A log that dropped the blank line before the SDP: `v=0` starts the body.
            if !m.sip.inBody, p.count > 1, p[1] == UInt8(ascii: "="), ASCII.isLetter(p[0]), SIPStackText.fieldColon(p) == nil { m.sip.blank() }
            m.sip.read(p, offset: Int(line.offset - m.record.rawAt))
            m.record.rawLen = Int(line.offset - m.record.rawAt) + b.count
            message = m
            return
        }
        let ts = st.ns - zoneOffsetNs
        let text = String(decoding: b[st.text...], as: UTF8.self)
        // A stamped line ends the message being read.
        release(sink)
        for (prefix, sent) in [("Sending Packet - ", true), ("Data Received - ", false)] where text.hasPrefix(prefix) {
            flushBanner(sink)
            // `10.10.10.1:5061 (From Local Address: 10.98.2.1:51647) 2520 bytes:`
            let rest = text.dropFirst(prefix.count)
            let remote = rest.split(separator: " ").first.flatMap { SIPDumpText.hostPort(String($0)) }
            let local = rest.range(of: "Local Address: ").flatMap { r in SIPDumpText.hostPort(String(rest[r.upperBound...].prefix { $0 != ")" })) }
            let bytes = rest.range(of: ") ").flatMap { r in Int64(rest[r.upperBound...].prefix { $0.isNumber }) }
            banner = (line.number, line.offset, ts, sent, remote, local, bytes)
            sink.structure(line: line.number)
            return
        }
        if let bn = banner, SIPText.startLine(text) != nil {
            // The message's start line: the record spans from its banner to its last line.
            banner = nil
            var sip = SIPDumpText.Message()
            sip.read(UnsafeBufferPointer(rebasing: line.bytes[st.text...]), offset: Int(line.offset - bn.offset) + st.text)
            var r = EventRecord(line: bn.line, ordinal: 0, ts: bn.ts, kind: .log, rawAt: bn.offset, rawLen: Int(line.offset - bn.offset) + b.count)
            r.label = "SIP"
            r.attrs = bn.bytes.map { "{\"bytes\":\($0)}" }
            message = (r, sip, bn.sent, bn.remote, bn.local)
            return
        }
        flushBanner(sink)
        count += 1
        var r = EventRecord(line: line.number, ordinal: count, ts: ts, kind: .log, rawAt: line.offset, rawLen: b.count, summaryAt: st.text)
        r.label = "Lync"
        r.attrs = "{\"level\":" + jsonString(st.level) + "}"
        sink.emit(r)
    }

    /// A banner no message followed: kept as a log line of its own.
    private mutating func flushBanner(_ sink: RecordSink) {
        guard let bn = banner.take() else { return }
        count += 1
        var r = EventRecord(line: bn.line, ordinal: count, ts: bn.ts, kind: .log, rawAt: bn.offset, rawLen: 0)
        r.label = "Lync"
        r.attrs = "{\"truncated\":true}"
        sink.emit(r)
    }

    private mutating func release(_ sink: RecordSink) {
        guard let m = message.take() else { return }
        count += 1
        var r = m.record
        r.ordinal = count
        if let at = m.sip.startAt { r.summaryAt = at }
        let parsed = SIPDumpText.sipAttrs(m.sip)
        var attrs = ["\"direction\":" + jsonString(m.sent ? "sent" : "received")]
        if let a = r.attrs { attrs.append(String(a.dropFirst().dropLast())) }
        attrs += parsed.attrs
        if !m.sip.complete { attrs.append("\"truncated\":true") }
        r.attrs = "{" + attrs.joined(separator: ",") + "}"
        // The log names both ends: from the local address when sending, to it when receiving.
        let (src, dst) = m.sent ? (m.local, m.remote) : (m.remote, m.local)
        if let s = src { r.src = s.address; r.srcPort = s.port }
        if let d = dst { r.dst = d.address; r.dstPort = d.port }
        if src != nil, dst != nil { r.proto = m.sip.f["via"]?.uppercased().contains("/UDP") == true ? IPProto.udp : IPProto.tcp }
        sink.emit(r)
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        release(sink)
        flushBanner(sink)
        var f = SourceFacts()
        f.timeBasis = .absolute
        f.timeDigits = 3
        return f
    }
}
