import EventStore
import Foundation
import TraceModel

/// What a push did (`tracejoin push --json`).
public struct PushReport: Sendable {
    /// Events in the SQLite store.
    public var eventsInStore = 0
    /// Events of the store's sources that ClickHouse holds after the push (equal to `eventsInStore` when complete).
    public var rows = 0
    /// Rows this push inserted, every table counted (0: the store was there already).
    public var rowsInserted = 0
    public var eventsInserted = 0
    public var sourcesPushed = 0
    /// Sources already complete in ClickHouse, left alone.
    public var sourcesSkipped = 0
    /// Sources a push before had left half-written: their rows were deleted and written again.
    public var sourcesReplaced = 0
    public var seconds = 0.0
    public var server = ""
    public var dialect = Dialect.compat
}

/// Copies a SQLite store into ClickHouse: sources, events, clock solutions, connection aliases, the connections with
/// their lifecycles, and the joiner's other derived tables (`DerivedRows`), with the findings the caller computed
/// (`extraDerived`: the SQLite store computes them when asked, it does not keep them).
///
/// How a push stays honest when it is killed or run twice:
/// 1. A source counts as pushed only once its `sources` row is there, and that row is written last: after every
///    batch holding its events was accepted and a count of its rows in `events` matched the store's.
/// 2. Sources with their `sources` row are skipped: a second push of the same store inserts nothing.
/// 3. Sources with event rows but no `sources` row (a push killed midway) lose those rows first (a DELETE
///    mutation on every shard, waited for), then are written whole.
/// 4. On servers with `insert_deduplication_token` (22.2+), each batch carries a token made from its sources'
///    content hashes and its place in them, so a batch sent twice (a retry after a lost answer) lands once; a
///    source written again after step 3 gets fresh tokens, or its batches would be dropped as duplicates of the
///    deleted ones. 18.16 has no tokens: there steps 1–3 do the whole job.
public final class Pusher {
    public let store: Store
    public let client: ClickHouseClient
    /// Events per INSERT: ClickHouse wants few big inserts (10⁵–10⁶ rows), not many small ones.
    public var batchRows = 250_000
    /// Events read from SQLite and encoded at a time: what the body streams in, and what memory holds.
    public var chunkRows = 5_000
    /// Stops after this many event batches, before any `sources` row is written: what a push killed there leaves
    /// behind (tests of the re-push).
    public var stopAfterBatches: Int?
    /// Called each time an event batch was accepted, with how many were so far (tests pause a push there to stop a
    /// server).
    public var afterBatch: ((Int) async throws -> Void)?
    /// Derived tables the store does not keep, with their rows: the findings, computed by the caller.
    public var extraDerived: [(DerivedSpec, [[DerivedValue]])] = []
    let progress: (String) -> Void

    public init(store: Store, client: ClickHouseClient, progress: @escaping (String) -> Void = { _ in }) {
        self.store = store
        self.client = client
        self.progress = progress
    }

    var url: ClickHouseURL { client.url }

