import Foundation
import GRDB
import TraceModel
import Parsers

/// How `ingest --follow` paces itself.
public struct FollowOptions: Sendable {
    /// Seconds between looks at files that did not grow (and checks for rotation).
    public var poll = 0.05
    /// The longest a line read waits for its commit (seconds): a reader of the store (WAL) sees it by
    /// then. Lines are committed sooner when every file has been read to its end.
    public var commitInterval = 0.2
    /// Lines read that make a commit due sooner: a burst becomes several small transactions rather than
    /// one that keeps readers waiting.
    public var commitLines = 20_000
    /// Seconds a file rotated away is still read after it last grew: a writer that reopens its log on a
    /// signal (logrotate's `postrotate`) may append to the old file for a moment.
    public var rotationGrace = 1.0
    /// Seconds a file must be quiet before its parser lets go of a record it holds to see whether more
    /// lines join it (`LineParser.idle`): long enough for a writer to finish writing one record, short
    /// enough that the last record of a burst reaches readers well within a second.
    public var idleFlush = 0.25
    /// Stop after this many seconds (`--follow-for`); nil: until `stop` is set (Ctrl-C).
    public var duration: Double? = nil

    public init() {}
}

/// A stop request: set from a signal handler's queue, read by the follow loop between rounds.
public final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    public init() {}

    public func stop() { lock.lock(); value = true; lock.unlock() }

    public var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// Follows growing text files into the store (`ingest --follow`), as `tail -F` does: reads what each
/// file gains, parses whole lines only, and commits in small transactions so that readers of the store
/// (the `view`, another `timeline`) see new events within a fraction of a second.
///
/// Two threads, as in a plain ingest: this one reads, splits and parses, and hands what a commit holds to
/// a writer thread (`Committer`) through a short bounded queue; each takes about half of a line's cost.
/// A commit holds exactly the whole lines read before it was handed over.
///
/// Rotation: when a new file appears under the followed name (another inode) the old one is read on
/// until it has been quiet for `rotationGrace`, then ended; the new one is read from its start as a new
/// source. It is a new source rather than the old one continued because a source is one file's text:
/// its events point into that text by byte offset, its lines are that file's lines (so `file:line` of
/// an event can be opened), its content hash is that file's, and its format is sniffed from its own
/// first lines. The old source's path is changed to where the old file went (`app.log.1`) when it can be
/// found in the same folder. A file truncated in place (copytruncate) is likewise ended and read anew.
public final class Follower {
    let store: Store
    let options: IngestOptions
    let tuning: FollowOptions
    let services: ServiceNames
    /// What a person watching should know as it happens (a file opened, rotated, refused), one line each.
    public var note: ((String) -> Void)?

    public init(store: Store, options: IngestOptions, tuning: FollowOptions = FollowOptions()) {
        self.store = store
        self.options = options
        self.tuning = tuning
        services = Ingestor(store: store).services
    }

    /// One followed path: the file open under it now, and whether its absence was told.
    private final class Watched {
        let path: String
        var file: FollowedFile?
        var toldMissing = false
        var givenUp = false
        init(path: String) { self.path = path }
    }

    /// Follows `paths` until `stop` is set or `tuning.duration` has passed; returns one report per
    /// source read (a rotated file gives one per file).
    public func run(paths: [String], stop: StopFlag) throws -> [IngestReport] {
        let started = Date()
        let forced: ParserKind?
        if let id = options.format {
            guard let k = Registry.parser(id: id) else { throw FollowError.cannotOpen(id, "unknown format; `tracejoin formats` lists them") }
            forced = k
        } else {
            forced = nil
        }
        try store.ensureIndexes()
        let watched = paths.map { Watched(path: $0) }
        var draining: [FollowedFile] = []
        var done: [FollowedFile] = []
        // One read a round: commits are due between rounds, so a burst is committed piece by piece.
        let budget = InputFile.chunkSize
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: InputFile.chunkSize)
        defer { buffer.deallocate() }
        var uncommittedSince: Date? = nil
        /// Paths given up before a file of theirs was open (cannot be opened or continued).
        var refused: [IngestReport] = []
        let committer = Committer(store: store, note: note)

        /// Opens a path; a path that cannot be opened (or continued) is given up with its reason, the
        /// others are followed on.
        func openOrGiveUp(_ w: Watched) -> FollowedFile? {
            do {
                return try open(w.path, forced: forced)
            } catch {
                note?("\(error)")
                refused.append(IngestReport(file: w.path, status: .failed("\(error)")))
                w.givenUp = true
                return nil
            }
        }

        func stopping() -> Bool {
            stop.isSet || tuning.duration.map { Date().timeIntervalSince(started) >= $0 } ?? false
        }

