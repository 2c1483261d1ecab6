import TraceModel

/// Decodes one captured packet (link layer to transport) into an event and its one-line summary,
/// written the way tshark writes its Info column, so a capture and its text export read alike.
///
/// Link types (the pcap LINKTYPE_ numbers): 0 BSD null/loopback, 1 Ethernet (802.1Q and QinQ tags
/// skipped), 101/12/14 raw IP, 113 Linux cooked (SLL), 276 SLL2, 228 raw IPv4, 229 raw IPv6.
/// Sequence numbers are shown relative to each side's first one, as Wireshark shows them by default;
/// the absolute ones are kept too (`seqRaw`). The window is scaled by the factor the two SYNs agreed.
struct PacketDecoder {
    private var numbering = TCPNumbering()

    /// Drops a closed connection's numbering state.
    mutating func forget(_ r: EventRecord) { numbering.forget(r) }
    /// What the last TCP packet's summary shows, when `decode` returns nil for its text: written by
    /// `appendSummary` straight into the packet's line, after the notes the analysis adds in front of it.
    private var pending = TCPSummary()
    /// The last TCP packet's SACK blocks (kept between packets: no array per packet).
    private var sack: [(Int64, Int64)] = []
    /// The last TCP packet's window scale option (the analyzer needs to know whether SYNs carried it).
    private(set) var lastWindowScale: Int?
    /// Where the last packet's UDP or TCP payload is in its bytes (as captured: a snaplen may cut it).
    private(set) var payload: Range<Int>?

    static let supportedLinkTypes: Set<UInt32> = [0, 1, 12, 14, 101, 113, 228, 229, 276]

    /// Fills the event for one packet (a fresh record the caller made) and returns its protocol label and
    /// Info-like text (nil: `appendSummary` writes it). nil only for unsupported link types. The record is
    /// filled in place: it is large, and a packet's worth of copies shows in the profile.
    mutating func decode(into r: inout EventRecord, linkType: UInt32, _ p: UnsafeBufferPointer<UInt8>, wireLength: Int) -> (label: String, summary: String?)? {
        r.frameLen = Int64(wireLength)
        lastWindowScale = nil
        payload = nil
        var at = 0
        var etherType: UInt16
        switch linkType {
        case 1:
            guard let t = p.be16(12) else { return ("ETH", "Truncated Ethernet frame") }
            etherType = t
            at = 14
            // 802.1Q / 802.1ad tags: skip them to the payload's type.
            while etherType == 0x8100 || etherType == 0x88A8 || etherType == 0x9100, let t2 = p.be16(at + 2) {
                etherType = t2
                at += 4
            }
            if etherType == 0x0806 { return arp(&r, p, at: at) }
            if etherType != 0x0800 && etherType != 0x86DD {
                // Only frames without IP are named by their MACs (formatting them costs, and IP replaces them).
                r.src = .name(PacketDecoder.mac(p, 6))
                r.dst = .name(PacketDecoder.mac(p, 0))
            }
        case 113:
            guard let t = p.be16(14) else { return ("SLL", "Truncated cooked header") }
            etherType = t
            at = 16
        case 276:
            guard let t = p.be16(0) else { return ("SLL2", "Truncated cooked header") }
            etherType = t
            at = 20
        case 0:
            // BSD loopback: a 4-byte address family in the capturing host's byte order.
            guard p.count >= 4 else { return ("NULL", "Truncated loopback header") }
            let family = p[0] != 0 ? UInt32(p[0]) : UInt32(p[3])
            etherType = family == 2 ? 0x0800 : 0x86DD
            at = 4
        case 228: etherType = 0x0800
        case 229: etherType = 0x86DD
        case 12, 14, 101:
            etherType = (p.count > 0 && p[0] >> 4 == 6) ? 0x86DD : 0x0800
        default:
            return nil
        }
        switch etherType {
        case 0x0800: return ipv4(&r, p, at: at)
        case 0x86DD: return ipv6(&r, p, at: at)
        case 0x0806: return arp(&r, p, at: at)
        default: return ("0x" + String(etherType, radix: 16), "Ethernet type 0x\(String(etherType, radix: 16))")
        }
    }

    static func mac(_ p: UnsafeBufferPointer<UInt8>, _ at: Int) -> String {
        guard at + 6 <= p.count else { return "?" }
        return (0..<6).map { hex2(p[at + $0]) }.joined(separator: ":")
    }

