import Foundation
import GRDB
import TraceModel

/// What `tracejoin push` reads besides the events (`eventPage`) and sources (`sources()`): the stored facts a
/// second backend needs to name sources the same way everywhere and to carry the joiner's derived tables.
extension Store {
    /// Each source's content hash (of its decompressed bytes), by source id.
    public func contentHashes() throws -> [Int64: String] {
        try db.read { db in
            var out: [Int64: String] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT id, content_hash FROM source") { out[r[0]] = r[1] }
            return out
        }
    }

    /// Every connection alias (NAT twins: one connection under several tuples), by key.
    public func allAliases() throws -> [ConnectionAlias] {
        try db.read { db in
            guard try db.tableExists("connection_alias") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT key, grp, side_flip, evidence FROM connection_alias ORDER BY key")
                .map(Store.alias)
        }
    }
}

/// One event as `tracejoin push` encodes it: its row's integers, its addresses by id (`addressTexts`), its text as
/// bytes. No String is made for the text: the views' `StoredEvent` makes two per event (raw and summary), validating
/// their UTF-8, and that was a fifth of a push's CPU.
public struct PushEvent: Sendable {
    public var id: Int64 = 0, ordinal: Int64 = 0, line: Int64 = 0, ts: Int64 = 0
    public var kind: EventKind = .log
    public var proto: Int64?, src: Int64?, sport: Int64?, dst: Int64?, dport: Int64?, conn: Int64?
    public var flags: Int64?, seq: Int64?, ack: Int64?, len: Int64?, win: Int64?, ipid: Int64?, tsval: Int64?, tsecr: Int64?, mss: Int64?
    public var expert: Int64 = 0, frameLen: Int64?
    public var label: String?, attrs: String?
    public var seqRaw: Int64?, ackRaw: Int64?
    /// The record's text, CRs dropped (as the views show it).
    public var raw: [UInt8] = []
    /// Where the summary starts in `raw`: it runs to the end of raw's first line. nil when it is not that line's tail
    /// (a message a parser joined from wrapped lines): then `summary` holds it.
    public var summaryAt: Int? = 0
    public var summary: [UInt8] = []

    public init() {}

    /// Where `summary` sits as the tail of `raw`'s first line, if it does (an empty one: at that line's end).
    public static func tailAt<S: Collection>(_ summary: S, in raw: [UInt8]) -> Int? where S.Element == UInt8 {
        let lineEnd = raw.firstIndex(of: 0x0A) ?? raw.count
        guard summary.count <= lineEnd else { return nil }
        let at = lineEnd - summary.count
        return raw[at..<lineEnd].elementsEqual(summary) ? at : nil
    }

    /// Sets the text from the stored bytes (CRs included, as `summary_at` counts them) and a parser's joined message.
    mutating func setText(_ bytes: [UInt8], summaryStart: Int, joined: String?) {
        let start = min(summaryStart, bytes.count)
        if joined == nil, !bytes.contains(0x0D) {
            // The usual case: the summary is the tail of raw's first line, from where the store says.
            raw = bytes
            let lineEnd = bytes.firstIndex(of: 0x0A) ?? bytes.count
            if start <= lineEnd {
                summaryAt = start
                return
            }
        } else {
            raw = bytes.filter { $0 != 0x0D }
        }
        let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
        let text = joined.map { Array($0.utf8) } ?? bytes[start..<end].filter { $0 != 0x0D }
        summaryAt = Self.tailAt(text, in: raw)
        summary = summaryAt == nil ? text : []
    }
}

extension Store {
    /// Every address the store names, by id: what `PushEvent`'s `src` and `dst` refer to.
    public func addressTexts() throws -> [Int64: String] {
        try db.read { db in
            var out: [Int64: String] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT id, text FROM address") { out[r[0]] = r[1] }
            return out
        }
    }

    static let pushColumns = """
        e.rowid, e.ordinal, e.line, e.ts, e.kind, e.proto, e.src, e.sport, e.dst, e.dport, COALESCE(e.conn, eb.conn),
        e.flags, e.seq, e.ack, e.len, e.win, e.ipid, e.tsval, e.tsecr, e.mss, e.expert, e.frame_len, e.label,
        e.raw_at, e.raw_len, e.summary_at, e.attrs, e.seq_raw, e.ack_raw
        """

    /// One page of a source's events in its own order after `(ts, id)`, as `eventPage` reads them unfiltered, for the
    /// push; `last` is where the next page starts.
    public func pushPage(source: SourceInfo, after: (ts: Int64, id: Int64)?, limit: Int) throws -> (events: [PushEvent], last: (ts: Int64, id: Int64)?) {
        try db.read { db in
            guard let st = try pageStatement(db, source: source, filter: EventFilter(), after: after, limit: limit, columns: Store.pushColumns,
                                             joins: "LEFT JOIN event_binding eb ON eb.event = e.rowid") else { return ([], after) }
            let text = TextReader()
            var out: [PushEvent] = []
            out.reserveCapacity(limit)
            try CRow.step(st, db) { c in
                var e = PushEvent()
                e.id = c.int64(0); e.ordinal = c.int64(1); e.line = c.int64(2); e.ts = c.int64(3)
                e.kind = EventKind(rawValue: Int(c.int64(4))) ?? .log
                e.proto = c.int(5); e.src = c.int(6); e.sport = c.int(7); e.dst = c.int(8); e.dport = c.int(9); e.conn = c.int(10)
                e.flags = c.int(11); e.seq = c.int(12); e.ack = c.int(13); e.len = c.int(14); e.win = c.int(15); e.ipid = c.int(16)
                e.tsval = c.int(17); e.tsecr = c.int(18); e.mss = c.int(19); e.expert = c.int64(20); e.frameLen = c.int(21)
                e.label = c.str(22); e.attrs = c.str(26); e.seqRaw = c.int(27); e.ackRaw = c.int(28)
                // A record its parser joined from several lines names its whole message (as `Store.events` reads it).
                e.setText(try text.bytes(db, source: source.id, at: c.int64(23), len: Int(c.int64(24))), summaryStart: Int(c.int64(25)),
                          joined: Store.joinedSummary(e.attrs))
                out.append(e)
            }
            return (out, out.last.map { (ts: $0.ts, id: $0.id) } ?? after)
        }
    }
}
