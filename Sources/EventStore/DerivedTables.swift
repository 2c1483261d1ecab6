import GRDB

/// The joiner's small derived tables, read whole as rows of integers and texts: what the push copies beside the
/// events, so that a ClickHouse dataset answers `connections` and `conn` as the store does. Each is a table of the
/// store's schema (its SQL stays here), read in a fixed order so the same store always gives the same rows.
public enum DerivedTable: String, CaseIterable, Sendable {
    case captureViews = "connection_views"
    case instances = "connection_instances"
    case hostNames = "host_names"
    case processes = "processes"
    case twins = "packet_twins"

    public enum Kind: Sendable { case int, text }

    /// Column names (ClickHouse's) and kinds, in the order `Store.forEachRow(of:)` gives them.
    public var columns: [(name: String, kind: Kind)] {
        switch self {
        case .captureViews: return [("conn_key", .int), ("source", .int), ("packets", .int), ("first_ts", .int), ("last_ts", .int),
                                    ("conn_state", .text), ("history", .text)]
        case .instances: return [("conn_key", .int), ("n", .int), ("lifecycle", .text)]
        case .hostNames: return [("address", .text), ("name", .text), ("source", .int)]
        case .processes: return [("source", .int), ("pid", .int), ("image", .text), ("services", .text)]
        case .twins: return [("event", .int), ("peer", .int), ("twin", .int), ("verdict", .text)]
        }
    }

    /// The store's table, and the statement that reads it.
    var sqlite: (table: String, select: String) {
        switch self {
        case .captureViews: return ("connection_view", "SELECT key, source, packets, first_ts, last_ts, conn_state, history FROM connection_view ORDER BY key, source")
        case .instances: return ("connection_instance", "SELECT key, n, lifecycle FROM connection_instance ORDER BY key, n")
        case .hostNames: return ("host_name", "SELECT a.text, h.name, h.source FROM host_name h JOIN address a ON a.id = h.address ORDER BY a.text, h.name, h.source")
        case .processes: return ("process", "SELECT source, pid, image, services FROM process ORDER BY source, pid")
        case .twins: return ("packet_twin", "SELECT event, peer, twin, verdict FROM packet_twin ORDER BY event, peer")
        }
    }
}

/// One value of a derived row.
public enum DerivedValue: Sendable, Equatable {
    case int(Int64?)
    case text(String?)

    public var int: Int64? { if case .int(let v) = self { return v }; return nil }
    public var text: String? { if case .text(let v) = self { return v }; return nil }
}

extension Store {
    /// The rows of a derived table one at a time, in its fixed order (none when a store made before the table was
    /// added has not got it): a store's packet twins can be millions.
    public func forEachRow(of t: DerivedTable, _ body: ([DerivedValue]) throws -> Void) throws {
        let kinds = t.columns.map(\.kind)
        try db.read { db in
            guard try db.tableExists(t.sqlite.table) else { return }
            let rows = try Row.fetchCursor(db, sql: t.sqlite.select)
            while let r = try rows.next() {
                try body(kinds.enumerated().map { i, k in k == .int ? .int(r[i]) : .text(r[i]) })
            }
        }
    }
}
