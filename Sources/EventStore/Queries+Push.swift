import GRDB

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
