import Foundation
import TraceModel
import EventStore

/// Delayed ACK meeting Nagle's algorithm (the seed's port 7890 case): a sender that has written a small
/// segment may not send more until that segment is acknowledged; the receiver holds its ACK for its
/// delayed-ACK timer (~200 ms on Windows, ~40 ms on Linux) because no data of its own goes back; the ACK
/// comes, and the held data leaves within a millisecond. Every transaction pays the timer.
enum NagleFindings {
    /// An ACK this long after the data it acknowledges was delayed on purpose.
    static let delayedAck: Int64 = 30_000_000
    /// Data leaving this soon after that ACK was waiting for it.
    static let released: Int64 = 5_000_000

    /// `191 ms`, or for many `a median 44 ms (43 ms to 45 ms)`.
    static func describe(_ delays: [Int64]) -> String {
        if delays.count <= 3 { return delays.map(FindingContext.span).joined(separator: ", ") }
        let s = delays.sorted()
        return "a median \(FindingContext.span(s[s.count / 2])) (\(FindingContext.span(s[0])) to \(FindingContext.span(s[s.count - 1])))"
    }

    static func run(_ ctx: FindingContext) throws -> [Finding] {
        var out: [Finding] = []
        for c in try ctx.store.allConnections() where c.proto == 6 {
            guard let life = c.lifecycle else { continue }
            let ps = try ctx.store.events(conn: c.key)
                .filter { $0.kind == .packet && $0.source == life.vantageSource && $0.flags != nil }
                .sorted { ($0.ts, $0.id) < ($1.ts, $1.id) }
            var hits: [(small: StoredEvent, ack: StoredEvent, next: StoredEvent)] = []
            for (i, e) in ps.enumerated() {
                // A small segment, then (with nothing in between from its sender) the peer's pure ACK late,
                // then the sender's next data right after that ACK.
                guard let len = e.len, len > 0, len < 536, let sender = e.srcEndpoint else { continue }
                guard let j = ps[(i + 1)...].firstIndex(where: { $0.srcEndpoint != sender }), ps[(i + 1)..<j].allSatisfy({ ($0.len ?? 0) == 0 }) else { continue }
                let ack = ps[j]
                guard (ack.len ?? 0) == 0, (ack.flags ?? 0) & 0x10 != 0, ack.ts - e.ts >= delayedAck else { continue }
                guard let next = ps[(j + 1)...].first(where: { $0.srcEndpoint == sender }), (next.len ?? 0) > 0, next.ts - ack.ts <= released else { continue }
                hits.append((e, ack, next))
            }
            guard let first = hits.first else { continue }
            let delays = hits.map { $0.ack.ts - $0.small.ts }
            let sender = first.small.srcEndpoint ?? "?", receiver = first.ack.srcEndpoint ?? "?"
            let text = "\(hits.count) time\(hits.count == 1 ? "" : "s") \(sender) sent a small segment (\(first.small.len ?? 0) bytes), then held its next data until "
                + "\(receiver)'s ACK, which came \(describe(delays)) later (a delayed-ACK timer); the data left "
                + "\(FindingContext.span(first.next.ts - first.ack.ts)) after it. Nagle's algorithm meeting a delayed ACK: turning off delayed ACK at \(receiver)'s host "
                + "(TcpAckFrequency on Windows) or Nagle at \(sender)'s (TCP_NODELAY) removes the wait"
            var f = Finding(kind: "delayed_ack_nagle", severity: .warning, ts: first.small.ts, hosts: [ctx.host(life.vantageSource)],
                            connection: "tcp \(life.originator) → \(life.responder)", explanation: text,
                            evidence: hits.prefix(4).flatMap { [ctx.evidence($0.small), ctx.evidence($0.ack), ctx.evidence($0.next)] })
            f.numbers["occurrences"] = Double(hits.count)
            f.numbers["ack_delay_ms"] = Double(delays.sorted()[delays.count / 2]) / 1e6
            out.append(f)
        }
        return out
    }
}
