import ArgumentParser
import Foundation
import TraceModel
import ClickHouse
import EventStore
import Timeline
import Parsers

/// `--store`, shared by every command.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The store: a SQLite file, or :memory: for none. timeline, conn, connections, clocks, sources, findings, analyze, report, sql, view and ingest also work on a ClickHouse dataset: clickhouse+http://HOST:PORT/DATABASE?dataset=NAME (password in TRACEJOIN_CLICKHOUSE_PASSWORD).",
        valueName: "path"))
    var store: String = Store.defaultPath

    var isClickHouse: Bool { ClickHouseURL.isClickHouse(store) }

    /// What the views read: the SQLite store, or the ClickHouse dataset the URL names.
    func openReader() throws -> any StoreReader {
        isClickHouse ? try openDataset() : try open(readOnly: true)
    }

    /// What `conn` and `connections` read: the SQLite store with its clocks and lifecycles brought up to date, or
    /// the ClickHouse dataset (which holds those the push copied).
    func openDerived() throws -> any StoreReader {
        isClickHouse ? try openDataset() : try openSolved()
    }

    /// The SQLite store with its clocks and connection lifecycles up to date.
    func openSolved() throws -> Store {
        let s = try open()
        try runStalePasses(s)
        return s
    }

    /// The ClickHouse dataset `--store` names, errors worded for the user.
    func openDataset() throws -> ClickHouseReader {
        try onDataset { try ClickHouseReader(url: $0) }
    }

    /// Runs `body` on the ClickHouse dataset `--store` names, its errors worded for the user.
    func onDataset<T>(_ body: (ClickHouseURL) throws -> T) throws -> T {
        do {
            return try body(try ClickHouseURL(store, environment: ProcessInfo.processInfo.environment))
        } catch let e as ClickHouseError {
            throw CLIError(e.description)
        } catch let e as ClickHouseURLError {
            throw CLIError("--store: \(e.description)")
        }
    }

    /// The joiner passes a command may run say what they do on one status line, rewritten in place.
    static func showPassProgress() {
        guard isatty(2) != 0 else { return }
        PassProgress.report = { text in
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text.prefix(79)).utf8))
        }
    }

    /// The SQLite store, for commands that write derived tables or read what a push does not copy yet.
    func open(readOnly: Bool = false) throws -> Store {
        if isClickHouse {
            throw CLIError("this command reads a SQLite store; on ClickHouse (--store \(store.prefix(while: { $0 != "?" }))…) timeline, conn, connections, clocks, sources, findings, analyze, report, sql, view and ingest run there")
        }
        Self.showPassProgress()
        do {
            return try Store(path: store, readOnly: readOnly)
        } catch let e as StoreError {
            throw CLIError(e.description)
        }
    }
}

/// Brings a store's clocks and connection lifecycles up to date: what every view of connections, the findings
/// and the push read.
func runStalePasses(_ s: Store) throws {
    try ClockPass.runIfStale(s)
    try LifecyclePass.runIfStale(s)
}

/// Options of `ingest` and `analyze`.
struct IngestArguments: ParsableArguments {
    @Option(help: ArgumentHelp("The capture point or machine the files come from (default: each file's name).", valueName: "name"))
    var host: String?

    @Option(help: ArgumentHelp("Time zone the files' times are written in, as ±HH:MM (default: UTC).", valueName: "±HH:MM"))
    var tz: String?

    @Option(help: ArgumentHelp("Use this parser instead of detecting the format (see `tracejoin formats`).", valueName: "id"))
    var format: String?

    @Option(help: ArgumentHelp(
        "Place files without a calendar date on it: the UTC start of a capture whose times are seconds since its start, or the date of one that writes times of day only (2013-01-06 or 2013-01-06T09:52:10.5).",
        valueName: "time"))
    var anchor: String?

    @Option(help: ArgumentHelp(
        "When socket tables (netstat, ss) that have no date line of their own were taken, in UTC (2013-01-06T09:53:40). Default: the file's modification time.",
        valueName: "time"))
    var at: String?

    @OptionGroup var formats: ParsersOption

    @Argument(help: ArgumentHelp("Files or folders (recursively); .gz files and .zip archives are read inside.", valueName: "path"))
    var paths: [String] = []

    func validate() throws {
        formats.load()
        if let tz, CivilTime.parseZoneOffset(tz) == nil { throw ValidationError("--tz wants ±HH:MM, e.g. +02:00 or -05:00; got \(tz)") }
        if let format, Registry.parser(id: format) == nil {
            throw ValidationError("unknown format \(format); known: \(Registry.all.map { $0.id }.joined(separator: ", "))")
        }
        if paths.isEmpty { throw ValidationError("name at least one file or folder to ingest") }
        if let anchor, TimeArgument.parse(anchor) == nil || anchor.hasPrefix("+") {
            throw ValidationError("--anchor wants a UTC date or date and time, e.g. 2013-01-06T09:52:10; got \(anchor)")
        }
        if let at, TimeArgument.parse(at) == nil || at.hasPrefix("+") {
            throw ValidationError("--at wants a UTC date and time, e.g. 2013-01-06T09:53:40; got \(at)")
        }
    }

    var options: IngestOptions {
        IngestOptions(host: host, zoneOffset: tz.flatMap(CivilTime.parseZoneOffset), format: format, takenAt: at.flatMap(TimeArgument.parse))
    }
}

/// `--parsers DIR`: folders of declarative format files beside the shipped ones and the user's.
struct ParsersOption: ParsableArguments {
    @Option(name: .customLong("parsers"), help: ArgumentHelp(
        "A folder of format files (JSON, see docs/declarative-formats.md) to load besides parsers/ and ~/.config/tracejoin/parsers; repeatable.",
        valueName: "dir"))
    var dirs: [String] = []

