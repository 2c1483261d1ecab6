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
/// did not change (the same SHA-1 over their RowBinary) is not written again. Only the newest two generations are kept.
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
    ///
    /// Each table's rows are read once, encoded into a temporary file while their digest is taken, and the file is
    /// sent only when the digest changed: memory stays flat however many rows (a two-point store of a million shared
    /// packets has two million twins).
    static func push(_ store: Store, extra: [(DerivedSpec, [[DerivedValue]])], _ client: ClickHouseClient, _ s: ClickHouseSchema, dataset: String) async throws -> Int {
        let have = try await current(client, s, dataset: dataset)
        var written = 0
        let handed = Set(extra.map(\.0.name))
        let tables: [(DerivedSpec, RowSource)] = DerivedTable.allCases.map { t in (DerivedSpec(t), { try store.forEachRow(of: t, $0) }) }
            + extra.map { t, rows in (t, { body in try rows.forEach(body) }) }
        for (t, rows) in tables {
            let generation = UInt64(Date().timeIntervalSince1970 * 1e9)
            let file = try EncodedRows(dataset: dataset, generation: generation)
            defer { file.remove() }
            try rows { try file.append($0) }
            let (count, digest) = try file.finish()
            if let h = have[t.name], h.digest == digest { continue }
            // An empty store table needs no generation (none reads as empty); findings handed over do, even none:
            // "no findings" is not "pushed without them".
            if have[t.name] == nil && count == 0 && !handed.contains(t.name) { continue }
            if count > 0 {
                try await client.insert(table: s.name(table(t)), columns: table(t).insertColumns, settings: client.insertSettings) { try file.nextChunk() }
                written += count
            }
            var g = RowBinaryWriter()
            g.string(dataset); g.string(t.name); g.uint64(generation); g.uint64(UInt64(count)); g.string(digest)
            written += try await client.insertRows(generations, s, g, count: 1)
            // Generations before the one now replaced go (in the background): a reader that started before this push
            // still finds the one it reads, and the table does not grow with every push.
            if let previous = have[t.name]?.generation {
                let local = s.localName(table(t))
                try await client.onEveryShard({ cluster in
                    "ALTER TABLE \(local)\(cluster.map { " ON CLUSTER \($0)" } ?? "") DELETE WHERE dataset = {dataset:String} AND generation < {keep:UInt64}"
                }, ["dataset": .string(dataset), "keep": .uint64(previous)])
            }
        }
        return written
    }

    typealias RowSource = (([DerivedValue]) throws -> Void) throws -> Void

    /// One table's rows as an INSERT body (dataset, the row, generation), in a temporary file, and the SHA-1 of the rows
    /// alone (what says whether they changed since the last push).
    final class EncodedRows: @unchecked Sendable {
        let path = NSTemporaryDirectory() + "tracejoin-derived-\(UUID().uuidString).rowbinary"
        let dataset: String, generation: UInt64
        var w = RowBinaryWriter()
        var sha = SHA1()
        var count = 0
        let out: FileHandle
        var reader: FileHandle?

        init(dataset: String, generation: UInt64) throws {
            self.dataset = dataset
            self.generation = generation
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ClickHouseError.incomplete("cannot write a temporary file in \(NSTemporaryDirectory())")
            }
            out = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }

        func append(_ row: [DerivedValue]) throws {
            w.string(dataset)
            let start = w.bytes.count
            DerivedRows.write(row, into: &w)
            sha.update(w.bytes[start...])
            w.uint64(generation)
            count += 1
            if w.bytes.count >= 4 << 20 { try flush() }
        }

        func flush() throws {
            try out.write(contentsOf: w.bytes)
            w = RowBinaryWriter()
        }

        func finish() throws -> (count: Int, digest: String) {
            try flush()
            try out.close()
            return (count, DerivedRows.hex(sha.finalize()))
        }

        /// The next piece of the body, nil at its end.
        func nextChunk() throws -> [UInt8]? {
            if reader == nil { reader = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) }
            guard let data = try reader!.read(upToCount: 4 << 20), !data.isEmpty else { return nil }
            return [UInt8](data)
        }

        func remove() {
            try? out.close()
            try? reader?.close()
            try? FileManager.default.removeItem(atPath: path)
        }
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
