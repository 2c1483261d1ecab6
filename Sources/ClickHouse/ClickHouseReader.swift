import Dispatch
import EventStore
import Foundation
import TraceModel

/// The views' questions (`StoreReader`) answered by a ClickHouse dataset a push filled: `timeline`, `conn`,
/// `connections`, `clocks`, `sources`, `findings` and `analyze` read it as they read a SQLite store, and print the same.
///
/// What the engine does: each source's time range, filters and order (a page of one source is a range of the
/// primary key: dataset, host, ts_src); the connection lookups. What Swift does, as on SQLite: clocks applied to
/// the few rows returned, the merge of the sources' pages, the wording.
///
/// The views are synchronous; each question waits for its HTTP answer.
public final class ClickHouseReader: StoreReader {
    public let client: ClickHouseClient
    let schema: ClickHouseSchema
    var dataset: String { client.url.dataset }
    private let sourceList: [SourceInfo]
    /// Store id → ClickHouse source_id.
    let sourceIDs: [Int64: UInt64]
    // The caches below are shared by the view's requests, which run at once: `state` guards them.
    private let state = NSLock()
    private var connectionCache: [Int64: ConnectionRecord?] = [:]
    private var lastEvent: Int64?
    private var namesCache: [String: [String]]?
    /// Each source's host, and the sources by their ClickHouse id (rows name them so).
    let sourceHosts: [Int64: String]
    let sourcesByID: [UInt64: SourceInfo]
    /// Each derived table's complete generation (`DerivedRows`).
    private let generations: [String: UInt64]

