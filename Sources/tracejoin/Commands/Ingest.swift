import ArgumentParser
import Foundation
import TraceModel
import Parsers
import EventStore
import Timeline

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load files into the store.",
        discussion: """
        Each file's format is detected from its first lines (--format forces one). Per file it prints \
        the format, host, events, lines not understood and the first and last time. The same content \
        ingested twice adds nothing. Exit status: 0 all read, 2 some lines or files not understood, \
        1 nothing could be read.

        With --follow the files are read as they grow, like `tail -F`: whole lines only (a line is read \
        once its line feed is written), committed at least every 0.2 s, so that a `timeline` or `view` on \
        the same store sees them within a second. A file that is rotated (a new file under its name) or \
        truncated is read to its end and the new one from its start, as a new source; a file that does not \
        exist yet is waited for. Only line-based text formats can be followed, not captures (pcap, \
        pcapng, PDML) or .gz/.zip files. Run again on a file stopped earlier, it continues that source after \
        the lines already stored. Clocks and connection lifecycles are recomputed as events arrive: once \
        the files have been quiet for a second, and at least every 5 s while they keep growing. Ctrl-C (or SIGTERM, or --follow-for) commits what was read and stops; \
        an unfinished last line is left for the next run.

        --store clickhouse+http://HOST:PORT/DATABASE?dataset=NAME loads the files into a ClickHouse dataset: \
        through a staging SQLite store in the temporary folder where the joiner's passes run, pushed, then \
        removed (see `tracejoin push`). Not with --follow.
        """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var ingest: IngestArguments
    @Flag(help: "Keep reading the files as they grow (and across rotation) until Ctrl-C; line-based text formats only.")
    var follow = false
    @Option(name: .customLong("follow-for"), help: ArgumentHelp("With --follow: stop after this many seconds.", valueName: "seconds"))
    var followFor: Double?
    @Flag(help: .hidden) var parseOnly = false

    func validate() throws {
        if store.isClickHouse && (follow || parseOnly) {
            throw ValidationError("--follow writes a SQLite store; ingest into one and push it to ClickHouse")
        }
        if let followFor, !(followFor > 0) || !followFor.isFinite { throw ValidationError("--follow-for wants a number of seconds above 0; got \(followFor)") }
        if followFor != nil && !follow { throw ValidationError("--follow-for goes with --follow") }
        guard follow else { return }
        if parseOnly { throw ValidationError("--parse-only measures a plain ingest; not with --follow") }
        if let f = ingest.format, let kind = Registry.parser(id: f), case .capture = kind {
            throw ValidationError("--follow reads line-based text; \(f) is a capture format (ingest it without --follow)")
        }
        for p in ingest.paths {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
                throw ValidationError("--follow follows files, and \(p) is a folder: name the files in it")
            }
        }
        if Set(ingest.paths).count != ingest.paths.count { throw ValidationError("--follow: a file is named twice") }
    }

    func run() throws {
        if store.isClickHouse {
            try ClickHouseIngest.run(url: store.store, arguments: ingest)
            return
        }
        let s = try store.open()
        if follow {
            let reports = try FollowRunner.run(store: s, arguments: ingest, duration: followFor)
            try IngestRunner.exit(for: reports)
            return
        }
        let reports = try IngestRunner.run(store: s, arguments: ingest, parseOnly: parseOnly)
        try IngestRunner.exit(for: reports)
    }
}

/// `ingest --follow`: follows until Ctrl-C, SIGTERM or --follow-for, telling on stderr what happens to
/// each file (opened, rotated, refused), then prints one line per source as `ingest` does.
enum FollowRunner {
    static func run(store: Store, arguments: IngestArguments, duration: Double?) throws -> [IngestReport] {
        let stop = StopFlag()
        // The signals stop the loop between two rounds rather than the process: what was read is committed
        // first. (Ignored as signals, delivered as dispatch events.)
        let handlers = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let h = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            h.setEventHandler {
                // A second Ctrl-C quits at once: what was committed stays, a later run continues after it.
                if stop.isSet { exit(130) }
                stop.stop()
                note("stopping: committing what was read (Ctrl-C again to quit at once)")
            }
            h.resume()
            return h
        }
        defer {
            for h in handlers { h.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        var tuning = FollowOptions()
        tuning.duration = duration
        let follower = Follower(store: store, options: arguments.options, tuning: tuning)
        follower.note = { note($0) }
        // Clocks and lifecycles recomputed as events arrive (on a debounce), for a view open meanwhile. They run
        // beside the follower's own notes, so they keep no status line of their own.
        PassProgress.report = nil
        let refresher = PassRefresher(store: store, note: { note($0) })
        refresher.start()
        let reports: [IngestReport]
        do {
            defer { refresher.stop() }
            reports = try follower.run(paths: arguments.paths, stop: stop)
        } catch let e as FollowError {
            throw CLIError(e.description)
        }
        if let anchor = arguments.anchor.flatMap(TimeArgument.parse) {
            for id in reports.compactMap({ $0.status == .loaded ? $0.sourceID : nil }) {
                if !(try store.anchor(source: id, at: anchor)) {
                    note("source \(id) writes calendar times: --anchor left it as it is")
                }
            }
        }
        let sources = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0) })
        for r in reports { print(IngestRunner.line(r, source: r.sourceID.flatMap { sources[$0] })) }
        return reports
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
        case .parsedOnly: return "\(r.file): \(r.format ?? "?"), \(r.events) events parsed (--parse-only: nothing stored)"
        }
    }

    static func exit(for reports: [IngestReport]) throws {
        if !reports.contains(where: { $0.status == .loaded || $0.status == .parsedOnly || $0.status.isDuplicate }) { throw ExitCode(1) }
        if reports.contains(where: { $0.isPartial }) { throw ExitCode(2) }
    }
}

extension IngestReport.Status {
    var isDuplicate: Bool { if case .duplicate = self { return true }; return false }
}
