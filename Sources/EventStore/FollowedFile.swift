import Foundation
import GRDB
import TraceModel
import Parsers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One file being followed: its descriptor, the bytes read but not yet parsed, and — once its format is
/// known — the same line splitter, parser and text chunker for its whole life, so that line numbers,
/// text offsets and a parser's state across lines (held packet rows, multi-line records, table
/// headers) carry over from one append to the next exactly as if the file had been read in one go.
///
/// It reads and parses; it never touches the database except in `commit`, which the follower calls
/// inside its write transaction.
final class FollowedFile {
    /// The path as the user named it (what `source.path` says while following).
    let path: String
    private(set) var fd: Int32
    /// Which file this is: a new inode at `path` means the file was rotated.
    let device: UInt64
    let inode: UInt64
    /// Bytes read from the descriptor so far.
    private(set) var readOffset: Int64 = 0
    /// Bytes read but not given to the parser: the unfinished last line (for UTF-8 and ASCII, everything
    /// after the last line feed). Lines are parsed only once their line feed is there.
    private(set) var held: [UInt8] = []
    /// Bytes given to the parser: whole lines only.
    private(set) var consumed: Int64 = 0
    private(set) var lastGrowth = Date()
    var report: IngestReport
    private(set) var reading: Reading?
    /// Set once the file is given up (refused format, read error) or finished.
    private(set) var closed = false
    /// The rows to write at the next commit.
    let outbox = Outbox()
    /// What the end of the file told (parser facts): set by `finish`, written by the next commit.
    private(set) var facts: SourceFacts?
    /// Where a rotated file went (`app.log.1`), found by its inode; written with the final commit.
    var rotatedTo: String?

    /// Everything that exists once the format is known.
    final class Reading {
        let kind: ParserKind
        var parser: any LineParser
        var splitter = LineSplitter()
        let text: TextChunker
        let sink: Ingestor.BatchingSink
        var lines = 0
        var hash = ContentHash()
        var head = ContentHash()
        var headBytes = 0
        /// Lines the store already holds (a resumed source): records of those lines are not written again.
        var storedLines = 0
        /// Replaying the stored part of a resumed source: nothing it produces is written.
        var replaying = false

        init(kind: ParserKind, parser: any LineParser, outbox: Outbox) {
            self.kind = kind
            self.parser = parser
            let put: (Ingestor.Batch) -> Void = { [unowned outbox] in outbox.put($0) }
            text = TextChunker(put: put)
            sink = Ingestor.BatchingSink(put: put, text: text)
        }
    }

    /// Batches the parser produced since the last commit.
    final class Outbox {
        var items: [Ingestor.Batch] = []
        /// Records of these first lines are already in the store (a resumed source).
        var skipThroughLine = 0
        var dropAll = false

        func put(_ b: Ingestor.Batch) {
            if dropAll { return }
            switch b {
            case .events(let records) where skipThroughLine > 0:
                let fresh = records.filter { $0.line > skipThroughLine }
                if !fresh.isEmpty { items.append(.events(fresh)) }
            case .unparsed(let lines) where skipThroughLine > 0:
                let fresh = lines.filter { $0.line > skipThroughLine }
                if !fresh.isEmpty { items.append(.unparsed(fresh)) }
            default:
                items.append(b)
            }
        }
    }

    /// The stored source this file continues, when it is one (set by `resume`).
    struct StoredSource {
        var id: Int64
        var format: String
        var host: String
        var bytes: Int64
        var lines: Int
        var events: Int
        var unparsed: Int
        var firstTS: Int64?
        var lastTS: Int64?
    }

    private(set) var stored: StoredSource?
    /// The writer thread's side of this file: its source row, statements and counts.
    let target: SourceWriter
    /// What was handed to the writer so far.
    private var textSent: Int64 = -1
    private var linesSent = 0
    private var everSent = false
    private(set) var factsSent = false

