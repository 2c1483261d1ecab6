import TraceModel

/// tcpdump's text output (`tcpdump -n`, `-nn`, `-tttt`, `-v`, `-S`).
///
/// ```
/// 17:43:59.409866 IP 10.99.0.1.41001 > 10.99.0.2.8080: Flags [S], seq 1876041229, win 64240, options [mss 1460,sackOK,TS val 3237069656 ecr 0,nop,wscale 10], length 0
/// 17:43:59.430246 IP 10.99.0.1.41001 > 10.99.0.2.8080: Flags [.], ack 1, win 63, options [nop,nop,TS val 3237069697 ecr 4184219212], length 0
/// 2026-11-27 17:43:59.389452 ARP, Request who-has 10.99.0.2 tell 10.99.0.1, length 28
/// 17:43:59.409866 IP (tos 0x0, ttl 64, id 20503, offset 0, flags [DF], proto TCP (6), length 60)
///     10.99.0.1.41001 > 10.99.0.2.8080: Flags [S], cksum 0x6660 (correct), seq 1876041229, …
/// ```
/// The port follows the address after a dot (`10.99.0.1.41001`, `fd99::1.41005`); flags are letters
/// (S SYN, F FIN, R RST, P PSH, U URG, E ECE, W CWR, `.` ACK). tcpdump prints a connection's first
/// ACK-bearing packet with absolute numbers and the following ones relative to it (unless `-S`); this
/// parser undoes that, then shows them as Wireshark does (relative to each side's first number) and
/// scales the window, so tcpdump's text and the capture give the same events. Indented lines (`-v`'s
/// second line, payload dumps) belong to the packet above.
public struct TcpdumpText: LineParser {
    public static let id = "tcpdump_text"
    public static let summary = "tcpdump text output (-n, -nn, -tttt, -v, -S)"

    private var services: ServiceNames
    private var zoneOffsetNs: Int64
    private var tokens: [Token] = []
    private var held: EventRecord? = nil
    private var heldWindow: Int64 = EventRecord.none
    private var heldWS: Int? = nil
    /// `-v` puts the IP header on the first line and the packet on the next: wait for it.
    private var awaitingDetail = false
    private var numbering = TCPNumbering()
    private var analyzer = TCPAnalyzer()
    /// What the parser remembers of one direction of a connection.
    private struct DirectionState {
        /// tcpdump's own bases: the first ACK-bearing packet's seq and its ack - 1.
        var base: (seq: Int64, ack: Int64)? = nil
        /// This direction's last packet, its ACK and raw window, and its last segment with data.
        var lastFrame: Int64 = 0
        var lastTime: Int64 = 0
        var lastAck: Int64 = EventRecord.none
        var lastWindow: Int64 = EventRecord.none
        var lastDataFrame: Int64 = 0
        /// Whether this direction's last packet was taken as a keep-alive (the answer to it is not one).
        var lastWasKeepAlive = false
    }
    private var directions: [TCPNumbering.Direction: DirectionState] = [:]
    private var basis: TimeBasis? = nil
    private var digits = 0
    private var frame: Int64 = 0

    /// Names the store maps to addresses, the ones this file used (reported once), and the ones it could not map.
    private let hostAddresses: [String: Address]
    private var resolvedNames: Set<String> = []
    private var pendingNames: [(Address, String)] = []
    private var unresolvedNames: Set<String> = []

    public init(context: ParseContext) {
        services = context.services
        hostAddresses = context.hostAddresses
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
    }

