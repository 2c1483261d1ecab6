import EventStore
import Foundation
import Timeline
import TraceModel

/// The clock pass run on a ClickHouse dataset: the engine matches the packets each pair of sources shares and
/// returns them reduced, per direction and time bucket, to a count and the extreme time differences; Swift bounds
/// each pair from those rows as the SQLite pass does from every packet (`ClockBounds`), places every source
/// (`ClockPass.place`) and writes the clocks, newer than what a push wrote (SCALEOUT.md §2.5). NAT aliases come first,
/// found the same way: the engine proposes, Swift links (`findAliases`).
///
/// What it leaves to the SQLite pass: the bounds from failures a SIP log and a stack trace both tell
/// (`FailureMatches`), and the IP id or TCP timestamp pairing a resend with its own original (see
/// `ClockQueries.pairBuckets`). Packet twins and lifecycles are not derived again.
public enum EngineClockPass {
    public struct Result: Sendable {
        public var report: ClockPass.Report
        /// The dataset's sources, with the clocks just written.
        public var sources: [SourceInfo]
        /// Rows the engine returned for all pairs: what crossed the network instead of the packets.
        public var reducedRows = 0
        public var clocksWritten = 0
        /// Alias rows written: new or changed, and those clearing an alias no longer found.
        public var aliasesWritten = 0
        /// Each shard reduced its own connections (`pairRows`).
        public var byShard = false
        /// The most parts a pair was matched in.
        public var units = 1
    }

    /// Time buckets per pair: the drift fit (`ClockBounds.driftLine`) uses at most 16 windows, each then made of
    /// many buckets' extremes.
    static let buckets: Int64 = 2048
    /// No bucket narrower than this: a short capture's packets then come back nearly one per row.
    static let minimumWidth: Int64 = 1_000_000

    /// Matched packets a pair's query handles at once: more, and the pair is matched in parts (`ClockQueries.pairBuckets`).
    public static let unitPackets = 20_000_000

    public static func run(url: ClickHouseURL, reference chosen: Int64? = nil, unitPackets: Int = unitPackets) async throws -> Result {
        let client = ClickHouseClient(url: url)
        do {
            let result = try await run(client, reference: chosen, unitPackets: unitPackets)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    static func run(_ client: ClickHouseClient, reference chosen: Int64?, unitPackets: Int) async throws -> Result {
        defer { PassProgress.done() }
        let url = client.url
        _ = try await client.connect()
        let schema = ClickHouseSchema(database: url.database, dialect: client.dialect, cluster: url.cluster)
        try await ClickHouseReader.checkVersion(client, schema)
        let (sources, ids) = try await ClickHouseReader.sources(client, schema)
        var result = Result(report: ClockPass.Report(), sources: sources)
        guard let reference = chosen ?? ClockPass.defaultReference(sources) else { return result }
        let storeIDs = Dictionary(uniqueKeysWithValues: ids.map { ($0.value, $0.key) })
        let byID = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0) })
        let ds: [String: Param] = ["dataset": .string(url.dataset)]

        struct PacketSource { var packets: UInt64, unnumbered: UInt64, first: Int64, last: Int64 }
        var packetSources: [Int64: PacketSource] = [:]
        for (sid, p) in try await client.rows(ClockQueries.packetSources(schema), ds, { r in
            (try r.uint64(), PacketSource(packets: try r.uint64(), unnumbered: try r.uint64(), first: try r.int64(), last: try r.int64()))
        }) {
            if let id = storeIDs[sid] { packetSources[id] = p }
        }
        if sources.count > 1 {
            PassProgress.phase("clocks: looking for one connection under several tuples (NAT) in the engine")
            result.aliasesWritten = try await findAliases(client, schema, storeIDs: storeIDs)
        }
        let byShard = try await shardsAreHosts(client, schema)
        result.byShard = byShard
        var pairKeys: Set<[Int64]> = []
        for set in try await perShard(client, byShard: byShard, { ClockQueries.sharing(schema, scope: $0) }, ds, { r -> [UInt64] in
            let s = try r.array { try $0.uint64() }; _ = try r.uint64(); return s
        }) {
            let members = set.compactMap { storeIDs[$0] }.sorted()
            for i in members.indices { for j in members.indices where j > i { pairKeys.insert([members[i], members[j]]) } }
        }
        var own: [Int64: Set<String>] = [:]
        for (sid, address) in try await client.rows(ClockQueries.ownAddresses(schema), ds, { (try $0.uint64(), try $0.string()) }) {
            if let id = storeIDs[sid] { own[id, default: []].insert(address) }
        }