    /// Connects, checks the schema's version, and reads the dataset's sources and clocks.
    public init(url: ClickHouseURL) throws {
        // (The client closes its connections when dropped, on every way out.)
        client = ClickHouseClient(url: url)
        let client = self.client
        let (schema, sources, ids, generations) = try Self.wait {
            try await client.connect()
            let schema = ClickHouseSchema(database: url.database, dialect: client.dialect, cluster: url.cluster)
            try await Self.checkVersion(client, schema)
            let (sources, ids) = try await Self.sources(client, schema)
            let generations = try await DerivedRows.current(client, schema, dataset: url.dataset).mapValues(\.generation)
            return (schema, sources, ids, generations)
        }
        self.schema = schema
        sourceList = sources
        sourceIDs = ids
        sourceHosts = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0.host) })
        sourcesByID = Dictionary(uniqueKeysWithValues: sources.compactMap { s in ids[s.id].map { ($0, s) } })
        self.generations = generations
        if sourceList.isEmpty {
            throw ClickHouseError.incomplete("ClickHouse database \(url.database) holds no sources of dataset \(url.dataset): `tracejoin push --store CASE.db --to \(url)` copies a store there")
        }
    }

    /// Runs async work from the synchronous views (and `ingest`) and waits for it (the client runs on its own event
    /// loop, never on the waiting thread).
    public static func wait<T>(_ body: @escaping () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    static func checkVersion(_ client: ClickHouseClient, _ schema: ClickHouseSchema) async throws {
        let have = try await SchemaVersion.read(client, schema, host: 0)
        switch have {
        case .none:
            throw ClickHouseError.incomplete("ClickHouse at \(client.describe(0)) holds no tracejoin tables in database \(schema.database): `tracejoin push` creates them")
        case .some(let v) where v != ClickHouseSchema.version:
            throw SchemaVersion.mismatch(client, schema, have: v)
        default: break
        }
    }

    static func sources(_ client: ClickHouseClient, _ schema: ClickHouseSchema) async throws -> ([SourceInfo], [Int64: UInt64]) {
        let ds: [String: Param] = ["dataset": .string(client.url.dataset)]
        let rows = try await client.rows(ReadQueries.sources(schema), ds) { r -> (UInt64, SourceInfo) in
                let sid = try r.uint64()
                var s = SourceInfo(id: try r.int64(), path: try r.string(), format: try r.string(), host: try r.string(), bytes: try r.int64(),
                                   lines: Int(try r.int64()), events: Int(try r.int64()), unparsed: Int(try r.int64()), zoneOffset: Int(try r.int32()),
                                   zoneGiven: try r.uint8() != 0, timeBasis: .absolute, timeDigits: 0, firstTS: nil, lastTS: nil,
                                   offsetNS: 0, clockMethod: nil, notes: nil, firstRow: nil, lastRow: nil, tsSorted: true)
                s.hostGiven = try r.uint8() != 0
                s.timeBasis = TimeBasis(rawValue: try r.string()) ?? .absolute
                s.timeDigits = Int(try r.int32())
                s.firstTS = try r.nullable { try $0.int64() }
                s.lastTS = try r.nullable { try $0.int64() }
                s.tsSorted = try r.uint8() != 0
                s.notes = try r.nullable { try $0.string() }
                return (sid, s)
        }
        var out: [SourceInfo] = []
        var ids: [Int64: UInt64] = [:]
        var storeIDs: [UInt64: Int64] = [:]
        var byID: [UInt64: Int] = [:]
        for (sid, s) in rows {
            // Sources and events carry their store's numbers: two stores in one dataset would share them.
            if let other = ids[s.id], other != sid {
                throw ClickHouseError.incomplete("dataset \(client.url.dataset) holds sources of more than one store (two numbered \(s.id), one of them \(s.path)): push each store into a dataset of its own")
            }
            ids[s.id] = sid
            storeIDs[sid] = s.id
            byID[sid] = out.count
            out.append(s)
        }
        for c in try await client.rows(ReadQueries.clocks(schema), ds, { try ClockRow(&$0) }) {
            // A clock of a source whose push did not complete; a row saying it has none (`ClockRow.none`).
            guard let i = byID[c.sourceID], !c.method.isEmpty else { continue }
            out[i].offsetNS = c.offset
            out[i].uncertaintyNS = c.uncertainty
            out[i].driftPPB = c.drift
            out[i].driftOrigin = c.origin
            out[i].clockMethod = c.method
            out[i].clockReference = c.reference.flatMap { storeIDs[$0] }
            out[i].clockMatched = c.matched.map(Int.init)
            out[i].clockPeer = c.peer.flatMap { storeIDs[$0] }
        }
        return (out.sorted { $0.id < $1.id }, ids)
    }

    /// Rows of a query, waited for (the views are synchronous).
    func rows<T>(_ sql: String, _ params: [String: Param], _ read: @escaping (inout RowBinaryReader) throws -> T) throws -> [T] {
        let client = self.client
        return try Self.wait { try await client.rows(sql, params, read) }
    }

    // MARK: - StoreReader

    public func sources() throws -> [SourceInfo] { sourceList }

    public func eventPage(source: SourceInfo, filter: EventFilter, after: (ts: Int64, id: Int64)?, limit: Int) throws
        -> (events: [StoredEvent], last: (ts: Int64, id: Int64)?, exhausted: Bool) {
        guard let sid = sourceIDs[source.id] else { return ([], after, true) }
        if let conns = filter.conns, conns.isEmpty { return ([], after, true) }
        let clock = source.clock
        func query(upTo: Int64? = nil, horizon: Bool = false) -> (sql: String, params: [String: Param]) {
            ReadQueries.eventPage(schema, dataset: dataset, host: source.host, source: sid,
                                  from: filter.from.map(clock.sourceTime), to: filter.to.map(clock.sourceTime), after: after,
                                  conns: filter.conns, kinds: filter.kinds.map(\.name), grep: filter.grep, limit: limit,
                                  upTo: upTo, horizon: horizon)
        }
        // Where the page ends, read from the time column alone: then the page's query reads only the granules it
        // returns. (Servers before 19.14 do not stop reading at the LIMIT of an ORDER BY on the key: a page near the
        // start of a million events read all the rest of them, every column.) A text search reads the text anyway.
        var upTo: Int64?
        if filter.grep == nil, (client.version ?? ServerVersion.oldest) < ServerVersion.readsInOrder {
            let h = query(horizon: true)
            upTo = try self.rows(h.sql, h.params) { try $0.int64() }.first
        }
        let page = query(upTo: upTo)
        let rows = try self.rows(page.sql, page.params) { try Self.event(&$0, source: source.id, clock: clock) }
        let last = rows.last.map { (ts: $0.tsSource, id: $0.id) } ?? after
        var events = rows
        // The engine's case-insensitive search, checked again as the SQLite store checks it (Swift's lowercasing).
        if let needle = filter.grep?.lowercased() { events = rows.filter { $0.raw.lowercased().contains(needle) } }
        try prefetchConnections(Set(events.compactMap(\.conn)))
        return (events, last, rows.count < limit)
    }

    /// One row of `ReadQueries.eventColumns`.
    static func event(_ r: inout RowBinaryReader, source: Int64, clock: SourceClock) throws -> StoredEvent {
        let id = try r.int64(), ordinal = try r.int64(), line = Int(try r.int64()), ts = try r.int64()
        let kind = EventKind(name: try r.string()) ?? .log
        let proto = try r.nullable { Int(try $0.uint8()) }
        let src = try r.string()
        let sport = try r.nullable { Int(try $0.uint16()) }
        let dst = try r.string()
        let dport = try r.nullable { Int(try $0.uint16()) }
        let key = try r.uint64()
        let flags = try r.nullable { Int(try $0.uint16()) }
        func int64(_ r: inout RowBinaryReader) throws -> Int64? { try r.nullable { try $0.int64() } }
        let seq = try int64(&r), ack = try int64(&r), len = try int64(&r), win = try int64(&r), ipid = try int64(&r)
        let tsval = try int64(&r), tsecr = try int64(&r), mss = try int64(&r)
        let expert = Int(try r.uint32())
        let frameLen = try int64(&r)
        let label = try r.nullable { try $0.string() }
        let summary = try r.string(), raw = try r.string()
        let attrs = try r.nullable { try $0.string() }
        let seqRaw = try int64(&r), ackRaw = try int64(&r)
        return StoredEvent(id: id, source: source, ordinal: ordinal, line: line, ts: clock.aligned(ts), tsSource: ts, kind: kind,
                           proto: proto, src: src.isEmpty ? nil : src, sport: sport, dst: dst.isEmpty ? nil : dst, dport: dport,
                           conn: key == 0 ? nil : Int64(bitPattern: key), flags: flags, seq: seq, ack: ack, len: len, win: win,
                           ipid: ipid, tsval: tsval, tsecr: tsecr, mss: mss, expert: expert, frameLen: frameLen, label: label,
                           summary: summary, raw: raw, attrs: attrs, seqRaw: seqRaw, ackRaw: ackRaw)
    }

    /// Reads the connections a page names in one query, so that formatting its events asks none.
    func prefetchConnections(_ keys: Set<Int64>) throws {
        let missing = state.withLock { keys.filter { connectionCache[$0] == nil } }
        if missing.isEmpty { return }
        let found = try connectionRecords(ReadQueries.connections(schema, byKeys: true),
                                          ["dataset": .string(dataset), "keys": .uint64s(missing.map { UInt64(bitPattern: $0) })])
        state.withLock {
            for k in missing where connectionCache[k] == nil { connectionCache[k] = .some(nil) }
            for c in found { connectionCache[c.key] = c }
        }
    }

    func connectionRecords(_ sql: String, _ params: [String: Param]) throws -> [ConnectionRecord] {
        try rows(sql, params, ConnectionRows.read)
    }

    /// The newest event id of the known sources, asked once (`lastEventID`).
    func lastEventAtOpen() throws -> Int64 {
        if let n = state.withLock({ lastEvent }) { return n }
        let ids = sourceList.compactMap { sourceIDs[$0.id] }
        let n = try rows("SELECT max(event_id) FROM \(schema.name(ClickHouseSchema.events)) WHERE dataset = {dataset:String} AND has({ids:Array(UInt64)}, source_id)",
                         ["dataset": .string(dataset), "ids": .uint64s(ids)]) { try $0.int64() }.first ?? 0
        state.withLock { lastEvent = n }
        return n
    }

    public func connection(key: Int64, hosts given: [Int64: String]?) throws -> ConnectionRow? {
        try prefetchConnections([key])
        return state.withLock { connectionCache[key] }??.row(hosts: given ?? sourceHosts)
    }

    public func connections(address: String, port: Int?) throws -> [ConnectionRow] {
        var params: [String: Param] = ["dataset": .string(dataset), "address": .string(address)]
        if let port { params["port"] = .int64(Int64(port)) }
        return try connectionRecords(ReadQueries.connections(schema, address: true, port: port != nil), params)
            .sorted { $0.key < $1.key }
            .map { $0.row(hosts: sourceHosts) }
    }

    // MARK: - `tracejoin sql`

    /// A value of `query`'s answer.
    public enum Value: Sendable, Equatable {
        case null, int(Int64), double(Double), string(String)
    }

    /// Runs one read-only statement of the user's (ClickHouse's SQL over the database's tables), refused by the server
    /// if it would write (`readonly=2`: reads only, settings allowed). Column names and rows, values as JSON gives them.
    public func query(_ sql: String) throws -> (columns: [String], rows: [[Value]]) {
        var text = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        while text.hasSuffix(";") { text.removeLast() }
        let client = self.client
        let settings = ["readonly": "2", "output_format_json_quote_64bit_integers": "0"]
        let answer = try Self.wait { try await client.query(text + "\nFORMAT JSONCompact", settings: settings) }
        guard let o = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any],
              let meta = o["meta"] as? [[String: Any]], let data = o["data"] as? [[Any]] else {
            throw ClickHouseError.protocolError(host: client.describe(0), what: "the answer is not JSONCompact: \(answer.prefix(80))")
        }
        let types = meta.map { ($0["type"] as? String) ?? "" }
        let rows = data.map { row in
            zip(row, types).map { v, type -> Value in
                switch v {
                case is NSNull: return .null
                case let s as String: return .string(s)
                case let n as NSNumber:
                    let integral = type.contains("Int") && !type.contains("Array")
                    return integral && n.int64Value.description == n.stringValue ? .int(n.int64Value) : .double(n.doubleValue)
                default:
                    // Arrays, tuples, maps: as JSON text.
                    let d = (try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed])) ?? Data()
                    return .string(String(decoding: d, as: UTF8.self))
                }
            }
        }
        return (meta.map { ($0["name"] as? String) ?? "" }, rows)
    }

    // MARK: - Derived tables (`DerivedRows`)

    private func derived(_ t: DerivedTable, filter: String? = nil, _ params: [String: Param] = [:]) throws -> [[DerivedValue]] {
        try derived(DerivedSpec(t), filter: filter, params)
    }

    /// The rows of a derived table's current generation (none when it was never pushed).
    public func derived(_ t: DerivedSpec, filter: String? = nil, _ params: [String: Param] = [:]) throws -> [[DerivedValue]] {
        guard let g = generations[t.name] else { return [] }
        let (client, schema, dataset) = (self.client, self.schema, self.dataset)
        return try Self.wait { try await DerivedRows.rows(client, schema, t, generation: g, dataset: dataset, filter: filter, params) }
    }

    /// Whether the push copied this derived table (a dataset pushed without findings has none to show).
    public func has(_ t: DerivedSpec) -> Bool { generations[t.name] != nil }

    public func hostNames() throws -> [String: [String]] {
        if let names = state.withLock({ namesCache }) { return names }
        // As the store groups them: each address's names by the first source that gave them, then by name.
        var first: [String: [String: Int64]] = [:]
        for r in try derived(.hostNames) {
            guard let a = r[0].text, let n = r[1].text, let src = r[2].int else { continue }
            first[a, default: [:]][n] = min(first[a]?[n] ?? .max, src)
        }
        let names = first.mapValues { byName in byName.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map(\.key) }
        state.withLock { namesCache = names }
        return names
    }

    public func processNames() throws -> [String: [Int64: String]] {
        var out: [String: [Int64: String]] = [:]
        for r in try derived(.processes) {
            guard let src = r[0].int, let pid = r[1].int, let image = r[2].text else { continue }
            out[sourceHosts[src] ?? "", default: [:]][pid] = image
        }
        return out
    }

    public func captureViews(key: Int64) throws -> [CaptureView] {
        try derived(.captureViews, filter: "conn_key = {key:Int64}", ["key": .int64(key)]).compactMap { r in
            guard let src = r[1].int, let packets = r[2].int else { return nil }
            return CaptureView(key: key, source: src, packets: Int(packets), first: r[3].int, last: r[4].int,
                               connState: r[5].text ?? "", history: r[6].text ?? "")
        }
    }

    public func instances(key: Int64) throws -> [Lifecycle] {
        let decoder = JSONDecoder()
        return try derived(.instances, filter: "conn_key = {key:Int64}", ["key": .int64(key)]).compactMap { r in
            try r[2].text.map { try decoder.decode(Lifecycle.self, from: Data($0.utf8)) }
        }
    }

    public func twins(events ids: [Int64]) throws -> [Int64: [TwinVerdict]] {
        guard !ids.isEmpty else { return [:] }
        var out: [Int64: [TwinVerdict]] = [:]
        for r in try derived(.twins, filter: "has({ids:Array(Int64)}, event)", ["ids": .int64s(ids)]) {
            guard let event = r[0].int, let peer = r[1].int, let v = r[3].text.flatMap(TwinVerdict.Verdict.init(rawValue:)) else { continue }
            out[event, default: []].append(TwinVerdict(event: event, peer: peer, twin: r[2].int, verdict: v))
        }
        return out
    }

    // MARK: - Connections and their events

    public func allConnections() throws -> [ConnectionRow] {
        try connectionRecords(ReadQueries.connections(schema), ["dataset": .string(dataset)])
            .sorted { $0.key < $1.key }
            .map { $0.row(hosts: sourceHosts) }
    }

    /// Events of the given sources' rows (`ReadQueries.sourcedEvents`), each source's clock applied.
    func sourcedEvents(_ sql: String, _ params: [String: Param]) throws -> [StoredEvent] {
        let byCH = sourcesByID
        return try rows(sql, params) { r -> StoredEvent? in
            let s = byCH[try r.uint64()]
            let e = try Self.event(&r, source: s?.id ?? -1, clock: s?.clock ?? SourceClock())
            return s == nil ? nil : e // rows of a source whose push did not complete
        }.compactMap { $0 }
    }

    /// Where a connection's events are (`conns`): its first and last source time and the hosts that hold them.
    func place(_ conn: Int64) throws -> (first: Int64, last: Int64, hosts: [String])? {
        let params: [String: Param] = ["dataset": .string(dataset), "key": .uint64(UInt64(bitPattern: conn))]
        return try rows(ReadQueries.connPlace(schema), params) { r in (try r.int64(), try r.int64(), try r.array { try $0.string() }) }.first
    }

    public func events(conn: Int64) throws -> [StoredEvent] {
        // The lookup table first: then the events are a primary-key range (host, time) per host rather than a scan.
        guard let place = try place(conn), !place.hosts.isEmpty else { return [] }
        let q = ReadQueries.connectionEvents(schema, dataset: dataset, key: conn, first: place.first, last: place.last, hosts: place.hosts)
        return try sourcedEvents(q.sql, q.params).sorted { ($0.ts, $0.source, $0.id) < ($1.ts, $1.source, $1.id) }
    }

    public func aliases(of key: Int64) throws -> [ConnectionAlias] {
        let all = try rows(ReadQueries.aliases(schema), ["dataset": .string(dataset)], AliasRows.read)
        guard let group = all.first(where: { $0.key == key })?.group else { return [] }
        return all.filter { $0.group == group }.sorted { ($0.key == key ? 0 : 1, $0.key) < ($1.key == key ? 0 : 1, $1.key) }
    }

    public func socketRows() throws -> [SocketRowFacts] {
        // The sources that hold socket tables (`source_kinds`), then their rows as primary-key ranges.
        let kind = EventKind.socketSnapshot.name
        let holders = try rows(ReadQueries.sourcesOfKind(schema), ["dataset": .string(dataset), "kind": .string(kind)]) { r in
            (try r.uint64(), try r.string())
        }
        if holders.isEmpty { return [] }
        let q = ReadQueries.eventsOfKind(schema, dataset: dataset, kind: kind, sources: holders)
        let rows = try sourcedEvents(q.sql, q.params)
        // The store's order: by source, then as the source listed them.
        return rows.sorted { ($0.source, $0.id) < ($1.source, $1.id) }.map { e in
            let attrs = e.attrs.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
            func int(_ k: String) -> Int64? { (attrs[k] as? NSNumber)?.int64Value }
            return SocketRowFacts(source: e.source, local: e.src, port: e.sport ?? -1, remote: e.dst, remotePort: e.dport ?? -1,
                                  state: attrs["state"] as? String, pid: int("pid"), process: attrs["process"] as? String,
                                  snapshot: Int(int("snapshot") ?? 1), ts: e.ts)
        }
    }
}