    static func hex2(_ b: UInt8) -> String {
        let d = Array("0123456789abcdef".utf8)
        return String(decoding: [d[Int(b >> 4)], d[Int(b & 15)]], as: UTF8.self)
    }

    private func arp(_ r: inout EventRecord, _ p: UnsafeBufferPointer<UInt8>, at: Int) -> (label: String, summary: String?) {
        guard let op = p.be16(at + 6), let sip = p.be32(at + 14), let tip = p.be32(at + 24) else { return ("ARP", "Truncated ARP") }
        let sender = Address.v4(sip).text, target = Address.v4(tip).text
        r.src = .name(PacketDecoder.mac(p, at + 8))
        r.dst = op == 1 ? .name("Broadcast") : .name(PacketDecoder.mac(p, at + 18))
        let text = op == 1 ? "Who has \(target)? Tell \(sender)" : "\(sender) is at \(PacketDecoder.mac(p, at + 8))"
        return ("ARP", text)
    }

    private mutating func ipv4(_ r: inout EventRecord, _ p: UnsafeBufferPointer<UInt8>, at: Int) -> (label: String, summary: String?) {
        guard at + 20 <= p.count, let total = p.be16(at + 2), let id = p.be16(at + 4), let frag = p.be16(at + 6),
              let src = p.be32(at + 12), let dst = p.be32(at + 16) else { return ("IPv4", "Truncated IPv4 header") }
        let ihl = Int(p[at] & 0x0F) * 4
        r.src = .v4(src)
        r.dst = .v4(dst)
        r.ipID = Int64(id)
        let proto = p[at + 9]
        let fragOffset = frag & 0x1FFF
        // The IP length, not the captured length, gives the payload's size: Ethernet pads short frames,
        // and a snaplen cuts long ones (their headers still say how much was sent).
        let end = at + max(Int(total), ihl)
        if fragOffset != 0 {
            r.attrs = "{\"fragment_offset\":\(Int(fragOffset) * 8)}"
            return ("IPv4", "Fragmented IP protocol (proto=\(proto), off=\(Int(fragOffset) * 8), ID=\(String(id, radix: 16)))")
        }
        return transport(&r, p, proto: proto, at: at + ihl, end: end, ip: "IPv4")
    }

    private mutating func ipv6(_ r: inout EventRecord, _ p: UnsafeBufferPointer<UInt8>, at: Int) -> (label: String, summary: String?) {
        guard at + 40 <= p.count, let plen = p.be16(at + 4) else { return ("IPv6", "Truncated IPv6 header") }
        var hi: UInt64 = 0, lo: UInt64 = 0, dhi: UInt64 = 0, dlo: UInt64 = 0
        for k in 0..<8 {
            hi = hi << 8 | UInt64(p[at + 8 + k]); lo = lo << 8 | UInt64(p[at + 16 + k])
            dhi = dhi << 8 | UInt64(p[at + 24 + k]); dlo = dlo << 8 | UInt64(p[at + 32 + k])
        }
        r.src = .v6(hi, lo)
        r.dst = .v6(dhi, dlo)
        var next = p[at + 6]
        var h = at + 40
        let end = at + 40 + Int(plen)
        // Extension headers: hop-by-hop, routing, destination options (length in 8-byte units), fragment.
        while [0, 43, 60, 44].contains(next), h + 8 <= min(end, p.count) {
            let n = p[h]
            if next == 44 {
                let off = (p.be16(h + 2) ?? 0) >> 3
                if off != 0 { return ("IPv6", "IPv6 fragment (off=\(Int(off) * 8))") }
                h += 8
            } else {
                h += (Int(p[h + 1]) + 1) * 8
            }
            next = n
        }
        return transport(&r, p, proto: next, at: h, end: end, ip: "IPv6")
    }

