import TraceModel
import EventStore

/// Finds the same TCP packet in two sources' views of one connection: same direction, same SYN/FIN/RST/ACK
/// bits, same sequence and acknowledgment numbers, same payload length. A fingerprint seen k times in
/// one source pairs its k-th occurrence with the k-th in the other, so the k-th retransmission pairs with
/// the k-th (ARCHITECTURE.md, "Time").
///
/// Absolute numbers are compared when both sources have them (captures, PDML, tcpdump); otherwise the
/// relative ones, which two exports of the same connection number alike from its SYN.
public enum PacketMatcher {
    struct Fingerprint: Hashable {
        let side: Int, flags: Int, seq: Int64, ack: Int64, len: Int64
    }

    /// The flag bits every capture point sees alike (PSH, ECE, CWR may be rewritten on the way).
    static let matchedFlags = TCPFlags.syn.rawValue | TCPFlags.fin.rawValue | TCPFlags.rst.rawValue | TCPFlags.ack.rawValue

    static func fingerprint(_ p: MatchPacket, raw: Bool) -> Fingerprint {
        let flags = p.flags & matchedFlags
        let seq = (raw ? p.seqRaw : p.seq) ?? -1
        // A SYN's acknowledgment field means nothing without the ACK bit.
        let ack = flags & TCPFlags.ack.rawValue != 0 ? ((raw ? p.ackRaw : p.ack) ?? -1) : -1
        return Fingerprint(side: p.side, flags: flags, seq: seq, ack: ack, len: p.len)
    }

    /// Index pairs (into `a`, into `b`) of the packets both saw; both lists in their source's time order.
    public static func match(_ a: [MatchPacket], _ b: [MatchPacket]) -> [(Int, Int)] {
        let raw = a.allSatisfy { $0.seqRaw != nil } && b.allSatisfy { $0.seqRaw != nil }
        var waiting: [Fingerprint: [Int]] = [:]
        for (j, p) in b.enumerated() { waiting[fingerprint(p, raw: raw), default: []].append(j) }
        var next: [Fingerprint: Int] = [:]
        var out: [(Int, Int)] = []
        for (i, p) in a.enumerated() {
            let f = fingerprint(p, raw: raw)
            guard let list = waiting[f] else { continue }
            let k = next[f, default: 0]
            if k < list.count {
                out.append((i, list[k]))
                next[f] = k + 1
            }
        }
        return out
    }
}