final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }

/// The statements the reader sends, in one place so that the current engine (chDB) runs the same text in the tests.
enum ReadQueries {
    /// Each source's newest `sources` row: only sources whose push completed have one.
    static func sources(_ s: ClickHouseSchema) -> String {
        """
        SELECT source_id, store_id, path, format, host, bytes, lines, events, unparsed, tz_offset_s, tz_given, host_given,
               time_basis, time_digits, first_ts, last_ts, ts_sorted, notes
        FROM \(s.name(ClickHouseSchema.sources)) WHERE dataset = {dataset:String}
        ORDER BY pushed_at DESC LIMIT 1 BY source_id
        """
    }

    /// Each source's newest clock row.
    static func clocks(_ s: ClickHouseSchema) -> String {
        """
        SELECT source_id, offset_ns, uncertainty_ns, drift_ppb, origin_ns, method, reference, matched, peer
        FROM \(s.name(ClickHouseSchema.clocks)) WHERE dataset = {dataset:String}
        ORDER BY version DESC LIMIT 1 BY source_id
        """
    }

    /// The event columns `ClickHouseReader.event` reads, in its order; times as Int64 nanoseconds on both dialects.
    static func eventColumns(_ d: Dialect) -> String {
        """
        event_id, ordinal, line, \(tsColumn(d)), kind, proto, src, sport, dst, dport, conn_key, flags, seq, ack, len, win, ipid,
        tsval, tsecr, mss, expert, frame_len, label, summary, raw, attrs, seq_raw, ack_raw
        """
    }