        var pairs: [ClockBounds] = []
        for (n, key) in pairKeys.sorted(by: { $0.lexicographicallyPrecedes($1) }).enumerated() {
            let (a, b) = (key[0], key[1])
            PassProgress.phase("clocks: matching the packets of \(byID[a]?.path ?? "\(a)") and \(byID[b]?.path ?? "\(b)") in the engine (pair \(n + 1) of \(pairKeys.count))")
            guard let pa = packetSources[a], let pb = packetSources[b], let sa = byID[a], let sb = byID[b] else { continue }
            // Absolute sequence numbers when both sources show them on every packet, as `PacketMatcher` decides.
            let raw = pa.unnumbered == 0 && pb.unnumbered == 0
            var params = ds
            params["a"] = .uint64(ids[a]!); params["b"] = .uint64(ids[b]!)
            params["t0"] = .int64(pa.first); params["width"] = .int64(max(minimumWidth, (pa.last - pa.first) / buckets + 1))
            params["hostA"] = .string(sa.host); params["hostB"] = .string(sb.host)
            let perUnit = max(1, unitPackets), packets = Int(pa.packets + pb.packets)
            let units = max(1, (packets + perUnit - 1) / perUnit)
            result.units = max(result.units, units)
            let rows = try await pairRows(client, schema, raw: raw, params, byShard: byShard, units: units)
            result.reducedRows += rows.count
            let bounds = Self.bounds(sa, sb, rows, own: own)
            if bounds.matched > 0 { pairs.append(bounds) }
        }

