import Foundation
import GRDB
import TraceModel
import Parsers

/// Loads files into the store: detect, hash, parse on one thread, write on another, one transaction
/// per file so an interrupted ingest leaves no half-loaded file.
public final class Ingestor {
    let store: Store
    let services: ServiceNames
    public var progress: ((IngestProgress) -> Void)?
    /// Measurement switch: parse and count, write no events (the transaction is rolled back).
    public var parseOnly = false

    public init(store: Store) {
        self.store = store
        var s = ServiceNames()
        if let text = try? String(contentsOfFile: "/etc/services", encoding: .utf8) { s.merge(etcServices: text) }
        services = s
    }

    /// Ingests every input; drops the connection index first when the new data dwarfs the store (it is
    /// rebuilt when next needed, faster than maintained per row).
    public func ingest(_ inputs: [InputFile], options: IngestOptions) throws -> [IngestReport] {
        let incoming = inputs.reduce(Int64(0)) { $0 + $1.sizeOnDisk }
        // The sources' own counts: count(*) would read every event row of a large store.
        let existing = try store.db.read { try Int.fetchOne($0, sql: "SELECT coalesce(sum(events), 0) FROM source") ?? 0 }
        if incoming > 32 << 20 && Int64(existing) * 100 < incoming { try store.dropConnectionIndex() }
        var reports: [IngestReport] = []
        try store.beginBulkLoad()
        for input in inputs {
            reports.append(ingest(input, options: options))
        }
        try store.ensureIndexes()
        try store.endBulkLoad()
        if reports.contains(where: { $0.status == .loaded }) {
            try store.setStale("lifecycle", true)
            try store.setStale("clocks", true)
        }
        return reports
    }