    /// Opens `path` for reading from its start; nil when there is no such file (yet).
    init?(path: String, host: String?) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw FollowError.cannotOpen(path, String(cString: strerror(errno)))
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw FollowError.cannotOpen(path, why)
        }
        if (st.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw FollowError.cannotOpen(path, "not a regular file (--follow reads files, not folders or devices)")
        }
        self.path = path
        self.fd = fd
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        report = IngestReport(file: path, status: .loaded)
        report.host = host ?? Ingestor.defaultHost(InputFile(path: path))
        target = SourceWriter(path: path)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Whether there is anything read and not handed to the writer (or a finish, or the source row).
    var hasWork: Bool {
        guard let r = reading else { return false }
        return !outbox.items.isEmpty || r.lines != linesSent || r.text.offset != textSent || !everSent || (facts != nil && !factsSent)
    }

    var uncommittedLines: Int { (reading?.lines ?? 0) - linesSent }

    // MARK: - Reading

    /// Reads what the file gained since the last call, up to about `budget` bytes, and parses its whole
    /// lines. Returns the bytes read: fewer than `budget` means the end of the file was reached.
    func readNew(budget: Int, buffer: UnsafeMutableBufferPointer<UInt8>) throws -> Int {
        guard !closed else { return 0 }
        var total = 0
        while total < budget {
            let n = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw FollowError.readFailed(path, String(cString: strerror(errno)))
            }
            if n == 0 { break }
            total += n
            readOffset += Int64(n)
            held.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<n]))
            if reading != nil { takeWholeLines() }
        }
        if total > 0 {
            lastGrowth = Date()
            idled = false
        }
        return total
    }

    /// Gives the parser every whole line held. A line longer than the splitter's limit is handed over
    /// anyway: the splitter cuts it there and reports it, as a plain ingest does.
    func takeWholeLines() {
        guard reading != nil, !held.isEmpty else { return }
        if let nl = held.lastIndex(of: 0x0A) {
            feed(count: nl + 1)
        } else if held.count > LineSplitter.defaultMaxLine {
            feed(count: held.count)
        }
    }

    private func feed(count: Int) {
        guard count > 0 else { return }
        held.withUnsafeBufferPointer { feedBytes(UnsafeBufferPointer(rebasing: $0[0..<count])) }
        held.removeFirst(count)
    }

    /// Whole lines (or, at a file's end, its last bytes) to the content hash, the splitter and the parser.
    private func feedBytes(_ b: UnsafeBufferPointer<UInt8>) {
        guard let r = reading else { return }
        r.hash.update(b)
        if r.headBytes < Ingestor.headSize {
            let take = min(Ingestor.headSize - r.headBytes, b.count)
            r.head.update(UnsafeBufferPointer(rebasing: b[0..<take]))
            r.headBytes += take
        }
        r.splitter.feed(b) { line in
            r.lines = line.number
            r.parser.consume(line, into: r.sink)
        }
        consumed += Int64(b.count)
    }

    /// Whether the parser was told that the file is quiet since it last grew.
    private var idled = false

    /// The file is quiet: the parser may let go of the record it holds (once per quiet spell).
    func idle() {
        guard let r = reading, !idled, facts == nil else { return }
        idled = true
        r.parser.idle(into: r.sink)
        r.sink.flush() // into the outbox, where the next commit finds it
    }

    /// What the next step for a file whose format is not known yet is.
    enum Detection {
        case wait
        case start(ParserKind)
        case refuse(IngestReport.Status)
    }

    /// Decides the format from the bytes held: by `--format`, else from the first whole lines as a plain
    /// ingest does. A text head is judged only once it holds a whole line (a half line can look like
    /// anything); a capture or a compressed file is refused at once: neither is read line by line.
    func detect(forced: ParserKind?) -> Detection {
        if held.isEmpty { return .wait }
        if held.count >= 2 && held[0] == 0x1F && held[1] == 0x8B || held.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return .refuse(.failed("compressed (gzip or zip): --follow reads growing plain-text files; ingest it without --follow"))
        }
        let head = Array(held.prefix(Ingestor.headSize))
        let kind: ParserKind?
        if let forced { kind = forced } else { kind = Registry.detect(bytes: head) }
        if let kind, case .capture = kind {
            return .refuse(.failed("\(kind.id) is a capture, read by blocks, not lines: --follow reads line-based text only "
                                   + "(ingest the capture without --follow once written, or follow a text export such as `tshark -l … > live.txt`)"))
        }
        let newlines = head.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
        if newlines == 0 && held.count < Ingestor.headSize { return .wait }
        if let kind { return .start(kind) }
        // Nothing claims it yet: a few more lines may tell (a header alone often says little).
        if newlines < 50 && held.count < Ingestor.headSize { return .wait }
        return .refuse(.unknownFormat)
    }

    /// Starts parsing with `kind` and gives it the whole lines already held.
    func start(_ kind: ParserKind, context: ParseContext) {
        guard let parser = kind.lineParser(context: context) else { return }
        let r = Reading(kind: kind, parser: parser, outbox: outbox)
        r.splitter.onDecoded = { [unowned r] in r.text.append($0) }
        reading = r
        report.format = kind.id
        if let s = stored {
            // Replay the stored part through the same pipeline, writing nothing: the parser, splitter and
            // text chunker then stand exactly where they stood when the last run stopped (a table's header,
            // a held packet row, the text piece being filled), and line numbers continue from there. It is
            // read straight from the file, so memory stays flat whatever its size; `resume` checked that
            // these bytes are the stored ones.
            precondition(readOffset == 0 && held.isEmpty, "a resumed file is replayed before anything else is read")
            r.storedLines = s.lines
            outbox.dropAll = true
            let buf = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: InputFile.chunkSize)
            defer { buf.deallocate() }
            var left = s.bytes
            while left > 0 {
                let n = Foundation.read(fd, buf.baseAddress, Int(min(Int64(buf.count), left)))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break } // shrank meanwhile: the rotation check sees it next
                feedBytes(UnsafeBufferPointer(rebasing: buf[0..<n]))
                readOffset += Int64(n)
                left -= Int64(n)
            }
            r.sink.flush()
            outbox.dropAll = false
            outbox.items.removeAll()
            outbox.skipThroughLine = s.lines
            linesSent = r.lines
            textSent = r.text.offset
        }
        takeWholeLines()
    }

    /// Gives up on the file with this status (nothing of it is read further).
    func refuse(_ status: IngestReport.Status) {
        report.status = status
        closed = true
        close(fd)
        fd = -1
    }

    /// How the file at `path` relates to the one open.
    enum Rotation {
        case same
        /// No file at the path: a rotation in progress (renamed, the new one not created yet) or a deleted
        /// file; the open descriptor is still read.
        case gone
        /// Another file at the path: rotated (renamed away and created anew).
        case replaced
        /// The same file, shorter than what was read: truncated in place (logrotate's copytruncate).
        case truncated
    }

    func rotation() -> Rotation {
        var st = stat()
        if stat(path, &st) != 0 { return .gone }
        if UInt64(st.st_dev) != device || UInt64(st.st_ino) != inode { return .replaced }
        if Int64(st.st_size) < readOffset { return .truncated }
        return .same
    }

    /// Ends the file. `complete`: nothing more will be written to it (rotated away and quiet, or
    /// truncated), so a last line without a line feed is still a line, as in a plain ingest. Otherwise
    /// (the user stopped) an unfinished last line is left unread: it may still be being written.
    func finish(complete: Bool) {
        guard !closed else { return }
        guard let r = reading else {
            // Its format was never known: nothing, or too little to tell, was written to it.
            refuse(held.isEmpty ? .empty : .unknownFormat)
            return
        }
        guard facts == nil else { return }
        if complete {
            feed(count: held.count)
            r.splitter.finish { line in
                r.lines = line.number
                r.parser.consume(line, into: r.sink)
            }
        } else if !held.isEmpty {
            report.facts.warnings.append("stopped with an unfinished last line: its \(held.count) bytes after line \(r.lines) were not read (nor counted in the source's bytes)")
        }
        for cut in r.splitter.cutLines where cut > r.storedLines {
            r.sink.unparsed(UnparsedLine(line: cut, reason: "line longer than \(LineSplitter.defaultMaxLine) bytes, cut there", raw: ""))
        }
        var f = r.parser.finish(into: r.sink)
        f.warnings = report.facts.warnings + f.warnings
        r.sink.flush()
        r.text.finish()
        facts = f
    }

    /// Closes the descriptor after the final commit.
    func closeFile() {
        closed = true
        if fd >= 0 { close(fd) }
        fd = -1
    }

    // MARK: - Resuming

    /// Whether the store already holds the beginning of this file as a source of the same path (an
    /// earlier `ingest` or `ingest --follow` of it): the same bytes, ending with a whole line. Then this
    /// file continues that source rather than loading its first part twice.
    func resume(from candidates: [StoredSource], hashes: [Int64: String]) throws {
        for c in candidates.sorted(by: { $0.bytes > $1.bytes }) where c.bytes > 0 {
            guard let want = hashes[c.id] else { continue }
            var hash = ContentHash()
            var left = c.bytes
            var at: Int64 = 0
            var last: UInt8 = 0
            let buf = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 << 20)
            defer { buf.deallocate() }
            while left > 0 {
                let n = pread(fd, buf.baseAddress, Int(min(Int64(buf.count), left)), off_t(at))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                hash.update(UnsafeBufferPointer(rebasing: buf[0..<n]))
                last = buf[n - 1]
                left -= Int64(n)
                at += Int64(n)
            }
            guard left == 0, hash.finalize() == want else { continue }
            if last != 0x0A {
                throw FollowError.cannotResume(path, "the store holds its first \(c.bytes) bytes (source \(c.id)) read as a finished file, "
                                               + "and its last line has grown since; remove that source or follow a copy")
            }
            stored = c
            report.host = c.host
            report.sourceID = c.id
            target.continueSource(c) // before any commit is queued: the queue orders it for the writer thread
            return
        }
    }

    // MARK: - Handing over to the writer

    /// Everything read since the last hand-over, moved out for the writer thread: the batches, the text
    /// piece being filled (compressed now: it keeps growing here), the counts, the content hash of the whole
    /// lines read, how the time column reads, and the final facts once the file ended. nil: nothing new.
    func takeCommit(options: IngestOptions) -> FileCommit? {
        guard let r = reading else { return nil }
        r.sink.flush()
        guard hasWork else { return nil }
        let items = outbox.items
        outbox.items = []
        var c = FileCommit(target: target, format: r.kind.id, host: report.host ?? "", options: options, batches: items,
                           lines: r.lines, bytes: consumed)
        if r.text.offset != textSent {
            c.partialText = r.text.partial()
            textSent = r.text.offset
        }
        var h = r.hash, head = r.head
        c.digest = h.finalize()
        c.headDigest = head.finalize()
        if facts == nil { c.time = r.parser.timeSoFar }
        if let facts, !factsSent {
            c.facts = facts
            c.rotatedTo = rotatedTo
            factsSent = true
        }
        linesSent = r.lines
        everSent = true
        return c
    }
}

