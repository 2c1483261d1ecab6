import TraceModel

/// Wireshark's way of showing TCP numbers, for sources that give absolute ones (captures, tcpdump):
/// sequence and acknowledgment numbers relative to each side's first, windows scaled by the factor
/// both SYNs agreed on.
struct TCPNumbering {
    struct Side {
        /// The number that shows as 0: the SYN's, else one before the first segment seen.
        var base: Int64
        /// The window scale shift this side announced in its SYN (-1: none), nil without a SYN.
        var shift: Int?
        /// Where this side's next segment starts (absolute), for sources that omit it on pure ACKs.
        var next: Int64
    }

    /// One direction of a connection (also tcpdump's key for its own numbering bases).
    struct Direction: Hashable {
        let src: Address, sport: Int32, dst: Address, dport: Int32
    }

    /// IPv4 directions packed into two integers: they hash far faster than `Address`es.
    private struct V4Direction: Hashable {
        let src: UInt64, dst: UInt64
        func hash(into h: inout Hasher) { h.combine(foldWords(src, dst)) }
    }

    private var sides: [Direction: Side] = [:]
    private var v4Sides: [V4Direction: Side] = [:]

    func side(_ s: Address, _ sp: Int32, _ d: Address, _ dp: Int32) -> Side? {
        if case .v4(let a) = s, case .v4(let b) = d {
            return v4Sides[V4Direction(src: UInt64(a) << 16 | UInt64(sp), dst: UInt64(b) << 16 | UInt64(dp))]
        }
        return sides[Direction(src: s, sport: sp, dst: d, dport: dp)]
    }

    private mutating func setSide(_ s: Address, _ sp: Int32, _ d: Address, _ dp: Int32, _ v: Side?) {
        if case .v4(let a) = s, case .v4(let b) = d {
            v4Sides[V4Direction(src: UInt64(a) << 16 | UInt64(sp), dst: UInt64(b) << 16 | UInt64(dp))] = v
        } else {
            sides[Direction(src: s, sport: sp, dst: d, dport: dp)] = v
        }
    }

    /// Drops a connection's state (both directions).
    mutating func forget(_ r: EventRecord) {
        guard let s = r.src, let d = r.dst else { return }
        setSide(s, r.srcPort, d, r.dstPort, nil)
        setSide(d, r.dstPort, s, r.srcPort, nil)
    }

    /// Sets `r.seq`, `r.ack` (relative) and `r.win` (scaled) from `r.seqRaw`, `r.ackRaw` and the raw
    /// window; `ws` is the SYN's window scale option. Returns the peer's base (for SACK blocks).
    @discardableResult
    mutating func apply(_ r: inout EventRecord, rawWindow: Int64, ws: Int?) -> Int64? {
        guard let src = r.src, let dst = r.dst, r.seqRaw != EventRecord.none else { return nil }
        let flags = max(0, r.flags)
        let syn = flags & TCPFlags.syn.rawValue != 0
        let seq = r.seqRaw
        var mine = side(src, r.srcPort, dst, r.dstPort)
        if syn || mine == nil {
            // A SYN starts the direction afresh; without one, the first segment seen is the base.
            mine = Side(base: syn ? seq : seq &- 1, shift: syn ? (ws ?? -1) : nil, next: seq)
        }
        var me = mine!
        let theirs = side(dst, r.dstPort, src, r.srcPort)
        r.seq = (seq &- me.base) & 0xFFFF_FFFF
        if r.ackRaw != EventRecord.none {
            if let t = theirs { r.ack = (r.ackRaw &- t.base) & 0xFFFF_FFFF } else { r.ack = r.ackRaw }
        }
        // Scaling applies when both SYNs carried the option (RFC 7323 §2.2); never to the SYNs themselves.
        if !syn, let s = me.shift, s >= 0, let t = theirs?.shift, t >= 0 {
            r.win = rawWindow << Int64(min(s, 14))
        } else {
            r.win = rawWindow
        }
        let segLen = max(0, r.len == EventRecord.none ? 0 : r.len) + (syn ? 1 : 0) + (flags & TCPFlags.fin.rawValue != 0 ? 1 : 0)
        let end = (seq &+ segLen) & 0xFFFF_FFFF
        if Int32(truncatingIfNeeded: end &- me.next) > 0 || syn { me.next = end }
        setSide(src, r.srcPort, dst, r.dstPort, me)
        return theirs?.base
    }
}
