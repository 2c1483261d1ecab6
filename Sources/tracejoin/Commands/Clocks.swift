import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render
import ClickHouse

struct Clocks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put every source on one clock: offsets solved from the packets sources share, with how sure they are.",
        discussion: """
        Packets two sources both saw (same direction, flags, sequence and acknowledgment numbers, length; \
        the k-th retransmission with the k-th) bound the offset between their clocks from both sides, as \
        NTP does: the estimate is the middle, the half-width its uncertainty (never wider than the path \
        between the two capture points). Every source is placed against one reference — --reference, \
        else a source whose zone was given, else the first with calendar times. Sources that share no \
        packets with the others stay as written and say so. Timeline, conn and connections read every \
        source on the solved clocks.

        Override with --offset SOURCE=±SECONDS (add that to the source's times) or --tz SOURCE=±HH:MM \
        (the zone its times were written in); both are kept until changed. SOURCE is a source id, its \
        file name or path, or its host when only one source has it (`tracejoin sources` lists them).
        """
    )

    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("The source every clock is solved against.", valueName: "source")) var reference: String?
    @Option(help: ArgumentHelp("Set a source's offset yourself: SOURCE=±SECONDS.", valueName: "source=seconds")) var offset: [String] = []
    @Option(help: ArgumentHelp("Say a source's time zone: SOURCE=±HH:MM.", valueName: "source=zone")) var tz: [String] = []
    @Flag(help: "One JSON object per source.") var json = false
    @Flag(help: "On a ClickHouse dataset: solve the clocks there, in the engine, rather than show those the push copied.") var solve = false

    func validate() throws {
        for o in offset where SourceRef.split(o).flatMap({ Double($0.1) }) == nil {
            throw ValidationError("--offset wants SOURCE=±SECONDS, e.g. server.pcap=-7200.5; got \(o)")
        }
        for z in tz where SourceRef.split(z).flatMap({ CivilTime.parseZoneOffset($0.1) }) == nil {
            throw ValidationError("--tz wants SOURCE=±HH:MM, e.g. edge.txt=+02:00; got \(z)")
        }
    }

    func run() throws {
        if store.isClickHouse {
            if !offset.isEmpty || !tz.isEmpty {
                throw CLIError("on ClickHouse, clocks shows what the push copied or solves them again (--solve): set --offset or --tz on the SQLite store, then push it again")
            }
            if solve || reference != nil {
                try solveInEngine()
                return
            }
            // A pushed dataset shows the clocks solved in the store it came from.
            let sources = try store.openReader().sources()
            // The reference the SQLite store's `clocks` names: the default one (it re-solves against it each time).
            let reference = ClockPass.defaultReference(sources)
            try ClocksPrinter.print(sources, report: ClockPass.Report(reference: reference), json: json)
            return
        }
        if solve { throw CLIError("--solve is for a ClickHouse dataset: on a SQLite store clocks solves every time") }
        let s = try store.open()
        var sources = try s.sources()
        for o in offset {
            let (name, value) = SourceRef.split(o)!
            let src = try SourceRef.resolve(name, sources)
            try s.setClock(source: src.id, offset: Int64((Double(value)! * 1e9).rounded()), method: "user offset")
        }
        for z in tz {
            let (name, value) = SourceRef.split(z)!
            let src = try SourceRef.resolve(name, sources)
            // Times written in zone +02:00 are two hours ahead of UTC: subtract the zone to read them in UTC.
            try s.setClock(source: src.id, offset: -Int64(CivilTime.parseZoneOffset(value)!) * CivilTime.nsPerSecond, method: "user zone \(value)")
        }
        sources = try s.sources()
        let ref = try reference.map { try SourceRef.resolve($0, sources).id }
        let report = try ClockPass.run(s, reference: ref)
        try LifecyclePass.run(s)
        try ClocksPrinter.print(try s.sources(), report: report, json: json)
    }
}

