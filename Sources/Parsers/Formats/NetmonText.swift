import TraceModel

/// Network Monitor 3.4 / Message Analyzer text exports of captures and `netsh trace` ETL files: one line
/// per frame, captured packets interleaved with the TCP/IP stack's and Winsock's own events.
///
/// `N  <time> [AM|PM] [<date>] [<seconds since start>] [<process> (<pid>)] [<source> [<destination>]]
/// <protocol> <description>` — the time is `11:18:57 AM` with `1/8/2013`, `14:42:47` with `05.09.2012`,
/// or `15:37:26.9645379` alone; source and destination may be absent (stack events), glued together
/// (`192.168.1.1192.168.3.10`) or to the protocol (`192.168.1.1TCP`), or host names. The description
/// starts with the protocol's name and a colon (`TCP:Flags=......S., SrcPort=50357, …`,
/// `TCPIP_MicrosoftWindowsTCPIP:TCP: Tcb 0x… (local=… remote=…) requested to connect.`).
///
/// Time: these exports show the exporting machine's local wall clock, zone unknown. A line with both a
/// wall clock to the second and seconds since the capture began says the capture began within one second
/// of `wall − seconds`; the intersection over all lines pins the start far tighter. Events keep the
/// seconds column (100 ns) as their time, and the source is anchored at that start (`facts.anchor`).
public struct NetmonText: LineParser {
    public static let id = "netmon_text"
    public static let summary = "Network Monitor / Message Analyzer text exports of captures and netsh ETL traces (frames, TCPIP and Winsock-AFD events)"

    private var tokens: [Token] = []
    private let services: ServiceNames
    private let zoneOffsetNs: Int64
    private var basis: TimeBasis? = nil
    private var digits = 0
    /// Bounds of the capture's start on the wall clock, from lines that show both clocks.
    private var startLow = Int64.min, startHigh = Int64.max
    private var held: EventRecord? = nil

    public init(context: ParseContext) {
        services = context.services
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
    }

