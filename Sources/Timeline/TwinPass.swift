import TraceModel
import EventStore

/// For every packet of a connection that several capture points saw: was the same packet seen at each
/// other point, and if not, was it lost between them or sent by something in between?
///
/// Which point a connection's packets pass first, per direction, is read from the matched packets and
/// the pair's solved clock: a packet that passed a first shows up at b later than that clock says.
/// A packet that left the upstream point and is missing downstream was lost between them; one seen
/// downstream that the upstream point never saw was not sent by the apparent sender (or that capture
/// missed it). A packet missing downstream whose bytes the receiver acknowledged, with no resend seen there,
/// got through: the downstream capture missed it. Packets outside the time the other point was capturing
/// are only "outside".
public enum TwinPass {
    /// A packet must be this far inside the other capture's time span (besides twice the offset's
    /// uncertainty) to be called lost or injected: it may still have been on its way when that capture stopped.
    static let grace: Int64 = 100_000_000

    public static func run(_ store: Store, pairs: [ClockBounds], aliases: [Int64: ConnectionAlias] = [:]) throws {
        let sources = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0) })
        let own = try store.ownAddresses()
        var estimates: [ClockPass.PairKey: ClockBounds.Estimate] = [:]
        for p in pairs { if let e = p.estimate { estimates[ClockPass.PairKey(a: p.a, b: p.b)] = e } }
        var out: [TwinVerdict] = []
        // Number-less rows are read after the packet stream (the store is not reentrant): remember, per
        // connection and pair, which way its packets pass the two points.
        struct Deferred { let members: [ConnectionAlias], a: Int64, b: Int64, e: ClockBounds.Estimate, aFirst: [Bool?] }
        var deferred: [Deferred] = []
        try ClockPass.forEachConnection(store, aliases: aliases) { bySource, members in
            let ids = bySource.keys.sorted()
            for i in 0..<ids.count {
                for j in (i + 1)..<ids.count {
                    guard let e = estimates[ClockPass.PairKey(a: ids[i], b: ids[j])] else { continue }
                    // b's times read on a's clock (offset and drift), so that what follows compares like with like.
                    let b = bySource[ids[j]]!.map { p -> MatchPacket in var q = p; q.ts = onA(p.ts, e); return q }
                    // Which point each side's packets pass first, where a capture host's own address says so.
                    var known: [Bool?] = [nil, nil]
                    for side in 0...1 {
                        guard let sender = (bySource[ids[i]]!.first { $0.side == side } ?? b.first { $0.side == side })?.srcAddress else { continue }
                        if own[ids[i]]?.contains(sender) == true { known[side] = true } else if own[ids[j]]?.contains(sender) == true { known[side] = false }
                    }
                    let aFirst = verdicts(bySource[ids[i]]!, b, known: known, uncertainty: e.uncertainty,
                                          windowA: window(sources[ids[i]]), windowB: window(sources[ids[j]]).map { onA($0.lowerBound, e)...onA($0.upperBound, e) }, into: &out)
                    deferred.append(Deferred(members: members, a: ids[i], b: ids[j], e: e, aFirst: aFirst))
                }
            }
        }
        // Rows that show no TCP numbers (an HTTP line of a text export) are paired by their text.
        let withRows = try store.connectionsWithUnnumberedPackets()
        var loaded: [Int64: [Int64: [Unnumbered]]] = [:]
        for d in deferred where d.members.contains(where: { withRows.contains($0.key) }) {
            let g = d.members[0].group
            if loaded[g] == nil { loaded[g] = try Unnumbered.load(store, d.members) }
            guard let ua = loaded[g]?[d.a], let ub = loaded[g]?[d.b] else { continue }
            Unnumbered.verdicts(ua, ub.map { $0.onA(d.e) }, aFirst: d.aFirst, uncertainty: d.e.uncertainty,
                                windowA: window(sources[d.a]), windowB: window(sources[d.b]).map { onA($0.lowerBound, d.e)...onA($0.upperBound, d.e) }, into: &out)
        }
        try store.saveTwins(out)
    }

    /// A time of source b read on a's clock through the pair's solution (offset θ₀ at a's `origin`, drift).
    static func onA(_ tb: Int64, _ e: ClockBounds.Estimate) -> Int64 {
        let rate = Double(e.driftPPB) / 1e9
        let ta = tb - e.offset
        return ta - Int64((Double(ta - e.origin) * rate).rounded())
    }

    static func window(_ s: SourceInfo?) -> ClosedRange<Int64>? {
        guard let f = s?.firstTS, let l = s?.lastTS, f <= l else { return nil }
        return f...l
    }

    /// Verdicts for both sources' packets of one connection, b's times already read on a's clock.
    /// Returns, per sending side, whether its packets pass a before b (nil: unknown).
    @discardableResult
    static func verdicts(_ a: [MatchPacket], _ b: [MatchPacket], known: [Bool?] = [nil, nil], uncertainty: Int64,
                         windowA: ClosedRange<Int64>?, windowB: ClosedRange<Int64>?, into out: inout [TwinVerdict]) -> [Bool?] {
        let matches = PacketMatcher.match(a, b)
        // Per sending side: does a see its packets first? From how much later than θ they reach b.
        var late: [[Int64]] = [[], []]
        for (x, y) in matches { late[a[x].side].append(b[y].ts - a[x].ts) }
        var aFirst: [Bool?] = (0...1).map { known[$0] ?? (late[$0].isEmpty ? nil : ClockBounds.median(late[$0]) > 0) }
        if aFirst[0] == nil, let o = aFirst[1] { aFirst[0] = !o }
        if aFirst[1] == nil, let o = aFirst[0] { aFirst[1] = !o }

        var twinOfA = [Int?](repeating: nil, count: a.count), twinOfB = [Int?](repeating: nil, count: b.count)
        for (x, y) in matches { twinOfA[x] = y; twinOfB[y] = x }
        let raw = a.allSatisfy { $0.seqRaw != nil } && b.allSatisfy { $0.seqRaw != nil }
        let gotThroughToB = Acknowledged(b, raw: raw), gotThroughToA = Acknowledged(a, raw: raw)
        func inside(_ t: Int64, _ w: ClosedRange<Int64>?) -> Bool { TwinPass.inside(t, w, uncertainty: uncertainty) }
        for (x, p) in a.enumerated() {
            if let y = twinOfA[x] { out.append(TwinVerdict(event: p.id, peer: b[y].source, twin: b[y].id, verdict: .seen)); continue }
            guard let peer = b.first?.source else { continue }
            let verdict: TwinVerdict.Verdict
            if !inside(p.ts, windowB) { verdict = .outside }
            else if let first = aFirst[p.side] { verdict = first ? (gotThroughToB.covers(p) ? .uncaptured : .lost) : .injected }
            else { verdict = .unknown }
            out.append(TwinVerdict(event: p.id, peer: peer, twin: nil, verdict: verdict))
        }
        for (y, p) in b.enumerated() {
            if let x = twinOfB[y] { out.append(TwinVerdict(event: p.id, peer: a[x].source, twin: a[x].id, verdict: .seen)); continue }
            guard let peer = a.first?.source else { continue }
            let verdict: TwinVerdict.Verdict
            if !inside(p.ts, windowA) { verdict = .outside }
            else if let first = aFirst[p.side] { verdict = first ? .injected : (gotThroughToA.covers(p) ? .uncaptured : .lost) }
            else { verdict = .unknown }
            out.append(TwinVerdict(event: p.id, peer: peer, twin: nil, verdict: verdict))
        }
        return aFirst
    }

    /// Whether an aligned time lies far enough inside a capture's span to judge a missing twin.
    static func inside(_ t: Int64, _ w: ClosedRange<Int64>?, uncertainty: Int64) -> Bool {
        guard let w else { return false }
        return t >= w.lowerBound + 2 * uncertainty && t <= w.upperBound - grace - 2 * uncertainty
    }
}

