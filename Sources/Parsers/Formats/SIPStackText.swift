import TraceModel

/// Lync / Skype for Business SIPStack log records, as OCSLogger or Snooser write them out as text:
///
///     TL_INFO(TF_PROTOCOL) [0]05E0.0AAC::01/08/2013-09:18:57.600.02e733e9 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record
///     Direction: incoming;source="external edge";destination="internal edge"
///     Peer: 10.1.1.1:62973
///     Start-Line: REGISTER sip:contoso.com SIP/2.0
///     Call-ID: 20d82282a7d94f4fb66a0a6df0c0377f
///     …
///     Message-Body:
///
/// The header is WPP's prefix: level, flag, `[CPU]PID.TID` in hex (0x05E0 = 1504, the RTCSrv.exe of the
/// same machine's ETL trace), the UTC time as MM/DD/YYYY-HH:MM:SS.mmm, then a hex counter that is not time,
/// and (component,function:file(line)). `Field: value` lines follow until `$$end_record`, the next header
/// or the end of the file. Variants: `$$begin_record` at the end of the header or on its own line; records
/// without `$$end_record` (copies in posts); protocol records (the SIP message: Start-Line and every
/// header, then `Message-Body:` and the body's lines), diagnostic records (Severity, Text, SIP-Start-Line,
/// SIP-Call-ID, SIP-CSeq, Peer) and connection records (LogType, Text, Peer-IP, Peer-FQDN, Connection-ID,
/// Transport, Result-Code, Data).
///
/// One event per record, kind log (a SIP message is one line of the store like any other log record; its
/// SIP fields are in attrs), label `SIP`. The peer's address, where the record gives it as IP and port,
/// becomes the event's src or dst by direction; the local end is never written in these records, so the
/// event names one end and no connection: the peer stays in attrs for the joiner.
public struct SIPStackText: LineParser {
    public static let id = "sipstack_text"
    public static let summary = "Lync/Skype SIPStack log records (TL_INFO(TF_PROTOCOL) [0]PID.TID::MM/DD/YYYY-HH:MM:SS.mmm …$$begin_record): protocol, diagnostic and connection records with their SIP fields; UTC"

    /// The record being read: held until what ends it is seen, so at most one record is pending.
    private var held: Pending? = nil
    private let zoneGiven: Bool

    public init(context: ParseContext) {
        zoneGiven = context.zoneOffset != nil
    }

    public static func sniff(_ head: SniffHead) -> Double {
        for line in head.lines.prefix(200) where line.hasPrefix("TL_") {
            let bytes = Array(line.utf8)
            let ok = bytes.withUnsafeBufferPointer { Header.parse($0) != nil }
            if ok { return 0.95 }
        }
        return 0
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        if b.count >= 3, b[0] == UInt8(ascii: "T"), b[1] == UInt8(ascii: "L"), b[2] == UInt8(ascii: "_"), let h = Header.parse(b) {
            release(sink, truncated: false)
            var r = EventRecord(line: line.number, ordinal: Int64(line.number), ts: h.ts, kind: .log, rawAt: line.offset, rawLen: b.count)
            r.label = "SIP"
            held = Pending(record: r, header: h, begun: h.begins)
            return
        }
        // Taken out and put back, so that its fields are not copied on every line (copy-on-write).
        guard var p = held.take() else {
            if line.isBlank { return }
            sink.unparsed(UnparsedLine(line: line.number, reason: SIPStackText.binary(b) ? "binary bytes outside a SIPStack record" : "not inside a SIPStack record",
                                       raw: line.string))
            return
        }
        if line.isBlank { held = p; return }
        // Every line up to what ends the record is the record's (message bodies, SDP, folded lines).
        p.record.rawLen = Int(line.offset - p.record.rawAt) + b.count
        if SIPStackText.binary(b) {
            // Kept in the record's text (its range is contiguous) and told, with its line, as not understood.
            sink.unparsed(UnparsedLine(line: line.number, reason: "binary bytes inside the SIPStack record of line \(p.record.line) (kept in its text)",
                                       raw: line.string))
        } else if SIPStackText.hasSuffix(b, "$$end_record") {
            held = p
            release(sink, truncated: false)
            return
        } else if !p.begun && SIPStackText.hasPrefix(b, "$$begin_record") {
            p.begun = true
        } else if p.inBody {
            // The message's body: SDP lines give the media the dialog negotiated (the same attrs the other SIP
            // parsers write, so a media flow found refused in a capture is tied to this record).
            p.body.sdp(b)
        } else if let colon = SIPStackText.fieldColon(b) {
            var v = colon + 1
            while v < b.count && ASCII.isSpace(b[v]) { v += 1 }
            var e = b.count
            while e > v && ASCII.isSpace(b[e - 1]) { e -= 1 }
            p.field(name: b.string(0, colon), value: b.string(v, e), valueAt: Int(line.offset - p.record.rawAt) + v)
        }
        held = p
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        // Nothing after the last record's lines says it is whole: a copy may have left lines out.
        release(sink, truncated: true)
        var facts = SourceFacts()
        facts.timeBasis = .absolute
        facts.timeDigits = 3
        facts.notes["zone"] = "UTC (SIPStack)"
        facts.zoneKnown = true
        if zoneGiven { facts.warnings.append("SIPStack times are UTC; --tz was not applied to them") }
        return facts
    }

