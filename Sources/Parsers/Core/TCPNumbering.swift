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

    /// A connection, its lower endpoint first (IPv4 packed into two integers: they hash far faster than
    /// `Address`es), and where its two sides live.
    private struct V4Pair: Equatable {
        let low: UInt64, high: UInt64
        var hash: UInt64 { foldWords(low, high) }
    }

    /// Both sides of each connection in one slot, updated in place: one lookup per packet.
    private struct Slot {
        var sides: (Side?, Side?) = (nil, nil)
        subscript(_ i: Int) -> Side? {
            get { i == 0 ? sides.0 : sides.1 }
            set { if i == 0 { sides.0 = newValue } else { sides.1 = newValue } }
        }
    }

    private var v4Index = TupleTable<V4Pair>()
    private var index: [Direction: Int] = [:]
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []

    /// The connection's slot (nil: never seen) and which of its sides sends from `s`.
    private func find(_ s: Address, _ sp: Int32, _ d: Address, _ dp: Int32) -> (slot: Int?, side: Int) {
        if case .v4(let a) = s, case .v4(let b) = d {
            let x = UInt64(a) << 16 | UInt64(UInt16(truncatingIfNeeded: sp)), y = UInt64(b) << 16 | UInt64(UInt16(truncatingIfNeeded: dp))
            let k = x <= y ? V4Pair(low: x, high: y) : V4Pair(low: y, high: x)
            return (v4Index.find(k, hash: k.hash), x <= y ? 0 : 1)
        }
        let fwd = Direction(src: s, sport: sp, dst: d, dport: dp), rev = Direction(src: d, sport: dp, dst: s, dport: sp)
        if let i = index[fwd] { return (i, 0) }
        return (index[rev], 1)
    }

    private mutating func slot(_ s: Address, _ sp: Int32, _ d: Address, _ dp: Int32) -> (slot: Int, side: Int) {
        let (found, side) = find(s, sp, d, dp)
        if let found { return (found, side) }
        let i: Int
        if let f = freeSlots.popLast() { slots[f] = Slot(); i = f } else { slots.append(Slot()); i = slots.count - 1 }
        if case .v4(let a) = s, case .v4(let b) = d {
            let x = UInt64(a) << 16 | UInt64(UInt16(truncatingIfNeeded: sp)), y = UInt64(b) << 16 | UInt64(UInt16(truncatingIfNeeded: dp))
            let k = x <= y ? V4Pair(low: x, high: y) : V4Pair(low: y, high: x)
            v4Index.insert(k, hash: k.hash, value: i)
            return (i, x <= y ? 0 : 1)
        }
        index[Direction(src: s, sport: sp, dst: d, dport: dp)] = i
        return (i, 0)
    }

    func side(_ s: Address, _ sp: Int32, _ d: Address, _ dp: Int32) -> Side? {
        let (slot, side) = find(s, sp, d, dp)
        guard let slot else { return nil }
        return slots[slot][side]
    }

    /// Drops a connection's state (both directions).
    mutating func forget(_ r: EventRecord) {
        guard let s = r.src, let d = r.dst else { return }
        if case .v4(let a) = s, case .v4(let b) = d {
            let x = UInt64(a) << 16 | UInt64(UInt16(truncatingIfNeeded: r.srcPort)), y = UInt64(b) << 16 | UInt64(UInt16(truncatingIfNeeded: r.dstPort))
            let k = x <= y ? V4Pair(low: x, high: y) : V4Pair(low: y, high: x)
            if let i = v4Index.remove(k, hash: k.hash) { freeSlots.append(i) }
            return
        }
        let fwd = Direction(src: s, sport: r.srcPort, dst: d, dport: r.dstPort), rev = Direction(src: d, sport: r.dstPort, dst: s, dport: r.srcPort)
        if let i = index.removeValue(forKey: fwd) ?? index.removeValue(forKey: rev) { freeSlots.append(i) }
    }

    /// Sets `r.seq`, `r.ack` (relative) and `r.win` (scaled) from `r.seqRaw`, `r.ackRaw` and the raw
    /// window; `ws` is the SYN's window scale option. Returns the peer's base (for SACK blocks).
    @discardableResult
    mutating func apply(_ r: inout EventRecord, rawWindow: Int64, ws: Int?) -> Int64? {
        guard let src = r.src, let dst = r.dst, r.seqRaw != EventRecord.none else { return nil }
        let flags = max(0, r.flags)
        let syn = flags & TCPFlags.syn.rawValue != 0
        let seq = r.seqRaw
        let (i, mySide) = slot(src, r.srcPort, dst, r.dstPort)
        if syn || slots[i][mySide] == nil {
            // A SYN starts the direction afresh; without one, the first segment seen is the base.
            slots[i][mySide] = Side(base: syn ? seq : seq &- 1, shift: syn ? (ws ?? -1) : nil, next: seq)
        }
        var me = slots[i][mySide]!
        let theirs = slots[i][1 - mySide]
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
        slots[i][mySide] = me
        return theirs?.base
    }
}
