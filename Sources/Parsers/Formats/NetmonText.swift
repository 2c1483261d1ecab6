import TraceModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// Where cutting tokens stopped on the current line.
    private var scanned = 0
    private let services: ServiceNames
    private let zoneOffsetNs: Int64
    private var basis: TimeBasis? = nil
    private var digits = 0
    /// Bounds of the capture's start on the wall clock, from lines that show both clocks.
    private var startLow = Int64.min, startHigh = Int64.max
    private var held: EventRecord? = nil
    /// The current record's attrs, built in place (reused: no String per field).
    private var attrs = AttrsBuilder()

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
        // Tokens are cut only as far as the description's start: the rest of the line (most of it) is
        // searched for its fields, never split.
        tokens.removeAll(keepingCapacity: true)
        scanned = 0
        guard have(3, b), let number = b.uint(tokens[0]) else {
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
        if have(k, b), b.equals(tokens[k], "AM") || b.equals(tokens[k], "PM") {
            wall.ns = CivilTime.meridiem(wall.ns, pm: b.equals(tokens[k], "PM"))
            k += 1
        }
        var day: Int64? = nil
        if have(k, b), let d = b.date(tokens[k].start, tokens[k].end) { day = d; k += 1 }
        var seconds: (ns: Int64, digits: Int)? = nil
        if have(k, b), b[tokens[k].start..<tokens[k].end].contains(ASCII.dot), let s = b.decimalSeconds(tokens[k].start, tokens[k].end) {
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
        attrs.reset()
        if have(k + 1, b), b[tokens[k + 1].start] == UInt8(ascii: "("), b[tokens[k + 1].end - 1] == UInt8(ascii: ")"),
           let pid = b.uint(tokens[k + 1].start + 1, tokens[k + 1].end - 1) {
            attrs.string("process", UnsafeBufferPointer(rebasing: b[tokens[k].start..<tokens[k].end]))
            attrs.number("pid", pid)
            k += 2
        }
        // The description starts at the first token `PROTO:…` whose PROTO ends the token before it.
        var d = k
        while have(d, b) {
            if d > k, let colon = (tokens[d].start..<tokens[d].end).first(where: { b[$0] == ASCII.colon }) {
                let n = colon - tokens[d].start, prev = tokens[d - 1]
                if n > 0, prev.count >= n, (0..<n).allSatisfy({ b[prev.end - n + $0] == b[tokens[d].start + $0] }) { break }
            }
            d += 1
        }
        guard have(d, b) else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "Network Monitor frame line without a protocol description", raw: line.string))
            return
        }
        let colon = (tokens[d].start..<tokens[d].end).first { b[$0] == ASCII.colon }!
        // The protocol's name compared as bytes: the three names that have rules get literal labels (no
        // String made per line); equal bytes are equal Strings here, as the names are ASCII.
        let proto = Token(tokens[d].start, colon)
        let label: String
        let rule: Rule
        if b.equals(proto, "TCP") {
            label = "TCP"; rule = .tcp
        } else if b.hasSuffix(proto, "_MicrosoftWindowsTCPIP") {
            label = "TCPIP"; rule = .stack
        } else if b.hasSuffix(proto, "_MicrosoftWindowsWinsockAFD") {
            label = "AFD"; rule = .stack
        } else {
            label = b.string(proto); rule = .none
        }
        let (src, dst) = addresses(b, from: k, protocolAt: d, protocolLength: proto.count)

        var r = EventRecord(line: line.number, ordinal: number, ts: ts, kind: .packet, rawAt: line.offset, rawLen: b.count,
                            summaryAt: tokens[d].start)
        r.label = label
        r.src = src
        r.dst = dst
        // The description after `PROTO:`, searched as bytes (Foundation's string search cost half the parse).
        let text = Desc(UnsafeBufferPointer(rebasing: b[(colon + 1)...]))
        switch rule {
        case .tcp:
            tcp(text, &r)
        case .stack:
            r.kind = .log
            NetmonText.stackEvent(text, &r, &attrs)
        case .none:
            break
        }
        // Conversation ids `{TCP:861, IPv4:843}` that Network Monitor appends.
        var end = b.count
        while end > 0 && ASCII.isSpace(b[end - 1]) { end -= 1 }
        if end > 0, b[end - 1] == UInt8(ascii: "}"), let open = (tokens[d].start..<end).last(where: { b[$0] == UInt8(ascii: "{") }),
           (open..<end).contains(where: { b[$0] == ASCII.colon }) {
            attrs.string("conversation", UnsafeBufferPointer(rebasing: b[(open + 1)..<(end - 1)]))
        }
        if day == nil, seconds != nil { attrs.string("wall_time", text: CivilTime.timeOfDay(wall.ns, digits: wall.digits)) }
        r.attrs = attrs.make()
        held = r
    }

    /// Whether the line has a token `i`, cutting tokens up to it if not done yet.
    @inline(__always)
    private mutating func have(_ i: Int, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        while tokens.count <= i {
            var s = scanned
            while s < b.count && ASCII.isSpace(b[s]) { s += 1 }
            if s == b.count { scanned = s; return false }
            var e = s + 1
            while e < b.count && !ASCII.isSpace(b[e]) { e += 1 }
            tokens.append(Token(s, e))
            scanned = e
        }
        return true
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

    private enum Rule { case tcp, stack, none }

    // MARK: - Fields

    /// Source and destination from the tokens between the process and the protocol (`from ..< at - 1`,
    /// and the head of token `at - 1` when the protocol is glued to it). Read from bytes when that text is
    /// ASCII without colons (IPv4 addresses, host names), the same as `addresses(_:)` reads it from Strings;
    /// otherwise (IPv6, names not in ASCII) through `addresses(_:)` itself.
    private func addresses(_ b: UnsafeBufferPointer<UInt8>, from k: Int, protocolAt d: Int, protocolLength n: Int) -> (Address?, Address?) {
        let last = tokens[d - 1]
        var plain = true
        for i in tokens[k].start..<(tokens[d].start + n) where b[i] >= 0x80 || (b[i] == ASCII.colon && i < last.end - n) {
            plain = false
            break
        }
        guard plain else {
            var addressText = (k..<(d - 1)).map { b.string(tokens[$0]) }
            let lastText = b.string(last)
            let proto = b.string(tokens[d].start, tokens[d].start + n)
            if lastText.count > proto.count { addressText.append(String(lastText.dropLast(proto.count))) }
            return NetmonText.addresses(addressText)
        }
        var parts = (first: Token(0, 0), second: Token(0, 0), count: 0)
        func add(_ t: Token) {
            if parts.count == 0 { parts.first = t } else if parts.count == 1 { parts.second = t }
            parts.count += 1
        }
        for i in k..<(d - 1) { add(tokens[i]) }
        if last.count > n { add(Token(last.start, last.end - n)) }
        func one(_ t: Token) -> Address {
            if let v4 = Address.parseV4(UnsafeBufferPointer(rebasing: b[t.start..<t.end])) { return .v4(v4) }
            return .name(b.string(t))
        }
        switch parts.count {
        case 0: return (nil, nil)
        case 1:
            let s = parts.first
            // `192.168.1.1192.168.3.10`: the split where both halves are IPv4 addresses; tried from just after
            // the first dot, as `addresses(_:)` does.
            guard let firstDot = (s.start..<s.end).first(where: { b[$0] == ASCII.dot }) else { return (one(s), nil) }
            let dots = (s.start..<s.end).reduce(0) { $0 + (b[$1] == ASCII.dot ? 1 : 0) }
            var before = 1 // dots in s[..<j]
            var j = firstDot + 1
            while j < s.end {
                if before == 3, dots - before == 3,
                   let x = Address.parseV4(UnsafeBufferPointer(rebasing: b[s.start..<j])),
                   let y = Address.parseV4(UnsafeBufferPointer(rebasing: b[j..<s.end])) {
                    return (.v4(x), .v4(y))
                }
                if b[j] == ASCII.dot { before += 1 }
                j += 1
            }
            return (one(s), nil)
        default:
            return (one(parts.first), one(parts.second))
        }
    }

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
    private func tcp(_ t: Desc, _ r: inout EventRecord) {
        var expert = TCPExpert()
        if t.find("SynReTransmit") != nil { expert.formUnion([.retransmission, .synRetransmit]) }
        if t.find("Bad CheckSum") != nil { expert.insert(.checksumIncorrect) }
        r.expert = expert.rawValue
        r.proto = IPProto.tcp
        if let f = t.find("Flags="), f + 8 <= t.b.count {
            // Eight positions, CWR ECE URG ACK PSH RST SYN FIN, a dot where unset.
            var flags = 0
            for i in 0..<8 where t.b[f + i] != ASCII.dot { flags |= 1 << (7 - i) }
            r.flags = flags
        }
        if let p = t.find("SrcPort=") { r.srcPort = port(t, p) }
        if let p = t.find("DstPort=") { r.dstPort = port(t, p) }
        if let p = t.find("PayloadLen=") { r.len = t.number(p) ?? EventRecord.none }
        // `Seq=2250996924 - 2250997793` for segments with data: the first number.
        if let p = t.find("Seq="), let v = t.number(p) { r.seqRaw = v; r.seq = v }
        if let p = t.find("Ack="), let v = t.number(p) { r.ackRaw = v; r.ack = v }
        if let p = t.find("Win="), let v = t.number(p) { r.win = v }
        // A SYN's acknowledgment field means nothing without the ACK bit (the Front End trace shows junk there).
        if r.flags >= 0, r.flags & TCPFlags.ack.rawValue == 0 { r.ackRaw = EventRecord.none; r.ack = EventRecord.none }
    }

    /// The port field at `at`: digits read in place (nearly every line), anything else as `port(_:_:)` reads it.
    private func port(_ t: Desc, _ at: Int) -> Int32 {
        var e = at
        while e < t.b.count && t.b[e] != ASCII.comma { e += 1 }
        if e - at <= 9, let n = t.b.uint(at, e) { return Int32(n) }
        return NetmonText.port(Substring(t.string(at, e)), services)
    }

    /// `MS WBT Server(3389)` → 3389, `5061` → 5061, a service name → its port.
    static func port(_ v: Substring, _ services: ServiceNames) -> Int32 {
        if let open = v.lastIndex(of: "("), let close = v.lastIndex(of: ")"), open < close, let n = Int32(v[v.index(after: open)..<close]) { return n }
        if let n = Int32(v) { return n }
        return services.port(v) ?? -1
    }

    /// A TCPIP or AFD event: its pointer, the tuple it names, its state change, status and numbers.
    private static func stackEvent(_ t: Desc, _ r: inout EventRecord, _ attrs: inout AttrsBuilder) {
        if r.label == "AFD" {
            // `bind: 1 (0x1): Process 0x…, Endpoint 0x…, Address 192.168.1.1:50357, Seq 7022 (0x1B6E), Status Success`
            if let colon = t.b.firstIndex(of: ASCII.colon) { attrs.string("call", t.bytes(0, colon)) }
            if let e = t.find("Endpoint 0x") { attrs.plain("afd_endpoint", prefix: "0x", t.span(e, while: ASCII.isHexDigit)) }
            if let a = t.find("Address ") { attrs.string("address", t.span(a) { $0 != ASCII.comma && !ASCII.isSpace($0) }) }
            if let st = t.find("Status ") { attrs.string("status", t.span(st) { $0 != ASCII.comma && $0 != ASCII.dot }) }
            return
        }
        // The object the event is about comes first (`connection 0x…`, `Tcb 0x…`, `endpoint 0x…`).
        if let p = t.pointer() { attrs.plain("pointer", prefix: "0x", p) }
        if let e = t.find("inherited from endpoint 0x") { attrs.plain("endpoint", prefix: "0x", t.span(e, while: ASCII.isHexDigit)) }
        if let a = t.find("sockaddr=") { attrs.string("address", t.span(a) { !ASCII.isSpace($0) && $0 != UInt8(ascii: ")") }) }
        if let p = t.find("acquired port number "), let n = t.number(p) { attrs.number("port", n); attrs.literal("port_event", "\"acquired\"") }
        if let p = t.find("released port number "), let n = t.number(p) { attrs.number("port", n); attrs.literal("port_event", "\"released\"") }
        if let l = t.find("local="), let rm = t.find("remote="),
           let le = NetmonText.endpoint(t.span(l) { !ASCII.isSpace($0) && $0 != UInt8(ascii: ")") }),
           let re = NetmonText.endpoint(t.span(rm) { !ASCII.isSpace($0) && $0 != UInt8(ascii: ")") }) {
            // The connection the event is about, seen from this host: local sends.
            r.src = le.address; r.srcPort = le.port
            r.dst = re.address; r.dstPort = re.port
            r.proto = IPProto.tcp
        }
        if let f = t.find("transition from ") {
            if let to = t.find(" to ", from: f) {
                attrs.string("state_from", t.span(f) { !ASCII.isSpace($0) })
                attrs.string("state_to", t.span(to) { !ASCII.isSpace($0) && $0 != ASCII.comma && $0 != ASCII.dot })
            }
        }
        if let st = t.find("status = ") { attrs.string("status", t.span(st) { $0 != ASCII.dot && $0 != ASCII.comma }) }
        if let p = t.find("ISN = "), let n = t.number(p) { attrs.number("isn", n) }
        if let p = t.find("expire in "), let n = t.number(p) { attrs.number("timer_ms", n) }
        if let p = t.find("RexmitCount = "), let n = t.number(p) { attrs.number("rexmit_count", n) }
    }

    /// `192.168.1.1:50357` read from bytes; anything else (IPv6) as `endpoint(_: Substring)` reads it.
    static func endpoint(_ b: UnsafeBufferPointer<UInt8>) -> Endpoint? {
        if let colon = b.lastIndex(of: ASCII.colon), b.count - colon - 1 <= 9, let port = b.uint(colon + 1, b.count),
           let v4 = Address.parseV4(UnsafeBufferPointer(rebasing: b[..<colon])) {
            return Endpoint(address: .v4(v4), port: Int32(port))
        }
        return endpoint(Substring(String(decoding: b, as: UTF8.self)))
    }

    static func endpoint(_ text: Substring) -> Endpoint? {
        guard let colon = text.lastIndex(of: ":"), let port = Int32(text[text.index(after: colon)...]) else { return nil }
        let host = String(text[..<colon])
        if let a = Address(ip: host) { return Endpoint(address: a, port: port) }
        return nil
    }
}