/// One file's share of a commit, made on the reader thread and written on the writer thread.
struct FileCommit {
    let target: SourceWriter
    var format: String
    var host: String
    var options: IngestOptions
    var batches: [Ingestor.Batch]
    var lines: Int
    var bytes: Int64
    var partialText: (n: Int64, bytes: [UInt8])? = nil
    var digest = ""
    var headDigest = ""
    var time: (basis: TimeBasis, digits: Int)? = nil
    var facts: SourceFacts? = nil
    var rotatedTo: String? = nil

    init(target: SourceWriter, format: String, host: String, options: IngestOptions, batches: [Ingestor.Batch], lines: Int, bytes: Int64) {
        self.target = target
        self.format = format
        self.host = host
        self.options = options
        self.batches = batches
        self.lines = lines
        self.bytes = bytes
    }
}

/// The writer thread's side of a followed file: its source row, its prepared statements (an
/// `EventWriter` kept across transactions), and the counts of what was committed. Touched only on the
/// writer thread once commits flow (the reader sets it up before it queues the first one).
final class SourceWriter: @unchecked Sendable {
    let path: String
    private(set) var sourceID: Int64?
    private var writer: EventWriter?
    /// The times of the events written so far (the source row's first_ts and last_ts).
    private var span = (first: Int64.max, last: Int64.min)
    private var timeWritten: (basis: TimeBasis, digits: Int)?
    /// The file's report as committed: events, lines not understood, times, facts.
    private(set) var report: IngestReport

