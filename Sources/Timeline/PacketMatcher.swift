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
    ///
    /// A resend carries its original's numbers, so when the original was lost the k-th rule alone would
    /// pair it with the resend. Where both sources show the IP id (new for every packet a host sends), or
    /// else the TCP timestamp value, packets are paired on it first; the k-th rule takes what is left.
    public static func match(_ a: [MatchPacket], _ b: [MatchPacket]) -> [(Int, Int)] {
        let raw = a.allSatisfy { $0.seqRaw != nil } && b.allSatisfy { $0.seqRaw != nil }
        var taken = [Bool](repeating: false, count: b.count)
        var pairedA = [Bool](repeating: false, count: a.count)
        var out: [(Int, Int)] = []
        let tieBreakers: [(MatchPacket) -> Int64?] = [{ $0.ipID }, { $0.tsval }]
        for extra in tieBreakers where a.contains(where: { extra($0) != nil }) && b.contains(where: { extra($0) != nil }) {
            pair(a, b, raw: raw, extra: extra, &pairedA, &taken, &out)
        }
        pair(a, b, raw: raw, extra: { _ in 0 }, &pairedA, &taken, &out)
        return out.sorted { $0.0 < $1.0 }
    }

    struct Keyed: Hashable { let f: Fingerprint, extra: Int64 }

    /// Pairs the packets not yet paired whose fingerprint and `extra` agree, the k-th with the k-th.
    static func pair(_ a: [MatchPacket], _ b: [MatchPacket], raw: Bool, extra: (MatchPacket) -> Int64?,
                     _ pairedA: inout [Bool], _ taken: inout [Bool], _ out: inout [(Int, Int)]) {
        var waiting: [Keyed: [Int]] = [:]
        for (j, p) in b.enumerated() where !taken[j] {
            guard let x = extra(p) else { continue }
            waiting[Keyed(f: fingerprint(p, raw: raw), extra: x), default: []].append(j)
        }
        var next: [Keyed: Int] = [:]
        for (i, p) in a.enumerated() where !pairedA[i] {
            guard let x = extra(p) else { continue }
            let k = Keyed(f: fingerprint(p, raw: raw), extra: x)
            guard let list = waiting[k] else { continue }
            let n = next[k, default: 0]
            if n < list.count {
                out.append((i, list[n]))
                pairedA[i] = true
                taken[list[n]] = true
                next[k] = n + 1
            }
        }
    }
}
