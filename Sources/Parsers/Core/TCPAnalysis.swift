import TraceModel

/// Wireshark's TCP expert analysis for packets read from captures (text exports carry Wireshark's own
/// marks): retransmission (fast, spurious), previous segment not captured, ACKed unseen segment,
/// duplicate ACK (with its number), zero window, window full, keep-alive and its ACK.
///
/// The rules follow Wireshark's `tcp_analyze_sequence_number` (epan/dissectors/packet-tcp.c) in the
/// order it checks them; out-of-order is not told apart from retransmission here (Wireshark needs the
/// RTT for that). Sequence numbers are compared modulo 2^32.
struct TCPAnalyzer {
    private struct Side {
        var nextSeq: UInt32 = 0
        var hasNext = false
        var lastAck: UInt32 = 0
        var hasAck = false
        var window: Int64 = -1
        /// Duplicate ACK bookkeeping: how many repeated the last ACK, the frame of the first, and when
        /// the last came (a fast retransmission follows duplicate ACKs closely).
        var dupCount = 0
        var ackFrame: Int64 = 0
        var lastDupTime: Int64 = 0
        /// Whether this side's last segment was a keep-alive (its peer's answer is a keep-alive ACK).
        var lastWasKeepAlive = false
        var finSeen = false
    }

    private struct Key: Hashable {
        let sh: UInt64, sl: UInt64, dh: UInt64, dl: UInt64, ports: UInt64
    }

    private var sides: [Key: Side] = [:]
    /// Set by `analyze` when the packet ended its connection: a RST, or the ACK of the second FIN.
    private(set) var lastClosed = false

    /// Drops a connection's state (both directions).
    mutating func forget(_ r: EventRecord) {
        sides[TCPAnalyzer.key(r, reverse: false)] = nil
        sides[TCPAnalyzer.key(r, reverse: true)] = nil
    }

    private static func key(_ r: EventRecord, reverse: Bool) -> Key {
        func addr(_ x: Address?) -> (UInt64, UInt64) {
            switch x {
            case .v4(let v)?: return (0, UInt64(v))
            case .v6(let h, let l)?: return (h, l)
            default: return (0, 0)
            }
        }
        let (s, d) = reverse ? (addr(r.dst), addr(r.src)) : (addr(r.src), addr(r.dst))
        let (sp, dp) = reverse ? (UInt64(r.dstPort), UInt64(r.srcPort)) : (UInt64(r.srcPort), UInt64(r.dstPort))
        return Key(sh: s.0, sl: s.1, dh: d.0, dl: d.1, ports: sp << 16 | dp)
    }

    @inline(__always) static func after(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }

