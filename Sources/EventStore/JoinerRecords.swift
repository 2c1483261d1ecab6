import Foundation

/// What the joiner passes (clocks, twins, aliases, per-capture-point views) read from and write to the store.

/// A TCP packet as the clock pass matches it: its own clock's time, direction and numbers.
public struct MatchPacket: Sendable {
    public var conn: Int64
    public var source: Int64
    /// Nanoseconds on the source's own clock (no offset applied).
    public var ts: Int64
    /// 0 when sent by the connection's endpoint a, 1 otherwise.
    public var side: Int
    public var flags: Int
    public var seq: Int64?
    public var ack: Int64?
    public var seqRaw: Int64?
    public var ackRaw: Int64?
    public var len: Int64
    /// The event's row id and its frame number in the source.
    public var id: Int64
    public var ordinal: Int64
    /// IP identification and TCP timestamp value, where the source shows them: they tell a resend from
    /// its original, which carry the same numbers.
    public var ipID: Int64?
    public var tsval: Int64?
    /// The sender's address (its id in the store).
    public var srcAddress: Int64? = nil
}

/// A source's clock as solved from packets it shares with others: add `offsetNS` to its times to read
/// them on the reference source's clock, give or take `uncertaintyNS`.
public struct SolvedClock: Sendable, Equatable {
    public static let method = "packets"
    /// Solved from packets that all went one way between the two points: the offset is a bound (the path
    /// delay is not known), and `uncertaintyNS` only how well those packets agree.
    public static let oneWayMethod = "packets, one way"
    /// Solved from an event two logs of one host both tell (a connection failure), within a tolerance.
    public static let eventMethod = "a failure both logged"
    public static func isSolved(_ method: String?) -> Bool { method == Self.method || method == Self.oneWayMethod || method == Self.eventMethod }
    public var oneWay = false
    public var byEvents = false
    /// The method a store records for it.
    public var methodName: String { byEvents ? Self.eventMethod : oneWay ? Self.oneWayMethod : Self.method }
    public var source: Int64
    public var offsetNS: Int64
    public var uncertaintyNS: Int64
    public var reference: Int64
    public var matched: Int
    public var peer: Int64?
    /// Parts per billion the source's clock ran fast against the reference, around `origin` (its own time).
    public var driftPPB: Int64 = 0
    public var origin: Int64 = 0

    public init(source: Int64, offsetNS: Int64, uncertaintyNS: Int64, reference: Int64, matched: Int, peer: Int64?,
                driftPPB: Int64 = 0, origin: Int64 = 0) {
        self.driftPPB = driftPPB
        self.origin = origin
        self.source = source
        self.offsetNS = offsetNS
        self.uncertaintyNS = uncertaintyNS
        self.reference = reference
        self.matched = matched
        self.peer = peer
    }
}

/// Whether a packet seen at one capture point was seen at another (`peer`), and if not, why.
public struct TwinVerdict: Sendable, Equatable {
    public enum Verdict: String, Sendable {
        /// The same packet is there (`twin`).
        case seen
        /// It left this point towards the peer and never reached it: lost between them.
        case lost
        /// It is missing at the peer, yet the receiver beyond the peer acknowledged its bytes and the peer
        /// saw no resend of them: it got through, and the peer's capture missed it.
        case uncaptured
        /// It was seen here, but never passed the peer, which its sender's packets pass first: something in
        /// between sent it (or the peer's capture missed it).
        case injected
        /// The peer was not capturing at that time.
        case outside
        /// Which point the connection's packets pass first is unknown.
        case unknown
    }
    public var event: Int64
    public var peer: Int64
    public var twin: Int64?
    public var verdict: Verdict

    public init(event: Int64, peer: Int64, twin: Int64?, verdict: Verdict) {
        self.event = event
        self.peer = peer
        self.twin = twin
        self.verdict = verdict
    }
}

/// A SYN as the alias finder reads it.
public struct SYNFacts: Sendable {
    public var source: Int64
    public var conn: Int64
    /// 0 when endpoint a of the connection's key sent it.
    public var side: Int
    public var isn: Int64?
    public var tsval: Int64?
    public var win: Int64?

    public init(source: Int64, conn: Int64, side: Int, isn: Int64? = nil, tsval: Int64? = nil, win: Int64? = nil) {
        self.source = source; self.conn = conn; self.side = side; self.isn = isn; self.tsval = tsval; self.win = win
    }
}

/// One tuple of a connection seen under several (NAT between capture points).
public struct ConnectionAlias: Sendable, Equatable {
    public var key: Int64
    /// The smallest key of the group: the connection's name for the joiner.
    public var group: Int64
    /// Whether this tuple's endpoint b opened the connection (its sides are swapped against the group's).
    public var sideFlip: Bool
    public var evidence: String

    public init(key: Int64, group: Int64, sideFlip: Bool, evidence: String) {
        self.key = key
        self.group = group
        self.sideFlip = sideFlip
        self.evidence = evidence
    }
}

