import ArgumentParser
import Foundation
import TraceModel
import Parsers
import EventStore

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load files into the store.",
        discussion: """
        Each file's format is detected from its first lines (--format forces one). Per file it prints \
        the format, host, events, lines not understood and the first and last time. The same content \
        ingested twice adds nothing. Exit status: 0 all read, 2 some lines or files not understood, \
        1 nothing could be read.
        """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var ingest: IngestArguments
    @Flag(help: .hidden) var parseOnly = false

    func run() throws {
        let s = try store.open()
        let reports = try IngestRunner.run(store: s, arguments: ingest, parseOnly: parseOnly)
        try IngestRunner.exit(for: reports)
    }
}

/// Shared by `ingest` and `analyze`: runs the ingest, prints one line per file, shows progress.
enum IngestRunner {
    static func run(store: Store, arguments: IngestArguments, parseOnly: Bool = false) throws -> [IngestReport] {
        let inputs: [InputFile]
        do {
            inputs = try InputDiscovery.expand(arguments.paths)
        } catch {
            throw CLIError("\(error)")
        }
        if inputs.isEmpty { throw CLIError("no files found in \(arguments.paths.joined(separator: ", "))") }
        let ingestor = Ingestor(store: store)
        ingestor.parseOnly = parseOnly
        let tty = isatty(2) != 0
        if tty {
            // One status line on stderr, rewritten in place (\r, clear line), cleared at the end.
            ingestor.progress = { p in
                let pct = p.bytesTotal > 0 ? Int(100 * p.bytesRead / p.bytesTotal) : 0
                FileHandle.standardError.write(Data("\r\u{1B}[2K\((p.file as NSString).lastPathComponent): \(pct)%, \(p.events) events".utf8))
            }
        }
        let reports = try ingestor.ingest(inputs, options: arguments.options)
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        if let anchor = arguments.anchor.flatMap(TimeArgument.parse) {
            for id in reports.compactMap({ $0.status == .loaded ? $0.sourceID : nil }) {
                if !(try store.anchor(source: id, at: anchor)) {
                    note("source \(id) writes calendar times: --anchor left it as it is")
                }
            }
        }
        let sources = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0) })
        for r in reports { print(line(r, source: r.sourceID.flatMap { sources[$0] })) }
        return reports
    }

    static func time(_ ns: Int64?, _ s: SourceInfo?) -> String {
        guard let ns, let s else { return "-" }
        if s.clock != SourceClock() { return CivilTime.iso8601(s.clock.aligned(ns), digits: s.timeDigits) + " (\(s.clockMethod ?? "clock"))" }
        switch s.timeBasis {
        case .absolute: return CivilTime.iso8601(ns, digits: s.timeDigits)
        case .timeOfDay: return CivilTime.timeOfDay(ns, digits: s.timeDigits) + " (no date)"
        case .relative: return CivilTime.relative(ns, digits: s.timeDigits) + " (relative)"
        }
    }

    static func line(_ r: IngestReport, source: SourceInfo?) -> String {
        switch r.status {
        case .loaded:
            if r.events == 0, let n = r.facts.notes["processes"] {
                // A tasklist: facts about its host, no events.
                return "\(r.file): \(r.format ?? "?"), host \(r.host ?? "?"), \(n) processes listed (they name that host's events that carry only a PID)"
            }
            var out = "\(r.file): \(r.format ?? "?"), host \(r.host ?? "?"), \(r.events) events, \(r.unparsed) lines not understood, \(time(r.firstTS, source)) … \(time(r.lastTS, source))"
            if let tz = source, !tz.zoneGiven, tz.timeBasis != .relative { out += " (zone assumed UTC; --tz to say otherwise)" }
            for w in r.facts.warnings { out += "\n  \(r.file): \(w)" }
            for u in r.unparsedSamples.prefix(3) {
                out += "\n  \(r.file):\(u.line): \(u.reason): \(String(u.raw.prefix(100)))"
            }
            if r.unparsed > 3 { out += "\n  … \(r.unparsed - 3) more (SELECT * FROM unparsed)" }
            return out
        case .duplicate(let prior): return "\(r.file): already in the store (same content as \(prior)); nothing added"
        case .unknownFormat where r.found: return "\(r.file): skipped: not a format tracejoin reads"
        case .unknownFormat: return "\(r.file): unknown format, not loaded (binary, or no parser recognises its first lines; --format to force one)"
        case .empty: return "\(r.file): empty, nothing to load"
        case .failed(let why): return "\(r.file): failed, nothing of it stored: \(why)"
        }
    }

    static func exit(for reports: [IngestReport]) throws {
        if !reports.contains(where: { $0.status == .loaded || $0.status.isDuplicate }) { throw ExitCode(1) }
        if reports.contains(where: { $0.isPartial }) { throw ExitCode(2) }
    }
}

extension IngestReport.Status {
    var isDuplicate: Bool { if case .duplicate = self { return true }; return false }
}