/// A line's description, searched as bytes.
struct Desc {
    let b: UnsafeBufferPointer<UInt8>

    init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

    /// Where the text after the first `needle` (at or after `from`) starts. Candidates are found with libc's
    /// memchr on the needle's first byte: most searches fail, and that rejects a line fastest.
    func find(_ needle: StaticString, from: Int = 0) -> Int? {
        let n = needle.utf8CodeUnitCount, p = needle.utf8Start
        guard n > 0, from + n <= b.count, let base = b.baseAddress else { return nil }
        var i = from
        while i + n <= b.count {
            guard let hit = memchr(base + i, Int32(p[0]), b.count - n + 1 - i) else { return nil }
            let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            // The last byte first: most candidates fail there, and a compare is cheaper than a call.
            if base[at + n - 1] == p[n - 1], memcmp(base + at, p, n) == 0 { return at + n }
            i = at + 1
        }
        return nil
    }

    func string(_ s: Int, _ e: Int) -> String { String(decoding: bytes(s, e), as: UTF8.self) }

    func bytes(_ s: Int, _ e: Int) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: b[s..<e]) }

    /// The run of bytes from `at` that satisfy `pred`.
    func span(_ at: Int, while pred: (UInt8) -> Bool) -> UnsafeBufferPointer<UInt8> {
        var e = at
        while e < b.count && pred(b[e]) { e += 1 }
        return bytes(at, e)
    }

    func run(_ at: Int, while pred: (UInt8) -> Bool) -> String { String(decoding: span(at, while: pred), as: UTF8.self) }

    /// A field value up to the next `, ` (ports may be names with spaces: `MS WBT Server(3389)`).
    func field(_ at: Int) -> Substring {
        var e = at
        while e < b.count && b[e] != ASCII.comma { e += 1 }
        return Substring(string(at, e))
    }

    func number(_ at: Int) -> Int64? {
        var e = at
        while e < b.count && ASCII.isDigit(b[e]) { e += 1 }
        return b.uint(at, e)
    }

    /// The first `0x` with 16 hex digits: a kernel pointer (the digits).
    func pointer() -> UnsafeBufferPointer<UInt8>? {
        var from = 0
        while let p = find("0x", from: from) {
            var e = p
            while e < b.count && ASCII.isHexDigit(b[e]) { e += 1 }
            if e - p == 16 { return bytes(p, e) }
            from = p
        }
        return nil
    }
}