    private mutating func release(_ sink: RecordSink, truncated: Bool) {
        guard var p = held.take() else { return }
        p.finish(truncated: truncated)
        sink.emit(p.record)
    }

    /// Control bytes other than tab: not text any tool writes in these logs.
    static func binary(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        b.contains { ($0 < 0x20 && $0 != ASCII.tab) || $0 == 0x7F }
    }

    /// `Name:` at the start of a line (letters, digits, `-`, `_`), the colon's index.
    static func fieldColon(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i < b.count, ASCII.isLetter(b[i]) || ASCII.isDigit(b[i]) || b[i] == ASCII.dash || b[i] == UInt8(ascii: "_") { i += 1 }
        return i > 0 && i < b.count && b[i] == ASCII.colon ? i : nil
    }

    static func hasPrefix(_ b: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard b.count >= n else { return false }
        for k in 0..<n where b[k] != s.utf8Start[k] { return false }
        return true
    }

    static func hasSuffix(_ b: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        var e = b.count
        while e > 0 && ASCII.isSpace(b[e - 1]) { e -= 1 }
        let n = s.utf8CodeUnitCount
        guard e >= n else { return false }
        for k in 0..<n where b[e - n + k] != s.utf8Start[k] { return false }
        return true
    }
}

extension SIPStackText {
    /// `TL_INFO(TF_PROTOCOL) [0]05E0.0AAC::01/08/2013-09:18:57.600.02e733e9 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record`
    struct Header {
        var level = "", flag = "", cpu: Int64 = 0, pid: Int64 = 0, tid: Int64 = 0, processThread = "", counter = ""
        var component = "", function = "", location = ""
        var ts: Int64 = 0
        var begins = false

        /// `TraceProtocolRecord` → `protocol`, `TraceDiagRecord` → `diag`, `TraceConnectionRecord` → `connection`.
        var recordType: String {
            var name = Substring(function)
            if let colon = name.lastIndex(of: ":") { name = name[name.index(after: colon)...] }
            if name.hasPrefix("Trace") { name = name.dropFirst(5) }
            if name.hasSuffix("Record") { name = name.dropLast(6) }
            return name.lowercased()
        }

