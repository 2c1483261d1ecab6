import EventStore
import Foundation
import TraceModel

/// What `tracejoin view` asks besides the other views' questions: positions in the timeline (counts before a time,
/// each a range of the primary key), pages of events by id, and the live feed's newest events.
///
/// A reader shows its dataset as it was when it was opened (its sources are read then): events a later push adds
/// belong to sources it does not know. So the live feed, which asks four times a second, never makes the engine scan
/// for them; a view opened again shows them.
extension ClickHouseReader {
    /// One question per source costs a round trip and a read of its range, about the same for 1 time as for 64.
    public var probesPerQuestion: Int { 63 }

    public func countsBefore(_ points: [(source: SourceInfo, sourceTime: Int64)]) throws -> [Int] {
        // One query per source, all at once: its range of the primary key, counted below each of its times together.
        var bySource: [Int64: [Int]] = [:]
        for (i, p) in points.enumerated() { bySource[p.source.id, default: []].append(i) }
        let work: [(sid: UInt64, host: String, indices: [Int], times: [Int64])] = bySource.compactMap { id, indices in
            guard let sid = sourceIDs[id] else { return nil }
            return (sid, points[indices[0]].source.host, indices, indices.map { points[$0].sourceTime })
        }
        let client = self.client, schema = self.schema, dataset = self.dataset
        let answers = try Self.wait {
            try await withThrowingTaskGroup(of: ([Int], [Int]).self) { group in
                for w in work {
                    group.addTask {
                        // Times ascending: each event falls below the first time above it (`ReadQueries.countsBefore`).
                        let order = w.times.indices.sorted { w.times[$0] < w.times[$1] }
                        let sorted = order.map { w.times[$0] }
                        var params: [String: Param] = ["dataset": .string(dataset), "host": .string(w.host), "source": .uint64(w.sid),
                                                       "times": .int64s(sorted), "top": .int64(sorted.last ?? 0)]
                        let uniform = ReadQueries.evenStep(sorted)
                        if let step = uniform {
                            params["first"] = .int64(sorted[0]); params["step"] = .int64(step)
                            params["penult"] = .int64(sorted[sorted.count - 2]); params["n"] = .int64(Int64(sorted.count))
                        }
                        var below = [Int](repeating: 0, count: sorted.count + 1)
                        let sql = uniform == nil ? ReadQueries.countsBefore(schema) : ReadQueries.countsBeforeEvenly(schema)
                        for (slot, n) in try await client.rows(sql, params, { (Int(try $0.uint32()), Int(try $0.uint64())) }) {
                            below[slot] += n
                        }
                        // Events before the k-th time: those whose first time above them is one of the first k.
                        var counts = [Int](repeating: 0, count: sorted.count), running = 0
                        for (k, i) in order.enumerated() { running += below[k + 1]; counts[i] = running }
                        return (w.indices, counts)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        var out = [Int](repeating: 0, count: points.count)
        for (indices, counts) in answers { for (i, n) in zip(indices, counts) { out[i] = n } }
        return out
    }

    /// Each source's share of the page as a range of the primary key (its host, its times), the ids picked in it.
    public func events(refs: [EventRef]) throws -> [StoredEvent] {
        var p: [String: Param] = ["dataset": .string(dataset), "ids": .int64s(refs.map(\.id))]
        let ranges = Dictionary(grouping: refs, by: \.source).sorted { $0.key < $1.key }.compactMap { source, r in
            sourceIDs[source].map { (id: $0, host: sourceHosts[source] ?? "", times: (r.map(\.tsSource).min()!, r.map(\.tsSource).max()!)) }
        }
        if ranges.isEmpty { return [] }
        let sql = ReadQueries.sourcedEvents(schema, where: "\(ReadQueries.sourceRanges(schema, ranges, into: &p)) AND has({ids:Array(Int64)}, event_id)")
        let byID = Dictionary(try sourcedEvents(sql, p).map { ($0.id, $0) }) { a, _ in a }
        return refs.compactMap { byID[$0.id] }
    }

    public func events(afterID id: Int64, limit: Int) throws -> [StoredEvent] {
        guard id < (try lastEventID()) else { return [] }
        let params: [String: Param] = ["dataset": .string(dataset), "after": .int64(id)]
        return try sourcedEvents(ReadQueries.sourcedEvents(schema, where: "event_id > {after:Int64} ORDER BY event_id LIMIT \(max(0, limit))"), params)
    }

    /// The newest event of the sources the reader knows (they were complete when it opened: their last event).
    public func lastEventID() throws -> Int64 {
        try lastEventAtOpen()
    }

    /// What the reader shows does not change while it is open.
    public func changeMark() throws -> String { "\(try lastEventAtOpen())" }

    /// The key is the Community ID's first 8 bytes (`CommunityID`): no lookup by text is needed.
    public func connection(communityID: String) throws -> ConnectionRow? {
        guard communityID.hasPrefix("1:"), let hash = Data(base64Encoded: String(communityID.dropFirst(2))), hash.count >= 8 else { return nil }
        let key = Int64(bitPattern: hash.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        return try connection(key: key, hosts: nil).flatMap { $0.communityID == communityID ? $0 : nil }
    }
}

extension ReadQueries {
    /// One source's events below the last of `times` (ascending, source clock), counted by the first time above each
    /// (1-based slot): the source's range of the primary key is read once, whatever the number of times.
    static func countsBefore(_ s: ClickHouseSchema) -> String {
        """
        SELECT toUInt32(arrayFirstIndex(t -> \(tsColumn(s.dialect)) < t, {times:Array(Int64)})) AS slot, count() FROM \(s.name(ClickHouseSchema.events))
        WHERE dataset = {dataset:String} AND host = {host:String} AND source_id = {source:UInt64} AND ts_src < \(tsParam(s.dialect, "top"))
        GROUP BY slot
        """
    }

    /// The same when the times but the last are nearly evenly spaced (a histogram's edges, a search's probes; a clock's
    /// drift moves them a little): each event's slot is a division, corrected by one against the times either side,
    /// not a search through all of them.
    static func countsBeforeEvenly(_ s: ClickHouseSchema) -> String {
        let ts = tsColumn(s.dialect)
        let guess = "least(greatest(intDiv(\(ts) - {first:Int64}, {step:Int64}) + 2, 2), {n:Int64} - 1)"
        return """
        SELECT toUInt32(multiIf(\(ts) < {first:Int64}, 1, \(ts) >= {penult:Int64}, {n:Int64},
                                \(ts) >= {times:Array(Int64)}[\(guess)], \(guess) + 1,
                                \(ts) < {times:Array(Int64)}[\(guess) - 1], \(guess) - 1, \(guess))) AS slot,
               count() FROM \(s.name(ClickHouseSchema.events))
        WHERE dataset = {dataset:String} AND host = {host:String} AND source_id = {source:UInt64} AND ts_src < \(tsParam(s.dialect, "top"))
        GROUP BY slot
        """
    }

    /// The spacing of ascending times whose all but the last lie within a quarter step of an even grid (at least three
    /// of them, so that a division is at most one slot off), else nil.
    static func evenStep(_ times: [Int64]) -> Int64? {
        guard times.count >= 3 else { return nil }
        let n = times.count - 2, first = times[0], span = times[n] - first
        guard span > 0, span / Int64(n) > 0 else { return nil }
        let step = span / Int64(n)
        for i in 1...n where abs((times[i] - first) - step * Int64(i)) * 4 >= step { return nil }
        return step
    }
}