    static func tsColumn(_ d: Dialect) -> String { d == .current ? "toUnixTimestamp64Nano(ts_src)" : "ts_src" }
    /// An Int64-nanoseconds parameter compared with ts_src as ts_src is stored (so the primary key serves).
    static func tsParam(_ d: Dialect, _ name: String) -> String { d == .current ? "fromUnixTimestamp64Nano({\(name):Int64})" : "{\(name):Int64}" }

    /// One page of one source in its time order (ts_src, then event_id), after `after`: a range of the primary key
    /// (dataset, host, ts_src, …) narrowed to the source, and to `upTo` when the page's last time is known.
    /// `horizon`: instead of the events, the time of the `limit`-th (no row: fewer are left).
    static func eventPage(_ s: ClickHouseSchema, dataset: String, host: String, source: UInt64, from: Int64?, to: Int64?,
                          after: (ts: Int64, id: Int64)?, conns: [Int64]?, kinds: [String], grep: String?, limit: Int,
                          upTo: Int64? = nil, horizon: Bool = false)
        -> (sql: String, params: [String: Param]) {
        let d = s.dialect
        var sql = "SELECT \(horizon ? tsColumn(d) : eventColumns(d)) FROM \(s.name(ClickHouseSchema.events))\n"
        sql += "WHERE dataset = {dataset:String} AND host = {host:String} AND source_id = {source:UInt64}"
        var p: [String: Param] = ["dataset": .string(dataset), "host": .string(host), "source": .uint64(source)]
        if let from { sql += " AND ts_src >= \(tsParam(d, "from"))"; p["from"] = .int64(from) }
        if let to { sql += " AND ts_src <= \(tsParam(d, "to"))"; p["to"] = .int64(to) }
        if let upTo { sql += " AND ts_src <= \(tsParam(d, "upto"))"; p["upto"] = .int64(upTo) }
        if let after {
            sql += " AND ts_src >= \(tsParam(d, "ats")) AND (ts_src > \(tsParam(d, "ats")) OR event_id > {aid:Int64})"
            p["ats"] = .int64(after.ts)
            p["aid"] = .int64(after.id)
        }
        if let conns {
            sql += " AND has({conns:Array(UInt64)}, conn_key)"
            p["conns"] = .uint64s(conns.map { UInt64(bitPattern: $0) })
        }
        if !kinds.isEmpty {
            sql += " AND has({kinds:Array(String)}, kind)"
            p["kinds"] = .strings(kinds)
        }
        if let grep {
            sql += " AND positionCaseInsensitiveUTF8(raw, {grep:String}) > 0"
            p["grep"] = .string(grep)
        }
        sql += horizon ? "\nORDER BY ts_src LIMIT 1 OFFSET \(max(1, limit) - 1)" : "\nORDER BY ts_src, event_id LIMIT \(max(1, limit))"
        return (sql, p)
    }