extension Clocks {
    /// The clock pass with the engine matching and reducing the packets (`EngineClockPass`).
    func solveInEngine() throws {
        StoreOptions.showPassProgress()
        let result = try store.onDataset { url in
            let chosen = try reference.map { try SourceRef.resolve($0, try ClickHouseReader(url: url).sources()).id }
            return try ClickHouseReader.wait { try await EngineClockPass.run(url: url, reference: chosen) }
        }
        try ClocksPrinter.print(result.sources, report: result.report, json: json)
    }
}

enum ClocksPrinter {
    static func seconds(_ ns: Int64) -> String {
        let sign = ns < 0 ? "-" : "+"
        let a = ns.magnitude
        return "\(sign)\(a / 1_000_000_000).\(String(format: "%09d", Int(a % 1_000_000_000)))"
    }

    /// A solved offset close to a whole number of quarter hours: the zone the source was written in,
    /// and what is left over (clock skew).
    static func zoneGuess(_ source: SourceInfo) -> (zone: String, skew: Int64)? {
        guard SolvedClock.isSolved(source.clockMethod), !source.zoneGiven else { return nil }
        switch source.timeBasis {
        case .absolute: return zoneGuess(source.offsetNS)
        case .timeOfDay:
            // Placed on a day: what is left beyond whole days is the zone (and skew).
            let day = CivilTime.nsPerDay
            let rest = source.offsetNS - (source.offsetNS / day) * day
            return zoneGuess(rest > day / 2 ? rest - day : rest)
        case .relative:
            // Seconds since the start, and the start on the machine's own wall clock (a Network Monitor export
            // shows both): the solved start's distance from that wall clock is the zone it was written in.
            guard let notes = source.notes, let r = notes.range(of: "\"wall_clock_start\":\""),
                  let wall = TimeArgument.parse(String(notes[r.upperBound...].prefix { $0 != "\"" })) else { return nil }
            return zoneGuess(source.offsetNS - wall)
        }
    }

    static func zoneGuess(_ offset: Int64) -> (zone: String, skew: Int64)? {
        let quarter: Int64 = 15 * 60 * 1_000_000_000
        let q = (Double(offset) / Double(quarter)).rounded()
        guard q != 0 else { return nil }
        let skew = offset - Int64(q) * quarter
        guard skew.magnitude < 60 * 1_000_000_000 else { return nil }
        // Reading the source on UTC needed `offset`: it was written `-offset` ahead of UTC.
        return (CivilTime.formatZoneOffset(-Int(q) * 15 * 60), skew)
    }

