import ArgumentParser
import Foundation
import GRDB
import TraceModel
import Parsers
import EventStore
import Timeline
import Render

struct Sources: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The files in the store: format, host, events, time range, clock.")

    @OptionGroup var store: StoreOptions
    @Flag(help: "One JSON object per line.") var json = false

    func run() throws {
        let s = try store.open(readOnly: true)
        try SourcesPrinter.print(try s.sources(), json: json)
    }
}

enum SourcesPrinter {
    static func print(_ sources: [SourceInfo], json: Bool) throws {
        if json {
            for s in sources {
                var o = JSONObject()
                o.add("id", s.id); o.add("path", s.path); o.add("format", s.format); o.add("host", s.host)
                o.add("events", s.events); o.add("unparsed", s.unparsed); o.add("lines", s.lines)
                o.add("time_basis", s.timeBasis.rawValue); o.add("tz", CivilTime.formatZoneOffset(s.zoneOffset)); o.add("tz_given", s.zoneGiven)
                o.add("first", s.firstTS.map { IngestRunner.time($0, s) }); o.add("last", s.lastTS.map { IngestRunner.time($0, s) })
                o.add("notes", raw: s.notes)
                Swift.print(o.text)
            }
            return
        }
        var t = TextTable(header: ["id", "host", "format", "events", "unparsed", "zone", "first", "last", "path"])
        for s in sources {
            t.add([String(s.id), s.host, s.format, String(s.events), String(s.unparsed),
                   s.timeBasis == .relative ? "relative" : CivilTime.formatZoneOffset(s.zoneOffset) + (s.zoneGiven ? "" : "?"),
                   IngestRunner.time(s.firstTS, s), IngestRunner.time(s.lastTS, s), s.path])
        }
        Swift.print(t.render())
    }
}

struct Formats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The formats tracejoin reads (ids for --format).")

    func run() {
        var t = TextTable(header: ["id", "what"])
        for p in Registry.parsers { t.add([p.id, p.summary]) }
        Swift.print(t.render())
    }
}

struct SQL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run one read-only SQL query on the store.",
        discussion: """
        Tables: source, event, address, connection, unparsed, clock, kind; the view `events` joins them \
        into readable rows (host, source, ts, kind, src, dst, summary, …). README.md documents each column. \
        Example: tracejoin sql "SELECT host, count(*) FROM events GROUP BY host"
        """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: "The query.") var query: String
    @Flag(help: "One JSON object per row.") var json = false

    func run() throws {
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
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The main job in one command: ingest, then print the sources, the connections and the head of the timeline.",
        discussion: "Example: tracejoin analyze --store :memory: corpus/rdp-reset"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var ingest: IngestArguments
    @Option(help: "How many timeline events to show.") var head = 40
    @Option(help: "How many connections to list.") var connections = 25

    func run() throws {
        let s = try store.open()
        Swift.print("== ingest")
        let reports = try IngestRunner.run(store: s, arguments: ingest)
        try LifecyclePass.runIfStale(s)
        Swift.print("\n== sources")
        try SourcesPrinter.print(try s.sources(), json: false)
        let fmt = try EventFormatter(store: s)
        let conns = try s.allConnections()
        Swift.print("\n== connections" + (conns.count > connections ? " (first \(connections) of \(conns.count); `tracejoin connections` for all)" : ""))
        try ConnectionsPrinter.print(ConnectionsPrinter.sorted(conns).prefix(connections).map { $0.0 }, formatter: fmt, json: false)
        Swift.print("\n== timeline (first \(head) events; `tracejoin timeline` for all)")
        try TimelinePrinter.print(store: s, filter: EventFilter(), formatter: fmt, json: false, csv: false, limit: head)
        try IngestRunner.exit(for: reports)
    }
}
