import TraceModel

/// Wireshark's TCP expert analysis for packets read from captures (text exports carry Wireshark's own
/// marks): retransmission (fast, spurious), out-of-order, previous segment not captured, ACKed unseen
/// segment, duplicate ACK (with its number), zero window and its probes, window full, window update,
/// keep-alive and its ACK.
///
/// The rules, their order and the state they keep follow Wireshark's `tcp_analyze_sequence_number`
/// (epan/dissectors/packet-tcp.c, as in Wireshark 4.0, the version the test captures were analysed with) so that a capture read here carries the marks a user sees in
/// Wireshark; where Wireshark has a quirk (a duplicate ACK needs no ACK flag, the spurious-retransmission
/// test comes before the fast one) it is kept, because agreement is the point. Sequence numbers are
/// compared modulo 2^32.
struct TCPAnalyzer {
    /// One direction's state (Wireshark's `tcp_flow_t` and its `tcp_analyze_seq_flow_info_t`).
    private struct Side {
        /// Where the highest segment seen ends, and when that segment came (out-of-order is a segment
        /// behind it arriving within one RTT).
        var nextSeq: UInt32 = 0
        var hasNext = false
        var nextSeqTime: Int64 = 0
        /// The end of the contiguous data seen: an ACK beyond it acknowledges a segment never seen.
        var maxSeqToBeAcked: UInt32 = 0
        var hasMaxSeq = false
        /// The last packet's ACK number and time (any packet: Wireshark does not look at the ACK flag).
        var lastAck: UInt32 = 0
        var lastAckTime: Int64 = 0
        /// Duplicate ACKs since the ACK number last changed (-1: the peer was told of an ACKed unseen
        /// segment), and the frame that first carried it (Wireshark's `[TCP Dup ACK 12#2]` names it).
        var dupAckNum = 0
        var lastNonDupAck: Int64 = 0
        /// The last window this side announced; none yet is a value no packet carries.
        var window: Int64 = -1
        /// The window scale this side's SYN settled: -1 unknown (no SYN seen), -2 not used, else the shift.
        var winScale = -1
        /// The marks on this side's last segment (a keep-alive's or probe's answer is told by them).
        var lastSegmentMarks = TCPExpert()
        var finSeen = false
        var isn: UInt32 = 0
        var sawSyn = false
    }

    /// A connection: both directions, the time of its most recent SYN and its handshake RTT (the
    /// out-of-order threshold; 3 ms until known, as in Wireshark).
    private struct Conversation {
        var a = Side(), b = Side()
        var lastSynTime: Int64 = 0
        var firstRTT: Int64 = 0
    }

    private struct Key: Equatable {
        let sh: UInt64, sl: UInt64, dh: UInt64, dl: UInt64, ports: UInt64
        var hash: UInt64 { foldWords(foldWords(sh ^ dh, sl), foldWords(dl, ports)) }
    }

    /// Connections' state lives in an array, found through the index: updated in place, not copied out
    /// of a dictionary and back for every packet. Slots of forgotten connections are reused.
    private var index = TupleTable<Key>()
    private var conversations: [Conversation] = []
    private var freeSlots: [Int] = []
    /// Set by `analyze` when the packet ended its connection: a RST, or the ACK of the second FIN.
    private(set) var lastClosed = false

    /// Drops a connection's state (both directions).
    mutating func forget(_ r: EventRecord) {
        let k = TCPAnalyzer.key(r).key
        if let i = index.remove(k, hash: k.hash) { freeSlots.append(i) }
    }

    private mutating func slot(_ k: Key) -> Int {
        let h = k.hash
        if let i = index.find(k, hash: h) { return i }
        let i: Int
        if let f = freeSlots.popLast() { conversations[f] = Conversation(); i = f } else { conversations.append(Conversation()); i = conversations.count - 1 }
        index.insert(k, hash: h, value: i)
        return i
    }

    /// The connection's key (the lower endpoint first) and whether this packet goes from the higher one.
    private static func key(_ r: EventRecord) -> (key: Key, reversed: Bool) {
        func addr(_ x: Address?) -> (UInt64, UInt64) {
            switch x {
            case .v4(let v)?: return (0, UInt64(v))
            case .v6(let h, let l)?: return (h, l)
            default: return (0, 0)
            }
        }
        let s = addr(r.src), d = addr(r.dst)
        let sp = UInt64(UInt16(truncatingIfNeeded: r.srcPort)), dp = UInt64(UInt16(truncatingIfNeeded: r.dstPort))
        let reversed = (s.0, s.1, sp) > (d.0, d.1, dp)
        return reversed ? (Key(sh: d.0, sl: d.1, dh: s.0, dl: s.1, ports: dp << 16 | sp), true)
                        : (Key(sh: s.0, sl: s.1, dh: d.0, dl: d.1, ports: sp << 16 | dp), false)
    }

    @inline(__always) static func after(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }

    /// Wireshark's out-of-order threshold before the handshake gave an RTT.
    static let defaultOutOfOrderThreshold: Int64 = 3_000_000
    /// A retransmission within this of the duplicate ACKs asking for it is a fast one.
    static let fastRetransmissionWindow: Int64 = 20_000_000

