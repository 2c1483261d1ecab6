import TraceModel
import EventStore

/// Random access into the merged timeline: the n-th event of a filter's timeline, the position of a time,
/// and how many events fall in each slice of time — without reading the events before them. The view
/// scrolls through ten million events with it.
///
/// Filters that select by host, source and time range keep this cheap: each source counts its events
/// before a time by binary search (`StoreReader.countsBefore`), so a position is a binary search over time of
/// sums of those counts. Filters on what events say (kind, connection, text) have no such count; their
/// matches are listed once by one pass over the merged timeline (`TimelineMatches`).
public struct TimelineWindow {
    let store: any StoreReader
    let filter: EventFilter
    let sources: [SourceInfo]
    /// Aligned times of the first and last event the filter can reach.
    public let lo: Int64
    public let hi: Int64
    /// Events before `lo`: positions count from there.
    private(set) var base = 0

    /// Whether a filter can be paged by position (only hosts, sources and a time range).
    public static func positional(_ f: EventFilter) -> Bool { f.kinds.isEmpty && f.conns == nil && (f.grep ?? "").isEmpty }

    public init(store: any StoreReader, filter: EventFilter) throws {
        self.store = store
        self.filter = filter
        var sources = try store.sources().filter { $0.events > 0 && $0.firstTS != nil }
        if !filter.hosts.isEmpty { sources = sources.filter { filter.hosts.contains($0.host) } }
        if !filter.sources.isEmpty { sources = sources.filter { filter.sources.contains($0.id) } }
        self.sources = sources
        let firsts = sources.compactMap { s in s.firstTS.map { s.clock.aligned($0) } }
        let lasts = sources.compactMap { s in s.lastTS.map { s.clock.aligned($0) } }
        lo = filter.from ?? firsts.min() ?? 0
        hi = filter.to ?? lasts.max() ?? 0
        base = try countBefore(lo)
    }

    /// Events of the selected sources whose aligned time is before `t`.
    func countBefore(_ t: Int64) throws -> Int {
        try countsBefore([t])[0]
    }

    /// The same for several times, asked at once.
    func countsBefore(_ times: [Int64]) throws -> [Int] {
        let n = try store.countsBefore(sources.flatMap { s in times.map { (s, s.clock.sourceTime($0)) } })
        return times.indices.map { i in sources.indices.reduce(0) { $0 + n[$1 * times.count + i] } }
    }

    /// How many events the filter selects.
    public func total() throws -> Int {
        guard hi >= lo else { return 0 }
        return try countBefore(hi == Int64.max ? hi : hi + 1) - base
    }

    /// The position of the first event at or after `t`.
    public func position(of t: Int64) throws -> Int { max(0, try countBefore(max(t, lo)) - base) }

    /// Events at positions `offset ..< offset + limit`, in timeline order (aligned time, source, id).
    public func page(offset: Int, limit: Int) throws -> [StoredEvent] {
        let target = base + max(0, offset)
        // The latest time with at most `target` events before it: the target event is at that time or
        // after it, within the events that share one time stamp.
        var a = lo, b = hi == Int64.max ? hi : hi + 1
        if try countBefore(b) <= target { return [] }
        // A binary search, or one that cuts the range into many at each question where the store answers many
        // times at once for the price of one (the answer is the same: the last time with at most `target` before it).
        let k = max(1, store.probesPerQuestion)
        while b - a > 1 {
            let step: Int64 = (b - a) / Int64(k + 1)
            let mids: [Int64] = step == 0 ? [a + (b - a) / 2] : (1...k).map { a + step * Int64($0) }
            let counts = try countsBefore(mids)
            for (t, n) in zip(mids, counts) {
                if n <= target { a = t } else { b = t; break }
            }
        }
        var f = filter
        f.from = a
        let skip = target - (try countBefore(a))
        var merge = try TimelineMerge(store: store, filter: f, pageSize: min(max(skip + limit, 64), 4096))
        var out: [StoredEvent] = []
        var seen = 0
        while out.count < limit, let e = merge.next() {
            if seen >= skip { out.append(e) }
            seen += 1
        }
        if let error = merge.error { throw error }
        return out
    }

    /// Events per host in `buckets` equal slices of `from ... to` (aligned ns), hosts in name order.
    public func histogram(from: Int64, to: Int64, buckets: Int) throws -> [(host: String, counts: [Int])] {
        guard buckets > 0, to > from else { return [] }
        let width = max(1, (to - from) / Int64(buckets))
        var byHost: [String: [Int]] = [:]
        let edges = [from] + (0..<buckets).map { i in i == buckets - 1 ? to + 1 : from + width * Int64(i + 1) }
        // Every edge of every source in one question (one query per source on ClickHouse).
        let before = try store.countsBefore(sources.flatMap { s in edges.map { (s, s.clock.sourceTime($0)) } })
        for (k, s) in sources.enumerated() {
            let b = Array(before[(k * edges.count)..<((k + 1) * edges.count)])
            let counts = (0..<buckets).map { b[$0 + 1] - b[$0] }
            byHost[s.host] = zip(byHost[s.host] ?? [Int](repeating: 0, count: buckets), counts).map { $0 + $1 }
        }
        return byHost.keys.sorted().map { ($0, byHost[$0]!) }
    }
}

/// The events a content filter (kind, connection, text) selects, listed once in timeline order by one
/// pass over the merged timeline, then paged by position. Holds each match's time and where it is, up to `cap`.
public struct TimelineMatches {
    /// Each match by its id, source and time on that source's clock.
    let refs: [EventRef]
    /// Aligned times, in order.
    public let times: [Int64]
    /// More matched than `cap`: the list stops there.
    public let truncated: Bool

    public init(store: any StoreReader, filter: EventFilter, cap: Int = 2_000_000) throws {
        var merge = try TimelineMerge(store: store, filter: filter)
        var refs: [EventRef] = [], times: [Int64] = []
        var truncated = false
        while let e = merge.next() {
            if refs.count == cap { truncated = true; break }
            refs.append(EventRef(id: e.id, source: e.source, tsSource: e.tsSource)); times.append(e.ts)
        }
        if let error = merge.error { throw error }
        self.refs = refs; self.times = times; self.truncated = truncated
    }

    public var total: Int { refs.count }

    public func page(store: any StoreReader, offset: Int, limit: Int) throws -> [StoredEvent] {
        let lo = min(max(0, offset), refs.count), hi = min(lo + max(0, limit), refs.count)
        return try store.events(refs: Array(refs[lo..<hi]))
    }

    /// The position of the first match at or after `t`.
    public func position(of t: Int64) -> Int {
        var a = 0, b = times.count
        while a < b { let m = (a + b) / 2; if times[m] < t { a = m + 1 } else { b = m } }
        return a
    }
}