    public static func sniff(_ head: SniffHead) -> Double {
        var n = 0, hits = 0
        for line in head.lines.prefix(100) where !line.isEmpty && !line.hasPrefix(" ") && !line.hasPrefix("\t") {
            n += 1
            let parts = line.split(separator: " ", maxSplits: 3)
            guard parts.count >= 3 else { continue }
            var i = 0
            if parts[0].count == 10, parts[0].filter({ $0 == "-" }).count == 2 { i = 1 }
            guard i + 1 < parts.count, parts[i].count >= 8, parts[i].filter({ $0 == ":" }).count == 2, parts[i].first?.isNumber == true else { continue }
            let kind = parts[i + 1]
            if kind == "IP" || kind == "IP6" || kind == "ARP," || kind == "IP6," { hits += 1 }
        }
        guard n > 0 else { return 0 }
        let share = Double(hits) / Double(n)
        return share > 0.5 ? 0.6 + 0.3 * share : 0
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        if line.isBlank { return }
        if ASCII.isSpace(b[0]) {
            if awaitingDetail, var r = held {
                awaitingDetail = false
                b.tokenize(into: &tokens)
                r.rawLen = Int(line.offset - r.rawAt) + b.count
                _ = packetFields(b, from: 0, &r)
                held = r
                return
            }
            if var r = held { r.rawLen = Int(line.offset - r.rawAt) + b.count; held = r; return }
            sink.unparsed(UnparsedLine(line: line.number, reason: "indented line before any packet", raw: line.string))
            return
        }
        release(sink)
        b.tokenize(into: &tokens)
        guard tokens.count >= 2 else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a tcpdump packet line", raw: line.string))
            return
        }
        var k = 0
        var ts: Int64
        if let days = b.date(tokens[0].start, tokens[0].end), let tod = b.timeOfDay(tokens[1].start, tokens[1].end) {
            ts = days * CivilTime.nsPerDay + tod.ns
            digits = max(digits, tod.digits)
            if basis == nil { basis = .absolute }
            k = 2
        } else if let tod = b.timeOfDay(tokens[0].start, tokens[0].end) {
            ts = tod.ns
            digits = max(digits, tod.digits)
            if basis == nil { basis = .timeOfDay }
            k = 1
        } else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a tcpdump packet line (no time)", raw: line.string))
            return
        }
        ts -= zoneOffsetNs
        frame += 1
        var r = EventRecord(line: line.number, ordinal: frame, ts: ts, kind: .packet, rawAt: line.offset, rawLen: b.count,
                            summaryAt: k < tokens.count ? tokens[k].start : b.count)
        guard k < tokens.count else { held = r; return }
        let kindToken = tokens[k]
        if b.equals(kindToken, "ARP,") {
            r.label = "ARP"
            arp(b, from: k + 1, &r)
            held = r
            return
        }
        if b.equals(kindToken, "IP") || b.equals(kindToken, "IP6") {
            r.label = b.equals(kindToken, "IP") ? "IPv4" : "IPv6"
            if k + 1 < tokens.count, b[tokens[k + 1].start] == ASCII.lparen {
                // -v: the IP header in parentheses; the packet follows on the same line (IPv6) or the next (IPv4).
                ipHeader(b, from: k + 1, &r)
                var depth = 0, j = k + 1
                while j < tokens.count {
                    for c in tokens[j].start..<tokens[j].end {
                        if b[c] == ASCII.lparen { depth += 1 } else if b[c] == ASCII.rparen { depth -= 1 }
                    }
                    j += 1
                    if depth <= 0 { break }
                }
                if j < tokens.count {
                    _ = packetFields(b, from: j, &r)
                } else {
                    awaitingDetail = true
                }
                held = r
                return
            }
            _ = packetFields(b, from: k + 1, &r)
            held = r
            return
        }
        r.label = b.string(kindToken).trimmingCharacters(",")
        held = r
    }

    public var timeSoFar: (basis: TimeBasis, digits: Int)? { basis.map { ($0, digits) } }

    /// The last packet waits for its `-v` detail line; tcpdump -l writes a packet's lines together.
    public mutating func idle(into sink: RecordSink) { release(sink) }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        release(sink)
        var facts = SourceFacts()
        facts.timeBasis = basis ?? .absolute
        facts.timeDigits = digits
        if !unresolvedNames.isEmpty {
            let names = unresolvedNames.sorted()
            facts.notes["unresolved_names"] = names.joined(separator: " ")
            facts.warnings.append("tcpdump printed host names no loaded source maps to an address (\(names.prefix(3).joined(separator: ", "))\(names.count > 3 ? ", …" : "")): their packets are kept without connections; ingest a pcapng naming them first, or rerun tcpdump with -n")
        }
        return facts
    }

    // MARK: - Fields

    /// `id 20503` from `-v`'s IP header line.
    private func ipHeader(_ b: UnsafeBufferPointer<UInt8>, from k: Int, _ r: inout EventRecord) {
        var i = k
        while i + 1 < tokens.count {
            if b.equals(tokens[i], "id"), let v = b.uint(tokens[i + 1].start, tokens[i + 1].end - (b[tokens[i + 1].end - 1] == ASCII.comma ? 1 : 0)) {
                r.ipID = v
            }
            i += 1
        }
    }

    private mutating func arp(_ b: UnsafeBufferPointer<UInt8>, from k: Int, _ r: inout EventRecord) {
        var i = k
        while i + 1 < tokens.count {
            if b.equals(tokens[i], "tell") {
                r.src = host(b.substring(Token(tokens[i + 1].start, tokens[i + 1].end - (b[tokens[i + 1].end - 1] == ASCII.comma ? 1 : 0))))
                r.dst = .name("Broadcast")
            } else if b.equals(tokens[i], "is-at"), i >= 1 {
                r.src = host(b.substring(tokens[i - 1]))
            }
            i += 1
        }
    }

    /// `a.b.c.d.port` / `v6.port` / `name.port`: the last dot separates the port when what is left is an
    /// address, or when it is a port (a number or a service name) after a host name.
    private mutating func endpoint(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> (Address, Int32)? {
        var e = t.end
        if e > t.start && (b[e - 1] == ASCII.colon || b[e - 1] == ASCII.comma) { e -= 1 }
        let text = b.substring(Token(t.start, e))
        if let a = Address(ip: text) { return (a, -1) }
        guard let dot = text.lastIndex(of: ".") else { return (host(text), -1) }
        let hostText = text[..<dot], portText = text[text.index(after: dot)...]
        if let a = Address(ip: hostText) { return (a, services.port(portText) ?? -1) }
        // A name: `server.tj.test.http-alt` ends in its port, `server.tj.test` (ICMP, ARP) does not.
        guard let port = services.port(portText) else { return (host(text), -1) }
        return (host(hostText), port)
    }

    /// An address as tcpdump printed it: an IP address, or a name it resolved, taken back to its address
    /// when a capture in the store named that address so; else the name stays (no connection key).
    private mutating func host(_ text: Substring) -> Address {
        if let a = Address(ip: text) { return a }
        let name = String(text)
        if let a = hostAddresses[name.lowercased()] {
            if resolvedNames.insert(name).inserted { pendingNames.append((a, name)) }
            return a
        }
        unresolvedNames.insert(name)
        return .name(name)
    }

    /// `src > dst: Flags [S.], seq 1:92, ack 1, win 63, options [...], length 91`. Returns whether it read a packet.
    private mutating func packetFields(_ b: UnsafeBufferPointer<UInt8>, from k: Int, _ r: inout EventRecord) -> Bool {
        guard k + 2 < tokens.count, b.equals(tokens[k + 1], ">"), let s = endpoint(b, tokens[k]), let d = endpoint(b, tokens[k + 2]) else { return false }
        r.src = s.0; r.srcPort = s.1
        r.dst = d.0; r.dstPort = d.1
        var i = k + 3
        var seqStart: Int64? = nil, seqEnd: Int64? = nil, ack: Int64? = nil, win: Int64 = EventRecord.none
        var ws: Int? = nil
        var isTCP = false
        while i < tokens.count {
            let t = tokens[i]
            if b.equals(t, "Flags"), i + 1 < tokens.count {
                isTCP = true
                r.flags = TcpdumpText.flags(b, tokens[i + 1])
                i += 2; continue
            }
            if b.equals(t, "seq"), i + 1 < tokens.count {
                let v = tokens[i + 1]
                var e = v.end
                if b[e - 1] == ASCII.comma { e -= 1 }
                if let colon = (v.start..<e).first(where: { b[$0] == ASCII.colon }) {
                    seqStart = b.uint(v.start, colon); seqEnd = b.uint(colon + 1, e)
                } else {
                    seqStart = b.uint(v.start, e)
                }
                i += 2; continue
            }
            if b.equals(t, "ack"), i + 1 < tokens.count { ack = TcpdumpText.number(b, tokens[i + 1]); i += 2; continue }
            if b.equals(t, "win"), i + 1 < tokens.count { win = TcpdumpText.number(b, tokens[i + 1]) ?? EventRecord.none; i += 2; continue }
            if b.equals(t, "length"), i + 1 < tokens.count, r.len == EventRecord.none {
                if let v = TcpdumpText.number(b, tokens[i + 1]) { r.len = v }
                i += 2; continue
            }
            if b.hasPrefix(t, "[mss") || b.equals(t, "options") || b.hasPrefix(t, "[nop") || b.hasPrefix(t, "[sackOK") {
                // options [mss 1460,sackOK,TS val 3237069656 ecr 0,nop,wscale 10]
                var j = i
                while j < tokens.count {
                    let o = tokens[j]
                    if b.hasPrefix(o, "[mss") || b.equals(o, "mss") { if j + 1 < tokens.count { r.mss = TcpdumpText.number(b, tokens[j + 1]) ?? EventRecord.none } }
                    if b.equals(o, "val"), j + 1 < tokens.count { r.tsval = TcpdumpText.number(b, tokens[j + 1]) ?? EventRecord.none }
                    if b.equals(o, "ecr"), j + 1 < tokens.count { r.tsecr = TcpdumpText.number(b, tokens[j + 1]) ?? EventRecord.none }
                    if b.hasSuffix(o, "wscale"), j + 1 < tokens.count { ws = TcpdumpText.number(b, tokens[j + 1]).map { Int($0) } }
                    if b[o.end - 1] == ASCII.rbracket || (o.count > 1 && b[o.end - 2] == ASCII.rbracket) { break }
                    j += 1
                }
                i = j + 1; continue
            }
            if b.equals(t, "ICMP") || b.equals(t, "ICMP6,") || b.equals(t, "ICMP,") {
                r.proto = b.equals(t, "ICMP6,") ? IPProto.icmpv6 : IPProto.icmp
                r.label = b.equals(t, "ICMP6,") ? "ICMPv6" : "ICMP"
            }
            if b.equals(t, "UDP,") { r.proto = IPProto.udp; r.label = "UDP" }
            i += 1
        }
        if isTCP {
            r.proto = IPProto.tcp
            r.label = "TCP"
            if let seqStart, let seqEnd { r.len = seqEnd - seqStart }
            recoverAbsolute(&r, seqStart, ack, window: win)
            r.win = win
            numbering.apply(&r, rawWindow: win, ws: ws)
            _ = analyzer.analyze(&r, ws: ws)
        } else if r.proto == 0, r.srcPort >= 0, r.dstPort >= 0 {
            r.proto = IPProto.udp
            r.label = r.label ?? "UDP"
        }
        return true
    }

    /// Undoes tcpdump's relative numbering (print-tcp.c): the first ACK-bearing packet of a connection is
    /// printed absolute and sets the bases; later ones print `seq - base`, `ack - base` (unless `-S`,
    /// seen when a number lands exactly on the absolute one). Pure ACKs omit seq: the side's next one —
    /// except a keep-alive (or Linux's zero-window probe), whose seq is one less and which tcpdump prints
    /// the same way. A pure ACK that repeats this side's last ACK and window after this side was silent
    /// for `keepAliveQuiet`, with no data from the peer since, is taken as one — unless it answers the
    /// peer's keep-alive: a duplicate ACK answers arriving data, and comes in bursts, not after a silence.
    private mutating func recoverAbsolute(_ r: inout EventRecord, _ seq: Int64?, _ ack: Int64?, window: Int64) {
        let flags = TCPFlags(rawValue: max(0, r.flags))
        let key = TCPNumbering.Direction(src: r.src!, sport: r.srcPort, dst: r.dst!, dport: r.dstPort)
        let reverse = TCPNumbering.Direction(src: r.dst!, sport: r.dstPort, dst: r.src!, dport: r.srcPort)
        var me = directions[key] ?? DirectionState()
        let peer = directions[reverse]
        var absSeq = seq, absAck = ack
        if flags.contains(.ack) {
            if let base = me.base {
                if let s = seq { absSeq = TcpdumpText.absolute(s, base.seq) }
                if let a = ack { absAck = TcpdumpText.absolute(a, base.ack) }
            } else if let s = seq ?? numbering.side(r.src!, r.srcPort, r.dst!, r.dstPort)?.next, let a = ack {
                me.base = (s, a - 1)
                var p = peer ?? DirectionState()
                p.base = (a - 1, s)
                directions[reverse] = p
                absSeq = s
            }
        }
        if absSeq == nil, let next = numbering.side(r.src!, r.srcPort, r.dst!, r.dstPort)?.next {
            let pureAck = flags == .ack && max(0, r.len) == 0
            let repeated = me.lastFrame > 0 && absAck.map { $0 & 0xFFFF_FFFF } == me.lastAck && window == me.lastWindow
            let peerQuiet = (peer?.lastDataFrame ?? 0) < me.lastFrame
            let silent = r.ts - me.lastTime >= TcpdumpText.keepAliveQuiet
            let answer = peer?.lastWasKeepAlive ?? false
            me.lastWasKeepAlive = pureAck && repeated && peerQuiet && silent && !answer
            absSeq = me.lastWasKeepAlive ? next &- 1 : next
        } else {
            me.lastWasKeepAlive = false
        }
        r.seqRaw = absSeq.map { $0 & 0xFFFF_FFFF } ?? EventRecord.none
        r.ackRaw = absAck.map { $0 & 0xFFFF_FFFF } ?? EventRecord.none
        me.lastFrame = r.ordinal
        me.lastTime = r.ts
        me.lastAck = r.ackRaw
        me.lastWindow = window
        if r.len > 0 { me.lastDataFrame = r.ordinal }
        directions[key] = me
    }

    /// Linux's shortest keep-alive interval is 1 s and its zero-window probes wait at least the 200 ms
    /// minimum RTO; a repeated ACK after this long a silence is one of those.
    static let keepAliveQuiet: Int64 = 200_000_000

    /// A printed number back to absolute: relative ones are small; `-S` prints absolute ones, which lie
    /// just after the base.
    static func absolute(_ printed: Int64, _ base: Int64) -> Int64 {
        let d = (printed &- base) & 0xFFFF_FFFF
        if printed >= 1 << 24 && d < 1 << 24 { return printed }
        return (base &+ printed) & 0xFFFF_FFFF
    }

    static func number(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> Int64? {
        var e = t.end
        while e > t.start && !ASCII.isDigit(b[e - 1]) { e -= 1 }
        return b.uint(t.start, e)
    }

    /// `[S.]` → SYN|ACK.
    static func flags(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> Int {
        var f = 0
        for i in t.start..<t.end {
            switch b[i] {
            case UInt8(ascii: "S"): f |= TCPFlags.syn.rawValue
            case UInt8(ascii: "F"): f |= TCPFlags.fin.rawValue
            case UInt8(ascii: "R"): f |= TCPFlags.rst.rawValue
            case UInt8(ascii: "P"): f |= TCPFlags.psh.rawValue
            case UInt8(ascii: "U"): f |= TCPFlags.urg.rawValue
            case UInt8(ascii: "E"): f |= TCPFlags.ece.rawValue
            case UInt8(ascii: "W"): f |= TCPFlags.cwr.rawValue
            case UInt8(ascii: "."): f |= TCPFlags.ack.rawValue
            default: break
            }
        }
        return f
    }

    private mutating func release(_ sink: RecordSink) {
        for (a, n) in pendingNames { sink.hostName(a, n) }
        pendingNames.removeAll()
        if let r = held.take() { sink.emit(r) }
        awaitingDetail = false
    }
}

extension String {
    fileprivate func trimmingCharacters(_ c: Character) -> String {
        var s = Substring(self)
        while s.last == c { s = s.dropLast() }
        return String(s)
    }
}
