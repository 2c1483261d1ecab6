import TraceModel
import EventStore

/// A packet row that shows no TCP numbers: a text export prints only the top protocol's Info for HTTP,
/// TDS and the like (`1921 … HTTP Continuation or non-HTTP traffic`). Its twin at another capture point
/// can only be found by what the row says, in order, at a consistent time.
struct Unnumbered {
    let id: Int64
    let source: Int64
    /// The source's own clock.
    let ts: Int64
    /// 0: sent by the group's side 0 (see `ConnectionAlias.sideFlip`).
    let side: Int
    /// Protocol and summary without Wireshark's bracketed notes, which differ between capture points.
    let text: String
    /// Wireshark noted the segment before it missing here ("previous segment lost / not captured").
    let previousLost: Bool

    /// The number-less TCP rows of a connection's tuples, by source, in time order.
    static func load(_ store: Store, _ members: [ConnectionAlias]) throws -> [Int64: [Unnumbered]] {
        var out: [Int64: [Unnumbered]] = [:]
        for m in members {
            guard let c = try store.connection(key: m.key) else { continue }
            for e in try store.events(conn: m.key) where e.kind == .packet && e.flags == nil {
                var side = e.src == c.a && e.sport == c.aport ? 0 : 1
                if m.sideFlip { side = 1 - side }
                out[e.source, default: []].append(Unnumbered(id: e.id, source: e.source, ts: e.tsSource, side: side,
                                                             text: (e.label ?? "") + " " + stripNotes(e.summary),
                                                             previousLost: e.tcpExpert.contains(.previousSegmentLost)))
            }
        }
        for k in out.keys { out[k]!.sort { ($0.ts, $0.id) < ($1.ts, $1.id) } }
        return out
    }

    /// The same row with its time read on the other source's clock.
    func onA(_ e: ClockBounds.Estimate) -> Unnumbered {
        Unnumbered(id: id, source: source, ts: TwinPass.onA(ts, e), side: side, text: text, previousLost: previousLost)
    }

    /// `[TCP Retransmission] Continuation or non-HTTP traffic` → `Continuation or non-HTTP traffic`.
    static func stripNotes(_ s: String) -> String {
        var t = Substring(s)
        while t.hasPrefix("["), let close = t.firstIndex(of: "]") {
            t = t[t.index(after: close)...].drop { $0 == " " }
        }
        return String(t)
    }

    /// Pairs the rows of sources a and b (b's times already read on a's clock) and judges the rest as
    /// `TwinPass` does.
    /// Each direction is walked downstream in order: a row pairs with the next upstream row saying the
    /// same that was sent no later than it was seen. A row Wireshark marked "previous segment lost" skips
    /// one such candidate: the one before it never arrived.
    static func verdicts(_ a: [Unnumbered], _ b: [Unnumbered], aFirst: [Bool?], uncertainty: Int64,
                         windowA: ClosedRange<Int64>?, windowB: ClosedRange<Int64>?, into out: inout [TwinVerdict]) {
        var twinOfA = [Int?](repeating: nil, count: a.count), twinOfB = [Int?](repeating: nil, count: b.count)
        let slack = 2 * uncertainty
        for side in 0...1 {
            guard let first = aFirst[side] else { continue }
            // Upstream and downstream rows of this direction, and the upstream time on the downstream clock.
            let up = (first ? a : b).indices.filter { (first ? a : b)[$0].side == side }
            let down = (first ? b : a).indices.filter { (first ? b : a)[$0].side == side }
            let U = first ? a : b, D = first ? b : a
            var from = 0
            for d in down {
                var candidates: [Int] = []
                var k = from
                while k < up.count && candidates.count < 2 {
                    let u = U[up[k]]
                    if u.ts > D[d].ts + slack { break }
                    if u.text == D[d].text { candidates.append(k) }
                    k += 1
                }
                guard !candidates.isEmpty else { continue }
                let pick = D[d].previousLost && candidates.count > 1 ? candidates[1] : candidates[0]
                if first { twinOfA[up[pick]] = d; twinOfB[d] = up[pick] } else { twinOfB[up[pick]] = d; twinOfA[d] = up[pick] }
                from = pick + 1
            }
        }
        func judge(_ rows: [Unnumbered], _ twins: [Int?], _ other: [Unnumbered], otherWindow: ClosedRange<Int64>?, thisIsA: Bool) {
            guard let peer = other.first?.source else { return }
            for (i, r) in rows.enumerated() {
                if let t = twins[i] { out.append(TwinVerdict(event: r.id, peer: peer, twin: other[t].id, verdict: .seen)); continue }
                let verdict: TwinVerdict.Verdict
                if !TwinPass.inside(r.ts, otherWindow, uncertainty: uncertainty) { verdict = .outside }
                else if let f = aFirst[r.side] { verdict = (f == thisIsA) ? .lost : .injected }
                else { verdict = .unknown }
                out.append(TwinVerdict(event: r.id, peer: peer, twin: nil, verdict: verdict))
            }
        }
        judge(a, twinOfA, b, otherWindow: windowB, thisIsA: true)
        judge(b, twinOfB, a, otherWindow: windowA, thisIsA: false)
    }
}