    public func run() async throws -> PushReport {
        let started = Date()
        var report = PushReport()
        let version = try await client.connect()
        report.server = version.description
        report.dialect = client.dialect
        if url.retentionDays != nil && client.dialect == .compat {
            throw ClickHouseError.incomplete("retention_days needs TTL, which ClickHouse \(version) has not (\(ServerVersion.current) or later)")
        }
        let schema = ClickHouseSchema(database: url.database, dialect: client.dialect, cluster: url.cluster, retentionDays: url.retentionDays)
        try await checkCluster()
        try await createTables(schema)

        // What the store has.
        let sources = try store.sources()
        let hashes = try store.contentHashes()
        report.eventsInStore = try store.eventCount()
        var ids: [Int64: UInt64] = [:]
        for s in sources {
            guard let h = hashes[s.id], let id = sourceID(contentHash: h) else {
                throw ClickHouseError.incomplete("\(s.path): its content hash is not one tracejoin wrote; cannot name it in ClickHouse")
            }
            ids[s.id] = id
        }

        // What ClickHouse has of them.
        let ds: [String: Param] = ["dataset": .string(url.dataset)]
        let complete = try await pairs(PushQueries.pushedSources(schema), ds)
        // A dataset is one store: its event and source numbers, clocks and connections are that store's (solved over
        // all its files at once). The same store grown by more files adds to it; another store does not.
        let others = Set(complete.keys).subtracting(ids.values)
        if !others.isEmpty {
            throw ClickHouseError.incomplete("dataset \(url.dataset) of \(url.database) already holds \(others.count) sources that are not in this store: a dataset holds one case's store (its numbering, clocks and connections). Put all the files into one store and push it, or choose another dataset")
        }
        let present = try await eventCounts(schema, ids: sources.compactMap { ids[$0.id] })
        var todo: [SourceInfo] = []
        var partial: [UInt64] = []
        for s in sources {
            let id = ids[s.id]!
            if let n = complete[id], n == Int64(s.events) {
                report.sourcesSkipped += 1
            } else {
                todo.append(s)
                if (present[id] ?? 0) > 0 || complete[id] != nil { partial.append(id) }
            }
        }
        let toPushEvents = todo.reduce(0) { $0 + $1.events }
        progress("push: \(sources.count) sources in \(store.path): \(report.sourcesSkipped) already in \(url.database) (dataset \(url.dataset)), \(todo.count) to push (\(toPushEvents) events); ClickHouse \(version), \(client.dialect) schema")

        if !partial.isEmpty {
            progress("push: \(partial.count) sources were half-written by an earlier push: deleting their rows first")
            try await deleteEvents(schema, ids: partial)
            report.sourcesReplaced = partial.count
        }

        // The events, in batches.
        // The connections are read once: their Community IDs go with the events, the rows themselves after them.
        let connections = try store.connectionRecords()
        let communityIDs = Dictionary(connections.map { ($0.key, $0.communityID) }) { a, _ in a }
        let rows = EventRows(dataset: url.dataset, communityIDs: communityIDs, addresses: try store.addressTexts())
        let retryTag = partial.isEmpty ? "" : ":r\(UInt64(Date().timeIntervalSince1970 * 1e9))"
        let replaced = Set(partial)
        var pushed = 0
        let cursors = BatchReader.Cursors()
        let t0 = Date()
        // Two inserts at a time, staggered: the next batch is read and sent while the server sorts, compresses and
        // forwards the last one (it answers only then). Batches are read one after the other (a source split across
        // two goes on where the first stopped), so the next starts only once the last one's rows are all sent.
        let plan = Self.plan(todo, batchRows: batchRows)
        let events = schema.name(ClickHouseSchema.events)
        try await withThrowingTaskGroup(of: Int.self) { group in
            var inFlight = 0
            var accepted = 0
            func collect() async throws {
                guard let done = try await group.next() else { return }
                inFlight -= 1
                accepted += 1
                pushed += done
                let rate = Double(pushed) / max(Date().timeIntervalSince(t0), 1e-6)
                progress("push: \(pushed) of \(toPushEvents) events (\(toPushEvents == 0 ? 100 : pushed * 100 / toPushEvents)%), \(Int(rate)) events/s")
                try await afterBatch?(accepted)
            }
            for (index, batch) in plan.enumerated() {
                if let stop = stopAfterBatches, index >= stop {
                    while inFlight > 0 { try await collect() }
                    throw ClickHouseError.incomplete("push stopped after \(stop) batches (--stop-after-batches): \(pushed) events written, no source counted as pushed")
                }
                let token = client.dialect.hasDeduplicationTokens
                    ? Self.token(dataset: url.dataset, batch: batch, hashes: hashes) + (batch.contains { replaced.contains(ids[$0.source.id]!) } ? retryTag : "")
                    : nil
                let reader = BatchReader(store: store, batch: batch, ids: ids, rows: rows,
                                         chunkRows: chunkRows, cursors: cursors)
                var settings = client.insertSettings
                if let token {
                    settings["insert_deduplication_token"] = token
                    // Or `conns`, filled by its view, counts a batch sent twice twice (SCALEOUT.md §2.3, seen there).
                    settings["deduplicate_blocks_in_dependent_materialized_views"] = "1"
                }
                if client.dialect == .current { settings["max_partitions_per_insert_block"] = "1000" }
                let (sent, sentDone) = AsyncStream<Never>.makeStream()
                group.addTask { [client] in
                    // However the insert ends, the loop below stops waiting for its rows.
                    defer { sentDone.finish() }
                    try await client.insert(table: events, columns: EventRows.columns, settings: settings) {
                        let chunk = try await reader.next()
                        if chunk == nil { sentDone.finish() }
                        return chunk
                    }
                    return reader.written
                }
                inFlight += 1
                for await _ in sent {}
                if inFlight >= 2 { try await collect() }
            }
            while inFlight > 0 { try await collect() }
        }
        report.eventsInserted = pushed

        // Only sources whose rows are all there get their `sources` row. (Counted for every source of the store: the
        // small tables written below add no events, so this is also what the report says ClickHouse holds.)
        let after = try await eventCounts(schema, ids: sources.map { ids[$0.id]! })
        var done: [SourceInfo] = []
        var short: [String] = []
        for s in todo {
            let n = after[ids[s.id]!] ?? 0
            if n == Int64(s.events) { done.append(s) } else { short.append("\(s.path): \(n) of \(s.events) events") }
        }
        report.rowsInserted = pushed
        report.rowsInserted += try await insertSources(schema, done, ids: ids, hashes: hashes)
        report.sourcesPushed = done.count
        report.rowsInserted += try await pushClocks(schema, sources, ids: ids)
        report.rowsInserted += try await pushAliases(schema)
        report.rowsInserted += try await pushConnections(schema, connections)
        report.rowsInserted += try await DerivedRows.push(store, extra: extraDerived, client, schema, dataset: url.dataset)

        report.rows = Int(after.values.reduce(0, +))
        report.seconds = Date().timeIntervalSince(started)
        if !short.isEmpty {
            throw ClickHouseError.incomplete("push incomplete, run it again: " + short.joined(separator: "; "))
        }
        return report
    }

