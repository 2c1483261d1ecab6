import Foundation
import EventStore

/// The offset between two sources' clocks, bounded NTP-style by packets both saw, and its drift when the
/// captures are long enough to show one.
///
/// θ is b's clock minus a's. A packet that passed capture point a before b arrives at b after a path delay
/// d ≥ 0, so Δ = t_b − t_a = θ + d bounds θ from above; a packet that passed b first gives Δ = θ − d, a
/// bound from below. The estimate is the middle of [lower, upper] and the half-width its uncertainty.
/// Which way a connection's packets pass the two points is read from the data: the direction whose
/// packets show the larger Δ is the one that passes a first.
///
/// A clock that runs at the wrong rate makes θ a line in time, θ(t) = θ₀ + r·(t − t₀): the span is cut into
/// windows, each bounded on its own, a line fitted through them, and the drift kept when the packets'
/// bounds around that line are clearly tighter than around a constant.
public struct ClockBounds: Sendable {
    public let a: Int64, b: Int64
    /// Each matched packet's time at a and Δ, by the way it went (a first, b first).
    var forward: [(t: Int64, d: Int64)] = []
    var backward: [(t: Int64, d: Int64)] = []
    /// Packets matched in connections seen going one way only: they bound θ on one side.
    public private(set) var oneWay = 0
    /// Packets behind `forward` and `backward`: one point each, or many behind a point the engine reduced
    /// (`addReduced`).
    var forwardPackets = 0, backwardPackets = 0
    /// Time resolution of each source's timestamps (ns): a truncated time widens the bounds.
    public var resolutionA: Int64 = 1, resolutionB: Int64 = 1

    public init(a: Int64, b: Int64) {
        self.a = a
        self.b = b
    }

    public var matched: Int { forwardPackets + backwardPackets + oneWay }

    /// Adds the matches of one connection: `deltas[side]` = (t_a, t_b − t_a) of the packets its endpoint
    /// `side` sent. `aFirst[side]`, when known (the sender is one of a capture host's own addresses), says
    /// which point those packets pass first: then a connection seen one way only still bounds θ.
    mutating func add(_ deltas: [[(t: Int64, d: Int64)]], aFirst: [Bool?] = [nil, nil]) {
        let d0 = deltas[0], d1 = deltas[1]
        guard !d0.isEmpty, !d1.isEmpty else {
            for side in 0...1 where !deltas[side].isEmpty {
                addOneWay(deltas[side], packets: deltas[side].count, aFirst: aFirst[side])
            }
            return
        }
        if ClockBounds.median(d0.map(\.d)) >= ClockBounds.median(d1.map(\.d)) {
            addReduced(forward: d0, packets: d0.count); addReduced(backward: d1, packets: d1.count)
        } else {
            addReduced(forward: d1, packets: d1.count); addReduced(backward: d0, packets: d0.count)
        }
    }

    /// Matches of the direction that passes a first, or b first: each point a packet's (t_a, Δ), or a point
    /// standing for a time bucket's extreme Δ when the engine reduced them (`packets` counts them all).
    public mutating func addReduced(forward points: [(t: Int64, d: Int64)], packets: Int) {
        forward += points; forwardPackets += packets
    }

    public mutating func addReduced(backward points: [(t: Int64, d: Int64)], packets: Int) {
        backward += points; backwardPackets += packets
    }

    /// Matches of a connection seen going one way only, sent by an endpoint that passes a first (`aFirst`),
    /// b first, or neither known: then they bound nothing and are only counted.
    public mutating func addOneWay(_ points: [(t: Int64, d: Int64)], packets: Int, aFirst: Bool?) {
        switch aFirst {
        case true?: addReduced(forward: points, packets: packets)
        case false?: addReduced(backward: points, packets: packets)
        case nil: oneWay += packets
        }
    }

    /// Events (not packets) among the matches: each adds one bound each way.
    public private(set) var events = 0

    /// One event both sources logged (not a packet): Δ = t_b − t_a, true to within `tolerance` either way.
    mutating func addEvent(t: Int64, delta: Int64, tolerance: Int64) {
        events += 1
        addReduced(forward: [(t, delta + tolerance)], packets: 1)
        addReduced(backward: [(t, delta - tolerance)], packets: 1)
    }

    /// Convenience for callers with Δ only (all at time 0: no drift can be seen).
    mutating func add(_ deltas: [[Int64]]) {
        add(deltas.map { $0.map { (t: Int64(0), d: $0) } })
    }