        static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Header? {
            var h = Header()
            var i = 0
            func upper(_ c: UInt8) -> Bool { ASCII.isUpper(c) || c == UInt8(ascii: "_") || ASCII.isDigit(c) }
            // TL_LEVEL(TF_FLAG)
            guard b.count > 40, SIPStackText.hasPrefix(b, "TL_") else { return nil }
            while i < b.count && upper(b[i]) { i += 1 }
            guard i > 3, i < b.count, b[i] == ASCII.lparen else { return nil }
            h.level = b.string(0, i)
            let f = i + 1
            i = f
            while i < b.count && upper(b[i]) { i += 1 }
            guard i > f, i + 2 < b.count, b[i] == ASCII.rparen, b[i + 1] == ASCII.space, b[i + 2] == ASCII.lbracket else { return nil }
            h.flag = b.string(f, i)
            // [CPU]PID.TID in hex (WPP's %9!d! and %8!04X!.%3!04X!)
            i += 3
            let c = i
            while i < b.count && ASCII.isDigit(b[i]) { i += 1 }
            guard let cpu = b.uint(c, i), i < b.count, b[i] == ASCII.rbracket else { return nil }
            h.cpu = cpu
            i += 1
            let p = i
            while i < b.count && ASCII.isHex(b[i]) { i += 1 }
            guard i - p >= 1, i - p <= 8, i < b.count, b[i] == ASCII.dot else { return nil }
            let pEnd = i
            i += 1
            let t = i
            while i < b.count && ASCII.isHex(b[i]) { i += 1 }
            guard i - t >= 1, i - t <= 8, i + 2 < b.count, b[i] == ASCII.colon, b[i + 1] == ASCII.colon,
                  let pid = hex(b, p, pEnd), let tid = hex(b, t, i) else { return nil }
            h.pid = pid; h.tid = tid
            h.processThread = b.string(p, i)
            // MM/DD/YYYY-HH:MM:SS.mmm, UTC
            i += 2
            let d = i
            while i < b.count && b[i] != ASCII.dash { i += 1 }
            guard i < b.count, let day = b.date(d, i) else { return nil }
            i += 1
            let tm = i
            while i < b.count && (ASCII.isDigit(b[i]) || b[i] == ASCII.colon) { i += 1 }
            guard i < b.count, b[i] == ASCII.dot else { return nil }
            i += 1
            while i < b.count && ASCII.isDigit(b[i]) { i += 1 }
            guard let tod = b.timeOfDay(tm, i) else { return nil }
            h.ts = day * CivilTime.nsPerDay + tod.ns
            // .02e733e9: a counter (it grows by 722 over one millisecond and by 15,505 over 21 s), not time
            if i < b.count && b[i] == ASCII.dot {
                let k = i + 1
                i = k
                while i < b.count && ASCII.isHex(b[i]) { i += 1 }
                h.counter = b.string(k, i)
            }
            // (component,function:file(line)), its last `)` before `$$begin_record` or the end of the line
            var end = b.count
            while end > i && ASCII.isSpace(b[end - 1]) { end -= 1 }
            if SIPStackText.hasSuffix(UnsafeBufferPointer(rebasing: b[0..<end]), "$$begin_record") {
                h.begins = true
                end -= 14
            }
            while i < end && ASCII.isSpace(b[i]) { i += 1 }
            if i < end && b[i] == ASCII.lparen && b[end - 1] == ASCII.rparen {
                let inside = b.string(i + 1, end - 1)
                if let comma = inside.firstIndex(of: ",") {
                    h.component = String(inside[..<comma])
                    let rest = inside[inside.index(after: comma)...]
                    // The file follows the last single colon (the function holds `::`).
                    if let colon = rest.lastIndex(of: ":"), colon > rest.startIndex, rest[rest.index(before: colon)] != ":" {
                        h.function = String(rest[..<colon])
                        h.location = String(rest[rest.index(after: colon)...])
                    } else {
                        h.function = String(rest)
                    }
                } else {
                    h.component = inside
                }
            }
            return h
        }

        static func hex(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Int64? {
            var v: Int64 = 0
            for k in s..<e {
                let c = b[k] | 0x20
                v = v * 16 + Int64(ASCII.isDigit(b[k]) ? b[k] - ASCII.zero : c - UInt8(ascii: "a") + 10)
            }
            return v
        }
    }

    /// A record being read: its event and the fields seen so far.
    struct Pending {
        var record: EventRecord
        var header: Header
        var begun: Bool
        var inBody = false
        var summaryAt: Int? = nil
        var f: [String: String] = [:]
        /// The lines after `Message-Body:` read as SDP (only `c=` and `m=` are kept).
        var body = SIPDumpText.Message()

        /// Fields that name the same thing in protocol and diagnostic records, by the name this parser gives it.
        static let names: [String: String] = [
            "trace-correlation-id": "trace_correlation_id", "instance-id": "instance_id", "direction": "direction",
            "peer": "peer", "peer-ip": "peer", "peer-fqdn": "peer_fqdn", "message-type": "message_type",
            "start-line": "start_line", "sip-start-line": "start_line", "call-id": "call_id", "i": "call_id", "sip-call-id": "call_id",
            "cseq": "cseq", "sip-cseq": "cseq", "from": "from", "f": "from", "to": "to", "t": "to", "via": "via", "v": "via",
            "user-agent": "user_agent", "server": "server", "logtype": "log_type", "severity": "severity", "text": "text",
            "connection-id": "connection_id", "transport": "transport", "result-code": "result_code", "data": "data",
        ]

