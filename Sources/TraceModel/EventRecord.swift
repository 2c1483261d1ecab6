/// One thing that happened, as a parser read it, before it has a store id.
///
/// Concrete and flat on purpose: parsers produce millions of these. The record holds no text of its
/// own: its original text is a byte range of the source's (decoded) stream, which the store keeps once,
/// so a record is integers only and costs no allocation (ARCHITECTURE.md, "Performance principles").
/// Optional integers use sentinels (`-1`, `Int64.min`) rather than `Optional` to keep the layout small.
public struct EventRecord: Sendable {
    public static let none: Int64 = Int64.min

    /// First line of the record in its file (1-based).
    public var line: Int
    /// Frame number for packets, else the line number: the record's position as the source counts it.
    public var ordinal: Int64
    /// Nanoseconds on the source's own clock, after its time zone. For relative-only sources, nanoseconds
    /// since the capture's start (the source's `timeBasis` says which).
    public var ts: Int64
    public var kind: EventKind
    /// IANA transport number, 0 when unknown or none.
    public var proto: UInt8
    public var src: Address?
    public var srcPort: Int32
    public var dst: Address?
    public var dstPort: Int32
    /// The connection key of the record's tuple (`ConnectionKey.key`), set by the ingest; `none` if none.
    public var conn: Int64
    /// TCP flags bits (`TCPFlags`), -1 when the record shows none.
    public var flags: Int
    /// As the source shows them: relative to each side's first sequence number when the source is a
    /// capture (as Wireshark shows them by default) or an export made that way.
    public var seq: Int64
    public var ack: Int64
    /// Absolute sequence and acknowledgment numbers, where the source gives them (captures).
    public var seqRaw: Int64
    public var ackRaw: Int64
    /// TCP payload length.
    public var len: Int64
    public var win: Int64
    public var ipID: Int64
    public var tsval: Int64
    public var tsecr: Int64
    public var mss: Int64
    /// `TCPExpert` bits.
    public var expert: Int
    /// Bytes on the wire (`Length` column).
    public var frameLen: Int64
    /// The protocol column as the tool wrote it (`TLSv1`, `TDS`, `ARP`).
    public var label: String?
    /// The original text: where it starts in the source's decoded byte stream, and how many bytes it
    /// takes (every line of a multi-line record, line breaks included).
    public var rawAt: Int64
    public var rawLen: Int
    /// Where the one-line summary starts, in bytes from `rawAt`; it runs to the end of the raw text's first line.
    public var summaryAt: Int
    /// Rare, format-specific fields as a JSON object text.
    public var attrs: String?

    public init(line: Int, ordinal: Int64, ts: Int64, kind: EventKind, rawAt: Int64, rawLen: Int, summaryAt: Int = 0) {
        self.line = line
        self.ordinal = ordinal
        self.ts = ts
        self.kind = kind
        self.proto = 0
        self.src = nil
        self.srcPort = -1
        self.dst = nil
        self.dstPort = -1
        self.conn = EventRecord.none
        self.flags = -1
        self.seq = EventRecord.none
        self.ack = EventRecord.none
        self.seqRaw = EventRecord.none
        self.ackRaw = EventRecord.none
        self.len = EventRecord.none
        self.win = EventRecord.none
        self.ipID = EventRecord.none
        self.tsval = EventRecord.none
        self.tsecr = EventRecord.none
        self.mss = EventRecord.none
        self.expert = 0
        self.frameLen = EventRecord.none
        self.label = nil
        self.rawAt = rawAt
        self.rawLen = rawLen
        self.summaryAt = summaryAt
        self.attrs = nil
    }

    public var srcEndpoint: Endpoint? { src.map { Endpoint(address: $0, port: srcPort) } }
    public var dstEndpoint: Endpoint? { dst.map { Endpoint(address: $0, port: dstPort) } }

    /// The connection this record's own tuple names, if it names one.
    public var connection: ConnectionKey? {
        guard proto != 0, let s = srcEndpoint, let d = dstEndpoint else { return nil }
        return ConnectionKey(proto: proto, src: s, dst: d)
    }
}

/// How a source writes time.
public enum TimeBasis: String, Sendable, Codable {
    /// Date and time of day: placed on the calendar.
    case absolute
    /// Time of day without a date: day 1970-01-01 until an anchor gives the date.
    case timeOfDay = "time_of_day"
    /// Seconds since the capture's start (or accumulated deltas): no calendar until anchored.
    case relative
}