    static func median(_ x: [Int64]) -> Int64 { x.sorted()[x.count / 2] }

    static func quantile(_ x: [Int64], _ q: Double) -> Int64 {
        let s = x.sorted()
        return s[min(s.count - 1, max(0, Int(Double(s.count - 1) * q)))]
    }

    /// θ at `origin` (a's time), its uncertainty, and b's drift against a (parts per billion; 0 when none
    /// was seen). nil when no connection was seen both ways. `consistent` is false when the bounds cross
    /// (a clock stepped during the captures, or packets were mismatched): then the extremes are trimmed,
    /// and what remains is reported as it is.
    public struct Estimate: Sendable {
        public var offset: Int64
        public var uncertainty: Int64
        public var consistent: Bool
        public var lower: Int64, upper: Int64
        public var driftPPB: Int64 = 0
        public var origin: Int64 = 0
        /// Every matched packet went the same way: `offset` is a bound (θ at most it when they passed a
        /// first), the path delay unknown; `uncertainty` is how well the packets agree.
        public var oneWay = false
    }

    /// Bounds of θ from Δs already corrected for a drift line.
    func bounds(_ f: [Int64], _ b: [Int64]) -> Estimate? {
        guard let fmin = f.min(), let bmax = b.max() else { return nil }
        var upper = fmin + resolutionB, lower = bmax - resolutionA
        var consistent = lower <= upper
        if !consistent && f.count >= 20 && b.count >= 20 {
            // A few mismatched packets should not decide: drop the 5 % most extreme each way.
            upper = ClockBounds.quantile(f, 0.05) + resolutionB
            lower = ClockBounds.quantile(b, 0.95) - resolutionA
            consistent = lower <= upper
        }
        let offset = lower / 2 + upper / 2 + (lower % 2 + upper % 2) / 2
        return Estimate(offset: offset, uncertainty: abs(upper - lower) / 2, consistent: consistent, lower: lower, upper: upper)
    }

    /// Windows shorter than this, or fewer packets each way, show no drift worth solving.
    static let driftSpan: Int64 = 20_000_000_000

    public var estimate: Estimate? {
        if forward.isEmpty != backward.isEmpty {
            let d = (forward.isEmpty ? backward : forward).map(\.d)
            let lo = d.min()!, hi = d.max()!
            let bound = forward.isEmpty ? lo - resolutionA : lo + resolutionB
            let spread = (hi - lo) / 2 + max(resolutionA, resolutionB)
            var e = Estimate(offset: forward.isEmpty ? hi - resolutionA : bound, uncertainty: spread, consistent: true,
                             lower: forward.isEmpty ? hi - resolutionA : Int64.min, upper: forward.isEmpty ? Int64.max : bound)
            e.oneWay = true
            return e
        }
        guard var plain = bounds(forward.map(\.d), backward.map(\.d)) else { return nil }
        guard let line = driftLine() else { return plain }
        // Around the line, every packet's Δ is corrected to the origin; keep the drift only when that makes
        // the bounds consistent where they were not, or clearly tighter.
        func corrected(_ x: [(t: Int64, d: Int64)]) -> [Int64] {
            x.map { $0.d - Int64((Double($0.t - line.origin) * line.rate).rounded()) }
        }
        guard var drifted = bounds(corrected(forward), corrected(backward)) else { return plain }
        let better = drifted.consistent && (!plain.consistent || Double(drifted.uncertainty) < 0.8 * Double(plain.uncertainty))
        guard better else { return plain }
        drifted.driftPPB = Int64((line.rate * 1e9).rounded())
        drifted.origin = line.origin
        plain = drifted
        return plain
    }

