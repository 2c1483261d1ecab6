/// Which layout of tracejoin's tables a ClickHouse database holds: `schema_version`, one row per server, written
/// when the tables are created. A database of another version is refused with what to do, never half-used:
/// tables are not migrated (a push into a new database, or dropping the old one, is the way on).
enum SchemaVersion {
    static func ddl(_ s: ClickHouseSchema) -> String {
        "CREATE TABLE IF NOT EXISTS \(s.database).schema_version (version UInt32, written DateTime DEFAULT now()) ENGINE = TinyLog"
    }

    /// The version the host's database holds: nil when it holds no tracejoin tables; 1 for the tables of the
    /// first push, made before this table existed.
    static func read(_ client: ClickHouseClient, _ s: ClickHouseSchema, host: Int) async throws -> Int? {
        let names = try await client.query(
            "SELECT name FROM system.tables WHERE database = {db:String} AND name IN ('schema_version', 'events', 'events_local')",
            ["db": .string(s.database)], host: host).split(separator: "\n")
        if names.contains("schema_version") {
            let text = try await client.query("SELECT max(version) FROM \(s.database).schema_version", host: host)
            let v = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            if v > 0 { return v }
        }
        return names.isEmpty || names == ["schema_version"] ? nil : 1
    }

    static func mismatch(_ client: ClickHouseClient, _ s: ClickHouseSchema, have: Int, host: Int = 0) -> ClickHouseError {
        let newer = have > ClickHouseSchema.version
        return .incomplete("ClickHouse at \(client.describe(host)): database \(s.database) holds tracejoin's tables of schema version \(have); this tracejoin reads and writes version \(ClickHouseSchema.version). "
            + (newer ? "Use the tracejoin that wrote them, or a new database." : "Push into a new database (…/NEWNAME?dataset=…), or drop this one (DROP DATABASE \(s.database)) and push again."))
    }

    /// Before the tables are created on a host: refuses another version, and says which version they are after.
    static func prepare(_ client: ClickHouseClient, _ s: ClickHouseSchema, host: Int) async throws -> Bool {
        switch try await read(client, s, host: host) {
        case .none: return true
        case .some(let v) where v == ClickHouseSchema.version: return false
        case .some(let v): throw mismatch(client, s, have: v, host: host)
        }
    }

    static func record(_ client: ClickHouseClient, _ s: ClickHouseSchema, host: Int) async throws {
        try await client.query("CREATE DATABASE IF NOT EXISTS \(s.database)", host: host)
        try await client.query(ddl(s), host: host)
        try await client.query("INSERT INTO \(s.database).schema_version (version) VALUES (\(ClickHouseSchema.version))", host: host)
    }
}
