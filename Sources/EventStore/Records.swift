import TraceModel

/// How a source's own times map onto the aligned clock: an offset, and for a clock that ran at the wrong
/// rate, a drift around an origin. Aligned = ts + offset − drift × (ts − origin).
public struct SourceClock: Sendable, Equatable {
    public var offset: Int64
    public var driftPPB: Int64
    public var origin: Int64

    public init(offset: Int64 = 0, driftPPB: Int64 = 0, origin: Int64 = 0) {
        self.offset = offset
        self.driftPPB = driftPPB
        self.origin = origin
    }

    @inline(__always) public func aligned(_ ts: Int64) -> Int64 {
        guard driftPPB != 0 else { return ts &+ offset }
        return ts &+ offset &- Int64((Double(ts &- origin) * Double(driftPPB) / 1e9).rounded())
    }

    /// The source time that reads as `aligned` (for turning a time filter into a range of the source's rows).
    public func sourceTime(_ aligned: Int64) -> Int64 {
        guard driftPPB != 0 else { return aligned &- offset }
        let d = Double(driftPPB) / 1e9
        return origin &+ Int64((Double(aligned &- offset &- origin) / (1 - d)).rounded())
    }
}

/// A source as stored, with its clock correction.
public struct SourceInfo: Sendable {
    public var id: Int64
    public var path: String
    public var format: String
    public var host: String
    public var bytes: Int64
    public var lines: Int
    public var events: Int
    public var unparsed: Int
    public var zoneOffset: Int
    public var zoneGiven: Bool
    /// Whether the user named the host (`--host`), rather than it being guessed from the file name.
    public var hostGiven: Bool = false
    public var timeBasis: TimeBasis
    public var timeDigits: Int
    public var firstTS: Int64?
    public var lastTS: Int64?
    /// Added to the source's times when reading (clock alignment, anchors); 0 when none.
    public var offsetNS: Int64
    public var clockMethod: String?
    /// How sure the offset is (± ns), the source it aligns to, how many packets matched and with whom
    /// (solved clocks only).
    public var uncertaintyNS: Int64? = nil
    /// How much faster than the reference the source's clock ran (parts per billion), and the source time
    /// at which `offsetNS` holds exactly (solved clocks with drift only).
    public var driftPPB: Int64 = 0
    public var driftOrigin: Int64 = 0
    public var clockReference: Int64? = nil
    public var clockMatched: Int? = nil
    public var clockPeer: Int64? = nil
    public var notes: String?
    /// The source's event rows, and whether their rowid order is their time order.
    public var firstRow: Int64?
    public var lastRow: Int64?
    public var tsSorted: Bool

    public init(id: Int64, path: String, format: String, host: String, bytes: Int64, lines: Int, events: Int, unparsed: Int,
                zoneOffset: Int, zoneGiven: Bool, timeBasis: TimeBasis, timeDigits: Int, firstTS: Int64?, lastTS: Int64?,
                offsetNS: Int64, clockMethod: String?, notes: String?, firstRow: Int64?, lastRow: Int64?, tsSorted: Bool) {
        self.id = id; self.path = path; self.format = format; self.host = host; self.bytes = bytes; self.lines = lines
        self.events = events; self.unparsed = unparsed; self.zoneOffset = zoneOffset; self.zoneGiven = zoneGiven
        self.timeBasis = timeBasis; self.timeDigits = timeDigits; self.firstTS = firstTS; self.lastTS = lastTS
        self.offsetNS = offsetNS; self.clockMethod = clockMethod; self.notes = notes; self.firstRow = firstRow
        self.lastRow = lastRow; self.tsSorted = tsSorted
    }

    public var clock: SourceClock { SourceClock(offset: offsetNS, driftPPB: driftPPB, origin: driftOrigin) }
}