    /// Sets the record's `expert` bits; `ws` is the packet's window scale option (SYNs carry it).
    /// Returns, for a duplicate ACK, the frame it repeats and its count (Wireshark's `[TCP Dup ACK 12#1]`).
    mutating func analyze(_ r: inout EventRecord, ws: Int? = nil) -> (of: Int64, n: Int)? {
        lastClosed = false
        guard r.proto == IPProto.tcp, r.seqRaw != EventRecord.none else { return nil }
        let (k, reversed) = TCPAnalyzer.key(r)
        let i = slot(k)
        var closed = false
        let dup = TCPAnalyzer.analyze(&r, ws: ws, &conversations[i], reversed: reversed, closed: &closed)
        lastClosed = closed
        return dup
    }

    /// One packet against its connection's state (`c`, updated in place); `reversed`: the packet goes from
    /// the connection's higher endpoint (side b).
    private static func analyze(_ r: inout EventRecord, ws: Int?, _ c: inout Conversation, reversed: Bool, closed: inout Bool) -> (of: Int64, n: Int)? {
        let flags = TCPFlags(rawValue: max(0, r.flags))
        let seq = UInt32(truncatingIfNeeded: r.seqRaw)
        let syn = flags.contains(.syn), hasAckFlag = flags.contains(.ack)
        // A new SYN on a tuple whose last connection began with another: a new connection (the port
        // numbers were reused), analysed from scratch.
        if syn && !hasAckFlag, (reversed ? c.b : c.a).sawSyn, (reversed ? c.b : c.a).isn != seq { c = Conversation() }
        if reversed {
            return step(&r, ws: ws, &c.b, &c.a, &c.lastSynTime, &c.firstRTT, closed: &closed)
        }
        return step(&r, ws: ws, &c.a, &c.b, &c.lastSynTime, &c.firstRTT, closed: &closed)
    }

