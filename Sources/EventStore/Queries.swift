import Foundation
import GRDB
import GRDBSQLite
import TraceModel

/// The read side of the store. Views and joiner passes go through these methods, never raw SQL of their
/// own, so a second backend can answer the same questions (ARCHITECTURE.md, "Beyond one machine").
extension Store {
    /// Every name sources gave for an address, by address text (`10.99.0.2` → `["server.tj.test"]`).
    public func hostNames() throws -> [String: [String]] {
        try db.read { db in
            var out: [String: [String]] = [:]
            // A store made before host names (schema v1) opened read-only has no such table yet.
            guard try db.tableExists("host_name") else { return out }
            for row in try Row.fetchAll(db, sql: """
                SELECT a.text, h.name FROM host_name h JOIN address a ON a.id = h.address
                GROUP BY a.text, h.name ORDER BY a.text, min(h.source), h.name
                """) {
                out[row[0], default: []].append(row[1])
            }
            return out
        }
    }

    public func sources() throws -> [SourceInfo] {
        // Columns by position, statement prepared once per connection: passes and findings ask for the sources
        // once per connection, and GRDB's lookup by name lowercases each name each time (1.5 % of a 10 M-event
        // store's first pass), its authorizer runs at each prepare.
        try db.read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT s.id, s.path, s.format, s.host, s.bytes, s.lines, s.events, s.unparsed, s.tz_offset_s, s.tz_given,
                       s.time_basis, s.time_digits, s.first_ts, s.last_ts, COALESCE(c.offset_ns, 0), c.method, s.notes,
                       s.first_row, s.last_row, s.ts_sorted, c.uncertainty_ns, c.reference, c.matched, c.peer,
                       COALESCE(c.drift_ppb, 0), s.host_given, COALESCE(c.origin_ns, 0)
                FROM source s LEFT JOIN clock c ON c.source = s.id ORDER BY s.id
                """)).map { r in
                var s = SourceInfo(id: r[0], path: r[1], format: r[2], host: r[3], bytes: r[4],
                           lines: r[5], events: r[6], unparsed: r[7], zoneOffset: r[8],
                           zoneGiven: (r[9] as Int) != 0, timeBasis: TimeBasis(rawValue: r[10]) ?? .absolute,
                           timeDigits: r[11], firstTS: r[12], lastTS: r[13],
                           offsetNS: r[14], clockMethod: r[15], notes: r[16],
                           firstRow: r[17], lastRow: r[18], tsSorted: (r[19] as Int) != 0)
                s.uncertaintyNS = r[20]
                s.clockReference = r[21]
                s.clockMatched = r[22]
                s.clockPeer = r[23]
                s.driftPPB = r[24]
                s.hostGiven = (r[25] as Int? ?? 0) != 0
                s.driftOrigin = r[26]
                return s
            }
        }
    }

    static let eventColumns = """
        e.rowid AS id, e.source, e.ordinal, e.line, e.ts, e.kind, e.proto, sa.text AS src, e.sport, da.text AS dst, e.dport,
        COALESCE(e.conn, eb.conn), e.flags, e.seq, e.ack, e.len, e.win, e.ipid, e.tsval, e.tsecr, e.mss, e.expert, e.frame_len, e.label,
        e.raw_at, e.raw_len, e.summary_at, e.attrs, e.seq_raw, e.ack_raw
        """
    static let eventJoins = "LEFT JOIN address sa ON sa.id = e.src LEFT JOIN address da ON da.id = e.dst LEFT JOIN event_binding eb ON eb.event = e.rowid"

    /// The whole message of a record its parser joined from several lines (`summary` in its attrs), if it has one.
    /// (The check is a byte search first: String.contains went through Foundation and UTF-16 for every event with
    /// attrs, a tenth of the findings' time on a store with an 8 M-line ETL export.)
    static func joinedSummary(_ attrs: String?) -> String? {
        guard let a = attrs, Attr.string(a, "summary") != nil, let data = a.data(using: .utf8),
              let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return o["summary"] as? String
    }

    /// Rows of `eventColumns` stepped on the C API: a timeline of millions of events spends its time
    /// here, and GRDB's `Row` costs several times what the columns do.
    static func events(_ st: Statement, clocks: [Int64: SourceClock], db: Database, text: TextReader?) throws -> [StoredEvent] {
        var out: [StoredEvent] = []
        try CRow.step(st, db) { c in
            let source = c.int64(1)
            // summary_at counts bytes of the text as stored, CRs included; both are shown without them.
            let bytes = try text?.bytes(db, source: source, at: c.int64(24), len: Int(c.int64(25))) ?? []
            let start = min(Int(c.int64(26)), bytes.count)
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            // (Most texts hold no CR: decode those without the filter's copy.)
            let noCR = { (b: ArraySlice<UInt8>) in
                b.contains(0x0D) ? String(decoding: b.filter { $0 != 0x0D }, as: UTF8.self) : String(decoding: b, as: UTF8.self)
            }
            let raw = noCR(bytes[...])
            var summary = noCR(bytes[start..<end])
            // A record its parser joined from several lines (a log wrapped at 80 columns) names its whole
            // message: that reads better than the first line's piece.
            if let joined = joinedSummary(c.str(27)) { summary = joined }
            let ts = c.int64(4)
            out.append(StoredEvent(
                id: c.int64(0), source: source, ordinal: c.int64(2), line: Int(c.int64(3)),
                ts: clocks[source]?.aligned(ts) ?? ts, tsSource: ts, kind: EventKind(rawValue: Int(c.int64(5))) ?? .log,
                proto: c.int(6).map(Int.init), src: c.str(7), sport: c.int(8).map(Int.init), dst: c.str(9), dport: c.int(10).map(Int.init),
                conn: c.int(11), flags: c.int(12).map(Int.init), seq: c.int(13), ack: c.int(14), len: c.int(15), win: c.int(16), ipid: c.int(17),
                tsval: c.int(18), tsecr: c.int(19), mss: c.int(20), expert: Int(c.int64(21)), frameLen: c.int(22),
                label: c.str(23), summary: summary, raw: raw, attrs: c.str(27), seqRaw: c.int(28), ackRaw: c.int(29)))
        }
        return out
    }

    /// One page of a source's events in its own time order, after `(ts, id)`, filtered.
    /// The source's clock offset turns filters on aligned time into ranges on the source's time.
    /// `--grep` is applied to the text after reading (the text lives outside the event rows), so a page
    /// says where it stopped (`last`) and whether the source has more (`exhausted`).
    public func eventPage(source: SourceInfo, filter: EventFilter, after: (ts: Int64, id: Int64)?, limit: Int) throws
        -> (events: [StoredEvent], last: (ts: Int64, id: Int64)?, exhausted: Bool) {
        var out: [StoredEvent] = []
        var cursor = after
        let needle = filter.grep?.lowercased()
        while true {
            let rows = try rawPage(source: source, filter: filter, after: cursor, limit: limit)
            if let last = rows.last { cursor = (last.tsSource, last.id) }
            if let needle {
                out += rows.filter { $0.raw.lowercased().contains(needle) }
            } else if out.isEmpty {
                out = rows // the usual case: one read; appending would copy (retain) every event's strings
            } else {
                out += rows
            }
            if rows.count < limit { return (out, cursor, true) }
            if out.count >= limit { return (out, cursor, false) }
        }
    }

    /// The first row of a time-sorted source whose time is ≥ `ts` (binary search over rowids; their
    /// order is time order), or `hi + 1` when none.
    private func lowerBound(_ db: Database, _ lo: Int64, _ hi: Int64, ts: Int64) throws -> Int64 {
        var lo = lo, hi = hi + 1
        let probe = try db.cachedStatement(sql: "SELECT ts FROM event WHERE rowid = ?")
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            let t = try Int64.fetchOne(probe, arguments: [mid]) ?? Int64.max
            if t < ts { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func rawPage(source: SourceInfo, filter: EventFilter, after: (ts: Int64, id: Int64)?, limit: Int) throws -> [StoredEvent] {
        try db.read { db in
            guard let st = try pageStatement(db, source: source, filter: filter, after: after, limit: limit,
                                             columns: Store.eventColumns, joins: Store.eventJoins) else { return [] }
            return try Store.events(st, clocks: [source.id: source.clock], db: db, text: TextReader())
        }
    }

    /// The statement that reads one page of a source's events in its own time order, after `(ts, id)`, filtered;
    /// nil when the page is empty whatever the rows. `columns` and `joins` name what it reads (`e` is the event).
    func pageStatement(_ db: Database, source: SourceInfo, filter: EventFilter, after: (ts: Int64, id: Int64)?, limit: Int,
                       columns: String, joins: String) throws -> Statement? {
        let clock = source.clock
        var sql = "SELECT \(columns) FROM event e \(joins) WHERE "
        var args: [any DatabaseValueConvertible] = []
        var extra = ""
        if let conns = filter.conns {
            if conns.isEmpty { return nil }
            // Bound events too (ETL lines that name the connection through a pointer): the timeline shows them under it.
            extra += " AND COALESCE(e.conn, eb.conn) IN (\(conns.map { _ in "?" }.joined(separator: ",")))"
        }
        if !filter.kinds.isEmpty {
            extra += " AND e.kind IN (\(filter.kinds.map { String($0.rawValue) }.joined(separator: ",")))"
        }
        let connArgs = (filter.conns ?? []).map { $0 as any DatabaseValueConvertible }
        if source.tsSorted, let first = source.firstRow, let last = source.lastRow {
            // Rowid order is time order: a time range is a rowid range.
            var lo = first, hi = last
            if let from = filter.from { lo = try lowerBound(db, first, last, ts: clock.sourceTime(from)) }
            if let to = filter.to, to < Int64.max { hi = try lowerBound(db, first, last, ts: clock.sourceTime(to) + 1) - 1 }
            if let after { lo = max(lo, after.id + 1) }
            if lo > hi { return nil }
            sql += "e.rowid BETWEEN ? AND ?" + extra + " ORDER BY e.rowid LIMIT ?"
            args = [lo, hi] + connArgs + [limit]
        } else {
            // Not in time order: the source's own partial time index (its id is a literal to match it).
            sql += "e.source = \(source.id)"
            if let from = filter.from { sql += " AND e.ts >= ?"; args.append(clock.sourceTime(from)) }
            if let to = filter.to { sql += " AND e.ts <= ?"; args.append(clock.sourceTime(to)) }
            if let after {
                sql += " AND (e.ts > ? OR (e.ts = ? AND e.rowid > ?))"
                args += [after.ts, after.ts, after.id]
            }
            sql += extra + " ORDER BY e.ts, e.rowid LIMIT ?"
            args += connArgs + [limit]
        }
        let st = try db.cachedStatement(sql: sql)
        try st.setArguments(StatementArguments(args))
        return st
    }

    /// One connection; give `hosts` (source id → host) when calling in a loop.
    public func connection(key: Int64, hosts: [Int64: String]? = nil) throws -> ConnectionRow? {
        try connections(where: "c.key = ?", [key], hosts: hosts).first
    }

    /// Connections one of whose endpoints is this address (and port, if given).
    public func connections(address: String, port: Int?) throws -> [ConnectionRow] {
        if let port {
            return try connections(where: "(a.text = ? AND c.aport = ?) OR (b.text = ? AND c.bport = ?)", [address, port, address, port])
        }
        return try connections(where: "a.text = ? OR b.text = ?", [address, address])
    }

    public func allConnections() throws -> [ConnectionRow] { try connections(where: "1", []) }

    func connections(where clause: String, _ args: [any DatabaseValueConvertible], hosts: [Int64: String]? = nil) throws -> [ConnectionRow] {
        let hosts = try hosts ?? Dictionary(uniqueKeysWithValues: sources().map { ($0.id, $0.host) })
        return try connectionRecords(where: clause, args).map { $0.row(hosts: hosts) }
    }

    /// Connection rows as stored, endpoints as text (what `connections` reads and the push copies).
    public func connectionRecords() throws -> [ConnectionRecord] { try connectionRecords(where: "1", []) }

    func connectionRecords(where clause: String, _ args: [any DatabaseValueConvertible]) throws -> [ConnectionRecord] {
        try db.read { db in
            // Columns by position (the order of the SELECT): name lookups cost more than the rest.
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT c.key, c.proto, a.text, c.aport, b.text, c.bport, c.community_id,
                       c.orig_side, c.vantage, c.seen_by, c.first_ts, c.last_ts, c.orig_guessed, c.syn_ts, c.syn_retransmissions,
                       c.syn_synack_ns, c.synack_ack_ns, c.handshake_completed, c.end_kind, c.end_side, c.end_ts, c.conn_state, c.history,
                       c.orig_packets, c.orig_bytes, c.orig_retransmissions, c.resp_packets, c.resp_bytes, c.resp_retransmissions
                FROM connection c JOIN address a ON a.id = c.a JOIN address b ON b.id = c.b WHERE \(clause)
                """), arguments: StatementArguments(args)).map { r in
                var c = ConnectionRecord(key: r[0], proto: r[1], a: r[2], aport: r[3], b: r[4], bport: r[5], communityID: r[6])
                c.origSide = r[7]; c.vantage = r[8]; c.seenBy = r[9]; c.firstTS = r[10]; c.lastTS = r[11]; c.origGuessed = r[12]
                c.synTS = r[13]; c.synRetransmissions = r[14]; c.synSynAckNS = r[15]; c.synAckAckNS = r[16]; c.handshakeCompleted = r[17]
                c.endKind = r[18]; c.endSide = r[19]; c.endTS = r[20]; c.connState = r[21]; c.history = r[22]
                c.origPackets = r[23]; c.origBytes = r[24]; c.origRetransmissions = r[25]
                c.respPackets = r[26]; c.respBytes = r[27]; c.respRetransmissions = r[28]
                return c
            }
        }
    }

    /// Every event of one connection from every source, on the aligned clock, in time order.
    public func events(conn: Int64) throws -> [StoredEvent] {
        let clocks = Dictionary(uniqueKeysWithValues: try sources().map { ($0.id, $0.clock) })
        return try db.read { db in
            // The connection's own events, and those bound to it by what they name (`event_binding`).
            let st = try db.cachedStatement(sql: """
                SELECT \(Store.eventColumns) FROM event e \(Store.eventJoins) WHERE e.conn = ?
                UNION ALL
                SELECT \(Store.eventColumns) FROM event_binding bb JOIN event e ON e.rowid = bb.event \(Store.eventJoins) WHERE bb.conn = ? AND e.conn IS NULL
                """)
            try st.setArguments([conn, conn])
            return try Store.events(st, clocks: clocks, db: db, text: TextReader())
        }
            .sorted { ($0.ts, $0.source, $0.id) < ($1.ts, $1.source, $1.id) }
    }

    /// Streams every connection's packets ordered by connection, source and time, for the lifecycle
    /// pass: integers only, one row in memory at a time.
    public func forEachConnectionPacket(_ body: (ConnectionRow, PacketFacts) throws -> Void) throws {
        let clocks = Dictionary(uniqueKeysWithValues: try sources().map { ($0.id, $0.clock) })
        // The connections once, then the packets as integers (no text per row).
        let conns = Dictionary(uniqueKeysWithValues: try connections(where: "1", [], hosts: [:]).map { ($0.key, $0) })
        try db.read { db in
            // A million rows: stepped on GRDB's statement handle with the C API, as the writer binds.
            let st = try db.makeStatement(sql: """
                SELECT e.conn, e.source, e.ts, e.src = c.a AND e.sport = c.aport, e.flags, e.seq, e.ack, e.len, e.expert, e.seq_raw
                FROM event e JOIN connection c ON c.key = e.conn
                WHERE e.conn IS NOT NULL AND e.kind = \(EventKind.packet.rawValue)
                ORDER BY e.conn, e.source, e.ts, e.rowid
                """)
            var conn: ConnectionRow? = nil
            try CRow.step(st, db) { c in
                let key = c.int64(0)
                if conn?.key != key {
                    guard let found = conns[key] else { return }
                    conn = found
                }
                let source = c.int64(1)
                let p = PacketFacts(source: source, ts: clocks[source]?.aligned(c.int64(2)) ?? c.int64(2), side: c.int64(3) != 0 ? 0 : 1,
                                    flags: Int(c.int(4) ?? -1), seq: c.int(5), ack: c.int(6), len: c.int(7), expert: Int(c.int64(8)), seqRaw: c.int(9))
                try body(conn!, p)
            }
        }
    }

    public func saveLifecycles(_ items: [(Int64, Lifecycle)], views: [CaptureView] = []) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM connection_view")
            let v = try db.makeStatement(sql: "INSERT OR REPLACE INTO connection_view(key, source, packets, first_ts, last_ts, conn_state, history) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for x in views { try v.execute(arguments: [x.key, x.source, x.packets, x.first, x.last, x.connState, x.history]) }
            let st = try db.makeStatement(sql: """
                UPDATE connection SET vantage = ?, orig_side = ?, orig_guessed = ?, first_ts = ?, last_ts = ?, syn_ts = ?,
                  syn_retransmissions = ?, syn_synack_ns = ?, synack_ack_ns = ?, handshake_completed = ?,
                  orig_packets = ?, orig_bytes = ?, orig_retransmissions = ?, resp_packets = ?, resp_bytes = ?, resp_retransmissions = ?,
                  end_kind = ?, end_side = ?, end_ts = ?, conn_state = ?, history = ?, seen_by = ?
                WHERE key = ?
                """)
            for (k, l) in items {
                let endSide: Int? = l.endBy.map { $0 == l.originator ? l.originatorSide : 1 - l.originatorSide }
                let seen = l.seenBySource.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
                let values: [(any DatabaseValueConvertible)?] = [
                    l.vantageSource, l.originatorSide, l.originatorGuessed ? 1 : 0, l.first, l.last, l.synAt,
                    l.synRetransmissions, l.synToSynAckNS, l.synAckToAckNS, l.handshakeCompleted ? 1 : 0,
                    l.orig.packets, l.orig.bytes, l.orig.retransmissions, l.resp.packets, l.resp.bytes, l.resp.retransmissions,
                    l.end, endSide, l.endAt, l.connState, l.history, seen, k,
                ]
                try st.execute(arguments: StatementArguments(values))
            }
        }
    }

    /// Each connection a reused tuple carried, in order (only for tuples that carried more than one).
    public func saveInstances(_ items: [(key: Int64, lifecycles: [Lifecycle])]) throws {
        let encoder = JSONEncoder()
        try db.write { db in
            try db.execute(sql: "DELETE FROM connection_instance")
            let st = try db.makeStatement(sql: "INSERT INTO connection_instance(key, n, lifecycle) VALUES (?, ?, ?)")
            for (key, lives) in items {
                for (n, l) in lives.enumerated() { try st.execute(arguments: [key, n + 1, String(decoding: try encoder.encode(l), as: UTF8.self)]) }
            }
        }
    }

    /// The connections a tuple carried one after the other (empty: just one).
    public func instances(key: Int64) throws -> [Lifecycle] {
        let decoder = JSONDecoder()
        return try db.read { db in
            guard try db.tableExists("connection_instance") else { return [] }
            return try String.fetchAll(db, sql: "SELECT lifecycle FROM connection_instance WHERE key = ? ORDER BY n", arguments: [key])
                .map { try decoder.decode(Lifecycle.self, from: Data($0.utf8)) }
        }
    }

    public func unparsed(source: Int64, limit: Int) throws -> [(line: Int, reason: String, raw: String)] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT line, reason, raw FROM unparsed WHERE source = ? ORDER BY line LIMIT ?", arguments: [source, limit])
                .map { ($0["line"], $0["reason"], $0["raw"]) }
        }
    }

    /// Places a source without a calendar date: a relative one starts at `at` (UTC ns), a time-of-day
    /// one lies on the day of `at`. Returns false (and changes nothing) for sources with dates.
    public func anchor(source: Int64, at: Int64) throws -> Bool {
        guard let s = try sources().first(where: { $0.id == source }) else { return false }
        switch s.timeBasis {
        case .absolute: return false
        case .relative: try setClock(source: source, offset: at, method: "anchor")
        case .timeOfDay:
            var day = at / CivilTime.nsPerDay
            if at < 0 && at % CivilTime.nsPerDay != 0 { day -= 1 }
            try setClock(source: source, offset: day * CivilTime.nsPerDay, method: "anchor")
        }
        return true
    }

    /// Sets a source's clock anchor: its times are shifted by `offset` when read.
    public func setClock(source: Int64, offset: Int64, method: String) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO clock(source, offset_ns, method) VALUES (?, ?, ?) ON CONFLICT(source) DO UPDATE SET offset_ns = excluded.offset_ns, method = excluded.method, uncertainty_ns = NULL, reference = NULL, matched = NULL, peer = NULL, drift_ppb = 0, origin_ns = 0",
                           arguments: [source, offset, method])
        }
        try setStale("lifecycle", true)
    }

    /// Replaces the clocks solved from packets: sources the last solution aligned but this one does not
    /// lose theirs; clocks the user set (anchors, overrides) are never touched.
    public func saveSolvedClocks(_ clocks: [SolvedClock]) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM clock WHERE method IN (?, ?, ?)", arguments: [SolvedClock.method, SolvedClock.oneWayMethod, SolvedClock.eventMethod])
            let st = try db.makeStatement(sql: """
                INSERT INTO clock(source, offset_ns, uncertainty_ns, method, reference, matched, peer, drift_ppb, origin_ns)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(source) DO UPDATE SET offset_ns = excluded.offset_ns, uncertainty_ns = excluded.uncertainty_ns,
                  method = excluded.method, reference = excluded.reference, matched = excluded.matched, peer = excluded.peer,
                  drift_ppb = excluded.drift_ppb, origin_ns = excluded.origin_ns
                """)
            for c in clocks {
                try st.execute(arguments: [c.source, c.offsetNS, c.uncertaintyNS, c.methodName, c.reference, c.matched, c.peer,
                                           c.driftPPB, c.origin])
            }
        }
        try setStale("lifecycle", true)
    }

    static func matchPacket(_ c: CRow) -> MatchPacket {
        MatchPacket(conn: c.int64(0), source: c.int64(1), ts: c.int64(2), side: c.int64(3) != 0 ? 0 : 1,
                    flags: Int(c.int64(4)), seq: c.int(5), ack: c.int(6), seqRaw: c.int(7), ackRaw: c.int(8),
                    len: c.int(9) ?? 0, id: c.int64(10), ordinal: c.int64(11), ipID: c.int(12), tsval: c.int(13), srcAddress: c.int(14))
    }

    /// Streams every TCP packet that has a connection, ordered by connection, source and time (the
    /// source's own clock): what the clock pass matches across sources. Integers only.
    public func forEachMatchablePacket(_ body: (MatchPacket) throws -> Void) throws {
        try ensureConnectionIndex()
        try db.read { db in
            let st = try db.makeStatement(sql: """
                SELECT e.conn, e.source, e.ts, e.src = c.a AND e.sport = c.aport, e.flags, e.seq, e.ack, e.seq_raw, e.ack_raw,
                       e.len, e.rowid, e.ordinal, e.ipid, e.tsval, e.src
                FROM event e JOIN connection c ON c.key = e.conn
                WHERE e.conn IS NOT NULL AND e.kind = \(EventKind.packet.rawValue) AND e.proto = 6 AND e.flags IS NOT NULL
                ORDER BY e.conn, e.source, e.ts, e.rowid
                """)
            try CRow.step(st, db) { c in try body(Store.matchPacket(c)) }
        }
    }

    /// Each source's view of a connection, by source id.
    public func captureViews(key: Int64) throws -> [CaptureView] {
        try db.read { db in
            guard try db.tableExists("connection_view") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT key, source, packets, first_ts, last_ts, conn_state, history FROM connection_view WHERE key = ? ORDER BY source",
                                    arguments: [key]).map { CaptureView(key: $0[0], source: $0[1], packets: $0[2], first: $0[3], last: $0[4], connState: $0[5], history: $0[6]) }
        }
    }

    /// Every socket-table row (netstat, ss), on the aligned clock. (SQLite's JSON functions read the attrs:
    /// a million rows in about a second, where scanning the strings in Swift took ten.)
    public func socketRows() throws -> [SocketRowFacts] {
        let clocks = Dictionary(uniqueKeysWithValues: try sources().map { ($0.id, $0.clock) })
        var out: [SocketRowFacts] = []
        try db.read { db in
            let st = try db.makeStatement(sql: """
                SELECT e.source, sa.text, e.sport, da.text, e.dport, e.ts, json_extract(e.attrs, '$.state'), json_extract(e.attrs, '$.pid'),
                       json_extract(e.attrs, '$.process'), json_extract(e.attrs, '$.snapshot') FROM event e
                LEFT JOIN address sa ON sa.id = e.src LEFT JOIN address da ON da.id = e.dst
                WHERE e.kind = \(EventKind.socketSnapshot.rawValue) ORDER BY e.source, e.rowid
                """)
            var clock = SourceClock(), clockSource: Int64 = -1
            try CRow.step(st, db) { c in
                let source = c.int64(0), ts = c.int64(5)
                if source != clockSource { clock = clocks[source] ?? SourceClock(); clockSource = source }
                out.append(SocketRowFacts(source: source, local: c.str(1), port: Int(c.int(2) ?? -1), remote: c.str(3), remotePort: Int(c.int(4) ?? -1),
                                          state: c.str(6), pid: c.int(7), process: c.str(8), snapshot: Int(c.int(9) ?? 1), ts: clock.aligned(ts)))
            }
        }
        return out
    }

    /// Processes each host listed (tasklist): host → pid → image.
    public func processNames() throws -> [String: [Int64: String]] {
        try db.read { db in
            guard try db.tableExists("process") else { return [:] }
            var out: [String: [Int64: String]] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT s.host, p.pid, p.image FROM process p JOIN source s ON s.id = p.source ORDER BY p.source") {
                out[r[0], default: [:]][r[1]] = r[2]
            }
            return out
        }
    }

    /// Every SYN without ACK, by source and connection: what tells the same connection under two tuples.
    public func forEachSYN(_ body: (SYNFacts) throws -> Void) throws {
        try ensureConnectionIndex()
        try db.read { db in
            let st = try db.makeStatement(sql: """
                SELECT e.source, e.conn, e.src = c.a AND e.sport = c.aport, e.seq_raw, e.tsval, e.win, e.ts
                FROM event e JOIN connection c ON c.key = e.conn
                WHERE e.conn IS NOT NULL AND e.kind = \(EventKind.packet.rawValue) AND e.proto = 6 AND (e.flags & 18) = 2
                ORDER BY e.source, e.conn, e.ts
                """)
            try CRow.step(st, db) { c in
                try body(SYNFacts(source: c.int64(0), conn: c.int64(1), side: c.int64(2) != 0 ? 0 : 1, isn: c.int(3), tsval: c.int(4), win: c.int(5)))
            }
        }
    }

    /// Replaces the connection aliases.
    public func saveAliases(_ rows: [ConnectionAlias]) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM connection_alias")
            let st = try db.makeStatement(sql: "INSERT OR REPLACE INTO connection_alias(key, grp, side_flip, evidence) VALUES (?, ?, ?, ?)")
            for r in rows { try st.execute(arguments: [r.key, r.group, r.sideFlip ? 1 : 0, r.evidence]) }
        }
    }

    /// A `connection_alias` row read as `key, grp, side_flip, evidence`.
    static func alias(_ r: Row) -> ConnectionAlias {
        ConnectionAlias(key: r[0], group: r[1], sideFlip: (r[2] as Int) != 0, evidence: r[3])
    }

    /// The keys of every tuple the connection was also seen as (itself included, first), with evidence.
    public func aliases(of key: Int64) throws -> [ConnectionAlias] {
        try db.read { db in
            guard try db.tableExists("connection_alias") else { return [] }
            return try Row.fetchAll(db, sql: """
                SELECT a.key, a.grp, a.side_flip, a.evidence FROM connection_alias a
                WHERE a.grp = (SELECT grp FROM connection_alias WHERE key = ?) ORDER BY a.key = ? DESC, a.key
                """, arguments: [key, key]).map(Store.alias)
        }
    }

    /// Packets of one connection key, by source and time (for joining aliased tuples).
    public func matchablePackets(conn: Int64) throws -> [MatchPacket] {
        var out: [MatchPacket] = []
        try db.read { db in
            let st = try db.cachedStatement(sql: """
                SELECT e.conn, e.source, e.ts, e.src = c.a AND e.sport = c.aport, e.flags, e.seq, e.ack, e.seq_raw, e.ack_raw,
                       e.len, e.rowid, e.ordinal, e.ipid, e.tsval, e.src
                FROM event e JOIN connection c ON c.key = e.conn
                WHERE e.conn = ? AND e.kind = \(EventKind.packet.rawValue) AND e.proto = 6 AND e.flags IS NOT NULL
                ORDER BY e.source, e.ts, e.rowid
                """)
            try st.setArguments([conn])
            try CRow.step(st, db) { c in out.append(Store.matchPacket(c)) }
        }
        return out
    }

    /// Each source's own addresses: those its host's stack events name as the local end of a connection
    /// (ETL exports: `local=192.168.1.1:50357`). A packet from one of them passed that capture point first.
    public func ownAddresses() throws -> [Int64: Set<Int64>] {
        try db.read { db in
            var out: [Int64: Set<Int64>] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT DISTINCT source, src FROM event WHERE kind = \(EventKind.log.rawValue) AND src IS NOT NULL AND proto IS NOT NULL") {
                out[r[0], default: []].insert(r[1])
            }
            return out
        }
    }

    /// Connections with TCP packet rows that show no TCP numbers (text exports' HTTP, TDS… lines).
    public func connectionsWithUnnumberedPackets() throws -> Set<Int64> {
        try db.read { db in
            Set(try Int64.fetchAll(db, sql: """
                SELECT DISTINCT conn FROM event
                WHERE conn IS NOT NULL AND kind = \(EventKind.packet.rawValue) AND proto = 6 AND flags IS NULL
                """))
        }
    }

    /// Stack events (kind log) that name an object, in each source's order: what the binding pass reads.
    public func forEachStackEvent(_ body: (StackEvent) throws -> Void) throws {
        try db.read { db in
            let st = try db.makeStatement(sql: """
                SELECT e.rowid, e.source, e.ordinal, e.conn, sa.text, e.sport, e.attrs FROM event e LEFT JOIN address sa ON sa.id = e.src
                WHERE e.kind = \(EventKind.log.rawValue) AND e.attrs IS NOT NULL ORDER BY e.source, e.rowid
                """)
            var texts = StackEvent.Texts()
            try CRow.step(st, db) { c in
                try body(StackEvent(id: c.int64(0), source: c.int64(1), ordinal: c.int64(2), conn: c.int(3), local: c.str(4).flatMap { a in c.int(5).map { Endpoint(address: Address(ip: a) ?? .name(a), port: Int32($0)).text } },
                                    attrs: c.str(6) ?? "", texts: &texts))
            }
        }
    }

    /// Replaces the event bindings.
    public func saveBindings(_ rows: [(event: Int64, conn: Int64, via: String)]) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM event_binding")
            // Raw binds: an 8 M-line ETL export binds millions of events, and GRDB's arguments cost several
            // times the row (EventWriter).
            let st = try db.makeStatement(sql: "INSERT OR REPLACE INTO event_binding(event, conn, via) VALUES (?, ?, ?)")
            let h = st.sqliteStatement
            try withExtendedLifetime(st) {
                for r in rows {
                    sqlite3_bind_int64(h, 1, r.event)
                    sqlite3_bind_int64(h, 2, r.conn)
                    sqlite3_bind_text(h, 3, r.via, -1, CRow.transient)
                    try CRow.execute(h, db)
                }
            }
        }
    }

    /// Replaces every packet's twin verdicts (`TwinVerdict`).
    public func saveTwins(_ rows: [TwinVerdict]) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM packet_twin")
            let st = try db.makeStatement(sql: "INSERT OR REPLACE INTO packet_twin(event, peer, twin, verdict) VALUES (?, ?, ?, ?)")
            for r in rows { try st.execute(arguments: [r.event, r.peer, r.twin, r.verdict.rawValue]) }
        }
    }

    /// The twin verdicts of the given events, by event.
    public func twins(events ids: [Int64]) throws -> [Int64: [TwinVerdict]] {
        guard !ids.isEmpty else { return [:] }
        return try db.read { db in
            guard try db.tableExists("packet_twin") else { return [:] }
            var out: [Int64: [TwinVerdict]] = [:]
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                let rows = try Row.fetchAll(db, sql: "SELECT event, peer, twin, verdict FROM packet_twin WHERE event IN (\(chunk.map(String.init).joined(separator: ","))) ORDER BY event, peer")
                for r in rows {
                    guard let v = TwinVerdict.Verdict(rawValue: r["verdict"]) else { continue }
                    out[r["event"], default: []].append(TwinVerdict(event: r["event"], peer: r["peer"], twin: r["twin"], verdict: v))
                }
            }
            return out
        }
    }

    /// Runs one read-only SQL statement (`tracejoin sql`).
    public func query(_ sql: String) throws -> (columns: [String], rows: [[DatabaseValue]]) {
        try db.read { db in
            let st = try db.makeStatement(sql: sql)
            guard st.isReadonly else { throw StoreError.readOnlySQL("only read-only statements are allowed") }
            let cols = st.columnNames
            let rows = try Row.fetchAll(st).map { r in (0..<cols.count).map { r[$0] as DatabaseValue } }
            return (cols, rows)
        }
    }
}