    private mutating func transport(_ r: inout EventRecord, _ p: UnsafeBufferPointer<UInt8>, proto: UInt8, at: Int, end: Int,
                                    ip: String) -> (label: String, summary: String?) {
        switch proto {
        case IPProto.tcp: return tcp(&r, p, at: at, end: end)
        case IPProto.udp:
            guard let sp = p.be16(at), let dp = p.be16(at + 2), let len = p.be16(at + 4) else { return ("UDP", "Truncated UDP header") }
            r.proto = IPProto.udp
            r.srcPort = Int32(sp)
            r.dstPort = Int32(dp)
            r.len = Int64(max(0, Int(len) - 8))
            payload = min(p.count, at + 8) ..< max(min(p.count, at + 8), min(p.count, at + Int(len)))
            return ("UDP", "\(sp) → \(dp) Len=\(max(0, Int(len) - 8))")
        case IPProto.icmp, IPProto.icmpv6:
            r.proto = proto
            let label = proto == IPProto.icmp ? "ICMP" : "ICMPv6"
            guard at < p.count else { return (label, "Truncated \(label)") }
            let type = p[at], code = at + 1 < p.count ? p[at + 1] : 0
            let text = PacketDecoder.icmpText(proto, type, code)
            // An error (unreachable, time exceeded, …) quotes the header it answers: it belongs to that
            // flow, seen from its far end. The reporter stays in attrs.
            let isError = proto == IPProto.icmp ? [3, 4, 5, 11, 12].contains(type) : (1...4).contains(type)
            if isError, let quoted = PacketDecoder.quotedFlow(p, at: at + 8, v6: proto == IPProto.icmpv6) {
                if let reporter = r.src { r.attrs = "{\"icmp_from\":\"\(reporter.text)\"}" }
                r.src = quoted.dst
                r.dst = quoted.src
                r.proto = quoted.proto
                r.srcPort = quoted.dport
                r.dstPort = quoted.sport
            }
            return (label, text)
        default:
            return (ip, "IP protocol \(proto)")
        }
    }

    /// The flow of the IP header (and first transport bytes) an ICMP error quotes.
    static func quotedFlow(_ p: UnsafeBufferPointer<UInt8>, at: Int, v6: Bool) -> (src: Address, sport: Int32, dst: Address, dport: Int32, proto: UInt8)? {
        if !v6 {
            guard at + 20 <= p.count, p[at] >> 4 == 4, let s = p.be32(at + 12), let d = p.be32(at + 16) else { return nil }
            let ihl = Int(p[at] & 0x0F) * 4
            let proto = p[at + 9]
            guard proto == IPProto.tcp || proto == IPProto.udp, let sp = p.be16(at + ihl), let dp = p.be16(at + ihl + 2) else { return nil }
            return (.v4(s), Int32(sp), .v4(d), Int32(dp), proto)
        }
        guard at + 40 <= p.count, p[at] >> 4 == 6 else { return nil }
        let proto = p[at + 6]
        guard proto == IPProto.tcp || proto == IPProto.udp, let sp = p.be16(at + 40), let dp = p.be16(at + 42) else { return nil }
        var sh: UInt64 = 0, sl: UInt64 = 0, dh: UInt64 = 0, dl: UInt64 = 0
        for k in 0..<8 {
            sh = sh << 8 | UInt64(p[at + 8 + k]); sl = sl << 8 | UInt64(p[at + 16 + k])
            dh = dh << 8 | UInt64(p[at + 24 + k]); dl = dl << 8 | UInt64(p[at + 32 + k])
        }
        return (.v6(sh, sl), Int32(sp), .v6(dh, dl), Int32(dp), proto)
    }

    static func icmpText(_ proto: UInt8, _ type: UInt8, _ code: UInt8) -> String {
        if proto == IPProto.icmp {
            switch type {
            case 0: return "Echo (ping) reply"
            case 8: return "Echo (ping) request"
            case 3: return "Destination unreachable (code \(code))"
            case 11: return "Time-to-live exceeded (code \(code))"
            default: return "ICMP type \(type) code \(code)"
            }
        }
        switch type {
        case 1: return "Destination Unreachable (code \(code))"
        case 128: return "Echo (ping) request"
        case 129: return "Echo (ping) reply"
        case 133: return "Router Solicitation"
        case 134: return "Router Advertisement"
        case 135: return "Neighbor Solicitation"
        case 136: return "Neighbor Advertisement"
        default: return "ICMPv6 type \(type) code \(code)"
        }
    }