    /// The rules, for a packet from `me` to `peer`.
    private static func step(_ r: inout EventRecord, ws: Int?, _ me: inout Side, _ peer: inout Side, _ lastSynTime: inout Int64,
                             _ firstRTT: inout Int64, closed: inout Bool) -> (of: Int64, n: Int)? {
        let flags = TCPFlags(rawValue: max(0, r.flags))
        let seq = UInt32(truncatingIfNeeded: r.seqRaw)
        let ack = r.ackRaw == EventRecord.none ? 0 : UInt32(truncatingIfNeeded: r.ackRaw)
        let syn = flags.contains(.syn), fin = flags.contains(.fin), rst = flags.contains(.rst)
        let hasAckFlag = flags.contains(.ack)
        // Times from a damaged file can be anything: their differences wrap rather than trap.
        let now = r.ts, window = r.win
        let len = UInt32(truncatingIfNeeded: max(0, r.len))
        let segLen = len &+ (syn ? 1 : 0) &+ (fin ? 1 : 0)
        let control = syn || fin || rst
        var expert = TCPExpert(rawValue: r.expert)
        var dup: (of: Int64, n: Int)? = nil

        if syn {
            me.sawSyn = true
            me.isn = seq
            if !hasAckFlag { lastSynTime = now }
            // Window scaling counts when both SYNs carry the option (Wireshark's verify_tcp_window_scaling).
            if let ws { me.winScale = ws } else { me.winScale = -2; peer.winScale = -2 }
            if hasAckFlag && peer.winScale == -2 { me.winScale = -2 }
        }
        // The first pure ACK after a SYN ends the handshake: its distance from the SYN is the RTT.
        if hasAckFlag && !syn && lastSynTime != 0 && firstRTT == 0 { firstRTT = now &- lastSynTime }

        checks: do {
            // A zero window probe: one byte at the next sequence number into the peer's zero window.
            if len == 1 && me.hasNext && seq == me.nextSeq && peer.window == 0 {
                expert.insert(.zeroWindowProbe)
                break checks
            }
            if window == 0 && !control { expert.insert(.zeroWindow) }
            if me.hasNext && TCPAnalyzer.after(seq, me.nextSeq) && !rst {
                expert.insert(.previousSegmentLost)
                me.dupAckNum = 0
            }
            // Keep-alive: one less than the next expected sequence number, 0 or 1 byte.
            if len <= 1 && me.hasNext && seq == me.nextSeq &- 1 && !control { expert.insert(.keepAlive) }
            let sameAsLast = len == 0 && me.hasNext && seq == me.nextSeq && ack == me.lastAck && !control
            if sameAsLast && window != 0 && window != me.window { expert.insert(.windowUpdate) }
            // Window full: the segment reaches the right edge of the window the peer last announced.
            if len > 0 && peer.winScale != -1 && peer.window >= 0 && !control
                && seq &+ len == peer.lastAck &+ UInt32(truncatingIfNeeded: peer.window) {
                expert.insert(.windowFull)
            }
            if sameAsLast && window != 0 && window == me.window && peer.lastSegmentMarks.contains(.keepAlive) {
                expert.insert(.keepAliveAck)
                break checks
            }
            if sameAsLast && window == 0 && me.window == 0 && peer.lastSegmentMarks.contains(.zeroWindowProbe) {
                expert.insert(.zeroWindowProbeAck)
                break checks
            }
            if sameAsLast && window != 0 && window == me.window {
                me.dupAckNum = me.dupAckNum == -1 ? 1 : me.dupAckNum + 1
                expert.insert(.dupAck)
                dup = (me.lastNonDupAck, me.dupAckNum)
            }
        }
        if ack != me.lastAck {
            me.lastNonDupAck = r.ordinal
            me.dupAckNum = 0
        }
        // An ACK beyond the contiguous data seen the other way: a segment was never captured. One note per
        // gap: the other side's duplicate-ACK counter holds -1 until its next segment shows a new gap
        // (that reset is what tshark 4.0 does, measured on corpus/tcp-analysis/ackloss).
        if hasAckFlag && peer.hasMaxSeq && TCPAnalyzer.after(ack, peer.maxSeqToBeAcked) {
            // Wireshark compares these two as plain unsigned numbers, not modulo 2^32.
            if peer.maxSeqToBeAcked > peer.nextSeq {
                peer.maxSeqToBeAcked = peer.nextSeq
                expert.insert(.ackedLostSegment)
            } else {
                if peer.dupAckNum == 0 { expert.insert(.ackedLostSegment) }
                peer.dupAckNum = -1
            }
        }
        // Retransmission, fast retransmission, spurious retransmission or out-of-order: data (or a
        // SYN/FIN) that does not advance the sequence number.
        if (len > 0 || syn || fin) && !expert.contains(.keepAlive) {
            var notAdvanced = me.hasNext && TCPAnalyzer.after(me.nextSeq, seq)
            // One byte short of the next one but carrying more: new data after a zero window probe.
            if len > 1 && me.hasNext && me.nextSeq &- 1 == seq { notAdvanced = false }
            let threshold = firstRTT > 0 ? firstRTT : TCPAnalyzer.defaultOutOfOrderThreshold
            if len > 0 && peer.lastAck != 0 && !TCPAnalyzer.after(seq &+ len, peer.lastAck) {
                expert.formUnion([.retransmission, .spuriousRetransmission])
            } else if notAdvanced && peer.dupAckNum >= 2 && peer.lastAck == seq
                        && now &- peer.lastAckTime < TCPAnalyzer.fastRetransmissionWindow {
                expert.formUnion([.retransmission, .fastRetransmission])
            } else if notAdvanced && now &- me.nextSeqTime < threshold && me.nextSeq != seq &+ segLen {
                expert.insert(.outOfOrder)
            } else if notAdvanced {
                expert.insert(.retransmission)
            }
        }

        let probe = expert.contains(.zeroWindowProbe)
        let end = seq &+ segLen
        if (!me.hasNext || TCPAnalyzer.after(end, me.nextSeq)) && !probe {
            me.nextSeq = end
            me.hasNext = true
            me.nextSeqTime = now
        }
        if (!me.hasMaxSeq || seq == me.maxSeqToBeAcked) && !probe {
            me.maxSeqToBeAcked = me.nextSeq
            me.hasMaxSeq = true
        }
        me.window = window
        me.lastAck = ack
        me.lastAckTime = now
        me.lastSegmentMarks = expert

        if fin { me.finSeen = true }
        closed = rst || (!control && len == 0 && me.finSeen && peer.finSeen && hasAckFlag && ack == peer.nextSeq)
        r.expert = expert.rawValue
        return dup
    }

    /// Wireshark's bracketed notes for the bits `analyze` set, as they open its Info column.
    static func notes(_ expert: TCPExpert, dup: (of: Int64, n: Int)?, into t: inout TextBuilder) {
        if expert.contains(.keepAliveAck) { t.append("[TCP Keep-Alive ACK] ") }
        else if expert.contains(.keepAlive) { t.append("[TCP Keep-Alive] ") }
        if expert.contains(.zeroWindowProbe) { t.append("[TCP ZeroWindowProbe] ") }
        if expert.contains(.zeroWindowProbeAck) { t.append("[TCP ZeroWindowProbeAck] ") }
        if expert.contains(.spuriousRetransmission) { t.append("[TCP Spurious Retransmission] ") }
        else if expert.contains(.fastRetransmission) { t.append("[TCP Fast Retransmission] ") }
        else if expert.contains(.retransmission) { t.append("[TCP Retransmission] ") }
        if expert.contains(.outOfOrder) { t.append("[TCP Out-Of-Order] ") }
        if expert.contains(.previousSegmentLost) { t.append("[TCP Previous segment not captured] ") }
        if expert.contains(.ackedLostSegment) { t.append("[TCP ACKed unseen segment] ") }
        if let dup { t.append("[TCP Dup ACK "); t.append(dup.of); t.append("#"); t.append(dup.n); t.append("] ") }
        if expert.contains(.windowUpdate) { t.append("[TCP Window Update] ") }
        if expert.contains(.zeroWindow) { t.append("[TCP ZeroWindow] ") }
        if expert.contains(.windowFull) { t.append("[TCP Window Full] ") }
    }
}