        mutating func field(name: String, value: String, valueAt: Int) {
            let lower = name.lowercased()
            if lower == "message-body" {
                inBody = true
                // The body's first line may follow the field name on its line.
                if !value.isEmpty { Array(value.utf8).withUnsafeBufferPointer { body.sdp($0) } }
                return
            }
            guard let key = Pending.names[lower] else { return }
            // The first of a repeated header is the one that counts (the top Via).
            guard f[key] == nil else { return }
            f[key] = value
            // The summary: the SIP start line, else what a diagnostic or connection record says.
            if lower == "start-line" { summaryAt = valueAt } else if lower == "text", summaryAt == nil { summaryAt = valueAt }
        }

        mutating func finish(truncated: Bool) {
            if let s = summaryAt { record.summaryAt = s }
            var a: [String] = []
            func put(_ k: String, _ v: String?) { if let v, !v.isEmpty { a.append(jsonString(k) + ":" + jsonString(v)) } }
            func put(_ k: String, int v: Int64?) { if let v { a.append(jsonString(k) + ":\(v)") } }
            let h = header
            put("level", h.level); put("flag", h.flag); put("record_type", h.recordType)
            put("cpu", int: h.cpu); put("pid", int: h.pid); put("tid", int: h.tid); put("process_thread", h.processThread)
            put("counter", h.counter); put("component", h.component); put("function", h.function); put("location", h.location)
            put("log_type", f["log_type"]); put("severity", f["severity"]); put("text", f["text"])
            put("trace_correlation_id", f["trace_correlation_id"]); put("instance_id", f["instance_id"])
            var direction: String? = nil
            if let d = f["direction"] {
                let parts = SIPText.params(d)
                direction = parts.value.lowercased()
                put("direction", direction)
                put("direction_source", parts.params["source"]); put("direction_destination", parts.params["destination"])
            }
            put("peer", f["peer"]); put("peer_fqdn", f["peer_fqdn"]); put("message_type", f["message_type"])
            var isResponse: Bool? = f["message_type"].map { $0.lowercased() == "response" }
            if let s = f["start_line"] {
                put("start_line", s)
                if let line = SIPText.startLine(s) {
                    switch line {
                    case .request(let method, let uri):
                        put("method", method); put("request_uri", uri)
                        if isResponse == nil { isResponse = false }
                    case .response(let status, let reason):
                        put("status", int: status); put("reason", reason)
                        if isResponse == nil { isResponse = true }
                    }
                }
            }
            put("call_id", f["call_id"])
            if let c = f["cseq"] {
                let parts = c.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count == 2, let n = Int64(parts[0]) { put("cseq", int: n); put("cseq_method", String(parts[1])) } else { put("cseq", c) }
            }
            for side in ["from", "to"] {
                if let v = f[side] { let u = SIPText.nameAddr(v); put(side, u.uri); put(side + "_tag", u.params["tag"]) }
            }
            var received: Endpoint? = nil
            if let v = f["via"] {
                let via = SIPText.via(v)
                put("via", via.sentBy); put("via_transport", via.transport); put("via_branch", via.params["branch"])
                put("received", via.params["received"]); put("ms_received_port", via.params["ms-received-port"])
                put("rport", via.params["rport"]); put("ms_received_cid", via.params["ms-received-cid"])
                if let r = via.params["received"], let a = Address(ip: r), let port = Int32(via.params["ms-received-port"] ?? via.params["rport"] ?? "") {
                    received = Endpoint(address: a, port: port)
                }
            }
            put("user_agent", f["user_agent"]); put("server", f["server"])
            put("connection_id", f["connection_id"]); put("transport", f["transport"]); put("result_code", f["result_code"]); put("data", f["data"])
            // One spelling of the connection's id for records and messages alike: a connection record writes
            // `Connection-ID: 0x2E6603`, a message's Via `ms-received-cid=2E6400` (seed lines 759 and 694).
            put("cid", (f["connection_id"] ?? f["via"].flatMap { SIPText.via($0).params["ms-received-cid"] }).flatMap(SIPText.connectionID))
            a += SIPDumpText.sdpAttrs(body)
            if truncated { a.append("\"truncated\":true") }
            record.attrs = "{" + a.joined(separator: ",") + "}"

            // The ends the record names. The peer is the far end: the source of what came in, the destination of
            // what went out. A connection record has no direction; "outbound connection" in its text says the
            // peer was dialled. A Via's `received` (+ `ms-received-port`/`rport`) is where the request carrying it
            // came from (RFC 3261 18.2.1, 18.2.2): a request's source, its response's destination.
            let peer = f["peer"].flatMap { Endpoint(userText: $0) }.flatMap { $0.port >= 0 ? $0 : nil }
            var outgoing: Bool? = direction.flatMap { $0 == "incoming" ? false : $0 == "outgoing" ? true : nil }
            if outgoing == nil, let t = f["text"]?.lowercased() {
                if t.contains("outbound") { outgoing = true } else if t.contains("inbound") { outgoing = false }
            }
            if let peer, let out = outgoing {
                if out { record.dst = peer.address; record.dstPort = peer.port } else { record.src = peer.address; record.srcPort = peer.port }
            }
            if let r = received, let resp = isResponse {
                if resp, record.dst == nil { record.dst = r.address; record.dstPort = r.port }
                if !resp, record.src == nil { record.src = r.address; record.srcPort = r.port }
            }
            // proto stays 0: with one end known there is no connection to key, and a log event with a source and a
            // transport is read by the joiner as its host's own local end (Store.ownAddresses), which a peer is not.
        }
    }
}

/// SIP header values, read as RFC 3261 writes them (section 25.1): enough for the fields tracejoin keeps.
enum SIPText {
    enum StartLine { case request(method: String, uri: String), response(status: Int64, reason: String) }