        /// Reads what `f` gained; a read error ends that file (with what it had) and no other.
        func readNew(_ f: FollowedFile) -> (bytes: Int, atEnd: Bool) {
            do {
                let n = try f.readNew(budget: budget, buffer: buffer)
                return (n, n < budget)
            } catch {
                note?("\(error)")
                f.report.facts.warnings.append("\(error); ended there")
                f.finish(complete: false)
                return (0, true)
            }
        }

        while true {
            let ending = stopping()
            var grew = false
            var caughtUp = true
            for w in watched where !w.givenUp {
                if w.file == nil {
                    w.file = openOrGiveUp(w)
                    if w.givenUp { continue }
                    if w.file == nil {
                        if !w.toldMissing { note?("\(w.path): no such file yet; waiting for it") }
                        w.toldMissing = true
                        continue
                    }
                }
                guard let f = w.file else { continue }
                let got = readNew(f)
                if got.bytes > 0 { grew = true }
                if !got.atEnd { caughtUp = false }
                if f.facts != nil {
                    // Ended by a read error (said above): what it gave is kept, the path is not read again.
                    done.append(f)
                    w.file = nil
                    w.givenUp = true
                    continue
                }
                if f.reading == nil && f.facts == nil && !f.closed {
                    switch f.detect(forced: forced) {
                    case .wait: break
                    case .start(let kind): start(f, kind)
                    case .refuse(let status):
                        f.refuse(status)
                        note?(Follower.describe(f.report))
                        done.append(f)
                        w.givenUp = true
                        continue
                    }
                }
                if got.atEnd && Date().timeIntervalSince(f.lastGrowth) >= tuning.idleFlush { f.idle() }
                guard got.atEnd, !ending else { continue }
                switch f.rotation() {
                case .same, .gone:
                    break
                case .replaced:
                    // Read to its end just now; what the writer still appends to it is read while draining.
                    note?("\(f.path): rotated (a new file has its name); reading the new one from its start, the old one until it is quiet")
                    // Its last record is let go now rather than after the grace: the writer moved on, and
                    // held back it would reach the store after the new file's first lines.
                    f.idle()
                    draining.append(f)
                    w.file = openOrGiveUp(w)
                case .truncated:
                    note?("\(f.path): truncated in place; reading it again from its start as a new source")
                    f.finish(complete: true)
                    done.append(f)
                    w.file = openOrGiveUp(w)
                }
            }
            for f in draining {
                let got = readNew(f)
                if got.bytes > 0 { grew = true }
                if !got.atEnd { caughtUp = false }
                if got.atEnd && f.facts == nil && Date().timeIntervalSince(f.lastGrowth) >= tuning.idleFlush { f.idle() }
                if f.facts == nil && !f.closed && (ending || Date().timeIntervalSince(f.lastGrowth) >= tuning.rotationGrace) {
                    // Quiet: nothing more will come, so its last bytes are its last line. (Stopping: as any
                    // followed file, an unfinished last line stays unread.)
                    f.rotatedTo = Follower.findRenamed(f)
                    f.finish(complete: !ending)
                }
                if f.facts != nil || f.closed { done.append(f) }
            }
            draining.removeAll { $0.facts != nil || $0.closed }
            if ending {
                for w in watched { if let f = w.file { f.finish(complete: false); done.append(f); w.file = nil } }
            }

            // Commit when the whole lines read have waited long enough, are many, or every file is read to
            // its end (nothing to gain by waiting), and always on the way out.
            // Oldest text first (files ended, then rotated away, then the ones under the names now), so
            // that within a commit too the store's order is the order the lines were written in.
            let active = done.filter { !$0.closed } + draining + watched.compactMap { $0.file }
            let pendingLines = active.reduce(0) { $0 + $1.uncommittedLines }
            if active.contains(where: { $0.hasWork }) {
                if uncommittedSince == nil { uncommittedSince = Date() }
                if ending || caughtUp || pendingLines >= tuning.commitLines
                    || Date().timeIntervalSince(uncommittedSince!) >= tuning.commitInterval {
                    let units = active.compactMap { $0.takeCommit(options: options) }
                    // Blocks while the writer is a few commits behind: reading waits rather than memory growing.
                    if !units.isEmpty { committer.queue.put(units) }
                    uncommittedSince = nil
                }
            }
            for f in done where !f.closed && (f.factsSent || f.reading == nil) { f.closeFile() }
            if ending || committer.failure != nil { break }
            if !grew { Thread.sleep(forTimeInterval: tuning.poll) }
        }
        committer.queue.close()
        committer.wait()
        if let e = committer.failure { throw e }
        return refused + done.map { f in
            var r = f.reading == nil ? f.report : f.target.report
            r.seconds = Date().timeIntervalSince(started)
            return r
        }
    }

    /// Opens a followed path (nil while it does not exist), continuing a source the store already holds
    /// when the file begins with that source's bytes.
    private func open(_ path: String, forced: ParserKind?) throws -> FollowedFile? {
        guard let f = try FollowedFile(path: path, host: options.host) else { return nil }
        let rows = try store.db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, format, host, bytes, lines, events, unparsed, first_ts, last_ts, content_hash FROM source WHERE path = ?
                """, arguments: [path])
        }
        let candidates = rows.map { r in
            FollowedFile.StoredSource(id: r["id"], format: r["format"], host: r["host"], bytes: r["bytes"], lines: r["lines"],
                                      events: r["events"], unparsed: r["unparsed"], firstTS: r["first_ts"], lastTS: r["last_ts"])
        }
        let hashes = Dictionary(uniqueKeysWithValues: rows.map { ($0["id"] as Int64, $0["content_hash"] as String) })
        try f.resume(from: candidates, hashes: hashes)
        if let s = f.stored {
            guard let kind = Registry.parser(id: s.format) else {
                throw FollowError.cannotResume(path, "its source \(s.id) was read as \(s.format), a format not loaded now (--parsers?)")
            }
            start(f, kind)
            note?("\(path): continuing source \(s.id) (\(s.format)) after its \(s.lines) stored lines")
        }
        return f
    }

    private func start(_ f: FollowedFile, _ kind: ParserKind) {
        let context = ParseContext(path: f.path, zoneOffset: options.zoneOffset, services: services,
                                   hostAddresses: (try? store.hostAddresses()) ?? [:], takenAt: options.takenAt,
                                   modified: InputFile(path: f.path).modificationTime)
        f.start(kind, context: context)
        if f.stored == nil { note?("\(f.path): following as \(kind.id), host \(f.report.host ?? "?")") }
    }

    /// The writer thread: takes the commits in order and writes each in one transaction, with the derived
    /// tables marked stale (clocks, lifecycles) as a plain ingest marks them, so views recompute them.
    /// Reading and parsing go on meanwhile on the follower's thread, as a plain ingest's parser thread
    /// and writer do: each takes about half of a line's cost (bench/follow.sh).
    final class Committer: @unchecked Sendable {
        /// A few commits' room: a commit holds at most `commitLines` lines or one read's worth.
        let queue = BatchQueue<[FileCommit]>(capacity: 4)
        private let finished = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var error: Error?

        var failure: Error? { lock.lock(); defer { lock.unlock() }; return error }

        init(store: Store, note: ((String) -> Void)?) {
            let thread = Thread { [self] in
                var toldBusy = false
                while let units = queue.take() {
                    if failure != nil { continue } // drain, so that the reader never blocks
                    // Another process writing to the store (a plain ingest, a pass) holds its write lock: BEGIN
                    // IMMEDIATE (GRDB's default for a writable connection) fails before anything is written,
                    // so the same commit is tried again, for a while.
                    let giveUpAt = Date().addingTimeInterval(30)
                    while true {
                        do {
                            try store.db.write { db in
                                var events = false
                                for u in units { if try u.target.apply(db, u) { events = true } }
                                if events { for name in ["lifecycle", "clocks"] { try Store.markStale(db, name) } }
                            }
                        } catch let e as DatabaseError where e.resultCode == .SQLITE_BUSY && Date() < giveUpAt {
                            if !toldBusy { note?("the store is busy with another writer; committing as soon as it is free") }
                            toldBusy = true
                            Thread.sleep(forTimeInterval: 0.1)
                            continue
                        } catch {
                            lock.lock()
                            self.error = error
                            lock.unlock()
                        }
                        break
                    }
                }
                finished.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }

        func wait() { finished.wait() }
    }

    /// Where a rotated file went: the file with its inode in the same folder (`app.log.1`), if any.
    static func findRenamed(_ f: FollowedFile) -> String? {
        let dir = (f.path as NSString).deletingLastPathComponent
        let folder = dir.isEmpty ? "." : dir
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return nil }
        for name in names.sorted() {
            let p = dir.isEmpty ? name : (dir as NSString).appendingPathComponent(name)
            var st = stat()
            if stat(p, &st) == 0 && UInt64(st.st_ino) == f.inode && UInt64(st.st_dev) == f.device && p != f.path { return p }
        }
        return nil
    }

    static func describe(_ r: IngestReport) -> String {
        switch r.status {
        case .failed(let why): return "\(r.file): not followed: \(why)"
        case .unknownFormat: return "\(r.file): not followed: unknown format (no parser recognises its first lines; --format to force one)"
        default: return "\(r.file): \(r.status)"
        }
    }
}

extension Ingestor {
    /// The head every sniffer is given, and the span of `source.head_hash`.
    static let headSize = 64 << 10
}