    // MARK: - Layout

    /// A cluster listed host by host must list every shard: otherwise tables would be missing on some.
    func checkCluster() async throws {
        guard let cluster = url.cluster else { return }
        let text = try await client.query("SELECT count(DISTINCT shard_num) FROM system.clusters WHERE cluster = {cluster:String}",
                                          ["cluster": .string(cluster)])
        let shards = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        if shards == 0 {
            throw ClickHouseError.incomplete("ClickHouse at \(client.describe(0)) has no cluster \(cluster) in its remote_servers")
        }
        if client.hostCount > 1 && shards != client.hostCount {
            throw ClickHouseError.incomplete("cluster \(cluster) has \(shards) shards but the URL lists \(client.hostCount) hosts: list each shard's HTTP address once")
        }
    }

    func createTables(_ schema: ClickHouseSchema) async throws {
        // Every listed host is checked before anything is created: a database of another version stays untouched.
        var fresh: [Int] = []
        for host in 0..<client.hostCount where try await SchemaVersion.prepare(client, schema, host: host) { fresh.append(host) }
        // The version first: tables created when it is there are of that version, and a creation cut off midway is
        // completed by the next push (every statement is CREATE … IF NOT EXISTS).
        for host in fresh { try await SchemaVersion.record(client, schema, host: host) }
        if url.cluster != nil && client.hostCount == 1 {
            for sql in schema.ddl(onCluster: true) { try await client.query(sql) }
        } else {
            for host in 0..<client.hostCount {
                for sql in schema.ddl() { try await client.query(sql, host: host) }
            }
        }
    }