    /// Events of one dataset with their source_id first, then `eventColumns`.
    static func sourcedEvents(_ s: ClickHouseSchema, where clause: String) -> String {
        "SELECT source_id, \(eventColumns(s.dialect)) FROM \(s.name(ClickHouseSchema.events)) WHERE dataset = {dataset:String} AND \(clause)"
    }

    /// A connection's first and last source time (Int64 ns) and hosts, from `conns`; no row when it has no events.
    static func connPlace(_ s: ClickHouseSchema) -> String {
        """
        SELECT \(s.dialect == .current ? "toUnixTimestamp64Nano(minMerge(first_ts)), toUnixTimestamp64Nano(maxMerge(last_ts))" : "minMerge(first_ts), maxMerge(last_ts)"),
               groupUniqArrayMerge(hosts)
        FROM \(s.name(ClickHouseSchema.conns)) WHERE dataset = {dataset:String} AND conn_key = {key:UInt64} GROUP BY conn_key
        """
    }

    /// A connection's events, where `conns` places them: for each host a range of the primary key.
    static func connectionEvents(_ s: ClickHouseSchema, dataset: String, key: Int64, first: Int64, last: Int64, hosts: [String])
        -> (sql: String, params: [String: Param]) {
        var p: [String: Param] = ["dataset": .string(dataset), "key": .uint64(UInt64(bitPattern: key)), "first": .int64(first), "last": .int64(last)]
        var alternatives: [String] = []
        for (i, h) in hosts.sorted().enumerated() {
            alternatives.append("host = {h\(i):String}")
            p["h\(i)"] = .string(h)
        }
        let clause = "(\(alternatives.joined(separator: " OR "))) AND ts_src >= \(tsParam(s.dialect, "first")) AND ts_src <= \(tsParam(s.dialect, "last")) AND conn_key = {key:UInt64}"
        return (sourcedEvents(s, where: clause), p)
    }