    /// θ(t) as a line through per-window estimates (least squares, weighted by each window's certainty).
    func driftLine() -> (origin: Int64, rate: Double)? {
        let all = forward.map(\.t) + backward.map(\.t)
        guard let t0 = all.min(), let t1 = all.max(), t1 - t0 >= ClockBounds.driftSpan,
              forwardPackets >= 10, backwardPackets >= 10 else { return nil }
        // Short windows (so that the drift within one stays small) with a few packets each way in each.
        let windows = max(4, min(16, min(forwardPackets, backwardPackets) / 4))
        let width = (t1 - t0) / Int64(windows) + 1
        var points: [(t: Double, theta: Double, w: Double)] = []
        for k in 0..<windows {
            let lo = t0 + Int64(k) * width, hi = lo + width
            let f = forward.filter { $0.t >= lo && $0.t < hi }, b = backward.filter { $0.t >= lo && $0.t < hi }
            guard let e = bounds(f.map(\.d), b.map(\.d)) else { continue }
            // Times relative to t0 (epoch nanoseconds would overflow a sum).
            let mid = (f + b).reduce(0.0) { $0 + Double($1.t - t0) } / Double(f.count + b.count)
            let u = Double(max(e.uncertainty, 1))
            points.append((mid, Double(e.offset), 1 / (u * u)))
        }
        guard points.count >= 3 else { return nil }
        let sw = points.reduce(0) { $0 + $1.w }
        let mt = points.reduce(0) { $0 + $1.w * $1.t } / sw
        let mθ = points.reduce(0) { $0 + $1.w * $1.theta } / sw
        let sxx = points.reduce(0) { $0 + $1.w * ($1.t - mt) * ($1.t - mt) }
        guard sxx > 0 else { return nil }
        let sxy = points.reduce(0) { $0 + $1.w * ($1.t - mt) * ($1.theta - mθ) }
        return (t0, sxy / sxx)
    }
}

/// Every source's clock against one reference, through the pairs that share packets.
public enum ClockGraph {
    public struct Placement: Sendable {
        public var source: Int64
        /// Reads the source's times on the reference's clock.
        public var clock: SourceClock
        public var uncertainty: Int64
        /// The source on the way to the reference this one was matched with, and how many packets matched.
        public var peer: Int64
        public var matched: Int
        /// Placed through a pair whose packets all went one way (its offset is a bound).
        public var oneWay = false
        public var offset: Int64 { clock.offset }
    }

    /// One pair's solution seen from `from`: at `from`'s time `t0`, the other's clock reads θ₀ more, and
    /// it gains `rate` per unit of time.
    struct Edge { let to: Int64, theta: Int64, rate: Double, t0: Int64, u: Int64, matched: Int, oneWay: Bool }

    /// Places every source reachable from `reference` (whose own clock is `base`), choosing the paths with
    /// the least summed uncertainty (Dijkstra). Sources in `fixed` keep their clocks (the user set them) but
    /// still place their neighbours.
    public static func solve(reference: Int64, base: SourceClock, pairs: [ClockBounds], fixed: [Int64: SourceClock]) -> [Int64: Placement] {
        var edges: [Int64: [Edge]] = [:]
        for p in pairs {
            guard let e = p.estimate else { continue }
            let rate = Double(e.driftPPB) / 1e9
            edges[p.a, default: []].append(Edge(to: p.b, theta: e.offset, rate: rate, t0: e.origin, u: e.uncertainty, matched: p.matched, oneWay: e.oneWay))
            // Seen from b: at b's time t0 + θ₀ a reads θ₀ less, and loses the same rate.
            edges[p.b, default: []].append(Edge(to: p.a, theta: -e.offset, rate: -rate, t0: e.origin + e.offset, u: e.uncertainty, matched: p.matched, oneWay: e.oneWay))
        }
        var placed: [Int64: Placement] = [reference: Placement(source: reference, clock: base, uncertainty: 0, peer: reference, matched: 0)]
        var done: Set<Int64> = []
        while true {
            // The closest placed source not yet expanded (few sources: a scan is enough).
            guard let u = placed.values.filter({ !done.contains($0.source) }).min(by: { ($0.uncertainty, $0.source) < ($1.uncertainty, $1.source) }) else { break }
            done.insert(u.source)
            for e in edges[u.source] ?? [] where !done.contains(e.to) {
                // The neighbour's time t0 + θ₀ reads as u's time t0, which u's clock places; its rate adds.
                let origin = e.t0 + e.theta
                let clock = fixed[e.to] ?? SourceClock(offset: u.clock.aligned(e.t0) - origin,
                                                       driftPPB: u.clock.driftPPB + Int64((e.rate * 1e9).rounded()), origin: origin)
                var cand = Placement(source: e.to, clock: clock, uncertainty: fixed[e.to] != nil ? 0 : u.uncertainty + e.u, peer: u.source, matched: e.matched)
                cand.oneWay = u.oneWay || e.oneWay
                if let old = placed[e.to], old.uncertainty <= cand.uncertainty { continue }
                placed[e.to] = cand
            }
        }
        return placed
    }
}