    // MARK: - Reading ClickHouse

    /// `SELECT key, value` rows of integers.
    func pairs(_ sql: String, _ params: [String: Param]) async throws -> [UInt64: Int64] {
        var out: [UInt64: Int64] = [:]
        for line in try await client.query(sql, params).split(separator: "\n") {
            let f = line.split(separator: "\t")
            guard f.count == 2, let k = UInt64(f[0]), let v = Int64(f[1]) else {
                throw ClickHouseError.protocolError(host: client.describe(0), what: "row \(line.prefix(60).debugDescription)")
            }
            out[k] = v
        }
        return out
    }

    /// Rows in `events` per source id, for the given sources.
    func eventCounts(_ schema: ClickHouseSchema, ids: [UInt64]) async throws -> [UInt64: Int64] {
        if ids.isEmpty { return [:] }
        return try await pairs(PushQueries.eventCounts(schema), ["dataset": .string(url.dataset), "ids": .uint64s(ids)])
    }

    /// Deletes the sources' event rows on every shard and waits until the deletion is done (a mutation runs in
    /// the background; rows written after it was asked for are not touched by it).
    func deleteEvents(_ schema: ClickHouseSchema, ids: [UInt64]) async throws {
        let params: [String: Param] = ["dataset": .string(url.dataset), "ids": .uint64s(ids)]
        let local = schema.localName(ClickHouseSchema.events)
        let sync: [String: String] = client.dialect == .current ? ["mutations_sync": "2"] : [:]
        try await client.onEveryShard({ PushQueries.deleteEvents(local, onCluster: $0) }, params, settings: sync)
        // 18.16 has no mutations_sync: wait for system.mutations to show them done (at most 2 minutes).
        let table = url.cluster == nil ? ClickHouseSchema.events.name : ClickHouseSchema.events.name + "_local"
        for host in 0..<client.hostCount {
            var waited = 0.0
            while true {
                let left = try await client.query(PushQueries.mutationsLeft, ["db": .string(url.database), "table": .string(table)], host: host)
                if Int(left.trimmingCharacters(in: .whitespacesAndNewlines)) == 0 { break }
                if waited > 120 { throw ClickHouseError.incomplete("ClickHouse at \(client.describe(host)) did not finish deleting half-pushed rows in 2 minutes") }
                try await Task.sleep(nanoseconds: 200_000_000)
                waited += 0.2
            }
        }
    }

    // MARK: - Small tables

    func insertSources(_ schema: ClickHouseSchema, _ sources: [SourceInfo], ids: [Int64: UInt64], hashes: [Int64: String]) async throws -> Int {
        var w = RowBinaryWriter()
        for s in sources {
            w.string(url.dataset); w.uint64(ids[s.id]!); w.int64(s.id); w.string(hashes[s.id] ?? ""); w.string(s.path); w.string(s.format); w.string(s.host)
            w.int64(s.bytes); w.int64(Int64(s.lines)); w.int64(Int64(s.events)); w.int64(Int64(s.unparsed))
            w.int32(Int32(clamping: s.zoneOffset)); w.uint8(s.zoneGiven ? 1 : 0); w.uint8(s.hostGiven ? 1 : 0)
            w.string(s.timeBasis.rawValue); w.int32(Int32(clamping: s.timeDigits))
            w.nullable(s.firstTS) { $0.int64($1) }; w.nullable(s.lastTS) { $0.int64($1) }
            w.uint8(s.tsSorted ? 1 : 0); w.nullable(s.notes) { $0.string($1) }
        }
        return try await client.insertRows(ClickHouseSchema.sources, schema, w, count: sources.count)
    }