    static func print(_ sources: [SourceInfo], report: ClockPass.Report, json: Bool) throws {
        let names = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0.path) })
        if json {
            for line in jsonObjects(sources, reference: report.reference) { Swift.print(line) }
            return
        }
        printTable(sources, report: report, names: names)
    }

    /// `clocks --json`'s objects (also the view's `/api/clocks`).
    static func jsonObjects(_ sources: [SourceInfo], reference: Int64?) -> [String] {
        let names = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0.path) })
        return sources.map { s in
            var o = JSONObject()
            o.add("source", s.path)
            o.add("id", s.id)
            o.add("host", s.host)
            // A zone the user gave, else the one the solved offset shows (whole quarter hours, see zoneGuess).
            let solvedZone = zoneGuess(s)
            o.add("zone", s.zoneGiven ? CivilTime.formatZoneOffset(s.zoneOffset) : solvedZone?.zone)
            if solvedZone != nil { o.add("zone_solved", true) }
            o.add("offset_s", Double(s.offsetNS) / 1e9)
            if let u = s.uncertaintyNS { o.add("uncertainty_s", Double(u) / 1e9) } else { o.addNull("uncertainty_s") }
            // Parts per million the source's clock ran fast against the reference; the offset holds at
            // origin (the source's own time).
            o.add("drift_ppm", Double(s.driftPPB) / 1e3)
            if s.driftPPB != 0 { o.add("origin", CivilTime.iso8601(s.driftOrigin, digits: 9)) }
            o.addOrNull("reference", reference.flatMap { names[$0] })
            o.addOrNull("method", s.id == reference ? "reference" : s.clockMethod)
            if s.clockMethod == SolvedClock.oneWayMethod { o.add("one_way", true) }
            o.add("matched", s.clockMatched)
            o.add("with", s.clockPeer.flatMap { names[$0] })
            if let g = zoneGuess(s) {
                o.add("zone_guess", g.zone)
                o.add("skew_s", Double(g.skew) / 1e9)
            }
            return o.text
        }
    }

    static func printTable(_ sources: [SourceInfo], report: ClockPass.Report, names: [Int64: String]) {
        var t = TextTable(header: ["source", "host", "offset (s)", "± (s)", "drift (ppm)", "how", "matched"])
        for s in sources {
            let how: String
            var matched = "-"
            if s.id == report.reference {
                how = "reference"
            } else if SolvedClock.isSolved(s.clockMethod) && s.clockMatched == 0 {
                how = "same host as \(names[s.clockPeer ?? -1].map { ($0 as NSString).lastPathComponent } ?? "?") (--host \(s.host)); shares no packets"
            } else if SolvedClock.isSolved(s.clockMethod) {
                let peer = names[s.clockPeer ?? -1].map { ($0 as NSString).lastPathComponent } ?? "?"
                var h = s.clockMethod == SolvedClock.eventMethod ? "a connection failure logged by both it and \(peer)" : "packets with \(peer)"
                if s.clockMethod == SolvedClock.oneWayMethod { h += " (all one way: a bound)" }
                if let g = zoneGuess(s) { h += "; written in \(g.zone) (solved), skew \(seconds(g.skew)) s" }
                if s.timeBasis == .timeOfDay { h += "; placed on \(CivilTime.iso8601((s.offsetNS + CivilTime.nsPerDay / 2) / CivilTime.nsPerDay * CivilTime.nsPerDay, digits: 0).prefix(10))" }
                if s.timeBasis == .relative { h += "; starts \(CivilTime.iso8601(s.offsetNS + (s.firstTS ?? 0), digits: s.timeDigits))" }
                how = h
                matched = s.clockMatched.map(String.init) ?? "-"
            } else if let m = s.clockMethod {
                how = m
            } else {
                how = "unaligned: shares no packets with the reference's group"
            }
            let drift = s.driftPPB == 0 ? "-" : String(format: "%+.1f", Double(s.driftPPB) / 1e3)
            t.add([s.path, s.host, seconds(s.offsetNS), s.uncertaintyNS.map { String(seconds($0).dropFirst()) } ?? "-", drift, how, matched])
        }
        Swift.print(t.render())
        for p in report.pairs {
            guard let e = p.estimate, !e.consistent else { continue }
            note("note: \(names[p.a] ?? "?") and \(names[p.b] ?? "?"): the packets' bounds cross by \(seconds(-2 * e.uncertainty)) s (a clock stepped or drifted during the capture?); the middle is used")
        }
    }
}

/// A source named on the command line: id, path, file name, or host.
enum SourceRef {
    static func split(_ s: String) -> (String, String)? {
        guard let eq = s.lastIndex(of: "=") else { return nil }
        return (String(s[..<eq]), String(s[s.index(after: eq)...]))
    }

    static func resolve(_ text: String, _ sources: [SourceInfo]) throws -> SourceInfo {
        if let id = Int64(text), let s = sources.first(where: { $0.id == id }) { return s }
        for match in [{ (s: SourceInfo) in s.path == text }, { $0.path.hasSuffix("/" + text) }, { $0.host == text }] {
            let found = sources.filter(match)
            if found.count == 1 { return found[0] }
            if found.count > 1 { throw CLIError("\(text) names \(found.count) sources (\(found.map { "\($0.id)" }.joined(separator: ", "))); give the id") }
        }
        throw CLIError("no source \(text); `tracejoin sources` lists them")
    }
}
