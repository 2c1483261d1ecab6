import Foundation
import TraceModel
import EventStore

/// What happened to one connection, from one vantage point: who opened it, the handshake, what each
/// direction carried, how it ended. Words as in Zeek's conn.log (originator/responder, `conn_state`,
/// `history`) because users already read those.
public struct Lifecycle: Codable, Sendable, Equatable {
    public struct Direction: Codable, Sendable, Equatable {
        public var packets = 0
        /// TCP payload bytes, from the packets whose length the source shows.
        public var bytes: Int64 = 0
        /// Segments marked as retransmissions, or repeating a sequence range already sent.
        public var retransmissions = 0
    }

    /// The endpoint that sent the first SYN (or, without one, the first packet seen: `originatorGuessed`).
    public var originator: String
    public var responder: String
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
    /// Hosts and how many of the connection's events each holds.
    public var seenBy: [String: Int]

    /// Derives the lifecycle from the connection's events (all sources; the vantage is the source with
    /// the most of them, so that one packet seen at two capture points is not counted twice).
    public static func derive(_ events: [StoredEvent], hosts: [Int64: String]) -> Lifecycle? {
        let packets = events.filter { $0.kind == .packet && $0.srcEndpoint != nil }
        guard !packets.isEmpty else { return nil }
        var perSource: [Int64: Int] = [:]
        for e in packets { perSource[e.source, default: 0] += 1 }
        let vantage = perSource.max { ($0.value, -$0.key) < ($1.value, -$1.key) }!.key
        let seen = packets.filter { $0.source == vantage }
        var seenBy: [String: Int] = [:]
        for (s, n) in perSource { seenBy[hosts[s] ?? "source \(s)", default: 0] += n }

        let firstSyn = seen.first { f in f.tcpFlags.map { $0.contains(.syn) && !$0.contains(.ack) } ?? false }
        let synAck = seen.first { f in f.tcpFlags.map { $0.contains(.syn) && $0.contains(.ack) } ?? false }
        let origEP: String
        let guessed: Bool
        if let s = firstSyn { origEP = s.srcEndpoint!; guessed = false }
        else if let sa = synAck { origEP = sa.dstEndpoint!; guessed = false }
        else { origEP = seen[0].srcEndpoint!; guessed = true }
        let respEP = seen.first { $0.srcEndpoint == origEP }?.dstEndpoint ?? seen.first { $0.dstEndpoint == origEP }?.srcEndpoint ?? "?"

        var l = Lifecycle(originator: origEP, responder: respEP, originatorGuessed: guessed, vantage: hosts[vantage] ?? "",
                          vantageSource: vantage, first: seen.first!.ts, last: seen.last!.ts, durationNS: seen.last!.ts - seen.first!.ts,
                          synAt: firstSyn?.ts, synRetransmissions: 0, synToSynAckNS: nil, synAckToAckNS: nil, handshakeCompleted: false,
                          end: "none", endBy: nil, endAt: nil, connState: "OTH", history: "", seenBy: seenBy)

        var sentRanges: [String: Set<Int64>] = [:]
        var history = ""
        func mark(_ letter: Character, fromOrig: Bool) {
            let c = fromOrig ? Character(letter.uppercased()) : Character(letter.lowercased())
            if !history.contains(c) { history.append(c) }
        }
        var synAckAt: Int64? = nil
        var origFin = false, respFin = false, origRst = false, respRst = false
        var finAt: Int64? = nil, finBy: String? = nil
        for e in seen {
            let fromOrig = e.srcEndpoint == origEP
            let flags = e.tcpFlags ?? []
            let isRetrans = e.tcpExpert.contains(.retransmission)
            var retrans = isRetrans
            if let seq = e.seq, let len = e.len, len > 0, !isRetrans {
                // Without Wireshark's note, the same (seq, len) sent twice is a retransmission.
                let key = seq &* 65_536 &+ len
                let dir = fromOrig ? "o" : "r"
                if sentRanges[dir, default: []].contains(key) { retrans = true } else { sentRanges[dir, default: []].insert(key) }
            }
            if fromOrig {
                l.orig.packets += 1
                l.orig.bytes += max(0, e.len ?? 0)
                if retrans { l.orig.retransmissions += 1 }
            } else {
                l.resp.packets += 1
                l.resp.bytes += max(0, e.len ?? 0)
                if retrans { l.resp.retransmissions += 1 }
            }
            if flags.contains(.syn) && !flags.contains(.ack) {
                if let s = firstSyn, e.id != s.id, fromOrig { l.synRetransmissions += 1; mark("t", fromOrig: true) }
                mark("s", fromOrig: fromOrig)
            } else if flags.contains(.syn) && flags.contains(.ack) {
                if synAckAt == nil {
                    synAckAt = e.ts
                    if let s = firstSyn { l.synToSynAckNS = e.ts - s.ts }
                }
                mark("h", fromOrig: fromOrig)
            } else if flags.contains(.ack), let sa = synAckAt, l.synAckToAckNS == nil, fromOrig, !flags.contains(.rst) {
                l.synAckToAckNS = e.ts - sa
                l.handshakeCompleted = true
            }
            if (e.len ?? 0) > 0 { mark("d", fromOrig: fromOrig) } else if flags.contains(.ack) && !flags.contains(.syn) { mark("a", fromOrig: fromOrig) }
            if retrans && !flags.contains(.syn) { mark("t", fromOrig: fromOrig) }
            if flags.contains(.fin) {
                if fromOrig { origFin = true } else { respFin = true }
                if finAt == nil { finAt = e.ts; finBy = e.srcEndpoint }
                mark("f", fromOrig: fromOrig)
            }
            if flags.contains(.rst) {
                if l.end != "rst" && l.end != "refused" {
                    l.end = synAckAt == nil && firstSyn != nil && !fromOrig ? "refused" : "rst"
                    l.endBy = e.srcEndpoint
                    l.endAt = e.ts
                }
                if fromOrig { origRst = true } else { respRst = true }
                mark("r", fromOrig: fromOrig)
            }
        }
        if l.end == "none", let finAt {
            l.end = "fin"
            l.endBy = finBy
            l.endAt = finAt
        }
        l.history = history
        let synSeen = firstSyn != nil
        let established = synSeen && synAckAt != nil
        switch true {
        case synSeen && synAckAt == nil && respRst: l.connState = "REJ"
        case synSeen && synAckAt == nil && origRst: l.connState = "RSTOS0"
        case synSeen && synAckAt == nil && origFin: l.connState = "SH"
        case synSeen && synAckAt == nil: l.connState = "S0"
        case established && origRst: l.connState = "RSTO"
        case established && respRst: l.connState = "RSTR"
        case established && origFin && respFin: l.connState = "SF"
        case established && origFin: l.connState = "S2"
        case established && respFin: l.connState = "S3"
        case established: l.connState = "S1"
        case !synSeen && synAckAt != nil && respRst: l.connState = "RSTRH"
        case !synSeen && synAckAt != nil && respFin: l.connState = "SHR"
        default: l.connState = "OTH"
        }
        return l
    }
}

/// The joiner pass that derives each connection's lifecycle into the `connection` table. Idempotent;
/// runs again whenever an ingest or a clock change marked it stale.
public enum LifecyclePass {
    public static let name = "lifecycle"

    public static func runIfStale(_ store: Store) throws {
        guard try store.isStale(name) else { return }
        try run(store)
    }

    public static func run(_ store: Store) throws {
        let hosts = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0.host) })
        var batch: [(Int64, String)] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try store.forEachConnectionEvents { key, events in
            if let l = Lifecycle.derive(events, hosts: hosts) {
                batch.append((key, String(decoding: try encoder.encode(l), as: UTF8.self)))
            }
        }
        try store.saveLifecycles(batch)
        try store.setStale(name, false)
    }
}

extension Lifecycle {
    /// Reads a stored lifecycle.
    public static func decode(_ json: String) -> Lifecycle? {
        try? JSONDecoder().decode(Lifecycle.self, from: Data(json.utf8))
    }
}
