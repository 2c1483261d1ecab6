import Foundation
import TraceModel
import EventStore

/// Folds one source's packets of one connection, in time order, into a lifecycle: the packets stream
/// through it (only the distinct segments sent are remembered, to find unmarked retransmissions).
///
/// The two directions are sides 0 and 1 (the connection's endpoints in a fixed order) until the end,
/// when the first SYN (or SYN/ACK) says which side opened the connection.
public struct LifecycleBuilder {
    struct Side {
        var packets = 0
        var retransmissions = 0
        var syns = 0
        var firstSyn: Int64?
        var firstSynAck: Int64?
        var firstAckAfterSynAck: Int64?
        var fin: Int64?
        var rst: Int64?
        /// Segments sent, by (seq, len), to find retransmissions Wireshark did not mark.
        var sent: Set<Int64> = []
        /// Sequence-space accounting, modulo 2^32 from the initial sequence number.
        var isn: Int64?
        var dataEnd: Int64 = 0
        var finAt: Int64?
        var lenSum: Int64 = 0

        /// Offset of a sequence number from the ISN, or nil when it lies before it (old or wrapped).
        func offset(_ seq: Int64) -> Int64? {
            guard let isn else { return nil }
            let d = (seq - isn) & 0xFFFF_FFFF
            return d < 0x8000_0000 ? d : nil
        }

        var payloadBytes: Int64 {
            let seqBytes = dataEnd > 1 ? dataEnd - 1 : 0
            return max(seqBytes, lenSum)
        }
    }

    let source: Int64
    var sides = [Side(), Side()]
    var first: Int64 = 0
    var last: Int64 = 0
    var count = 0
    /// History letters in order of first appearance, with the side that showed them.
    var letters: [(Character, Int)] = []

    public init(source: Int64) { self.source = source }

    mutating func mark(_ c: Character, _ side: Int) {
        if !letters.contains(where: { $0.0 == c && $0.1 == side }) { letters.append((c, side)) }
    }

    public mutating func add(_ e: PacketFacts) {
        let side = e.side
        if count == 0 { first = e.ts }
        last = e.ts
        count += 1
        let flags = TCPFlags(rawValue: max(0, e.flags))
        var retrans = TCPExpert(rawValue: e.expert).contains(.retransmission)
        if !retrans, let seq = e.seq, let len = e.len, len > 0 {
            let key = seq &* 65_536 &+ len
            if sides[side].sent.contains(key) { retrans = true } else { sides[side].sent.insert(key) }
        }
        sides[side].packets += 1
        if !retrans { sides[side].lenSum += max(0, e.len ?? 0) }
        if let seq = e.seq {
            if sides[side].isn == nil { sides[side].isn = flags.contains(.syn) ? seq : seq - 1 }
            // A SYN (or SYN/ACK) with another initial number starts that side's numbering afresh: a server
            // answering each resent SYN anew (the Lync Front End) must not count the jump as bytes.
            if flags.contains(.syn), let isn = sides[side].isn, isn != seq {
                sides[side].isn = seq
                sides[side].dataEnd = 0
                sides[side].finAt = nil
            }
            if let o = sides[side].offset(seq) {
                var end = o + max(0, e.len ?? 0)
                if flags.contains(.fin) && sides[side].finAt == nil { sides[side].finAt = end }
                // Segments after the FIN (its ACKs) number one past it: that byte is the FIN, not data.
                if let f = sides[side].finAt { end = min(end, f) }
                sides[side].dataEnd = max(sides[side].dataEnd, end)
            }
        }
        if let ack = e.ack, flags.contains(.ack) {
            // What the peer acknowledges, it sent (the ACK of a FIN covers one byte that is not data).
            let other = 1 - side
            if var o = sides[other].offset(ack) {
                if let f = sides[other].finAt { o = min(o, f) }
                sides[other].dataEnd = max(sides[other].dataEnd, o)
            }
        }
        if flags.contains(.syn) && !flags.contains(.ack) {
            sides[side].syns += 1
            if sides[side].firstSyn == nil { sides[side].firstSyn = e.ts } else { mark("t", side) }
            mark("s", side)
        } else if flags.contains(.syn) && flags.contains(.ack) {
            if sides[side].firstSynAck == nil { sides[side].firstSynAck = e.ts }
            mark("h", side)
        } else {
            if retrans { sides[side].retransmissions += 1; mark("t", side) }
            let other = 1 - side
            if flags.contains(.ack) && !flags.contains(.rst) && sides[other].firstSynAck != nil && sides[side].firstAckAfterSynAck == nil {
                sides[side].firstAckAfterSynAck = e.ts
            }
        }
        if (e.len ?? 0) > 0 { mark("d", side) } else if flags.contains(.ack) && !flags.contains(.syn) { mark("a", side) }
        if flags.contains(.fin) { if sides[side].fin == nil { sides[side].fin = e.ts }; mark("f", side) }
        if flags.contains(.rst) { if sides[side].rst == nil { sides[side].rst = e.ts }; mark("r", side) }
    }