    init(path: String) {
        self.path = path
        report = IngestReport(file: path, status: .loaded)
    }

    /// Continues a stored source: its counts so far.
    func continueSource(_ s: FollowedFile.StoredSource) {
        sourceID = s.id
        report.sourceID = s.id
        report.events = s.events
        report.unparsed = s.unparsed
        report.lines = s.lines
        if let f = s.firstTS { span.first = f }
        if let l = s.lastTS { span.last = l }
    }

    /// Writes one file's share of a commit, inside the writer's transaction: the source row first (once),
    /// connection rows, events, text, lines not understood, and the source's counts so far. Returns
    /// whether events were written. Only statements that cannot fail for lack of the write lock run here
    /// (the transaction began with it), so a busy store never leaves this half done.
    func apply(_ db: Database, _ c: FileCommit) throws -> Bool {
        report.format = c.format
        report.host = c.host
        if sourceID == nil {
            sourceID = try Ingestor.insertSource(db, path: path, format: c.format, host: c.host, placeholder: "following",
                                                 options: c.options, tsSorted: false)
            report.sourceID = sourceID
        }
        guard let sourceID else { return false }
        if writer == nil {
            writer = try EventWriter(db: db, sourceID: sourceID)
            // Rows of followed files interleave (several files, each committed a little at a time), so a
            // source's rowids are no range of its own and rowid order is not its time order: the source gets
            // its time index now, and `ts_sorted = 0` tells the queries to use it. A resumed source that a
            // plain ingest loaded in one range is switched over the same way.
            try db.execute(sql: Schema.timeIndex(source: sourceID))
            try db.execute(sql: "UPDATE source SET ts_sorted = 0, first_row = NULL, last_row = NULL WHERE id = ?", arguments: [sourceID])
        }
        guard let writer else { return false }
        // A plain ingest's end markers (done, failed) do not come here: a follower ends files itself.
        let eventsBefore = report.events
        for batch in c.batches { _ = try writer.write(batch, report: &report, span: &span) }
        let wroteEvents = report.events > eventsBefore
        // The piece of text being filled, so that the events just written can show theirs.
        if let piece = c.partialText { try writer.writeChunk(piece.n, piece.bytes) }
        report.lines = c.lines
        report.firstTS = span.first == Int64.max ? nil : span.first
        report.lastTS = span.last == Int64.min ? nil : span.last
        try db.execute(sql: "UPDATE source SET lines = ?, events = ?, unparsed = ?, bytes = ?, first_ts = ?, last_ts = ? WHERE id = ?",
                       arguments: [report.lines, report.events, report.unparsed, c.bytes, report.firstTS, report.lastTS, sourceID])
        // How the time column reads so far: views show a relative or time-of-day source as such meanwhile.
        if let t = c.time, t.basis != timeWritten?.basis || t.digits != timeWritten?.digits {
            try db.execute(sql: "UPDATE source SET time_basis = ?, time_digits = ? WHERE id = ?", arguments: [t.basis.rawValue, t.digits, sourceID])
            timeWritten = t
        }
        // The hash of the whole lines read so far, so that a later `ingest` of the same content adds
        // nothing and a later `ingest --follow` continues this source. OR IGNORE: when another source
        // already has this content, this one keeps its placeholder (and says so when it finishes).
        try db.execute(sql: "UPDATE OR IGNORE source SET content_hash = ?, head_hash = ? WHERE id = ?",
                       arguments: [c.digest, c.headDigest, sourceID])
        if let facts = c.facts { try writeFacts(db, facts, c, sourceID: sourceID) }
        return wroteEvents
    }