    /// Sets the record's `expert` bits; returns, for a duplicate ACK, the frame it repeats and its count
    /// (Wireshark's `[TCP Dup ACK 12#1]`).
    mutating func analyze(_ r: inout EventRecord) -> (of: Int64, n: Int)? {
        lastClosed = false
        guard r.proto == IPProto.tcp, r.seqRaw != EventRecord.none else { return nil }
        let k = TCPAnalyzer.key(r, reverse: false), rk = TCPAnalyzer.key(r, reverse: true)
        var me = sides[k] ?? Side()
        let peer = sides[rk]
        let flags = TCPFlags(rawValue: max(0, r.flags))
        let seq = UInt32(truncatingIfNeeded: r.seqRaw)
        let len = UInt32(truncatingIfNeeded: max(0, r.len))
        let syn = flags.contains(.syn), fin = flags.contains(.fin), rst = flags.contains(.rst)
        let segLen = len &+ (syn ? 1 : 0) &+ (fin ? 1 : 0)
        var expert = TCPExpert(rawValue: r.expert)
        var dup: (of: Int64, n: Int)? = nil

        if r.win == 0 && !rst && !syn && !fin { expert.insert(.zeroWindow) }
        var keepAlive = false
        if me.hasNext {
            // Keep-alive: one less than the next expected sequence number, 0 or 1 byte, no SYN/FIN/RST.
            if len <= 1 && !syn && !fin && !rst && seq == me.nextSeq &- 1 {
                expert.insert(.keepAlive)
                keepAlive = true
            } else if TCPAnalyzer.after(seq, me.nextSeq) && !rst {
                expert.insert(.previousSegmentLost)
            } else if segLen > 0 && !rst && !TCPAnalyzer.after(seq &+ segLen, me.nextSeq) {
                // Nothing new in it: a retransmission (fast when duplicate ACKs asked for it, spurious
                // when the peer had already acknowledged it).
                expert.insert(.retransmission)
                if let p = peer, p.hasAck, !TCPAnalyzer.after(seq &+ segLen, p.lastAck), p.lastAck != seq {
                    expert.insert(.spuriousRetransmission)
                } else if let p = peer, p.dupCount >= 2, p.lastAck == seq, r.ts - p.lastDupTime < 20_000_000 {
                    expert.insert(.fastRetransmission)
                }
            }
        }
        // Window full: the segment fills the window the peer last announced.
        if let p = peer, len > 0, p.hasAck, p.window > 0, !rst, !expert.contains(.retransmission),
           seq &+ len == p.lastAck &+ UInt32(truncatingIfNeeded: p.window) {
            expert.insert(.windowFull)
        }
        // ACKs: of data never seen, or the same ACK again with nothing else (duplicate ACK).
        if flags.contains(.ack), r.ackRaw != EventRecord.none {
            let ack = UInt32(truncatingIfNeeded: r.ackRaw)
            if let p = peer, p.hasNext, TCPAnalyzer.after(ack, p.nextSeq), !rst { expert.insert(.ackedLostSegment) }
            let pure = len == 0 && !syn && !fin && !rst
            if pure, let p = peer, p.lastWasKeepAlive, p.hasNext, ack == p.nextSeq {
                // The answer to the peer's keep-alive: nothing new, not a duplicate ACK either.
                expert.insert(.keepAliveAck)
            } else if pure && me.hasAck && ack == me.lastAck && r.win == me.window && !keepAlive && me.hasNext && seq == me.nextSeq {
                me.dupCount += 1
                dup = (me.ackFrame, me.dupCount)
                expert.insert(.dupAck)
                me.lastDupTime = r.ts
            } else if !me.hasAck || ack != me.lastAck || !pure {
                me.dupCount = 0
                me.ackFrame = r.ordinal
            }
            me.lastAck = ack
            me.hasAck = true
        }
        me.lastWasKeepAlive = keepAlive
        if fin { me.finSeen = true }
        lastClosed = rst || (!fin && !syn && len == 0 && me.finSeen && (peer?.finSeen ?? false) && flags.contains(.ack)
            && r.ackRaw != EventRecord.none && UInt32(truncatingIfNeeded: r.ackRaw) == peer?.nextSeq)

        me.window = r.win
        if !me.hasNext || TCPAnalyzer.after(seq &+ segLen, me.nextSeq) {
            me.nextSeq = seq &+ segLen
            me.hasNext = true
        }
        sides[k] = me
        r.expert = expert.rawValue
        return dup
    }

    /// Wireshark's bracketed notes for the bits `analyze` set, as they open its Info column.
    static func notes(_ expert: TCPExpert, dup: (of: Int64, n: Int)?, into t: inout TextBuilder) {
        if expert.contains(.keepAliveAck) { t.append("[TCP Keep-Alive ACK] ") }
        else if expert.contains(.keepAlive) { t.append("[TCP Keep-Alive] ") }
        if expert.contains(.spuriousRetransmission) { t.append("[TCP Spurious Retransmission] ") }
        else if expert.contains(.fastRetransmission) { t.append("[TCP Fast Retransmission] ") }
        else if expert.contains(.retransmission) { t.append("[TCP Retransmission] ") }
        if expert.contains(.previousSegmentLost) { t.append("[TCP Previous segment not captured] ") }
        if expert.contains(.ackedLostSegment) { t.append("[TCP ACKed unseen segment] ") }
        if let dup { t.append("[TCP Dup ACK "); t.append(dup.of); t.append("#"); t.append(dup.n); t.append("] ") }
        if expert.contains(.zeroWindow) { t.append("[TCP ZeroWindow] ") }
        if expert.contains(.windowFull) { t.append("[TCP Window Full] ") }
    }
}
