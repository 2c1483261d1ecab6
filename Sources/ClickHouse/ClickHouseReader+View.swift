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
            try await withThrowingTaskGroup(of: ([Int], [UInt64]).self) { group in
                for w in work {
                    let params: [String: Param] = ["dataset": .string(dataset), "host": .string(w.host), "source": .uint64(w.sid),
                                                   "times": .int64s(w.times), "top": .int64(w.times.max() ?? 0)]
                    group.addTask {
                        let counts = try await client.rows(ReadQueries.countsBefore(schema), params) { r in try r.array { try $0.uint64() } }.first
                        return (w.indices, counts ?? [UInt64](repeating: 0, count: w.times.count))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        var out = [Int](repeating: 0, count: points.count)
        for (indices, counts) in answers { for (i, n) in zip(indices, counts) { out[i] = Int(n) } }
        return out
    }

    public func events(ids: [Int64]) throws -> [StoredEvent] {
        var byID: [Int64: StoredEvent] = [:]
        for chunk in stride(from: 0, to: ids.count, by: 1000).map({ Array(ids[$0..<min($0 + 1000, ids.count)]) }) {
            let params: [String: Param] = ["dataset": .string(dataset), "ids": .int64s(chunk)]
            for e in try sourcedEvents(ReadQueries.sourcedEvents(schema, where: "has({ids:Array(Int64)}, event_id)"), params) { byID[e.id] = e }
        }
        return ids.compactMap { byID[$0] }
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
    /// How many of one source's events come before each of `times` (source clock), read from its range of the primary
    /// key up to the last of them.
    static func countsBefore(_ s: ClickHouseSchema) -> String {
        """
        SELECT sumForEach(arrayMap(t -> toUInt64(\(tsColumn(s.dialect)) < t), {times:Array(Int64)})) FROM \(s.name(ClickHouseSchema.events))
        WHERE dataset = {dataset:String} AND host = {host:String} AND source_id = {source:UInt64} AND ts_src < \(tsParam(s.dialect, "top"))
        """
    }
}
