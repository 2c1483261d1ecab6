import Parsers

public struct IngestOptions: Sendable {
    /// Capture point or machine; default: the file's name without extensions.
    public var host: String?
    /// Seconds east of UTC the files' times are written in (`--tz`); default: assumed UTC.
    public var zoneOffset: Int?
    /// Parser id to use instead of detection (`--format`).
    public var format: String?
    /// When socket tables without a date line were taken (`--at`), UTC ns; else their file's modification time.
    public var takenAt: Int64?

    public init(host: String? = nil, zoneOffset: Int? = nil, format: String? = nil, takenAt: Int64? = nil) {
        self.host = host
        self.zoneOffset = zoneOffset
        self.format = format
        self.takenAt = takenAt
    }
}

/// What happened to one input file.
public struct IngestReport: Sendable {
    public enum Status: Sendable, Equatable {
        case loaded
        /// The same content is already in the store (as the named source).
        case duplicate(of: String)
        case unknownFormat
        case empty
        case failed(String)
        /// `ingest --parse-only` (which measures the parser): read and parsed, nothing stored.
        case parsedOnly
    }

    public var file: String
    public var status: Status
    public var format: String? = nil
    public var host: String? = nil
    public var sourceID: Int64? = nil
    public var lines = 0
    public var events = 0
    public var unparsed = 0
    public var firstTS: Int64? = nil
    public var lastTS: Int64? = nil
    public var facts = SourceFacts()
    /// The first few lines not understood, for the user to see where.
    public var unparsedSamples: [UnparsedLine] = []
    public var seconds: Double = 0

    /// Found in a folder or archive rather than named by the user.
    public var found = false

    /// Whether this file is only partly loaded (or not at all), for the exit status. Files of unknown
    /// format found in a folder or archive are skipped, not failures: bundles hold more than traces.
    public var isPartial: Bool {
        switch status {
        case .loaded: return unparsed > 0
        case .duplicate, .parsedOnly: return false
        case .unknownFormat, .empty: return !found
        default: return true
        }
    }
}

/// Progress of the file being read, for a terminal progress line.
public struct IngestProgress: Sendable {
    public var file: String
    public var bytesRead: Int64
    public var bytesTotal: Int64
    public var events: Int
}
