import EventStore

/// The offset between two sources' clocks, bounded NTP-style by packets both saw.
///
/// θ is b's clock minus a's. A packet that passed capture point a before b arrives at b after a path delay
/// d ≥ 0, so Δ = t_b − t_a = θ + d bounds θ from above; a packet that passed b first gives Δ = θ − d, a
/// bound from below. The estimate is the middle of [lower, upper] and the half-width its uncertainty.
/// Which way a connection's packets pass the two points is read from the data: the direction whose
/// packets show the larger Δ is the one that passes a first.
public struct ClockBounds: Sendable {
    public let a: Int64, b: Int64
    /// Δ of every matched packet, by the way it went (a first, b first).
    var forward: [Int64] = []
    var backward: [Int64] = []
    /// Packets matched in connections seen going one way only: they bound θ on one side.
    public private(set) var oneWay = 0
    /// Time resolution of each source's timestamps (ns): a truncated time widens the bounds.
    var resolutionA: Int64 = 1, resolutionB: Int64 = 1

    public init(a: Int64, b: Int64) {
        self.a = a
        self.b = b
    }

    public var matched: Int { forward.count + backward.count + oneWay }

    /// Adds the matches of one connection: `deltas[side]` = t_b − t_a of the packets its endpoint `side` sent.
    mutating func add(_ deltas: [[Int64]]) {
        let d0 = deltas[0], d1 = deltas[1]
        guard !d0.isEmpty, !d1.isEmpty else { oneWay += d0.count + d1.count; return }
        if ClockBounds.median(d0) >= ClockBounds.median(d1) {
            forward += d0; backward += d1
        } else {
            forward += d1; backward += d0
        }
    }

    static func median(_ x: [Int64]) -> Int64 { x.sorted()[x.count / 2] }

    static func quantile(_ x: [Int64], _ q: Double) -> Int64 {
        let s = x.sorted()
        return s[min(s.count - 1, max(0, Int(Double(s.count - 1) * q)))]
    }

    /// θ and its uncertainty, or nil when no connection was seen both ways. `consistent` is false when
    /// the bounds cross (a clock stepped or drifted during the captures, or packets were mismatched):
    /// then the extremes are trimmed, and what remains is reported as it is.
    public struct Estimate: Sendable {
        public var offset: Int64
        public var uncertainty: Int64
        public var consistent: Bool
        public var lower: Int64, upper: Int64
    }

    public var estimate: Estimate? {
        guard let fmin = forward.min(), let bmax = backward.max() else { return nil }
        var upper = fmin + resolutionB, lower = bmax - resolutionA
        var consistent = lower <= upper
        if !consistent && forward.count >= 20 && backward.count >= 20 {
            // A few mismatched packets should not decide: drop the 5 % most extreme each way.
            upper = ClockBounds.quantile(forward, 0.05) + resolutionB
            lower = ClockBounds.quantile(backward, 0.95) - resolutionA
            consistent = lower <= upper
        }
        let offset = lower / 2 + upper / 2 + (lower % 2 + upper % 2) / 2
        return Estimate(offset: offset, uncertainty: abs(upper - lower) / 2, consistent: consistent, lower: lower, upper: upper)
    }
}

/// Every source's offset to one reference, through the pairs that share packets.
public enum ClockGraph {
    public struct Placement: Sendable {
        public var source: Int64
        /// Add to the source's times to read them on the reference's clock.
        public var offset: Int64
        public var uncertainty: Int64
        /// The source on the way to the reference this one was matched with, and how many packets matched.
        public var peer: Int64
        public var matched: Int
    }

    /// Places every source reachable from `reference` (whose own offset is `base`), choosing the paths
    /// with the least summed uncertainty (Dijkstra). Sources in `fixed` keep their offsets (the user set
    /// them) but still place their neighbours.
    public static func solve(reference: Int64, base: Int64, pairs: [ClockBounds], fixed: [Int64: Int64]) -> [Int64: Placement] {
        var edges: [Int64: [(to: Int64, theta: Int64, u: Int64, matched: Int)]] = [:]
        for p in pairs {
            guard let e = p.estimate else { continue }
            // θ = clock_b − clock_a: b's times minus θ read on a's clock.
            edges[p.a, default: []].append((p.b, e.offset, e.uncertainty, p.matched))
            edges[p.b, default: []].append((p.a, -e.offset, e.uncertainty, p.matched))
        }
        var placed: [Int64: Placement] = [reference: Placement(source: reference, offset: base, uncertainty: 0, peer: reference, matched: 0)]
        var done: Set<Int64> = []
        while true {
            // The closest placed source not yet expanded (few sources: a scan is enough).
            guard let u = placed.values.filter({ !done.contains($0.source) }).min(by: { ($0.uncertainty, $0.source) < ($1.uncertainty, $1.source) }) else { break }
            done.insert(u.source)
            for e in edges[u.source] ?? [] where !done.contains(e.to) {
                let offset = fixed[e.to] ?? (u.offset - e.theta)
                let cand = Placement(source: e.to, offset: offset, uncertainty: fixed[e.to] != nil ? 0 : u.uncertainty + e.u, peer: u.source, matched: e.matched)
                if let old = placed[e.to], old.uncertainty <= cand.uncertainty { continue }
                placed[e.to] = cand
            }
        }
        return placed
    }
}
