import TraceModel

/// One packet-list row cut into its columns, as positions in the line's bytes.
struct PacketRowFields {
    var number: Token
    /// Time values in column order; a value may span two tokens (`2013-01-06 09:52:15.407`).
    var times: [(TimeColumn, Token)] = []
    var source: Token
    var destination: Token
    var label: Token?
    var length: Token?
    var custom: [(PacketColumn, Token)] = []
    /// The Info column: its tokens (may be empty).
    var info: ArraySlice<Token>
    /// Where the row's text begins and ends in the line (the record's raw text).
    var rawStart: Int
    var rawEnd: Int
}

/// Turns a row's columns into an event: shared by every packet-list layout (text and CSV), so that the
/// same packet reads the same whichever way it was exported.
struct PacketRowBuilder {
    let services: ServiceNames
    /// The last TCP conversation seen between two addresses, for rows whose Info shows no ports
    /// (`HTTP Continuation or non-HTTP traffic`, `TDS Response Packet`): packet-list exports are usually
    /// filtered to one conversation, so the address pair names it. Marked `"ports": "inferred"`.
    private var conversations: [PairKey: (Endpoint, Endpoint)] = [:]
    private var lastConversation: (Address, Int32, Address, Int32)? = nil

    struct PairKey: Hashable {
        let lo: Address, hi: Address
        init(_ x: Address, _ y: Address) {
            if x.precedes(y) { lo = x; hi = y } else { lo = y; hi = x }
        }
    }

    init(services: ServiceNames) { self.services = services }

    static let udpLabels: Set<String> = ["UDP", "DNS", "MDNS", "LLMNR", "NBNS", "SSDP", "DHCP", "DHCPv6", "NTP", "SNMP",
                                         "Syslog", "STUN", "QUIC", "TFTP", "RADIUS", "CLDAP", "BROWSER", "RTP", "RTCP", "ISAKMP"]
    static let icmpLabels: Set<String> = ["ICMP", "ICMPv6"]

    /// Reads a time value; `next` is the token after it, used when the value is a date followed by a time.
    static func rowTime(_ b: UnsafeBufferPointer<UInt8>, _ t: Token, column: TimeColumn) -> RowTime? {
        if let tod = b.timeOfDay(t.start, t.end) { return .timeOfDay(tod.ns) }
        if let s = b.decimalSeconds(t.start, t.end) {
            // Seconds since 1970 (tshark -t e): no capture runs for 30 years.
            if s.ns > 1_000_000_000 * CivilTime.nsPerSecond { return .absoluteUTC(s.ns) }
            return .seconds(s.ns, column)
        }
        return nil
    }

