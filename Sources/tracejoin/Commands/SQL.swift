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
        if store.isClickHouse {
            try runOnClickHouse()
            return
        }
        let s = try store.open(readOnly: true)
        let (cols, rows) = try s.query(query)
        if json {
            for r in rows {
                var o = JSONObject()
                for (c, v) in zip(cols, r) {
                    switch v.storage {
                    case .null: o.addNull(c)
                    case .int64(let i): o.add(c, i)
                    case .double(let d): o.add(c, d)
                    case .string(let s): o.add(c, s)
                    case .blob(let b): o.add(c, b.base64EncodedString())
                    }
                }
                Swift.print(o.text)
            }
            return
        }
        var t = TextTable(header: cols)
        for r in rows { t.add(r.map { v in v.isNull ? "NULL" : (String.fromDatabaseValue(v) ?? v.description) }) }
        Swift.print(t.render())
    }

    /// ClickHouse's SQL over the dataset's database (events, sources, connections, …), printed as on SQLite.
    func runOnClickHouse() throws {
        let (cols, rows): ([String], [[ClickHouseReader.Value]])
        do { (cols, rows) = try store.openDataset().query(query) } catch let e as ClickHouseError { throw CLIError(e.description) }
        if json {
            for r in rows {
                var o = JSONObject()
                for (c, v) in zip(cols, r) {
                    switch v {
                    case .null: o.addNull(c)
                    case .int(let i): o.add(c, i)
                    case .double(let d): o.add(c, d)
                    case .string(let s): o.add(c, s)
                    }
                }
                Swift.print(o.text)
            }
            return
        }
        var t = TextTable(header: cols)
        for r in rows {
            t.add(r.map { v in
                switch v {
                case .null: return "NULL"
                case .int(let i): return String(i)
                case .double(let d): return String(d)
                case .string(let s): return s
                }
            })
        }
        Swift.print(t.render())
    }
}
