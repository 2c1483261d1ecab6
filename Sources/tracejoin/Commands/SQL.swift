import ArgumentParser
import ClickHouse
import Foundation
import GRDB
import EventStore
import Render

struct SQL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run one read-only SQL query on the store.",
        discussion: """
        Tables: source, event, address, connection, unparsed, clock, kind; the view `events` joins them \
        into readable rows (host, source, ts, kind, src, dst, summary, …). README.md documents each column. \
        Example: tracejoin sql "SELECT host, count(*) FROM events GROUP BY host"

        On --store clickhouse+http://… the query is ClickHouse's SQL over the database's tables (events, sources, \
        clocks, connections, conns, …; every table has a dataset column), read-only: tracejoin sql --store URL \
        "SELECT host, count() FROM tj.events WHERE dataset = 'case1' GROUP BY host"
        """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The query.") var query: String
    @Flag(help: "One JSON object per row.") var json = false

    func run() throws {
        let (cols, rows): ([String], [[SQLCell]])
        if store.isClickHouse {
            // ClickHouse's SQL over the dataset's database (events, sources, connections, …), printed as on SQLite.
            let answer: (columns: [String], rows: [[ClickHouseReader.Value]])
            do { answer = try store.openDataset().query(query) } catch let e as ClickHouseError { throw CLIError(e.description) }
            (cols, rows) = (answer.columns, answer.rows.map { $0.map(SQLCell.init) })
        } else {
            let answer = try store.open(readOnly: true).query(query)
            (cols, rows) = (answer.0, answer.1.map { $0.map(SQLCell.init) })
        }
        if json {
            for r in rows {
                var o = JSONObject()
                for (c, v) in zip(cols, r) { v.add(to: &o, c) }
                Swift.print(o.text)
            }
            return
        }
        var t = TextTable(header: cols)
        for r in rows { t.add(r.map(\.text)) }
        Swift.print(t.render())
    }
}

/// One value of a `sql` answer, from either store, printed one way.
enum SQLCell {
    case null, int(Int64), double(Double), string(String), blob(Data)

    init(_ v: DatabaseValue) {
        switch v.storage {
        case .null: self = .null
        case .int64(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .blob(let b): self = .blob(b)
        }
    }

    init(_ v: ClickHouseReader.Value) {
        switch v {
        case .null: self = .null
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        }
    }

    /// In the text table: a blob as its UTF-8 text when it is that (as GRDB reads a blob as a String).
    var text: String {
        switch self {
        case .null: return "NULL"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return s
        case .blob(let b): return String(data: b, encoding: .utf8) ?? "Data(\(b.description))"
        }
    }

    /// In `--json`: a blob as base64.
    func add(to o: inout JSONObject, _ key: String) {
        switch self {
        case .null: o.addNull(key)
        case .int(let i): o.add(key, i)
        case .double(let d): o.add(key, d)
        case .string(let s): o.add(key, s)
        case .blob(let b): o.add(key, b.base64EncodedString())
        }
    }
}
