import EventStore
import Foundation
import TraceModel

/// A derived table as ClickHouse holds it: the store's (`DerivedTable`), or one the push is handed (findings, which
/// the SQLite store computes when asked rather than keeps).
public struct DerivedSpec: Sendable {
    public let name: String
    public let columns: [(name: String, kind: DerivedTable.Kind)]

    init(_ t: DerivedTable) { name = t.rawValue; columns = t.columns }
    init(name: String, columns: [(name: String, kind: DerivedTable.Kind)]) { self.name = name; self.columns = columns }

    /// One row per finding, in the order `findings` prints them (`n`); hosts one per line, numbers `name=value` lines.
    public static let findings = DerivedSpec(name: "findings", columns: [
        ("n", .int), ("kind", .text), ("severity", .text), ("ts", .int), ("hosts", .text), ("connection", .text),
        ("explanation", .text), ("numbers", .text)])
    /// The events that prove finding `n`, in order (`i`).
    public static let findingEvidence = DerivedSpec(name: "finding_evidence", columns: [
        ("n", .int), ("i", .int), ("source", .int), ("line", .int), ("ts", .int), ("text", .text)])

    static let all = DerivedTable.allCases.map(DerivedSpec.init) + [findings, findingEvidence]
}

/// The joiner's small derived tables in ClickHouse (`DerivedTable`: capture-point views, reused-tuple instances,
/// host names, processes, packet twins; and the findings), copied whole, in generations.
///
/// A push that finds a table's rows changed writes all of them under a new generation (the push time), then one
/// `derived` row naming that generation: readers take each table's newest generation named there, so a push cut
/// off midway leaves the last complete one in force, and rows a new pass dropped stop counting. A table whose rows
/// did not change (the same SHA-1 over their RowBinary) is not written again.
enum DerivedRows {
    static func table(_ t: DerivedSpec) -> ClickHouseSchema.Table {
        var columns = [ClickHouseSchema.Column("dataset", "String", "LowCardinality(String)", "case or collection")]
        for c in t.columns {
            columns.append(.init(c.name, c.kind == .int ? "Nullable(Int64)" : "Nullable(String)", nil, "the store's \(c.name)"))
        }
        columns.append(.init("generation", "UInt64", nil, "push time, ns: rows of one push of this table; `derived` names the newest complete one"))
        return ClickHouseSchema.Table(name: t.name, columns: columns, engine: { _ in "MergeTree" },
                                      orderBy: "(dataset, generation)", partitionBy: { _ in nil },
                                      shardingKey: "cityHash64(ifNull(toString(\(t.columns[0].name)), ''))")
    }

    /// Which generation of each derived table is complete, written after its rows.
    static let generations = ClickHouseSchema.Table(
        name: "derived",
        columns: [
            .init("dataset", "String", "LowCardinality(String)", "case or collection"),
            .init("tbl", "String", nil, "the derived table"),
            .init("generation", "UInt64", nil, "its complete generation"),
            .init("rows", "UInt64", nil, "how many rows it has"),
            .init("digest", "String", nil, "SHA-1 of those rows' RowBinary (without dataset and generation), hex"),
        ],
        engine: { _ in "MergeTree" }, orderBy: "(dataset, tbl, generation)", partitionBy: { _ in nil }, shardingKey: "cityHash64(tbl)")

    static let tables = DerivedSpec.all.map { table($0) } + [generations]

    static func write(_ row: [DerivedValue], into w: inout RowBinaryWriter) {
        for v in row {
            switch v {
            case .int(let i): w.nullable(i) { $0.int64($1) }
            case .text(let s): w.nullable(s) { $0.string($1) }
            }
        }
    }

    static func read(_ t: DerivedSpec, _ r: inout RowBinaryReader) throws -> [DerivedValue] {
        try t.columns.map { c in
            c.kind == .int ? .int(try r.nullable { try $0.int64() }) : .text(try r.nullable { try $0.string() })
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Each table's newest complete generation and its digest.
    static func current(_ client: ClickHouseClient, _ s: ClickHouseSchema, dataset: String) async throws -> [String: (generation: UInt64, digest: String)] {
        let rows = try await client.rows("""
            SELECT tbl, generation, digest FROM \(s.name(generations)) WHERE dataset = {dataset:String}
            ORDER BY generation DESC LIMIT 1 BY tbl
            """, ["dataset": .string(dataset)]) { r in (try r.string(), try r.uint64(), try r.string()) }
        return Dictionary(rows.map { ($0.0, (generation: $0.1, digest: $0.2)) }) { a, _ in a }
    }

    /// Writes the derived tables whose rows differ from their newest complete generation; returns the rows written.
    /// `extra`: tables the store does not keep, with their rows (findings).
    static func push(_ store: Store, extra: [(DerivedSpec, [[DerivedValue]])], _ client: ClickHouseClient, _ s: ClickHouseSchema, dataset: String,
                     insert: (ClickHouseSchema.Table, RowBinaryWriter, Int) async throws -> Int) async throws -> Int {
        let have = try await current(client, s, dataset: dataset)
        var written = 0
        let tables = try DerivedTable.allCases.map { (DerivedSpec($0), try store.rows(of: $0)) } + extra
        let handed = Set(extra.map(\.0.name))
        for (t, rows) in tables {
            var body = RowBinaryWriter()
            for row in rows { write(row, into: &body) }
            let digest = hex(SHA1.hash(body.bytes))
            if let h = have[t.name], h.digest == digest { continue }
            // An empty store table needs no generation (none reads as empty); findings handed over do, even none:
            // "no findings" is not "pushed without them".
            if have[t.name] == nil && rows.isEmpty && !handed.contains(t.name) { continue }
            let generation = UInt64(Date().timeIntervalSince1970 * 1e9)
            var w = RowBinaryWriter()
            for row in rows {
                w.string(dataset)
                write(row, into: &w)
                w.uint64(generation)
            }
            written += try await insert(table(t), w, rows.count)
            var g = RowBinaryWriter()
            g.string(dataset); g.string(t.name); g.uint64(generation); g.uint64(UInt64(rows.count)); g.string(digest)
            written += try await insert(generations, g, 1)
        }
        return written
    }

    /// The rows of a table's current generation matching `filter` (SQL over its columns, values as parameters).
    static func rows(_ client: ClickHouseClient, _ s: ClickHouseSchema, _ t: DerivedSpec, generation: UInt64, dataset: String,
                     filter: String? = nil, _ params: [String: Param] = [:]) async throws -> [[DerivedValue]] {
        let sql = "SELECT \(t.columns.map(\.name).joined(separator: ", ")) FROM \(s.name(table(t)))"
            + " WHERE dataset = {dataset:String} AND generation = {generation:UInt64}" + (filter.map { " AND (\($0))" } ?? "")
            + " ORDER BY \(t.columns.map(\.name).prefix(2).joined(separator: ", "))"
        return try await client.rows(sql, params.merging(["dataset": .string(dataset), "generation": .uint64(generation)]) { a, _ in a }) {
            try read(t, &$0)
        }
    }
}