/// One capture point's view of a connection: Zeek's conn_state and history from its packets alone.
public struct CaptureView: Sendable, Equatable {
    public var key: Int64
    public var source: Int64
    public var packets: Int
    public var first: Int64?
    public var last: Int64?
    public var connState: String
    public var history: String

    public init(key: Int64, source: Int64, packets: Int, first: Int64?, last: Int64?, connState: String, history: String) {
        self.key = key
        self.source = source
        self.packets = packets
        self.first = first
        self.last = last
        self.connState = connState
        self.history = history
    }
}

/// A stack event (an ETL trace's TCPIP or Winsock line) as the binding pass reads it: the attributes it
/// uses, read out of the attrs JSON once. The binding pass holds a whole trace's events at once (8 M for a
/// big ETL export), so they carry no attrs text, and equal texts (a pointer named by thousands of
/// events) share one string (`StackEvent.Texts`).
public struct StackEvent: Sendable {
    public var id: Int64
    public var source: Int64
    public var ordinal: Int64
    /// Its own connection, when it printed the tuple.
    public var conn: Int64?
    /// Its local endpoint text, when it printed the tuple.
    public var local: String?
    /// TCPIP's object pointer (`"pointer":"0x…"`) and the endpoint a connection inherited its port from.
    public var pointer: String?
    public var endpoint: String?
    /// Winsock: the call (`bind`, `connect`…), its endpoint and the address it names.
    public var call: String?
    public var afdEndpoint: String?
    public var address: String?
    /// The state transition's ends are ClosedState; the object released its port number.
    public var fromClosed = false
    public var toClosed = false
    public var released = false

    init(id: Int64, source: Int64, ordinal: Int64, conn: Int64?, local: String?, attrs: String, texts: inout Texts) {
        self.id = id
        self.source = source
        self.ordinal = ordinal
        self.conn = conn
        self.local = local
        pointer = texts.shared(Attr.string(attrs, "pointer"))
        endpoint = texts.shared(Attr.string(attrs, "endpoint"))
        call = texts.shared(Attr.string(attrs, "call"))
        afdEndpoint = texts.shared(Attr.string(attrs, "afd_endpoint"))
        address = texts.shared(Attr.string(attrs, "address"))
        fromClosed = Attr.string(attrs, "state_from") == "ClosedState"
        toClosed = Attr.string(attrs, "state_to") == "ClosedState"
        released = Attr.string(attrs, "port_event") == "released"
    }

    /// One string per distinct text.
    struct Texts {
        private var seen: Set<String> = []
        mutating func shared(_ text: String?) -> String? {
            guard let text else { return nil }
            if let known = seen.firstIndex(of: text) { return seen[known] }
            seen.insert(text)
            return text
        }
    }
}

/// Values from the flat attrs JSON the parsers write (`"key":"text"` or `"key":123`), read without a JSON
/// parser: these are flat by construction, and this runs once per stack event. The search is on UTF-8
/// bytes: Foundation's `range(of:)` went through UTF-16 and took a quarter of the first pass
/// over a store with an 8 M-line ETL export.
public enum Attr {
    public static func string(_ attrs: String, _ key: String) -> String? {
        value(attrs, "\"\(key)\":\"") { $0 != UInt8(ascii: "\"") }
    }

    public static func int(_ attrs: String, _ key: String) -> Int64? {
        value(attrs, "\"\(key)\":") { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") }
            .flatMap { Int64($0) }
    }

    private static func firstIndex(of needle: UnsafeBufferPointer<UInt8>, in hay: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let first = needle.first, hay.count >= needle.count, let h = hay.baseAddress, let n = needle.baseAddress else { return nil }
        var i = 0
        while i <= hay.count - needle.count {
            if h[i] == first && memcmp(h + i, n, needle.count) == 0 { return i }
            i += 1
        }
        return nil
    }

    /// The bytes after the first `prefix` for as long as `keep` holds them.
    private static func value(_ attrs: String, _ prefix: String, while keep: (UInt8) -> Bool) -> String? {
        var attrs = attrs, prefix = prefix
        return attrs.withUTF8 { hay in
            prefix.withUTF8 { needle -> String? in
                guard let at = firstIndex(of: needle, in: hay) else { return nil }
                var i = at + needle.count
                let start = i
                while i < hay.count && keep(hay[i]) { i += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: hay[start..<i]), as: UTF8.self)
            }
        }
    }
}

/// One socket-table row as the views read it.
public struct SocketRowFacts: Sendable {
    public var source: Int64
    /// Local address (nil: the wildcard) and port; remote likewise (-1: `*`).
    public var local: String?
    public var port: Int
    public var remote: String?
    public var remotePort: Int
    public var state: String?
    public var pid: Int64?
    public var process: String?
    public var snapshot: Int
    /// Aligned ns.
    public var ts: Int64

    public init(source: Int64, local: String?, port: Int, remote: String?, remotePort: Int, state: String?, pid: Int64?,
                process: String?, snapshot: Int, ts: Int64) {
        self.source = source; self.local = local; self.port = port; self.remote = remote; self.remotePort = remotePort
        self.state = state; self.pid = pid; self.process = process; self.snapshot = snapshot; self.ts = ts
    }
}