    public func ingest(_ input: InputFile, options: IngestOptions) -> IngestReport {
        let started = Date()
        var report = IngestReport(file: input.displayName, status: .loaded)
        report.found = !input.named
        do {
            let head = try input.head()
            if head.isEmpty { report.status = .empty; return report }
            let parserType: ParserKind
            if let forced = options.format {
                guard let p = Registry.parser(id: forced) else {
                    report.status = .failed("unknown format \(forced); `tracejoin formats` lists them")
                    return report
                }
                parserType = p
            } else {
                guard let p = Registry.detect(bytes: head) else {
                    report.status = .unknownFormat
                    return report
                }
                parserType = p
            }
            report.format = parserType.id
            report.host = options.host ?? Ingestor.defaultHost(input)

            // Same content already stored? A source with the same first bytes is checked with a full hash
            // now; otherwise the hash is computed while parsing (no extra pass over the file) and checked
            // before the commit.
            var quick = ContentHash()
            head.withUnsafeBufferPointer { quick.update($0) }
            let headDigest = quick.finalize()
            if try store.db.read({ try Bool.fetchOne($0, sql: "SELECT 1 FROM source WHERE head_hash = ?", arguments: [headDigest]) }) == true {
                var hash = ContentHash()
                try input.read { chunk in hash.update(chunk); return true }
                let digest = hash.finalize()
                if let prior = try store.db.read({ try String.fetchOne($0, sql: "SELECT path FROM source WHERE content_hash = ?", arguments: [digest]) }) {
                    report.status = .duplicate(of: prior)
                    return report
                }
            }
            try load(input, parserType: parserType, headDigest: headDigest, options: options, report: &report)
        } catch let dup as DuplicateContent {
            report.status = .duplicate(of: dup.prior)
        } catch {
            report.status = .failed("\(error)")
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    static func defaultHost(_ input: InputFile) -> String {
        var name = input.baseName
        if let dot = name.firstIndex(of: "."), dot != name.startIndex { name = String(name[..<dot]) }
        return name
    }

    /// A new source row, its counts zero until the writer updates them. Its content hash is a unique
    /// placeholder (`pending:`, `following:`) until the content is known.
    static func insertSource(_ db: Database, path: String, format: String, host: String, placeholder: String,
                             options: IngestOptions, tsSorted: Bool) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO source(path, format, host, content_hash, bytes, lines, events, unparsed, tz_offset_s, tz_given,
                               time_basis, time_digits, ingested_at, host_given, ts_sorted)
            VALUES (?, ?, ?, ?, 0, 0, 0, 0, ?, ?, 'absolute', 0, ?, ?, ?)
            """, arguments: [path, format, host, placeholder + ":" + UUID().uuidString,
                             options.zoneOffset ?? 0, options.zoneOffset == nil ? 0 : 1,
                             ISO8601DateFormatter().string(from: Date()), options.host == nil ? 0 : 1, tsSorted ? 1 : 0])
        return db.lastInsertedRowID
    }

    /// What a source's final facts put beside its row, for a plain ingest and `ingest --follow` alike: the
    /// clock anchor its own wall-clock column gave (one the joiner may refine), and that its zone is known
    /// (unless `--tz` gave one).
    static func writeClockFacts(_ db: Database, _ f: SourceFacts, sourceID: Int64, zoneGiven: Bool) throws {
        if let anchor = f.anchor {
            try db.execute(sql: "INSERT OR REPLACE INTO clock(source, offset_ns, uncertainty_ns, method) VALUES (?, ?, ?, ?)",
                           arguments: [sourceID, anchor.at, anchor.uncertainty, SourceFacts.wallClockMethod])
        }
        if f.zoneKnown && !zoneGiven {
            try db.execute(sql: "UPDATE source SET tz_given = 1 WHERE id = ?", arguments: [sourceID])
        }
    }

    enum Batch {
        case events([EventRecord])
        case text(Int64, [UInt8])
        case connections([ConnectionKey])
        case unparsed([UnparsedLine])
        case names([(Address, String)])
        case processes([(Int64, String, String?)])
        case done(SourceFacts, lines: Int, digest: String, size: Int64)
        case failed(String)
    }

    /// Collects records into batches for the writer (through a queue here; into an array when following).
    final class BatchingSink: CaptureSink {
        let put: (Batch) -> Void
        let text: TextChunker
        var events: [EventRecord] = []
        var unparsedLines: [UnparsedLine] = []
        var names: [(Address, String)] = []
        var processes: [(Int64, String, String?)] = []
        var namesSeen: Set<String> = []
        var count = 0
        var connections = ConnectionResolver()
        static let size = 4096

        convenience init(queue: BatchQueue<Batch>, text: TextChunker) {
            self.init(put: { queue.put($0) }, text: text)
        }

        init(put: @escaping (Batch) -> Void, text: TextChunker) {
            self.put = put
            self.text = text
            events.reserveCapacity(BatchingSink.size)
        }

        func emit(_ record: EventRecord) {
            // The key is found from the record as lent, then set in place once appended: records are
            // large, and reading `events[last]` back as the argument copied one per packet.
            let conn = connections.key(record)
            events.append(record)
            events[events.count - 1].conn = conn
            count += 1
            if events.count >= BatchingSink.size { flush() }
        }

        func appendText(_ s: UnsafeBufferPointer<UInt8>) -> Int64 {
            let at = text.offset
            text.append(s)
            return at
        }

        func unparsed(_ line: UnparsedLine) {
            unparsedLines.append(line)
            if unparsedLines.count >= 1024 { flush() }
        }

        func process(pid: Int64, image: String, services: String?, line: Int) {
            processes.append((pid, image, services))
        }

        func hostName(_ address: Address, _ name: String) {
            // tcpdump repeats a name on every line: pass each pair on once.
            guard namesSeen.insert(address.text + " " + name).inserted else { return }
            names.append((address, name))
        }

        func flush() {
            // Connection rows go first, so that a reader never sees an event whose connection is unknown.
            let fresh = connections.takeFresh()
            if !fresh.isEmpty { put(.connections(fresh)) }
            if !events.isEmpty {
                put(.events(events))
                events = []
                events.reserveCapacity(BatchingSink.size)
            }
            if !unparsedLines.isEmpty {
                put(.unparsed(unparsedLines))
                unparsedLines = []
            }
            if !names.isEmpty {
                put(.names(names))
                names = []
            }
            if !processes.isEmpty {
                put(.processes(processes))
                processes = []
            }
        }
    }

    /// What reading a whole input gave: its content hash, its size, and why it ended early (a container
    /// cut short still gives what it held).
    struct ReadResult {
        var digest: String
        var bytes: Int64
        var cutShort: String?
    }

    /// Reads an input chunk by chunk on the parser thread: hashes it, reports progress, hands each chunk on.
    private static func readAll(_ input: InputFile, total: Int64, progress: ((IngestProgress) -> Void)?, sink: BatchingSink,
                                _ body: (UnsafeBufferPointer<UInt8>) -> Void) throws -> ReadResult {
        var hash = ContentHash()
        var read: Int64 = 0
        var lastTick = Date()
        var cutShort: String? = nil
        do {
            try input.read { chunk in
                hash.update(chunk)
                body(chunk)
                read += Int64(chunk.count)
                if let progress, Date().timeIntervalSince(lastTick) > 0.25 {
                    lastTick = Date()
                    progress(IngestProgress(file: input.displayName, bytesRead: read, bytesTotal: max(total, read), events: sink.count))
                }
                return true
            }
        } catch InputError.cutShort(_, let why) {
            cutShort = why
        }
        return ReadResult(digest: hash.finalize(), bytes: read, cutShort: cutShort)
    }

    /// The parser thread's loop for captures: chunks straight to the parser (no lines).
    private static func readCapture(_ type: any CaptureParser.Type, _ input: InputFile, _ context: ParseContext, _ sink: BatchingSink,
                                    _ text: TextChunker, _ queue: BatchQueue<Batch>, _ progress: ((IngestProgress) -> Void)?, _ total: Int64) {
        var parser = type.init(context: context)
        do {
            let got = try readAll(input, total: total, progress: progress, sink: sink) { parser.consume($0, into: sink) }
            if let why = got.cutShort {
                sink.unparsed(UnparsedLine(line: Int(got.bytes), reason: "byte offset \(got.bytes): file cut short: \(why)", raw: ""))
            }
            let facts = parser.finish(into: sink)
            sink.flush()
            text.finish()
            queue.put(.done(facts, lines: sink.count, digest: got.digest, size: got.bytes))
        } catch {
            sink.flush()
            queue.put(.failed("\(error)"))
        }
        queue.close()
    }

    private func load(_ input: InputFile, parserType: ParserKind, headDigest: String,
                      options: IngestOptions, report: inout IngestReport) throws {
        // Room for a few hundred thousand records: the two threads' paces vary (a text piece every
        // ~200 lines, an event batch every 4096), and with a short queue each waits for the other
        // (measured: 8 items 3.6 s, 32 items 2.8 s for a million lines; more gained nothing).
        let queue = BatchQueue<Batch>(capacity: 32)
        // Names the store already knows (from captures loaded before), for sources that print names.
        let context = ParseContext(path: input.displayName, zoneOffset: options.zoneOffset, services: services,
                                   hostAddresses: try store.hostAddresses(), takenAt: options.takenAt, modified: input.modificationTime)
        let progress = self.progress
        let total = input.sizeOnDisk

        // The parser thread: read, split, parse, batch. It never touches the database.
        // (A metatype is immutable; the box only tells the compiler so.)
        struct ParserTypeBox: @unchecked Sendable { let kind: ParserKind }
        let boxed = ParserTypeBox(kind: parserType)
        let thread = Thread {
            Thread.current.name = "tj-parser" // what `top -H` and profilers show beside the writer
            let text = TextChunker(queue: queue)
            let sink = BatchingSink(queue: queue, text: text)
            if case .capture(let type) = boxed.kind {
                Ingestor.readCapture(type, input, context, sink, text, queue, progress, total)
                return
            }
            guard var parser = boxed.kind.lineParser(context: context) else { return }
            var splitter = LineSplitter()
            splitter.onDecoded = { text.append($0) }
            var lines = 0
            do {
                let got = try Ingestor.readAll(input, total: total, progress: progress, sink: sink) { chunk in
                    splitter.feed(chunk) { line in
                        lines = line.number
                        parser.consume(line, into: sink)
                    }
                }
                splitter.finish { line in
                    lines = line.number
                    parser.consume(line, into: sink)
                }
                for cut in splitter.cutLines {
                    sink.unparsed(UnparsedLine(line: cut, reason: "line longer than \(LineSplitter.defaultMaxLine) bytes, cut there", raw: ""))
                }
                if let cutShort = got.cutShort {
                    sink.unparsed(UnparsedLine(line: lines + 1, reason: "file cut short after line \(lines): \(cutShort)", raw: ""))
                }
                let facts = parser.finish(into: sink)
                sink.flush()
                text.finish()
                queue.put(.done(facts, lines: lines, digest: got.digest, size: got.bytes))
            } catch {
                sink.flush()
                queue.put(.failed("\(error)"))
            }
            queue.close()
        }
        thread.stackSize = 8 << 20
        thread.start()

        var result = report
        let parserID = parserType.id
        do {
            try store.db.write { db in
                let sourceID = try Ingestor.insertSource(db, path: input.displayName, format: parserID, host: result.host ?? "",
                                                         placeholder: "pending", options: options, tsSorted: true)
                let writer = try EventWriter(db: db, sourceID: sourceID)
                var span = (first: Int64.max, last: Int64.min)
                var failure: String? = nil
                var digest = "", size: Int64 = 0
                while let batch = queue.take() {
                    if try writer.write(batch, report: &result, span: &span, parseOnly: parseOnly) { continue }
                    switch batch {
                    case .done(let facts, let lines, let d, let s):
                        result.facts = facts
                        result.lines = lines
                        digest = d
                        size = s
                    case .failed(let why):
                        failure = why
                    default:
                        break
                    }
                }
                if let failure { throw IngestFailure(message: failure) }
                if let prior = try String.fetchOne(db, sql: "SELECT path FROM source WHERE content_hash = ?", arguments: [digest]) {
                    throw DuplicateContent(prior: prior) // rolls the whole file back
                }
                if parseOnly { throw ParseOnlyDone(events: result.events, lines: result.lines) }
                result.sourceID = sourceID
                result.firstTS = span.first == Int64.max ? nil : span.first
                result.lastTS = span.last == Int64.min ? nil : span.last
                let rows = writer.rows
                if !rows.sorted { try db.execute(sql: Schema.timeIndex(source: sourceID)) }
                let notes = result.facts.notesJSON
                try Ingestor.writeClockFacts(db, result.facts, sourceID: sourceID, zoneGiven: options.zoneOffset != nil)
                try db.execute(sql: """
                    UPDATE source SET lines = ?, events = ?, unparsed = ?, time_basis = ?, time_digits = ?, first_ts = ?, last_ts = ?, notes = ?,
                                      first_row = ?, last_row = ?, ts_sorted = ?, content_hash = ?, head_hash = ?, bytes = ?
                    WHERE id = ?
                    """, arguments: [result.lines, result.events, result.unparsed, result.facts.timeBasis.rawValue,
                                     result.facts.timeDigits, result.firstTS, result.lastTS, notes,
                                     rows.first, rows.last, rows.sorted ? 1 : 0, digest, headDigest, size, sourceID])
            }
        } catch let done as ParseOnlyDone {
            result.events = done.events
            result.lines = done.lines
            result.status = .parsedOnly
        } catch {
            // Drain so the parser thread can finish, then report; the transaction rolled back.
            while queue.take() != nil {}
            throw error
        }
        report = result
    }
}

struct DuplicateContent: Error {
    let prior: String
}

struct ParseOnlyDone: Error {
    let events: Int
    let lines: Int
}

struct IngestFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension SourceFacts {
    /// The notes as the source row stores them: a JSON object, keys in order; nil when there are none.
    var notesJSON: String? {
        notes.isEmpty ? nil : "{" + notes.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",") + "}"
    }
}
