import ArgumentParser
import TraceModel
import EventStore
import Render

struct Sources: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The files in the store: format, host, events, time range, clock.")

    @OptionGroup var store: StoreOptions
    @Flag(help: "One JSON object per line.") var json = false

    func run() throws {
        let s = try store.openReader()
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