    /// `REGISTER sip:contoso.com SIP/2.0` or `SIP/2.0 504 Server time-out`.
    static func startLine(_ s: String) -> StartLine? {
        let parts = s.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2 else { return nil }
        if parts[0].hasPrefix("SIP/"), let code = Int64(parts[1]), code >= 100, code <= 699 {
            return .response(status: code, reason: parts.count > 2 ? String(parts[2]) : "")
        }
        if parts.count == 3, parts[2].hasPrefix("SIP/"), parts[0].allSatisfy({ $0.isLetter || $0 == "-" }) {
            return .request(method: String(parts[0]), uri: String(parts[1]))
        }
        return nil
    }

    /// A SIPStack connection id as one spelling: hex digits, upper case, no `0x`, no leading zeros — so a
    /// connection record's `Connection-ID: 0x2E6603` and a Via's `ms-received-cid=2E6603` read alike. Nil for
    /// what is not hex.
    static func connectionID(_ s: String) -> String? {
        var v = Substring(s).drop { $0 == " " || $0 == "\t" }
        while v.last == " " || v.last == "\t" { v = v.dropLast() }
        if v.hasPrefix("0x") || v.hasPrefix("0X") { v = v.dropFirst(2) }
        guard !v.isEmpty, v.allSatisfy(\.isHexDigit) else { return nil }
        let digits = v.drop { $0 == "0" }
        return digits.isEmpty ? "0" : digits.uppercased()
    }

    /// `value;key=v;key="quoted v"` → value and parameters (keys lowercased, quotes removed).
    static func params(_ s: String) -> (value: String, params: [String: String]) {
        var parts: [Substring] = []
        var cur = s.startIndex
        var quoted = false
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "\"" { quoted.toggle() } else if s[i] == ";" && !quoted { parts.append(s[cur..<i]); cur = s.index(after: i) }
            i = s.index(after: i)
        }
        parts.append(s[cur...])
        var out: [String: String] = [:]
        for p in parts.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1)
            guard let k = kv.first?.trimmingSpaces, !k.isEmpty else { continue }
            var v = kv.count > 1 ? kv[1].trimmingSpaces : ""
            if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
            if out[k.lowercased()] == nil { out[k.lowercased()] = v }
        }
        return (parts[0].trimmingSpaces, out)
    }

    /// `"Name" <sip:user@host>;tag=abc` → the URI and the header's parameters (those after `>`).
    static func nameAddr(_ s: String) -> (uri: String, params: [String: String]) {
        if let open = s.firstIndex(of: "<"), let close = s[open...].firstIndex(of: ">") {
            return (String(s[s.index(after: open)..<close]), params(String(s[close...])).params)
        }
        let p = params(s)
        return (p.value, p.params)
    }

    /// The first via-parm of `SIP/2.0/TLS 192.168.2.98:62973;received=10.1.1.1;ms-received-port=62973, SIP/2.0/…`.
    static func via(_ s: String) -> (transport: String, sentBy: String, params: [String: String]) {
        let first = s.split(separator: ",", maxSplits: 1).first.map(String.init) ?? s
        let p = params(first)
        let words = p.value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        let proto = words.first.map(String.init) ?? ""
        let transport = proto.split(separator: "/").count == 3 ? String(proto.split(separator: "/")[2]) : ""
        return (transport, words.count > 1 ? words[1].trimmingSpaces : "", p.params)
    }
}

private extension Substring {
    var trimmingSpaces: String {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