    /// Loads every format file once; the ones that do not compile are reported on stderr and skipped.
    func load() {
        let r = FormatLoader.load(folders: FormatLoader.folders(extra: dirs))
        Registry.declarative = r.formats
        for e in r.errors { FileHandle.standardError.write(Data("tracejoin: format file \(e)\n".utf8)) }
    }
}

/// Filters shared by `timeline` and `connections`.
struct FilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only events at or after this time (ISO 8601 UTC, e.g. 2013-01-06T09:52:15; or +SECONDS for relative sources).", valueName: "time"))
    var from: String?

    @Option(help: ArgumentHelp("Only events at or before this time.", valueName: "time"))
    var to: String?

    @Option(name: .customLong("host"), help: ArgumentHelp("Only this host (repeatable).", valueName: "name"))
    var hosts: [String] = []

    @Option(name: .customLong("conn"), help: ArgumentHelp("Only this connection: an endpoint, or two joined by a comma (10.0.0.1:5000,10.0.0.2:80); repeatable.", valueName: "endpoints"))
    var conns: [String] = []

    @Option(help: ArgumentHelp("Only events whose text contains this (case-insensitive).", valueName: "text"))
    var grep: String?

    @Option(name: .customLong("kind"), help: ArgumentHelp("Only this kind of event (packet, log); repeatable.", valueName: "kind"))
    var kinds: [String] = []

    func validate() throws {
        for k in kinds where EventKind(name: k) == nil {
            throw ValidationError("unknown kind \(k); known: \(EventKind.allCases.map { $0.name }.joined(separator: ", "))")
        }
        if let from, TimeArgument.parse(from) == nil { throw ValidationError("--from: cannot read \(from) as a time") }
        if let to, TimeArgument.parse(to) == nil { throw ValidationError("--to: cannot read \(to) as a time") }
        for c in conns where ConnectionMatch.parse(c) == nil { throw ValidationError("--conn: cannot read \(c) as endpoints") }
    }

    func filter(store: any StoreReader) throws -> EventFilter {
        var f = EventFilter()
        f.from = from.flatMap(TimeArgument.parse)
        f.to = to.flatMap(TimeArgument.parse)
        f.hosts = hosts
        f.grep = grep
        f.kinds = kinds.compactMap(EventKind.init(name:))
        if !conns.isEmpty {
            var keys: [Int64] = []
            for c in conns { keys += try ConnectionMatch.parse(c)!.find(in: store).map { $0.key } }
            f.conns = keys
        }
        return f
    }
}

/// Times users type: `2013-01-06T09:52:15.4Z`, `2013-01-06 09:52:15`, or `+12.5` (seconds, relative sources).
enum TimeArgument {
    static func parse(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: "Z") { bytes.removeLast() }
        return bytes.withUnsafeBufferPointer { b -> Int64? in
            if b.first == UInt8(ascii: "+") { return b.decimalSeconds(1, b.count)?.ns }
            guard let sep = b.firstIndex(where: { $0 == UInt8(ascii: "T") || $0 == ASCII.space }) else {
                return b.date(0, b.count).map { $0 * CivilTime.nsPerDay }
            }
            guard let days = b.date(0, sep), let tod = b.timeOfDay(sep + 1, b.count) else { return nil }
            return days * CivilTime.nsPerDay + tod.ns
        }
    }
}

/// One or two endpoints naming connections: `10.0.0.1`, `10.0.0.1:5000`, `a:1,b:2`.
struct ConnectionMatch {
    var endpoints: [Endpoint]

    static func parse(_ text: String) -> ConnectionMatch? {
        let parts = text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        return parse(parts)
    }

    static func parse(_ parts: [String], names: [String: Address] = [:]) -> ConnectionMatch? {
        guard (1...2).contains(parts.count) else { return nil }
        let eps = parts.compactMap { Endpoint(userText: $0) ?? named($0, names) }
        return eps.count == parts.count ? ConnectionMatch(endpoints: eps) : nil
    }

    /// `server.tj.test:8080` or `server.tj.test`: a host name a source gave (pcapng name block, tcpdump).
    static func named(_ text: String, _ names: [String: Address]) -> Endpoint? {
        let (name, port) = splitName(text)
        guard let a = names[name.lowercased()] else { return nil }
        return Endpoint(address: a, port: port)
    }

    static func splitName(_ text: String) -> (String, Int32) {
        if let colon = text.lastIndex(of: ":"), let p = Int32(text[text.index(after: colon)...]), (0...65535).contains(p) {
            return (String(text[..<colon]), p)
        }
        return (text, -1)
    }

    /// Whether the text could be a host name with an optional port (checked against the store later).
    static func looksLikeName(_ text: String) -> Bool {
        let name = splitName(text).0
        return !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }
    }

    func matches(_ c: ConnectionRow, _ e: Endpoint) -> (Bool, Bool) {
        let t = e.address.text
        let pa = e.port < 0 || Int(e.port) == c.aport
        let pb = e.port < 0 || Int(e.port) == c.bport
        return (c.a == t && pa, c.b == t && pb)
    }

    func find(in store: any StoreReader) throws -> [ConnectionRow] {
        let first = endpoints[0]
        let candidates = try store.connections(address: first.address.text, port: first.port < 0 ? nil : Int(first.port))
        guard endpoints.count == 2 else { return candidates }
        return candidates.filter { c in
            let (a0, b0) = matches(c, endpoints[0])
            let (a1, b1) = matches(c, endpoints[1])
            return (a0 && b1) || (b0 && a1)
        }
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Lines for the user that are not the command's output.
func note(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