    static func digits(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> Int {
        var k = t.end - 1
        var n = 0
        while k >= t.start && ASCII.isDigit(b[k]) { n += 1; k -= 1 }
        return k >= t.start && b[k] == ASCII.dot ? n : 0
    }

    /// Parses an address column: IPv4 (zero-padded too), IPv6, else a name (MAC, vendor MAC, host).
    static func address(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> Address {
        if let v4 = Address.parseV4(UnsafeBufferPointer(rebasing: b[t.start..<t.end])) { return .v4(v4) }
        let s = b.substring(t)
        if s.utf8.contains(UInt8(ascii: ":")), let a = Address(ip: s) { return a }
        return .name(String(s))
    }

    /// Builds the record; its `ts` is set later by the time resolver from the returned `RowTime`.
    mutating func build(_ b: UnsafeBufferPointer<UInt8>, _ f: PacketRowFields, line: Line) -> (EventRecord, RowTime?, Int) {
        let summaryAt = (f.info.first?.start ?? f.rawEnd) - f.rawStart
        var r = EventRecord(line: line.number, ordinal: b.uint(f.number) ?? Int64(line.number), ts: 0, kind: .packet,
                            rawAt: line.offset + Int64(f.rawStart), rawLen: f.rawEnd - f.rawStart, summaryAt: summaryAt)
        r.src = PacketRowBuilder.address(b, f.source)
        r.dst = PacketRowBuilder.address(b, f.destination)
        if let l = f.label { r.label = b.string(l) }
        if let l = f.length { r.frameLen = b.uint(l) ?? EventRecord.none }

        // Time: prefer a calendar time, then a time of day, then the first seconds column.
        var time: RowTime? = nil
        var digits = 0
        var k = 0
        while k < f.times.count {
            let (col, t) = f.times[k]
            if let days = b.date(t.start, t.end), k + 1 < f.times.count, let tod = b.timeOfDay(f.times[k + 1].1.start, f.times[k + 1].1.end) {
                if time == nil || { if case .absolute = time! { return false }; return true }() {
                    time = .absolute(days * CivilTime.nsPerDay + tod.ns)
                    digits = tod.digits
                }
                k += 2
                continue
            }
            if let rt = PacketRowBuilder.rowTime(b, t, column: col) {
                switch (time, rt) {
                case (nil, _):
                    time = rt; digits = PacketRowBuilder.digits(b, t)
                case (.some(.seconds), .timeOfDay), (.some(.seconds), .absoluteUTC):
                    time = rt; digits = PacketRowBuilder.digits(b, t)
                default:
                    break
                }
            }
            k += 1
        }

        let info = PacketInfo(b, tokens: f.info, services: services)
        r.flags = info.flags
        r.seq = info.seq
        r.ack = info.ack
        r.len = info.len
        r.win = info.win
        r.mss = info.mss
        r.tsval = info.tsval
        r.tsecr = info.tsecr
        r.expert = info.expert
        r.srcPort = info.srcPort
        r.dstPort = info.dstPort

        // Custom columns fill what Info did not show.
        for (col, t) in f.custom {
            switch col {
            case .ipID:
                // `0x58ba (22714)`: the hex token comes first.
                if b.hasPrefix(t, "0x"), let v = Int64(b.string(t.start + 2, t.end), radix: 16) { r.ipID = v }
                else if let v = b.uint(t) { r.ipID = v }
            case .srcPort: if r.srcPort < 0, let v = b.uint(t) { r.srcPort = Int32(truncatingIfNeeded: v) }
            case .dstPort: if r.dstPort < 0, let v = b.uint(t) { r.dstPort = Int32(truncatingIfNeeded: v) }
            case .seq: if r.seq == EventRecord.none { r.seq = b.uint(t) ?? EventRecord.none }
            case .tcpLen: if r.len == EventRecord.none { r.len = b.uint(t) ?? EventRecord.none }
            case .tcpAck: if r.ack == EventRecord.none { r.ack = b.uint(t) ?? EventRecord.none }
            case .tcpWin: if r.win == EventRecord.none { r.win = b.uint(t) ?? EventRecord.none }
            default: break
            }
        }

        var attrs: [String] = []
        let label = r.label ?? ""
        // (TCP fields decide first: the label sets are consulted only for the rows that need them.)
        if r.srcPort >= 0 && r.dstPort >= 0 && PacketRowBuilder.icmpLabels.contains(label) {
            // Port columns on an ICMP error show the packet it quotes, which went the other way: the error
            // belongs to that flow, seen from its far end (as a capture reads it). The row does not say the
            // quoted transport; "Port unreachable" answers UDP (a closed TCP port answers with RST).
            swap(&r.srcPort, &r.dstPort)
            if let first = f.info.first, let last = f.info.last, b.string(first.start, last.end).contains("Port unreachable") {
                r.proto = IPProto.udp
            } else {
                r.proto = label == "ICMP" ? IPProto.icmp : IPProto.icmpv6
                r.srcPort = -1; r.dstPort = -1
            }
        } else if r.srcPort >= 0 && r.dstPort >= 0 {
            if !info.hasTCPFields && PacketRowBuilder.udpLabels.contains(label) { r.proto = IPProto.udp }
            else { r.proto = IPProto.tcp }
        } else if PacketRowBuilder.icmpLabels.contains(label) {
            r.proto = label == "ICMP" ? IPProto.icmp : IPProto.icmpv6
        }
        if let s = r.src, let d = r.dst, s.isIP, d.isIP {
            if r.proto == IPProto.tcp {
                // Consecutive rows mostly belong to one conversation: write the map only when it changes.
                let same: Bool
                if let (a, ap, z, zp) = lastConversation {
                    same = (a == s && ap == r.srcPort && z == d && zp == r.dstPort) || (a == d && ap == r.dstPort && z == s && zp == r.srcPort)
                } else {
                    same = false
                }
                if !same {
                    conversations[PairKey(s, d)] = (Endpoint(address: s, port: r.srcPort), Endpoint(address: d, port: r.dstPort))
                    lastConversation = (s, r.srcPort, d, r.dstPort)
                }
            } else if r.proto == 0, !PacketRowBuilder.udpLabels.contains(label), let conv = conversations[PairKey(s, d)] {
                let (x, y) = conv
                if x.address == s { r.srcPort = x.port; r.dstPort = y.port } else { r.srcPort = y.port; r.dstPort = x.port }
                r.proto = IPProto.tcp
                attrs.append("\"ports\":\"inferred\"")
            }
        }
        if info.ws != EventRecord.none { attrs.append("\"ws\":\(info.ws)") }
        if info.sackPermitted { attrs.append("\"sack_perm\":true") }
        if !info.sack.isEmpty { attrs.append("\"sack\":[" + info.sack.map { "[\($0.0),\($0.1)]" }.joined(separator: ",") + "]") }
        if !attrs.isEmpty { r.attrs = "{" + attrs.joined(separator: ",") + "}" }
        return (r, time, digits)
    }
}