    /// The lifecycle this source saw; `endpoints` are sides 0 and 1.
    public func finish(endpoints: (String, String), host: String, seenBy: [String: Int], seenBySource: [Int64: Int]) -> Lifecycle? {
        guard count > 0 else { return nil }
        // Originator: the side of the first SYN, else the side the SYN/ACK answered, else the first sender.
        var o = 0
        var guessed = false
        if let a = sides[0].firstSyn, let b = sides[1].firstSyn { o = a <= b ? 0 : 1 }
        else if sides[0].firstSyn != nil { o = 0 }
        else if sides[1].firstSyn != nil { o = 1 }
        else if sides[0].firstSynAck != nil { o = 1 }
        else if sides[1].firstSynAck != nil { o = 0 }
        else { guessed = true; o = letters.first?.1 ?? 0 }
        let r = 1 - o
        let orig = sides[o], resp = sides[r]
        let origEP = o == 0 ? endpoints.0 : endpoints.1, respEP = o == 0 ? endpoints.1 : endpoints.0
        var l = Lifecycle(originator: origEP, responder: respEP, originatorSide: o, originatorGuessed: guessed, vantage: host, vantageSource: source,
                          first: first, last: last, durationNS: last - first, synAt: orig.firstSyn,
                          synRetransmissions: max(0, orig.syns - 1), synToSynAckNS: nil, synAckToAckNS: nil, handshakeCompleted: false,
                          end: "none", endBy: nil, endAt: nil, connState: "OTH", history: "", seenBy: seenBy, seenBySource: seenBySource)
        l.orig = Lifecycle.Direction(packets: orig.packets, bytes: orig.payloadBytes, retransmissions: orig.retransmissions)
        l.resp = Lifecycle.Direction(packets: resp.packets, bytes: resp.payloadBytes, retransmissions: resp.retransmissions)
        if let syn = orig.firstSyn, let sa = resp.firstSynAck { l.synToSynAckNS = sa - syn }
        if let sa = resp.firstSynAck, let ack = orig.firstAckAfterSynAck {
            l.synAckToAckNS = ack - sa
            l.handshakeCompleted = orig.firstSyn != nil
        }
        // The first RST ends it; else the first FIN.
        let rsts = [(orig.rst, origEP, true), (resp.rst, respEP, false)].compactMap { t in t.0.map { ($0, t.1, t.2) } }.sorted { $0.0 < $1.0 }
        let fins = [(orig.fin, origEP), (resp.fin, respEP)].compactMap { t in t.0.map { ($0, t.1) } }.sorted { $0.0 < $1.0 }
        if let (at, by, fromOrig) = rsts.first {
            l.end = orig.firstSyn != nil && resp.firstSynAck == nil && !fromOrig ? "refused" : "rst"
            l.endBy = by
            l.endAt = at
        } else if let (at, by) = fins.first {
            l.end = "fin"
            l.endBy = by
            l.endAt = at
        }
        l.history = String(letters.map { $0.1 == o ? Character($0.0.uppercased()) : $0.0 })
        let synSeen = orig.firstSyn != nil
        let synAck = resp.firstSynAck != nil
        let established = synSeen && synAck
        switch true {
        case synSeen && !synAck && resp.rst != nil: l.connState = "REJ"
        case synSeen && !synAck && orig.rst != nil: l.connState = "RSTOS0"
        case synSeen && !synAck && orig.fin != nil: l.connState = "SH"
        case synSeen && !synAck: l.connState = "S0"
        case established && orig.rst != nil && (resp.rst == nil || orig.rst! <= resp.rst!): l.connState = "RSTO"
        case established && resp.rst != nil: l.connState = "RSTR"
        case established && orig.fin != nil && resp.fin != nil: l.connState = "SF"
        case established && orig.fin != nil: l.connState = "S2"
        case established && resp.fin != nil: l.connState = "S3"
        case established: l.connState = "S1"
        case !synSeen && synAck && resp.rst != nil: l.connState = "RSTRH"
        case !synSeen && synAck && resp.fin != nil: l.connState = "SHR"
        default: l.connState = "OTH"
        }
        return l
    }

