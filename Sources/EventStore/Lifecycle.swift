import TraceModel

/// What happened to one connection, from one vantage point: who opened it, the handshake, what each
/// direction carried, how it ended. Words as in Zeek's conn.log (originator/responder, `conn_state`,
/// `history`) because users already read those.
public struct Lifecycle: Sendable, Equatable {
    public struct Direction: Sendable, Equatable {
        public var packets = 0
        /// Payload bytes sent: the sequence space covered (by the side's own segments and by the ACKs
        /// of its peer) when sequence numbers are shown, else the sum of the lengths the source shows.
        /// Exports that show neither Seq nor Len for application rows still show the peer's ACKs.
        public var bytes: Int64 = 0
        /// Segments marked as retransmissions, or repeating a sequence range already sent.
        public var retransmissions = 0

        public init(packets: Int = 0, bytes: Int64 = 0, retransmissions: Int = 0) {
            self.packets = packets
            self.bytes = bytes
            self.retransmissions = retransmissions
        }
    }

    /// The endpoint that sent the first SYN (or, without one, the first packet seen: `originatorGuessed`).
    public var originator: String
    public var responder: String
    /// 0 when the connection's endpoint `a` opened it, 1 when `b` did.
    public var originatorSide: Int
    public var originatorGuessed: Bool
    /// The host (capture point) whose events this summary counts.
    public var vantage: String
    public var vantageSource: Int64
    public var first: Int64
    public var last: Int64
    public var durationNS: Int64
    /// When the (first) SYN was sent, and how many times it was sent again.
    public var synAt: Int64?
    public var synRetransmissions: Int
    /// SYN → SYN/ACK, SYN/ACK → ACK, as seen at the vantage point (nanoseconds).
    public var synToSynAckNS: Int64?
    public var synAckToAckNS: Int64?
    public var handshakeCompleted: Bool
    public var orig = Direction()
    public var resp = Direction()
    /// fin | rst | refused | none
    public var end: String
    /// The endpoint that sent the RST, or the first FIN.
    public var endBy: String?
    public var endAt: Int64?
    /// Zeek's conn_state (S0, S1, SF, REJ, RSTO, RSTR, …) and history letters.
    public var connState: String
    public var history: String
    /// Hosts and how many of the connection's packets each holds (and the same by source id).
    public var seenBy: [String: Int]
    public var seenBySource: [Int64: Int]

    public init(originator: String, responder: String, originatorSide: Int, originatorGuessed: Bool, vantage: String, vantageSource: Int64,
                first: Int64, last: Int64, durationNS: Int64, synAt: Int64?, synRetransmissions: Int, synToSynAckNS: Int64?,
                synAckToAckNS: Int64?, handshakeCompleted: Bool, end: String, endBy: String?, endAt: Int64?, connState: String,
                history: String, seenBy: [String: Int], seenBySource: [Int64: Int]) {
        self.originator = originator
        self.responder = responder
        self.originatorSide = originatorSide
        self.originatorGuessed = originatorGuessed
        self.vantage = vantage
        self.vantageSource = vantageSource
        self.first = first
        self.last = last
        self.durationNS = durationNS
        self.synAt = synAt
        self.synRetransmissions = synRetransmissions
        self.synToSynAckNS = synToSynAckNS
        self.synAckToAckNS = synAckToAckNS
        self.handshakeCompleted = handshakeCompleted
        self.end = end
        self.endBy = endBy
        self.endAt = endAt
        self.connState = connState
        self.history = history
        self.seenBy = seenBy
        self.seenBySource = seenBySource
    }
}

/// One packet as the lifecycle pass needs it: integers only.
public struct PacketFacts: Sendable {
    public var source: Int64
    /// Aligned nanoseconds.
    public var ts: Int64
    /// 0 when sent by the connection's endpoint a (or the first sender, outside the store), 1 otherwise.
    public var side: Int
    public var flags: Int
    public var seq: Int64?
    public var ack: Int64?
    public var len: Int64?
    public var expert: Int

    public init(source: Int64, ts: Int64, side: Int, flags: Int, seq: Int64?, ack: Int64?, len: Int64?, expert: Int) {
        self.source = source
        self.ts = ts
        self.side = side
        self.flags = flags
        self.seq = seq
        self.ack = ack
        self.len = len
        self.expert = expert
    }
}

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
}

/// A source's clock as solved from packets it shares with others: add `offsetNS` to its times to read
/// them on the reference source's clock, give or take `uncertaintyNS`.
public struct SolvedClock: Sendable, Equatable {
    public static let method = "packets"
    public var source: Int64
    public var offsetNS: Int64
    public var uncertaintyNS: Int64
    public var reference: Int64
    public var matched: Int
    public var peer: Int64?

    public init(source: Int64, offsetNS: Int64, uncertaintyNS: Int64, reference: Int64, matched: Int, peer: Int64?) {
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