/// An event as read back, on the aligned clock.
public struct StoredEvent: Sendable {
    public var id: Int64
    public var source: Int64
    public var ordinal: Int64
    public var line: Int
    /// Aligned nanoseconds (source time plus the source's clock offset).
    public var ts: Int64
    /// The source's own time, as written (after its zone).
    public var tsSource: Int64
    public var kind: EventKind
    public var proto: Int?
    public var src: String?
    public var sport: Int?
    public var dst: String?
    public var dport: Int?
    public var conn: Int64?
    public var flags: Int?
    public var seq: Int64?
    public var ack: Int64?
    public var len: Int64?
    public var win: Int64?
    public var ipid: Int64?
    public var tsval: Int64?
    public var tsecr: Int64?
    public var mss: Int64?
    public var expert: Int
    public var frameLen: Int64?
    public var label: String?
    public var summary: String
    public var raw: String
    public var attrs: String?
    /// Absolute sequence numbers, where the source gives them (captures); `seq`/`ack` are as shown.
    public var seqRaw: Int64? = nil
    public var ackRaw: Int64? = nil

    public init(id: Int64, source: Int64, ordinal: Int64, line: Int, ts: Int64, tsSource: Int64, kind: EventKind, proto: Int?,
                src: String?, sport: Int?, dst: String?, dport: Int?, conn: Int64?, flags: Int?, seq: Int64?, ack: Int64?,
                len: Int64?, win: Int64?, ipid: Int64?, tsval: Int64?, tsecr: Int64?, mss: Int64?, expert: Int, frameLen: Int64?,
                label: String?, summary: String, raw: String, attrs: String?, seqRaw: Int64? = nil, ackRaw: Int64? = nil) {
        self.id = id; self.source = source; self.ordinal = ordinal; self.line = line; self.ts = ts; self.tsSource = tsSource
        self.kind = kind; self.proto = proto; self.src = src; self.sport = sport; self.dst = dst; self.dport = dport
        self.conn = conn; self.flags = flags; self.seq = seq; self.ack = ack; self.len = len; self.win = win; self.ipid = ipid
        self.tsval = tsval; self.tsecr = tsecr; self.mss = mss; self.expert = expert; self.frameLen = frameLen
        self.label = label; self.summary = summary; self.raw = raw; self.attrs = attrs; self.seqRaw = seqRaw; self.ackRaw = ackRaw
    }

    public var srcEndpoint: String? { src.map { Self.endpoint($0, sport) } }
    public var dstEndpoint: String? { dst.map { Self.endpoint($0, dport) } }

    static func endpoint(_ a: String, _ p: Int?) -> String {
        guard let p else { return a }
        // (utf8: `contains(String)` would go through Foundation for every event)
        return a.utf8.contains(UInt8(ascii: ":")) ? "[\(a)]:\(p)" : "\(a):\(p)"
    }

    public var tcpFlags: TCPFlags? { flags.map { TCPFlags(rawValue: $0) } }
    public var tcpExpert: TCPExpert { TCPExpert(rawValue: expert) }
}

/// A connection row: endpoints in Community ID order and its derived lifecycle (JSON) if computed.
public struct ConnectionRow: Sendable, Equatable {
    public var key: Int64
    public var proto: Int
    public var a: String
    public var aport: Int
    public var b: String
    public var bport: Int
    public var communityID: String
    /// The derived lifecycle, once the lifecycle pass has run.
    public var lifecycle: Lifecycle?

    /// The two endpoints in reading order: the originator first once the lifecycle knows it.
    public var ordered: (String, String) {
        lifecycle?.originatorSide == 1 ? (bEndpoint, aEndpoint) : (aEndpoint, bEndpoint)
    }

    public var aEndpoint: String { StoredEvent.endpoint(a, aport) }
    public var bEndpoint: String { StoredEvent.endpoint(b, bport) }
    public var text: String { "\(IPProto.name(UInt8(truncatingIfNeeded: proto))) \(aEndpoint) ⇄ \(bEndpoint)" }
}

/// What `timeline` and `connections` filter on. Times are aligned nanoseconds.
public struct EventFilter: Sendable {
    public var from: Int64?
    public var to: Int64?
    public var hosts: [String] = []
    public var sources: [Int64] = []
    public var conns: [Int64]? = nil
    public var grep: String?
    public var kinds: [EventKind] = []

    public init() {}
}