/// What one source shows of a connection's delivered data: the highest acknowledgment each side received
/// (as sent by the other side), and the data segments it saw, to tell a segment that got through from one
/// that was lost.
struct Acknowledged {
    var highestAck: [UInt32?] = [nil, nil]
    var sent: Set<Segment> = []
    let raw: Bool

    struct Segment: Hashable { let side: Int, seq: UInt32 }

    init(_ packets: [MatchPacket], raw: Bool) {
        self.raw = raw
        for p in packets {
            if p.len > 0, let s = Acknowledged.seq(p, raw) { sent.insert(Segment(side: p.side, seq: s)) }
            guard p.flags & TCPFlags.ack.rawValue != 0, let a = raw ? p.ackRaw : p.ack else { continue }
            // An ACK sent by side s acknowledges what side 1 - s sent.
            let acked = UInt32(truncatingIfNeeded: a)
            if let h = highestAck[1 - p.side], Int32(bitPattern: acked &- h) <= 0 { continue }
            highestAck[1 - p.side] = acked
        }
    }

    static func seq(_ p: MatchPacket, _ raw: Bool) -> UInt32? { (raw ? p.seqRaw : p.seq).map { UInt32(truncatingIfNeeded: $0) } }

    /// Whether a data segment missing here was acknowledged by its receiver with no resend of it seen here.
    func covers(_ p: MatchPacket) -> Bool {
        guard p.len > 0, let s = Acknowledged.seq(p, raw), let h = highestAck[p.side] else { return false }
        let end = s &+ UInt32(truncatingIfNeeded: p.len)
        return Int32(bitPattern: h &- end) >= 0 && !sent.contains(Segment(side: p.side, seq: s))
    }
}