        let solved = ClockPass.place(sources, reference: reference, pairs: pairs, into: &result.report)
        // The solved clocks, and rows that clear a solution of an earlier pass this one no longer finds (clocks the user
        // set stay).
        result.clocksWritten = try await VersionedRows.write(
            solved.map { ClockRow($0, ids: ids) }, key: \.sourceID, into: ClickHouseSchema.clocks, current: ReadQueries.clocks(schema),
            read: { try ClockRow(&$0) }, clear: { SolvedClock.isSolved($0.method) ? ClockRow.none($0.sourceID) : nil }, client, schema
        ) { row, version, w in row.write(dataset: url.dataset, version: version, into: &w) }
        result.sources = try await ClickHouseReader.sources(client, schema).0
        return result
    }

    /// A pair's bounds from the engine's rows, as `ClockPass` draws them from every packet.
    static func bounds(_ a: SourceInfo, _ b: SourceInfo, _ rows: [Bucket], own: [Int64: Set<String>]) -> ClockBounds {
        var bounds = ClockBounds(a: a.id, b: b.id)
        bounds.resolutionA = ClockPass.resolution(a)
        bounds.resolutionB = ClockPass.resolution(b)
        for row in rows {
            let points = row.points, packets = Int(row.count)
            switch row.dir {
            case 0: bounds.addReduced(forward: points, packets: packets)
            case 1: bounds.addReduced(backward: points, packets: packets)
            default:
                // Seen one way only: its sender, as a saw it, says which point it passed first when it is one of a
                // capture host's own addresses.
                let aFirst: Bool? = own[a.id]?.contains(row.sender) == true ? true : own[b.id]?.contains(row.sender) == true ? false : nil
                bounds.addOneWay(points, packets: packets, aFirst: aFirst)
            }
        }
        return bounds
    }

    /// One connection under several tuples (NAT): the engine proposes the SYN signatures several connections share,
    /// `ConnectionAliases.link` decides as on SQLite. Writes what changed against the dataset's aliases; returns the rows.
    static func findAliases(_ client: ClickHouseClient, _ schema: ClickHouseSchema, storeIDs: [UInt64: Int64]) async throws -> Int {
        let ds: [String: Param] = ["dataset": .string(client.url.dataset)]
        var bySignature: [String: [SYNFacts]] = [:]
        for (sig, seen) in try await client.rows(ClockQueries.synSignatures(schema), ds, { r in
            (try r.string(), try r.array { r in (try r.uint64(), try r.uint64(), try r.uint8()) })
        }) {
            bySignature[sig] = seen.compactMap { sid, key, side in
                storeIDs[sid].map { SYNFacts(source: $0, conn: Int64(bitPattern: key), side: Int(side)) }
            }
        }
        return try await VersionedRows.write(
            ConnectionAliases.link(bySignature), key: \.key, into: ClickHouseSchema.connAliases, current: ReadQueries.aliases(schema),
            read: AliasRows.read, clear: { AliasRows.none($0.key) }, client, schema
        ) { a, version, w in AliasRows.write(a, dataset: client.url.dataset, version: version, into: &w) }
    }

    /// Whether the URL lists every shard of its cluster, one server each: then each can reduce its own events.
    static func shardsAreHosts(_ client: ClickHouseClient, _ schema: ClickHouseSchema) async throws -> Bool {
        guard let cluster = schema.cluster, client.hostCount > 1 else { return false }
        let shape = try await client.rows(ClockQueries.clusterShape, ["cluster": .string(cluster)]) { (try $0.uint64(), try $0.uint64()) }
        return shape.first.map { $0.0 == UInt64(client.hostCount) && $0.1 == UInt64(client.hostCount) } ?? false
    }

    /// A pair's reduced rows, its connections in `units` parts one after the other. On a cluster whose shards the URL
    /// lists, every shard reduces the connections it holds whole, and the aliased ones (a NAT's tuples live on
    /// different shards) go through the Distributed table; their rows are merged here. Otherwise one query through the
    /// Distributed table: correct, but its initiator merges every matched packet.
    static func pairRows(_ client: ClickHouseClient, _ schema: ClickHouseSchema, raw: Bool, _ params: [String: Param], byShard: Bool,
                         units: Int) async throws -> [Bucket] {
        var parts: [Bucket] = []
        for unit in 0..<units {
            var params = params
            params["units"] = .uint64(UInt64(units)); params["unit"] = .uint64(UInt64(unit))
            parts += try await perShard(client, byShard: byShard, { ClockQueries.pairBuckets(schema, raw: raw, scope: $0) }, params) { r in
                Bucket(dir: try r.uint8(), sender: try r.string(), bucket: try r.int64(), count: try r.uint64(),
                       min: try r.int64(), max: try r.int64(), tMin: try r.int64(), tMax: try r.int64())
            }
        }
        guard byShard || units > 1 else { return parts }
        var merged: [BucketKey: Bucket] = [:]
        for b in parts {
            let key = BucketKey(dir: b.dir, sender: b.sender, bucket: b.bucket)
            merged[key] = merged[key].map { $0.merged(b) } ?? b
        }
        return merged.values.sorted { ($0.dir, $0.sender, $0.bucket) < ($1.dir, $1.sender, $1.bucket) }
    }

    /// A query's rows: one query through the Distributed table (`.all`); or, `byShard`, each shard's answer for the
    /// connections it holds whole (`.shardUnaliased`, all at once) and the aliased connections' (`.aliased`), for the
    /// caller to merge.
    static func perShard<T: Sendable>(_ client: ClickHouseClient, byShard: Bool, _ sql: @escaping @Sendable (ClockQueries.Scope) -> String,
                                      _ params: [String: Param], _ read: @escaping @Sendable (inout RowBinaryReader) throws -> T) async throws -> [T] {
        guard byShard else { return try await client.rows(sql(.all), params, read) }
        return try await withThrowingTaskGroup(of: [T].self) { group in
            for host in 0..<client.hostCount {
                group.addTask { try await client.rows(sql(.shardUnaliased), params, host: host, read) }
            }
            group.addTask { try await client.rows(sql(.aliased), params, read) }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    struct BucketKey: Hashable { let dir: UInt8, sender: String, bucket: Int64 }

    /// One row of `ClockQueries.pairBuckets`.
    struct Bucket: Sendable {
        var dir: UInt8, sender: String, bucket: Int64, count: UInt64, min: Int64, max: Int64, tMin: Int64, tMax: Int64
        /// The bucket's smallest and largest Δ at the times a saw them: the bounds of its direction come from these.
        var points: [(t: Int64, d: Int64)] { count == 1 ? [(tMin, min)] : [(tMin, min), (tMax, max)] }

        /// The same bucket as two shards reduced it.
        func merged(_ o: Bucket) -> Bucket {
            var m = self
            m.count += o.count
            if (o.min, o.tMin) < (min, tMin) { m.min = o.min; m.tMin = o.tMin }
            if (o.max, -o.tMax) > (max, -tMax) { m.max = o.max; m.tMax = o.tMax }
            return m
        }
    }
}