// MARK: - Random access for the view: positions in the merged timeline, events by id, what is new.

extension Store {
    /// How many of a source's events its own clock puts before `sourceTime`. A time-sorted source
    /// answers by binary search over its rowids (log n row lookups, whatever its size); any other by
    /// binary search over its times sorted in memory (`UnsortedTimes`).
    public func countBefore(source: SourceInfo, sourceTime: Int64) throws -> Int {
        try db.read { db in
            if source.tsSorted, let first = source.firstRow, let last = source.lastRow {
                return Int(try lowerBound(db, first, last, ts: sourceTime) - first)
            }
            return try unsortedTimes.countBefore(db, source: source.id, events: source.events, sourceTime)
        }
    }

    /// Events by rowid, in the order given; ids not in the store are left out.
    public func events(ids: [Int64]) throws -> [StoredEvent] {
        if ids.isEmpty { return [] }
        let clocks = Dictionary(uniqueKeysWithValues: try sources().map { ($0.id, $0.clock) })
        var byID: [Int64: StoredEvent] = [:]
        try db.read { db in
            // In chunks: SQLite binds at most 32766 parameters.
            for chunk in stride(from: 0, to: ids.count, by: 1000).map({ ids[$0..<min($0 + 1000, ids.count)] }) {
                let st = try db.makeStatement(sql: "SELECT \(Store.eventColumns) FROM event e \(Store.eventJoins) WHERE e.rowid IN (\(chunk.map { _ in "?" }.joined(separator: ",")))")
                try st.setArguments(StatementArguments(Array(chunk)))
                for e in try Store.events(st, clocks: clocks, db: db, text: TextReader()) { byID[e.id] = e }
            }
        }
        return ids.compactMap { byID[$0] }
    }