    /// The lifecycle of the source that saw most of the connection, with every source's count.
    static func choose(_ builders: [LifecycleBuilder], endpoints: (String, String), hosts: [Int64: String]) -> Lifecycle? {
        var seenBy: [String: Int] = [:]
        var bySource: [Int64: Int] = [:]
        for b in builders where b.count > 0 {
            seenBy[hosts[b.source] ?? "source \(b.source)", default: 0] += b.count
            bySource[b.source] = b.count
        }
        guard let best = builders.filter({ $0.count > 0 }).max(by: { ($0.count, -$0.source) < ($1.count, -$1.source) }) else { return nil }
        return best.finish(endpoints: endpoints, host: hosts[best.source] ?? "", seenBy: seenBy, seenBySource: bySource)
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
        // Read first: events that arrive while the pass runs (ingest --follow) leave it stale.
        let mark = try store.staleMark(name)
        defer { PassProgress.done() }
        PassProgress.phase("lifecycles: indexing events by connection")
        try store.ensureConnectionIndex()
        PassProgress.phase("lifecycles: reading each connection's packets")
        let hosts = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0.host) })
        var batch: [(Int64, Lifecycle)] = []
        var views: [CaptureView] = []
        var instances: [(key: Int64, lifecycles: [Lifecycle])] = []
        var current: ConnectionRow? = nil
        var packets: [Int64: [PacketFacts]] = [:]
        func lifecycle(_ bySource: [Int64: [PacketFacts]], _ c: ConnectionRow, views: inout [CaptureView]) -> Lifecycle? {
            var builders: [LifecycleBuilder] = []
            for (source, ps) in bySource.sorted(by: { $0.key < $1.key }) {
                var b = LifecycleBuilder(source: source)
                for p in ps { b.add(p) }
                builders.append(b)
            }
            // Seen at several points: each one's own account (a SYN lost between them reads S0 at one, SF at the other).
            if builders.count > 1 {
                for b in builders {
                    guard let v = b.finish(endpoints: (c.aEndpoint, c.bEndpoint), host: hosts[b.source] ?? "", seenBy: [:], seenBySource: [:]) else { continue }
                    views.append(CaptureView(key: c.key, source: b.source, packets: b.count, first: v.first, last: v.last, connState: v.connState, history: v.history))
                }
            }
            return LifecycleBuilder.choose(builders, endpoints: (c.aEndpoint, c.bEndpoint), hosts: hosts)
        }
        var done = 0
        func flush() {
            guard let c = current else { return }
            defer { packets.removeAll(keepingCapacity: true) }
            done += 1
            PassProgress.step("lifecycles: \(done) connections")
            let split = packets.mapValues(ConnectionInstances.split)
            if split.values.allSatisfy({ $0.count <= 1 }) {
                if let l = lifecycle(packets, c, views: &views) { batch.append((c.key, l)) }
                return
            }
            // The tuple carried several connections: one lifecycle each, the same connection at every capture
            // point found by its SYN's number; the tuple's row keeps the first.
            var groups: [String: [Int64: [PacketFacts]]] = [:]
            let names = ConnectionInstances.identities(split)
            for (source, parts) in split {
                for (i, part) in parts.enumerated() { groups[names[source]![i], default: [:]][source] = part }
            }
            var unused: [CaptureView] = []
            let lives = groups.values.compactMap { lifecycle($0, c, views: &unused) }.sorted { $0.first < $1.first }
            if let first = lives.first { batch.append((c.key, first)) }
            instances.append((c.key, lives))
        }
        // Packets arrive grouped by connection and, within it, by source and time; side 0 is endpoint a.
        try store.forEachConnectionPacket { conn, p in
            if conn.key != current?.key { flush(); current = conn }
            packets[p.source, default: []].append(p)
        }
        flush()
        PassProgress.phase("lifecycles: saving \(batch.count) connections")
        try store.saveInstances(instances)
        try store.saveLifecycles(batch, views: views)
        try store.setFresh(name, ifStill: mark)
    }
}