    private mutating func tcp(_ r: inout EventRecord, _ p: UnsafeBufferPointer<UInt8>, at: Int, end: Int) -> (label: String, summary: String?) {
        guard at + 20 <= p.count, let sp = p.be16(at), let dp = p.be16(at + 2), let seq = p.be32(at + 4), let ack = p.be32(at + 8),
              let win = p.be16(at + 14) else { return ("TCP", "Truncated TCP header") }
        let hlen = Int(p[at + 12] >> 4) * 4
        let flags = Int(p[at + 12] & 0x01) << 8 | Int(p[at + 13])
        r.proto = IPProto.tcp
        r.srcPort = Int32(sp)
        r.dstPort = Int32(dp)
        r.flags = flags & 0xFF
        r.seqRaw = Int64(seq)
        let hasAck = flags & TCPFlags.ack.rawValue != 0
        if hasAck { r.ackRaw = Int64(ack) }
        let len = max(0, end - at - hlen)
        r.len = Int64(len)
        if len > 0 { payload = min(p.count, at + hlen) ..< max(min(p.count, at + hlen), min(p.count, end)) }
        // Options.
        var ws: Int? = nil
        var sackPerm = false
        sack.removeAll(keepingCapacity: true)
        var o = at + 20
        let oend = min(p.count, at + hlen)
        while o < oend {
            let kind = p[o]
            if kind == 0 { break }
            if kind == 1 { o += 1; continue }
            guard o + 1 < oend else { break }
            let olen = Int(p[o + 1])
            guard olen >= 2, o + olen <= oend else { break }
            switch kind {
            case 2: if let v = p.be16(o + 2) { r.mss = Int64(v) }
            case 3: ws = Int(p[o + 2])
            case 4: sackPerm = true
            case 5:
                var k = o + 2
                while k + 8 <= o + olen, let a = p.be32(k), let b = p.be32(k + 4) { sack.append((Int64(a), Int64(b))); k += 8 }
            case 8:
                if let v = p.be32(o + 2), let e = p.be32(o + 6) { r.tsval = Int64(v); r.tsecr = Int64(e) }
            default: break
            }
            o += olen
        }

        lastWindowScale = ws
        // Relative numbers and window scaling need both directions' state.
        let theirBase = numbering.apply(&r, rawWindow: Int64(win), ws: ws)

        // The summary is written later, into the packet's line (this runs for every packet: no text here).
        pending = TCPSummary(sp: sp, dp: dp, flags: flags & 0xFF, seq: r.seq, ack: hasAck ? r.ack : nil, win: r.win, len: len,
                             mss: r.mss, sackPerm: sackPerm, sackBase: theirBase ?? 0, tsval: r.tsval, tsecr: r.tsecr, ws: ws)
        if let ws {
            r.attrs = sackPerm ? "{\"ws\":\(1 << min(ws, 14)),\"sack_perm\":true}" : "{\"ws\":\(1 << min(ws, 14))}"
        } else if sackPerm {
            r.attrs = "{\"sack_perm\":true}"
        }
        return ("TCP", nil)
    }

    /// The last TCP packet's Info text, as tshark writes it: `443 → 51234 [ACK] Seq=1 Ack=1 Win=501 Len=0 …`.
    func appendSummary(to t: inout TextBuilder) {
        let x = pending
        t.append(Int(x.sp)); t.append(" → "); t.append(Int(x.dp)); t.append(" [")
        t.appendFlags(x.flags)
        t.append("] Seq="); t.append(x.seq)
        if let ack = x.ack { t.append(" Ack="); t.append(ack) }
        t.append(" Win="); t.append(x.win); t.append(" Len="); t.append(x.len)
        if x.mss != EventRecord.none { t.append(" MSS="); t.append(x.mss) }
        if x.sackPerm { t.append(" SACK_PERM") }
        for (a, b) in sack {
            t.append(" SLE="); t.append((a &- x.sackBase) & 0xFFFF_FFFF)
            t.append(" SRE="); t.append((b &- x.sackBase) & 0xFFFF_FFFF)
        }
        if x.tsval != EventRecord.none { t.append(" TSval="); t.append(x.tsval); t.append(" TSecr="); t.append(x.tsecr) }
        if let ws = x.ws { t.append(" WS="); t.append(1 << min(ws, 14)) }
    }
}

/// The fields of a TCP packet's summary line, kept until the line is written.
struct TCPSummary {
    var sp: UInt16 = 0, dp: UInt16 = 0
    var flags = 0
    var seq: Int64 = 0
    var ack: Int64? = nil
    var win: Int64 = 0
    var len = 0
    var mss: Int64 = EventRecord.none
    var sackPerm = false
    var sackBase: Int64 = 0
    var tsval: Int64 = EventRecord.none, tsecr: Int64 = EventRecord.none
    var ws: Int? = nil
}
