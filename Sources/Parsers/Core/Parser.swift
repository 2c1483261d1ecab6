import TraceModel

/// A line of input as parsers see it: bytes in the reader's buffer, valid only during the call.
///
/// Parsers read bytes, not `String`s (ARCHITECTURE.md, "Performance principles"): a `String` is made
/// only for text that is stored (the record's raw text).
public struct Line {
    public let bytes: UnsafeBufferPointer<UInt8>
    /// 1-based line number in the file.
    public let number: Int
    /// Where the line starts in the decoded byte stream (what records' `rawAt` count in).
    public let offset: Int64

    public init(bytes: UnsafeBufferPointer<UInt8>, number: Int, offset: Int64) {
        self.bytes = bytes
        self.number = number
        self.offset = offset
    }

    public var isBlank: Bool { bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// What every parser is told about the file it reads.
public struct ParseContext: Sendable {
    /// The file as the user named it (`bundle.zip!/client/trace.txt` for an archive member).
    public var path: String
    /// Seconds east of UTC of the times the file writes, when the user says (`--tz`).
    public var zoneOffset: Int?
    public var services: ServiceNames
    /// Addresses by host name (lowercased), from what the store already knows: lets a source that prints
    /// names (tcpdump without -n) be tied to the addresses of the same hosts elsewhere.
    public var hostAddresses: [String: Address]
    /// When the user says a snapshot without a date line was taken (`--at`), UTC ns.
    public var takenAt: Int64?
    /// The file's modification time (UTC ns): the last resort for such a snapshot.
    public var modified: Int64?

    public init(path: String, zoneOffset: Int? = nil, services: ServiceNames = ServiceNames(), hostAddresses: [String: Address] = [:],
                takenAt: Int64? = nil, modified: Int64? = nil) {
        self.path = path
        self.zoneOffset = zoneOffset
        self.services = services
        self.hostAddresses = hostAddresses
        self.takenAt = takenAt
        self.modified = modified
    }
}

/// A line the parser could not read. It is kept, with its place, never dropped (ARCHITECTURE.md, "Parse").
public struct UnparsedLine: Sendable {
    public var line: Int
    public var reason: String
    public var raw: String

    public init(line: Int, reason: String, raw: String) {
        self.line = line
        self.reason = reason
        self.raw = raw
    }
}

/// Where a parser puts what it read. Records are buffered by the caller and handed to the store's writer.
public protocol RecordSink: AnyObject {
    func emit(_ record: EventRecord)
    func unparsed(_ line: UnparsedLine)
    /// A name the source gives for an address (a pcapng name resolution block, a name tcpdump resolved).
    func hostName(_ address: Address, _ name: String)
    /// A process the source lists (tasklist) on `line`: its image name and, with /svc, the services it hosts.
    /// Such lines are facts about the host, not events: they are accounted for here.
    func process(pid: Int64, image: String, services: String?, line: Int)
    /// A line that shapes the file rather than telling an event (a table's header, the time a snapshot was
    /// taken): read, and accounted for.
    func structure(line: Int)
}

extension RecordSink {
    public func hostName(_ address: Address, _ name: String) {}
    public func process(pid: Int64, image: String, services: String?, line: Int) {}
    public func structure(line: Int) {}
}

/// What a parser learnt about the source as a whole, reported when it finishes.
public struct SourceFacts: Sendable {
    public var timeBasis: TimeBasis = .absolute
    /// Fractional digits the source writes (3 for `09:52:15.407`, 7 for 100 ns), for display.
    public var timeDigits: Int = 0
    /// Free-form facts worth telling the user (`"time column": "delta"`).
    public var notes: [String: String] = [:]
    /// What the user should know about this file's events, shown with its ingest line.
    public var warnings: [String] = []
    /// Where a relative source's time 0 lies (UTC-as-written ns) and how sure that is (± ns), when the
    /// source itself says (wall-clock columns beside its seconds): the store anchors it there.
    public var anchor: (at: Int64, uncertainty: Int64)? = nil
    /// The file itself says its times are UTC or gives their offset (a `date` line reading `UTC`, `+02:00`):
    /// the zone is known without `--tz`.
    public var zoneKnown = false
    /// The clock method of such an anchor.
    public static let wallClockMethod = "wall clock"

    public init() {}
}

/// The contract of a line-format parser.
///
/// Implementations must: (1) claim a file only after reading a whole line of it, timestamp included,
/// and answer with a confidence; (2) give every line either to a record or to `RecordSink.unparsed`
/// (blank lines and layout such as header lines excepted); (3) stream: keep at most a bounded number
/// of lines or records pending; (4) produce the same records however the input was cut into chunks.
/// `ParserConformance` in the tests checks (2) and (4) for every registered parser.
public protocol LineParser {
    /// Stable lowercase id (`wireshark_text`), used by `--format` and stored with each source.
    static var id: String { get }
    /// One line for `tracejoin formats`.
    static var summary: String { get }
    /// Confidence in 0…1 that these first lines are this format (0: no).
    static func sniff(_ head: SniffHead) -> Double

    init(context: ParseContext)
    mutating func consume(_ line: Line, into sink: RecordSink)
    /// End of input: flush pending records.
    mutating func finish(into sink: RecordSink) -> SourceFacts
    /// No more lines for now: a followed file (`ingest --follow`) stopped growing. Emit the record held
    /// only to see whether the next lines join it (packet details under a row, a log's continuation
    /// lines), so that it does not wait for the next record to be written. Its writer writes a record's
    /// lines together, so lines that would still join it are unlikely; should they come, they are read
    /// as any line out of place. Unlike `finish`, nothing is decided for good (a time column still
    /// undecided stays so). Default: nothing; the record waits for the next line or the end.
    mutating func idle(into sink: RecordSink)
    /// The time column as read so far — what `finish` will report as `timeBasis` and `timeDigits` — for
    /// a file whose events are shown while it grows (`ingest --follow`): a tcpdump or tshark export whose
    /// times are of day or relative must not read as 1970 meanwhile. nil: not known yet, or the parser
    /// does not say (its source counts as absolute until it ends).
    var timeSoFar: (basis: TimeBasis, digits: Int)? { get }
}

extension LineParser {
    public mutating func idle(into sink: RecordSink) {}
    public var timeSoFar: (basis: TimeBasis, digits: Int)? { nil }
}

/// The head of a file, decoded once and given to every sniffer (plaso's "cache the first 64k").
public struct SniffHead: Sendable {
    public let lines: [String]

    public init(bytes raw: [UInt8], maxLines: Int = 200) {
        // Decoded as the parser will read it: Windows tools write UTF-16 with a BOM.
        var bytes: [UInt8] = []
        var splitter = LineSplitter()
        splitter.onDecoded = { bytes.append(contentsOf: $0) }
        raw.withUnsafeBufferPointer { splitter.feed($0) { _ in } }
        var out: [String] = []
        var start = 0
        var i = 0
        // The last, possibly cut, line is left out unless it is the whole head.
        while i < bytes.count && out.count < maxLines {
            if bytes[i] == 0x0A {
                var end = i
                if end > start && bytes[end - 1] == 0x0D { end -= 1 }
                out.append(String(decoding: bytes[start..<end], as: UTF8.self))
                start = i + 1
            }
            i += 1
        }
        if out.isEmpty && start < bytes.count { out.append(String(decoding: bytes[start...], as: UTF8.self)) }
        lines = out
    }

    public init(lines: [String]) { self.lines = lines }
}