    /// The sources (and their hosts) that hold events of a kind.
    static func sourcesOfKind(_ s: ClickHouseSchema) -> String {
        "SELECT DISTINCT source_id, toString(host) FROM \(s.name(ClickHouseSchema.sourceKinds)) WHERE dataset = {dataset:String} AND kind = {kind:String} ORDER BY source_id"
    }

    /// Those sources' events of that kind: a primary-key range (host) per source.
    static func eventsOfKind(_ s: ClickHouseSchema, dataset: String, kind: String, sources: [(UInt64, String)]) -> (sql: String, params: [String: Param]) {
        var p: [String: Param] = ["dataset": .string(dataset), "kind": .string(kind)]
        let ranges = sourceRanges(s, sources.map { (id: $0.0, host: $0.1, times: nil) }, into: &p)
        return (sourcedEvents(s, where: "\(ranges) AND kind = {kind:String}"), p)
    }

    /// A clause selecting each source's range of the primary key: its host, its id, and its times from `lo` to `hi`
    /// when given; the values go into `p`.
    static func sourceRanges(_ s: ClickHouseSchema, _ sources: [(id: UInt64, host: String, times: (lo: Int64, hi: Int64)?)],
                             into p: inout [String: Param]) -> String {
        var alternatives: [String] = []
        for (i, source) in sources.enumerated() {
            var clause = "host = {h\(i):String} AND source_id = {s\(i):UInt64}"
            p["h\(i)"] = .string(source.host)
            p["s\(i)"] = .uint64(source.id)
            if let t = source.times {
                clause += " AND ts_src >= \(tsParam(s.dialect, "lo\(i)")) AND ts_src <= \(tsParam(s.dialect, "hi\(i)"))"
                p["lo\(i)"] = .int64(t.lo)
                p["hi\(i)"] = .int64(t.hi)
            }
            alternatives.append("(\(clause))")
        }
        return "(\(alternatives.joined(separator: " OR ")))"
    }

    /// Each connection key's newest alias row.
    static func aliases(_ s: ClickHouseSchema) -> String {
        """
        SELECT conn_key, grp, side_flip, evidence FROM (
            SELECT conn_key, grp, side_flip, evidence FROM \(s.name(ClickHouseSchema.connAliases))
            WHERE dataset = {dataset:String} ORDER BY version DESC LIMIT 1 BY conn_key)
        WHERE grp != 0
        """
    }

    /// The newest row of each connection: by keys (`keys`), or by an endpoint's address (`address`, and `port`).
    static func connections(_ s: ClickHouseSchema, byKeys: Bool = false, address: Bool = false, port: Bool = false) -> String {
        var sql = "SELECT \(ConnectionRows.selected.joined(separator: ", ")) FROM \(s.name(ClickHouseSchema.connections)) WHERE dataset = {dataset:String}"
        if byKeys { sql += " AND has({keys:Array(UInt64)}, conn_key)" }
        if address {
            sql += port ? " AND ((a = {address:String} AND aport = {port:Int64}) OR (b = {address:String} AND bport = {port:Int64}))"
                        : " AND (a = {address:String} OR b = {address:String})"
        }
        return sql + " ORDER BY version DESC LIMIT 1 BY conn_key"
    }
}