    /// Events stored after rowid `id` (what an ingest added since), oldest first.
    public func events(afterID id: Int64, limit: Int) throws -> [StoredEvent] {
        let clocks = Dictionary(uniqueKeysWithValues: try sources().map { ($0.id, $0.clock) })
        return try db.read { db in
            let st = try db.cachedStatement(sql: "SELECT \(Store.eventColumns) FROM event e \(Store.eventJoins) WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?")
            try st.setArguments([id, limit])
            return try Store.events(st, clocks: clocks, db: db, text: TextReader())
        }
    }

    /// The newest event's rowid (0 for an empty store).
    public func lastEventID() throws -> Int64 {
        try db.read { try Int64.fetchOne($0, sql: "SELECT max(rowid) FROM event") ?? 0 }
    }

    /// What a cache of derived answers (aligned order, findings) depends on: the newest event and the
    /// passes' stale marks, which change when events arrive and again when a pass has recomputed its table.
    public func changeMark() throws -> String {
        try db.read { db in
            let last = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM event") ?? 0
            let passes = try String.fetchOne(db, sql: "SELECT group_concat(name || '=' || stale, ',') FROM (SELECT name, stale FROM pass_state ORDER BY name)") ?? ""
            return "\(last);\(passes)"
        }
    }

    /// A connection by its Community ID.
    public func connection(communityID: String) throws -> ConnectionRow? {
        try connections(where: "c.community_id = ?", [communityID]).first
    }
}