    /// Writes the clock of every source whose clock ClickHouse does not have as the store has it.
    func pushClocks(_ schema: ClickHouseSchema, _ sources: [SourceInfo], ids: [Int64: UInt64]) async throws -> Int {
        try await VersionedRows.write(sources.compactMap { ClockRow($0, ids: ids) }, key: \.sourceID, into: ClickHouseSchema.clocks,
                                      current: ReadQueries.clocks(schema), read: { try ClockRow(&$0) }, client, schema) { row, version, w in
            row.write(dataset: url.dataset, version: version, into: &w)
        }
    }

    /// Writes the aliases ClickHouse does not have as the store has them.
    func pushAliases(_ schema: ClickHouseSchema) async throws -> Int {
        try await VersionedRows.write(try store.allAliases(), key: \.key, into: ClickHouseSchema.connAliases, current: ReadQueries.aliases(schema),
                                      read: AliasRows.read, client, schema) { a, version, w in
            AliasRows.write(a, dataset: url.dataset, version: version, into: &w)
        }
    }

    /// Writes the connections (endpoints and derived lifecycles) ClickHouse does not have as the store has them.
    func pushConnections(_ schema: ClickHouseSchema, _ records: [ConnectionRecord]) async throws -> Int {
        try await VersionedRows.write(records, key: \.key, into: ClickHouseSchema.connections, current: ReadQueries.connections(schema),
                                      read: ConnectionRows.read, client, schema) { c, version, w in
            try ConnectionRows.write(c, dataset: url.dataset, version: version, path: store.path, into: &w)
        }
    }

    // MARK: - Batches

    /// A run of one source's events: its `count` events after the first `skip`, in the source's time order.
    struct Segment {
        var source: SourceInfo
        var skip: Int
        var count: Int
    }

