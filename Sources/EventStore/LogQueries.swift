import GRDB
import TraceModel

/// What the findings and binding passes ask of the logs' events (SIP, SiteMinder, Tivoli TFST, stack traces),
/// named here so that no SQL dialect leaks out of the store (ARCHITECTURE.md, "Beyond one machine": a second
/// backend answers the same questions). Times are on each source's own clock; attribute values are read out of
/// the attrs JSON, a number given as its decimal text.
extension Store {
    /// A log event and the attributes asked for, in the order asked.
    public struct AttrEvent: Sendable {
        public var id: Int64
        public var source: Int64
        public var line: Int
        public var ts: Int64
        public var values: [String?]
    }

    /// SiteMinder events of one kind (`"event":"handshake_failed"`), by source and time; values: pid/tid, then `fields`.
    public func siteMinderEvents(_ event: String, fields: [String]) throws -> [AttrEvent] {
        let extra = fields.map { ", json_extract(e.attrs, '$.\($0)')" }.joined()
        return try attrEvents("""
            SELECT e.rowid, e.source, e.line, e.ts, json_extract(e.attrs, '$.pid') || '/' || json_extract(e.attrs, '$.tid')\(extra)
            FROM event e WHERE e.label = 'SiteMinder' AND json_extract(e.attrs, '$.event') = ? ORDER BY e.source, e.ts, e.line
            """, [event], values: 1 + fields.count)
    }

    /// Tivoli TFST events, in file order; values: handshake, step, label, failed, summary, target, gw, code.
    public func proxyHandshakeEvents() throws -> [AttrEvent] {
        try attrEvents("""
            SELECT e.rowid, e.source, e.line, e.ts, json_extract(e.attrs, '$.handshake'), json_extract(e.attrs, '$.step'),
                   json_extract(e.attrs, '$.label'), json_extract(e.attrs, '$.failed'), json_extract(e.attrs, '$.summary'),
                   json_extract(e.attrs, '$.target'), json_extract(e.attrs, '$.gw'), json_extract(e.attrs, '$.code')
            FROM event e WHERE e.label = 'TFST' ORDER BY e.source, e.rowid
            """, [], values: 8)
    }

    /// SIP connection records that failed (`Failed…` text, or a 0x8007… result); values: text, peer, result code.
    public func sipTransportFailures() throws -> [AttrEvent] {
        try attrEvents("""
            SELECT e.rowid, e.source, e.line, e.ts, json_extract(e.attrs, '$.text'), json_extract(e.attrs, '$.peer'), json_extract(e.attrs, '$.result_code')
            FROM event e WHERE e.label = 'SIP' AND json_extract(e.attrs, '$.record_type') = 'connection'
              AND (json_extract(e.attrs, '$.text') LIKE 'Failed%' OR json_extract(e.attrs, '$.result_code') LIKE '%0x8007%')
            """, [], values: 3)
    }

    /// Every media line (SDP `m=`/`c=`) of every SIP message; values: Call-ID, media, address, port.
    public func sdpMedia() throws -> [AttrEvent] {
        try attrEvents("""
            SELECT e.rowid, e.source, e.line, e.ts, json_extract(e.attrs, '$.call_id'), json_extract(m.value, '$.media'),
                   json_extract(m.value, '$.address'), json_extract(m.value, '$.port')
            FROM event e, json_each(json_extract(e.attrs, '$.sdp_media')) m
            WHERE e.label = 'SIP' AND json_extract(e.attrs, '$.sdp_media') IS NOT NULL
            """, [], values: 4)
    }

    /// SIP records that carry the server's connection id (`cid`): the record, its source, the id and its own connection.
    public func sipConnectionIDs() throws -> [(event: Int64, source: Int64, cid: String, conn: Int64?)] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.rowid, e.source, json_extract(e.attrs, '$.cid'), e.conn FROM event e
                WHERE e.label = 'SIP' AND e.attrs LIKE '%"cid"%' AND json_extract(e.attrs, '$.cid') IS NOT NULL
                """).compactMap { r in
                guard let event = r[0] as Int64?, let source = r[1] as Int64?, let cid = Store.text(r[2]) else { return nil }
                return (event, source, cid, r[3])
            }
        }
    }

    /// SIP and SiteMinder connection records of a timeout or a failure that name no connection of their own:
    /// the record, its source, time and the peer it names.
    public func failedConnectionRecords() throws -> [(event: Int64, source: Int64, ts: Int64, peer: String, port: Int?)] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.rowid, e.source, e.ts, da.text, e.dport FROM event e JOIN address da ON da.id = e.dst
                WHERE e.label IN ('SIP', 'SiteMinder') AND e.conn IS NULL AND json_extract(e.attrs, '$.record_type') = 'connection'
                  AND (json_extract(e.attrs, '$.result_code') LIKE '%TIMEDOUT%' OR json_extract(e.attrs, '$.text') LIKE 'Failed%')
                """).map { r in (r[0], r[1], r[2], r[3], r[4]) }
        }
    }

    /// Stack events of a timeout (`"status":"…TIMEOUT…"`) on a known connection, with its two ends.
    public func stackTimeouts() throws -> [(source: Int64, ts: Int64, conn: Int64, a: String, aport: Int, b: String, bport: Int)] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.source, e.ts, e.conn, a.text, c.aport, b.text, c.bport FROM event e
                JOIN connection c ON c.key = e.conn JOIN address a ON a.id = c.a JOIN address b ON b.id = c.b
                WHERE e.kind = \(EventKind.log.rawValue) AND e.conn IS NOT NULL AND json_extract(e.attrs, '$.status') LIKE '%TIMEOUT%'
                """).map { r in (r[0], r[1], r[2], r[3], r[4], r[5], r[6]) }
        }
    }

    /// SIP and SiteMinder events that name an end of their transport but no connection: the event, its ends and
    /// the transport its log names (`transport`, else the Via's).
    public func unboundPeerEvents() throws -> [(event: Int64, src: String?, sport: Int?, dst: String?, dport: Int?, transport: String?)] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.rowid, sa.text, e.sport, da.text, e.dport,
                       COALESCE(json_extract(e.attrs, '$.transport'), json_extract(e.attrs, '$.via_transport')) FROM event e
                LEFT JOIN address sa ON sa.id = e.src LEFT JOIN address da ON da.id = e.dst
                WHERE e.label IN ('SIP', 'SiteMinder') AND e.conn IS NULL AND (e.src IS NOT NULL OR e.dst IS NOT NULL)
                """).map { r in (r[0], r[1], r[2], r[3], r[4], Store.text(r[5])) }
        }
    }

    /// The connection an event is bound to by what it names (`event_binding`), if any.
    public func boundConnection(event: Int64) throws -> Int64? {
        try db.read { db in try Int64.fetchOne(db, sql: "SELECT conn FROM event_binding WHERE event = ?", arguments: [event]) }
    }

    private func attrEvents(_ sql: String, _ arguments: StatementArguments, values: Int) throws -> [AttrEvent] {
        try db.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { r in
                AttrEvent(id: r[0], source: r[1], line: r[2] ?? 0, ts: r[3], values: (0..<values).map { Store.text(r[4 + $0]) })
            }
        }
    }

    /// A value as text: a string as it is, a number in decimal.
    private static func text(_ v: DatabaseValue) -> String? {
        String.fromDatabaseValue(v) ?? Int64.fromDatabaseValue(v).map(String.init)
    }
}
