import Foundation

/// The tables whose newest row per key wins (`ReplacingMergeTree(version)`: clocks, conn_aliases, connections).
/// Rows are written only where they differ from the newest ClickHouse holds, all under one new version: a push of
/// an unchanged store writes none of them, and a pass that finds what was there writes nothing.
enum VersionedRows {
    /// Writes those of `rows` that differ from the newest rows `current` reads (`read` decodes them), and for a key
    /// ClickHouse holds but `rows` lacks, the row `clear` makes of its newest one (nil: leave it). Returns the rows written.
    static func write<Row: Equatable, Key: Hashable>(
        _ rows: [Row], key: (Row) -> Key, into table: ClickHouseSchema.Table, current sql: String,
        read: (inout RowBinaryReader) throws -> Row, clear: ((Row) -> Row?)? = nil,
        _ client: ClickHouseClient, _ schema: ClickHouseSchema,
        encode: (Row, _ version: UInt64, inout RowBinaryWriter) throws -> Void
    ) async throws -> Int {
        if rows.isEmpty && clear == nil { return 0 }
        let have = Dictionary(try await client.rows(sql, ["dataset": .string(client.url.dataset)], read).map { (key($0), $0) }) { a, _ in a }
        let version = UInt64(Date().timeIntervalSince1970 * 1e9)
        var w = RowBinaryWriter()
        var n = 0
        for row in rows where have[key(row)] != row {
            try encode(row, version, &w)
            n += 1
        }
        if let clear {
            let kept = Set(rows.map(key))
            for (k, old) in have where !kept.contains(k) {
                guard let row = clear(old), row != old else { continue }
                try encode(row, version, &w)
                n += 1
            }
        }
        return try await client.insertRows(table, schema, w, count: n)
    }
}