    /// Cuts the sources' events into batches of `batchRows`, a source split across batches where it must be.
    /// The cut depends only on the sources and their event counts, so the same store always gives the same batches.
    static func plan(_ sources: [SourceInfo], batchRows: Int) -> [[Segment]] {
        var out: [[Segment]] = []
        var current: [Segment] = []
        var room = batchRows
        for s in sources where s.events > 0 {
            var skip = 0
            while skip < s.events {
                let take = min(room, s.events - skip)
                current.append(Segment(source: s, skip: skip, count: take))
                skip += take
                room -= take
                if room == 0 { out.append(current); current = []; room = batchRows }
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// `dataset:` then a hash of the batch's pieces (content hash, first event, count): the same batch of the
    /// same store gets the same token in every push.
    static func token(dataset: String, batch: [Segment], hashes: [Int64: String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a 64
        for seg in batch {
            for b in "\(hashes[seg.source.id] ?? ""):\(seg.skip):\(seg.count);".utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        return "tj:\(dataset):\(String(h, radix: 16))"
    }
}

/// The statements a push sends besides DDL and inserts, in one place so that the current engine (chDB) runs the same
/// text in the tests (`scripts/check-clickhouse-current.py`). Answers are TabSeparated, HTTP's default.
enum PushQueries {
    /// Sources with their `sources` row, and the events its newest row counts (a newer tracejoin may read the same
    /// file into another number of events: then the source is pushed again).
    static func pushedSources(_ s: ClickHouseSchema) -> String {
        "SELECT source_id, argMax(events, pushed_at) FROM \(s.name(ClickHouseSchema.sources)) WHERE dataset = {dataset:String} GROUP BY source_id"
    }

    /// Rows in `events` per source, for the sources in `ids`.
    static func eventCounts(_ s: ClickHouseSchema) -> String {
        """
        SELECT source_id, count() FROM \(s.name(ClickHouseSchema.events))
        WHERE dataset = {dataset:String} AND has({ids:Array(UInt64)}, source_id) GROUP BY source_id
        """
    }

    static func deleteEvents(_ localTable: String, onCluster cluster: String?) -> String {
        "ALTER TABLE \(localTable)\(cluster.map { " ON CLUSTER \($0)" } ?? "") DELETE WHERE dataset = {dataset:String} AND has({ids:Array(UInt64)}, source_id)"
    }

    static let mutationsLeft = "SELECT count() FROM system.mutations WHERE database = {db:String} AND table = {table:String} AND is_done = 0"
}

/// Pulls one batch's events from the store a chunk at a time and encodes them (the INSERT body).
final class BatchReader: @unchecked Sendable {
    let store: Store
    var segments: ArraySlice<Pusher.Segment>
    let ids: [Int64: UInt64]
    var rows: EventRows
    let chunkRows: Int
    /// Each source's place after the events already read, shared by the batches of one push: a source's
    /// events come in its (source time, rowid) order, and a source split across batches goes on where it was.
    let cursors: Cursors
    var current: SourceInfo?
    var left = 0
    var written = 0
    var writer = RowBinaryWriter()

    final class Cursors: @unchecked Sendable { var at: [Int64: (ts: Int64, id: Int64)] = [:] }

    init(store: Store, batch: [Pusher.Segment], ids: [Int64: UInt64], rows: EventRows, chunkRows: Int, cursors: Cursors) {
        self.store = store
        segments = batch[...]
        self.ids = ids
        self.rows = rows
        self.chunkRows = chunkRows
        self.cursors = cursors
    }

    /// One chunk's events, read from the store: each run of one source's events with that source.
    typealias Pages = [(source: SourceInfo, events: [PushEvent])]

    /// The read of the chunk after the one being encoded, and the encoding of the chunk after the one being sent.
    /// Reading SQLite and encoding RowBinary each take about as long as ClickHouse takes to parse and store the rows:
    /// the three go on at once (memory stays a few chunks).
    private var reads: Task<Pages?, Error>?
    private var encodes: Task<[UInt8]?, Error>?

    /// The next chunk of RowBinary rows, or nil when the batch is all written.
    func next() async throws -> [UInt8]? {
        if encodes == nil { encodes = encodeNext() }
        let chunk = try await encodes!.value
        encodes = chunk == nil ? nil : encodeNext()
        return chunk
    }

    /// Starts encoding the next chunk once read, and reading the one after it once that read is done: reads follow
    /// one another (a source's cursor moves on), and so do encodings (one `rows`, one buffer).
    private func encodeNext() -> Task<[UInt8]?, Error> {
        let read = reads ?? Task.detached { try self.readChunk() }
        reads = Task.detached { () -> Pages? in
            guard try await read.value != nil else { return nil }
            return try self.readChunk()
        }
        return Task.detached { try await read.value.map { try self.encode($0) } }
    }

    /// Reads up to `chunkRows` events, going on in the batch's segments where the last read stopped.
    func readChunk() throws -> Pages? {
        var out: Pages = []
        var n = 0
        while n < chunkRows {
            if left == 0 {
                guard let seg = segments.popFirst() else { break }
                current = seg.source
                left = seg.count
            }
            guard let source = current else { break }
            let page = try store.pushPage(source: source, after: cursors.at[source.id], limit: min(chunkRows - n, left))
            if page.events.isEmpty {
                throw ClickHouseError.incomplete("\(source.path): the store holds fewer events than its source row counts (\(source.events))")
            }
            out.append((source, page.events))
            n += page.events.count
            left -= page.events.count
            written += page.events.count
            cursors.at[source.id] = page.last
        }
        return out.isEmpty ? nil : out
    }

    func encode(_ pages: Pages) throws -> [UInt8] {
        // A fresh buffer the size of the last chunk: the one handed out is still being sent.
        writer = RowBinaryWriter(capacity: writer.count + writer.count / 8)
        for (source, events) in pages {
            try rows.write(events, host: source.host, sourceID: ids[source.id]!, path: source.path, into: &writer)
        }
        return writer.bytes
    }
}

/// One buffer handed to a streamed body once.
final class OnceBox: @unchecked Sendable {
    var bytes: [UInt8]?
    init(_ b: [UInt8]) { bytes = b }
    func take() -> [UInt8]? { defer { bytes = nil }; return bytes }
}