    public static func sniff(_ head: SniffHead) -> Double {
        var n = 0, hits = 0
        for line in head.lines.prefix(100) where !line.isEmpty {
            n += 1
            // Frame lines whose description names a Network Monitor parser the way only it does.
            if line.contains("TCP:Flags=") || line.contains("_MicrosoftWindowsTCPIP:") || line.contains("_MicrosoftWindowsWinsockAFD:")
                || (line.contains("SrcPort=") && line.contains("PayloadLen=")) {
                hits += 1
            }
        }
        guard n > 0, hits > 0 else { return 0 }
        return 0.7 + 0.25 * Double(hits) / Double(n)
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        if line.isBlank { return }
        if ASCII.isSpace(b[0]) || b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-") || !ASCII.isDigit(b[0]) {
            // Frame details (`Frame: Number = …`, `+ Ipv4: …`) and other text under a frame belong to it. The
            // Ethernet source address is evidence of who put the frame on the wire (a router's MAC on a packet
            // that claims to come from a host elsewhere).
            if var r = held {
                r.rawLen = Int(line.offset - r.rawAt) + b.count
                let text = line.string
                if text.contains("Ethernet:"), r.attrs?.contains("\"src_mac\"") != true {
                    var macs: [String] = []
                    for key in ["SourceAddress:[", "DestinationAddress:["] {
                        if let k = text.range(of: key) {
                            let mac = text[k.upperBound...].prefix { $0 != "]" }.trimmingCharacters(in: .whitespaces)
                            macs.append("\"\(key.hasPrefix("Source") ? "src_mac" : "dst_mac")\":" + jsonString(mac))
                        }
                    }
                    if !macs.isEmpty {
                        r.attrs = r.attrs.map { String($0.dropLast()) + "," + macs.joined(separator: ",") + "}" } ?? "{" + macs.joined(separator: ",") + "}"
                    }
                }
                held = r
                return
            }
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a Network Monitor frame line", raw: line.string))
            return
        }
        release(sink)
        b.tokenize(into: &tokens)
        guard tokens.count >= 4, let number = b.uint(tokens[0]) else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a Network Monitor frame line (no frame number)", raw: line.string))
            return
        }
        // Times: wall clock (optionally AM/PM and a date), then seconds since the capture began.
        var k = 1
        guard var wall = b.timeOfDay(tokens[k].start, tokens[k].end) else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a Network Monitor frame line (no time after the frame number)", raw: line.string))
            return
        }
        k += 1
        if k < tokens.count, b.equals(tokens[k], "AM") || b.equals(tokens[k], "PM") {
            let hours = wall.ns / (3600 * CivilTime.nsPerSecond)
            if b.equals(tokens[k], "PM") && hours < 12 { wall.ns += 12 * 3600 * CivilTime.nsPerSecond }
            if b.equals(tokens[k], "AM") && hours == 12 { wall.ns -= 12 * 3600 * CivilTime.nsPerSecond }
            k += 1
        }
        var day: Int64? = nil
        if k < tokens.count, let d = b.date(tokens[k].start, tokens[k].end) { day = d; k += 1 }
        var seconds: (ns: Int64, digits: Int)? = nil
        if k < tokens.count, b[tokens[k].start..<tokens[k].end].contains(ASCII.dot), let s = b.decimalSeconds(tokens[k].start, tokens[k].end) {
            seconds = s; k += 1
        }
        let wallNs = (day ?? 0) * CivilTime.nsPerDay + wall.ns - zoneOffsetNs
        let ts: Int64
        if let seconds {
            // The wall clock shows whole seconds: the capture began in [wall − s, wall + 1 s − s).
            if basis == nil { basis = day == nil ? .timeOfDay : .relative }
            if wall.digits == 0 {
                startLow = max(startLow, wallNs - seconds.ns)
                startHigh = min(startHigh, wallNs + CivilTime.nsPerSecond - seconds.ns)
            }
            ts = seconds.ns
            digits = max(digits, seconds.digits)
        } else {
            if basis == nil { basis = day == nil ? .timeOfDay : .absolute }
            ts = wallNs
            digits = max(digits, wall.digits)
        }

        // Process `Name (pid)`.
        var attrs: [String] = []
        if k + 1 < tokens.count, b[tokens[k + 1].start] == UInt8(ascii: "("), b[tokens[k + 1].end - 1] == UInt8(ascii: ")"),
           let pid = b.uint(tokens[k + 1].start + 1, tokens[k + 1].end - 1) {
            attrs.append("\"process\":" + jsonString(b.string(tokens[k])) + ",\"pid\":\(pid)")
            k += 2
        }
        // The description starts at the first token `PROTO:…` whose PROTO ends the token before it.
        var d = k
        while d < tokens.count {
            if let colon = (tokens[d].start..<tokens[d].end).first(where: { b[$0] == ASCII.colon }), d > k {
                let proto = b.string(tokens[d].start, colon)
                if !proto.isEmpty, b.string(tokens[d - 1]).hasSuffix(proto) { break }
            }
            d += 1
        }
        guard d < tokens.count else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "Network Monitor frame line without a protocol description", raw: line.string))
            return
        }
        let colon = (tokens[d].start..<tokens[d].end).first { b[$0] == ASCII.colon }!
        let proto = b.string(tokens[d].start, colon)
        // What precedes the protocol name: no address (stack events), one, two, or two glued.
        var addressText = (k..<(d - 1)).map { b.string(tokens[$0]) }
        let last = b.string(tokens[d - 1])
        if last.count > proto.count { addressText.append(String(last.dropLast(proto.count))) }
        let (src, dst) = NetmonText.addresses(addressText)

        var r = EventRecord(line: line.number, ordinal: number, ts: ts, kind: .packet, rawAt: line.offset, rawLen: b.count,
                            summaryAt: tokens[d].start)
        r.label = proto
        r.src = src
        r.dst = dst
        let description = b.string(tokens[d].start, b.count)
        if proto == "TCP" {
            tcp(String(description.dropFirst(4)), &r)
        } else if proto.hasSuffix("_MicrosoftWindowsTCPIP") || proto.hasSuffix("_MicrosoftWindowsWinsockAFD") {
            r.kind = .log
            r.label = proto.hasSuffix("TCPIP") ? "TCPIP" : "AFD"
            stackEvent(String(description.dropFirst(proto.count + 1)), &r, &attrs)
        }
        // Conversation ids `{TCP:861, IPv4:843}` that Network Monitor appends.
        if let open = description.lastIndex(of: "{"), description.hasSuffix("}"), description[open...].contains(":") {
            attrs.append("\"conversation\":" + jsonString(String(description[description.index(after: open)..<description.index(before: description.endIndex)])))
        }
        if day == nil, seconds != nil { attrs.append("\"wall_time\":" + jsonString(CivilTime.timeOfDay(wall.ns, digits: wall.digits))) }
        if !attrs.isEmpty { r.attrs = "{" + attrs.joined(separator: ",") + "}" }
        held = r
    }

    private mutating func release(_ sink: RecordSink) {
        if let r = held.take() { sink.emit(r) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        release(sink)
        var facts = SourceFacts()
        facts.timeBasis = basis ?? .absolute
        facts.timeDigits = digits
        if basis == .relative, startLow <= startHigh, startLow != Int64.min {
            // The capture's start on the exporting machine's wall clock, as tight as its lines allow.
            facts.anchor = (startLow / 2 + startHigh / 2, (startHigh - startLow) / 2)
            facts.notes["wall_clock_start"] = CivilTime.iso8601(startLow / 2 + startHigh / 2, digits: 7)
            facts.notes["wall_clock_start_uncertainty_ms"] = String(Double(startHigh - startLow) / 2e6)
        }
        return facts
    }

    // MARK: - Fields

    /// Source and destination from what precedes the protocol: none, one, two, or two IPv4 glued together.
    static func addresses(_ parts: [String]) -> (Address?, Address?) {
        func one(_ s: String) -> Address { Address(ip: s) ?? .name(s) }
        switch parts.count {
        case 0: return (nil, nil)
        case 1:
            let s = parts[0]
            // `192.168.1.1192.168.3.10`: the split where both halves are IPv4 addresses.
            for i in s.indices where s[i] == "." {
                for j in s[s.index(after: i)...].indices {
                    let a = s[..<j], c = s[j...]
                    if a.filter({ $0 == "." }).count == 3, c.filter({ $0 == "." }).count == 3,
                       let x = Address(ip: String(a)), let y = Address(ip: String(c)) { return (x, y) }
                }
                break
            }
            return (one(s), nil)
        default:
            return (one(parts[0]), one(parts[1]))
        }
    }

    /// `Flags=...A..S., SrcPort=MS WBT Server(3389), DstPort=59210, PayloadLen=0, Seq=0, Ack=2885139469, Win=0`,
    /// after optional notes: `[SynReTransmit #106631]`, `[Bad CheckSum]`.
    private func tcp(_ text: String, _ r: inout EventRecord) {
        var body = Substring(text).drop { $0 == " " }
        var expert = TCPExpert()
        while body.hasPrefix("["), let close = body.firstIndex(of: "]") {
            let note = body[body.index(after: body.startIndex)..<close]
            if note.hasPrefix("SynReTransmit") { expert.formUnion([.retransmission, .synRetransmit]) }
            if note.hasPrefix("Bad CheckSum") { expert.insert(.checksumIncorrect) }
            body = body[body.index(after: close)...].drop { $0 == " " }
        }
        r.expert = expert.rawValue
        r.proto = IPProto.tcp
        for field in body.split(separator: ",", omittingEmptySubsequences: true) {
            let f = field.drop { $0 == " " }
            guard let eq = f.firstIndex(of: "=") else { continue }
            let key = f[..<eq], value = f[f.index(after: eq)...]
            switch key {
            case "Flags":
                // Eight positions, CWR ECE URG ACK PSH RST SYN FIN, a dot where unset.
                let v = Array(value.prefix(8))
                guard v.count == 8 else { break }
                var flags = 0
                for (i, c) in v.enumerated() where c != "." { flags |= 1 << (7 - i) }
                r.flags = flags
            case "SrcPort": r.srcPort = NetmonText.port(value, services)
            case "DstPort": r.dstPort = NetmonText.port(value, services)
            case "PayloadLen": r.len = Int64(value) ?? EventRecord.none
            case "Seq":
                // `2250996924 - 2250997793` for segments with data: the first number.
                if let v = Int64(value.prefix { $0.isNumber }) { r.seqRaw = v; r.seq = v }
            case "Ack": if let v = Int64(value.prefix { $0.isNumber }) { r.ackRaw = v; r.ack = v }
            case "Win": if let v = Int64(value.prefix { $0.isNumber }) { r.win = v }
            default: break
            }
        }
        // A SYN's acknowledgment field means nothing without the ACK bit (the Front End trace shows junk there).
        if r.flags >= 0, r.flags & TCPFlags.ack.rawValue == 0 { r.ackRaw = EventRecord.none; r.ack = EventRecord.none }
    }

    /// `MS WBT Server(3389)` → 3389, `5061` → 5061, a service name → its port.
    static func port(_ v: Substring, _ services: ServiceNames) -> Int32 {
        if let open = v.lastIndex(of: "("), let close = v.lastIndex(of: ")"), open < close, let n = Int32(v[v.index(after: open)..<close]) { return n }
        if let n = Int32(v) { return n }
        return services.port(v) ?? -1
    }

    /// A TCPIP or AFD event: its pointer, the tuple it names, its state change, status and numbers.
    private func stackEvent(_ text: String, _ r: inout EventRecord, _ attrs: inout [String]) {
        if r.label == "AFD" {
            // `bind: 1 (0x1): Process 0x…, Endpoint 0x…, Address 192.168.1.1:50357, Seq 7022 (0x1B6E), Status Success`
            if let colon = text.firstIndex(of: ":") { attrs.append("\"call\":" + jsonString(String(text[..<colon]))) }
            if let e = NetmonText.value(text, "Endpoint 0x") { attrs.append("\"afd_endpoint\":\"0x\(e.prefix { $0.isHexDigit })\"") }
            if let a = NetmonText.value(text, "Address ") { attrs.append("\"address\":" + jsonString(String(a.prefix { $0 != "," }))) }
            if let st = text.range(of: "Status ") { attrs.append("\"status\":" + jsonString(String(text[st.upperBound...].prefix { $0 != "," && $0 != "." }))) }
            return
        }
        // The object the event is about comes first (`connection 0x…`, `Tcb 0x…`, `endpoint 0x…`).
        if let p = NetmonText.firstMatch(text, after: "0x", hexDigits: 16) { attrs.append("\"pointer\":\"0x\(p)\"") }
        if let r = text.range(of: "inherited from endpoint 0x") {
            attrs.append("\"endpoint\":\"0x\(text[r.upperBound...].prefix { $0.isHexDigit })\"")
        }
        if let v = NetmonText.value(text, "sockaddr=") { attrs.append("\"address\":" + jsonString(String(v))) }
        for (phrase, what) in [("acquired port number ", "acquired"), ("released port number ", "released")] {
            if let r = text.range(of: phrase), let n = Int64(text[r.upperBound...].prefix { $0.isNumber }) {
                attrs.append("\"port\":\(n),\"port_event\":\"\(what)\"")
            }
        }
        if let local = NetmonText.value(text, "local="), let remote = NetmonText.value(text, "remote="),
           let l = NetmonText.endpoint(local), let rm = NetmonText.endpoint(remote) {
            // The connection the event is about, seen from this host: local sends.
            r.src = l.address; r.srcPort = l.port
            r.dst = rm.address; r.dstPort = rm.port
            r.proto = IPProto.tcp
        }
        if let t = text.range(of: "transition from ") {
            let rest = text[t.upperBound...]
            let parts = rest.split(separator: " ")
            if parts.count >= 3, parts[1] == "to" {
                attrs.append("\"state_from\":" + jsonString(String(parts[0])) + ",\"state_to\":" + jsonString(String(parts[2].trimmingCharacters(in: [",", "."]))))
            }
        }
        if let s = text.range(of: "status = ") {
            let v = text[s.upperBound...].prefix { $0 != "." && $0 != "," }
            attrs.append("\"status\":" + jsonString(String(v)))
        }
        if let s = text.range(of: "ISN = "), let n = Int64(text[s.upperBound...].prefix { $0.isNumber }) { attrs.append("\"isn\":\(n)") }
        if let s = text.range(of: "expire in "), let n = Int64(text[s.upperBound...].prefix { $0.isNumber }) { attrs.append("\"timer_ms\":\(n)") }
        if let s = text.range(of: "RexmitCount = "), let n = Int64(text[s.upperBound...].prefix { $0.isNumber }) { attrs.append("\"rexmit_count\":\(n)") }
    }

    /// The hex digits after the first `0x` that has `hexDigits` of them (a kernel pointer).
    static func firstMatch(_ s: String, after prefix: String, hexDigits: Int) -> String? {
        var rest = Substring(s)
        while let r = rest.range(of: prefix) {
            let digits = rest[r.upperBound...].prefix { $0.isHexDigit }
            if digits.count == hexDigits { return String(digits) }
            rest = rest[r.upperBound...]
        }
        return nil
    }

    /// The text after `key` up to the next space or `)`: `local=192.168.1.1:50357` → `192.168.1.1:50357`.
    /// IPv6 endpoints carry their port as a last group with its hex after it: `2001:…:1876:61581 (0xF08D)`.
    static func value(_ s: String, _ key: String) -> Substring? {
        guard let r = s.range(of: key) else { return nil }
        return s[r.upperBound...].prefix { $0 != " " && $0 != ")" }
    }

    static func endpoint(_ text: Substring) -> Endpoint? {
        guard let colon = text.lastIndex(of: ":"), let port = Int32(text[text.index(after: colon)...]) else { return nil }
        let host = String(text[..<colon])
        if let a = Address(ip: host) { return Endpoint(address: a, port: port) }
        return nil
    }
}
