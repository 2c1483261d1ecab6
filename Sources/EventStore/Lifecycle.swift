import TraceModel

/// What happened to one connection, from one vantage point: who opened it, the handshake, what each
/// direction carried, how it ended. Words as in Zeek's conn.log (originator/responder, `conn_state`,
/// `history`) because users already read those.
public struct Lifecycle: Sendable, Equatable, Codable {
    public struct Direction: Sendable, Equatable, Codable {
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
    /// The sequence number as sent, when the source shows it (captures, exports with raw numbers): a new
    /// ISN on the same tuple is a new connection.
    public var seqRaw: Int64?

    public init(source: Int64, ts: Int64, side: Int, flags: Int, seq: Int64?, ack: Int64?, len: Int64?, expert: Int, seqRaw: Int64? = nil) {
        self.source = source
        self.ts = ts
        self.side = side
        self.flags = flags
        self.seq = seq
        self.ack = ack
        self.len = len
        self.expert = expert
        self.seqRaw = seqRaw
    }
}