    /// What the parser learnt by the end (time basis, digits, notes, an anchor), as a plain ingest writes it.
    private func writeFacts(_ db: Database, _ facts: SourceFacts, _ c: FileCommit, sourceID: Int64) throws {
        var f = facts
        f.notes["followed"] = "read as it grew (ingest --follow)"
        if let to = c.rotatedTo {
            f.notes["rotated"] = "followed as \(path), then rotated to \(to)"
        }
        if let prior = try String.fetchOne(db, sql: "SELECT path FROM source WHERE content_hash = ? AND id != ?", arguments: [c.digest, sourceID]) {
            f.warnings.append("the same content as \(prior), already in the store: its events are now there twice")
        }
        report.facts = f
        let notes = f.notesJSON
        try Ingestor.writeClockFacts(db, f, sourceID: sourceID, zoneGiven: c.options.zoneOffset != nil)
        try db.execute(sql: "UPDATE source SET time_basis = ?, time_digits = ?, notes = ?, path = ? WHERE id = ?",
                       arguments: [f.timeBasis.rawValue, f.timeDigits, notes, c.rotatedTo ?? path, sourceID])
        if let to = c.rotatedTo { report.file = to }
    }
}

public enum FollowError: Error, CustomStringConvertible {
    case cannotOpen(String, String)
    case readFailed(String, String)
    case cannotResume(String, String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let why): return "\(p): cannot open: \(why)"
        case .readFailed(let p, let why): return "\(p): read failed: \(why)"
        case .cannotResume(let p, let why): return "\(p): cannot continue: \(why)"
        }
    }
}
