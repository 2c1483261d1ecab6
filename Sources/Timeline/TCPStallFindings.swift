import Foundation
import TraceModel
import EventStore

/// Findings about how data flowed (or did not) inside a connection, from the TCP analysis marks and the
/// MSS each side announced: segments larger than the peer's MSS resent until the connection died (the SMTP
/// seed), zero-window stalls (the receiver stopped reading), window-full stalls, retransmission storms, and
/// keep-alives keeping an idle connection open.
enum TCPStallFindings {
    static let storm = 5                       // retransmissions in one connection that read as a storm
    static let stormShare = 0.1                // … and at least this share of its packets

    static func run(_ ctx: FindingContext) throws -> [Finding] {
        var out: [Finding] = []
        for c in try ctx.store.allConnections() where c.proto == 6 {
            guard let life = c.lifecycle else { continue }
            let packets = try ctx.store.events(conn: c.key).filter { $0.kind == .packet && $0.source == life.vantageSource }
            guard !packets.isEmpty else { continue }
            let name = "tcp \(life.originator) → \(life.responder)"
            let host = ctx.host(life.vantageSource)
            func marked(_ e: StoredEvent, _ x: TCPExpert) -> Bool { e.tcpExpert.contains(x) }

            // Segments above the MSS the receiver announced, and what became of them.
            var mssOf: [String: Int64] = [:]      // sender endpoint → the MSS its peer announced
            for e in packets where (e.flags ?? 0) & 0x02 != 0 { if let m = e.mss, let d = e.dstEndpoint { mssOf[d] = m } }
            let tooBig = packets.filter { e in
                guard let s = e.srcEndpoint, let mss = mssOf[s] else { return false }
                return (payload(e) ?? 0) > mss
            }
            if let first = tooBig.first, let s = first.srcEndpoint, let mss = mssOf[s] {
                let resent = tooBig.filter { marked($0, .retransmission) }.count
                var text = "\(s) sent \(tooBig.count) segment\(tooBig.count == 1 ? "" : "s") of \(payload(first)!) bytes to a peer that announced MSS \(mss)"
                if resent > 0 { text += "; \(resent) of them are retransmissions: they never got through (a path that drops what exceeds the MSS)" }
                if life.end == "rst", let at = life.endAt, let last = tooBig.last { text += "; the connection was reset \(FindingContext.span(at - last.ts)) after the last one" }
                out.append(Finding(kind: "mss_exceeded", severity: resent > 0 ? .critical : .warning, ts: first.ts, hosts: [host], connection: name,
                                   explanation: text, evidence: tooBig.prefix(12).map(ctx.evidence)))
            }

            // Zero window: the receiver's buffer full, the sender waiting until it opens again.
            let zero = packets.filter { marked($0, .zeroWindow) }
            if let first = zero.first {
                let who = first.srcEndpoint ?? "?"
                // How long it stayed closed: to the next packet from the same side that is not a zero window.
                let reopened = packets.first { $0.ts > zero[zero.count - 1].ts && $0.srcEndpoint == who && !marked($0, .zeroWindow) }
                var text = "\(who) advertised a zero window \(zero.count) time\(zero.count == 1 ? "" : "s"): it stopped reading and \(first.dstEndpoint ?? "its peer") had to wait"
                if let r = reopened { text += "; open again \(FindingContext.span(r.ts - first.ts)) after the first" } else { text += "; it never opened again in this capture" }
                let full = packets.filter { marked($0, .windowFull) }.count
                if full > 0 { text += "; \(full) segments filled the window before" }
                out.append(Finding(kind: "zero_window", severity: .warning, ts: first.ts, hosts: [host], connection: name,
                                   explanation: text, evidence: zero.prefix(8).map(ctx.evidence)))
            }

            // Retransmission storm.
            let resent = packets.filter { marked($0, .retransmission) || marked($0, .fastRetransmission) }
            if resent.count >= storm, Double(resent.count) >= stormShare * Double(packets.count), let first = resent.first {
                let spurious = packets.filter { marked($0, .spuriousRetransmission) }.count
                var text = "\(resent.count) retransmissions in \(packets.count) packets (\(Int((100 * Double(resent.count) / Double(packets.count)).rounded())) %)"
                let lost = packets.filter { marked($0, .previousSegmentLost) }.count
                if lost > 0 { text += "; \(lost) gaps where a segment was never captured" }
                if spurious > 0 { text += "; \(spurious) were spurious (the original had arrived: ACKs lost or late)" }
                out.append(Finding(kind: "retransmission_storm", severity: .warning, ts: first.ts, hosts: [host], connection: name,
                                   explanation: text, evidence: resent.prefix(8).map(ctx.evidence)))
            }

            // Keep-alives: a connection idle long enough that the stack checks the peer is still there.
            let keepAlives = packets.filter { marked($0, .keepAlive) }
            if let first = keepAlives.first {
                let acked = packets.filter { marked($0, .keepAliveAck) }.count
                let text = "\(keepAlives.count) keep-alive\(keepAlives.count == 1 ? "" : "s") from \(first.srcEndpoint ?? "?") (\(acked) answered): the connection sat idle; "
                    + "a firewall that times out idle connections sooner than the keep-alive interval drops it"
                out.append(Finding(kind: "keep_alive", severity: .info, ts: first.ts, hosts: [host], connection: name,
                                   explanation: text, evidence: keepAlives.prefix(6).map(ctx.evidence)))
            }
        }
        return out
    }

    /// The payload length: the packet's, or what an application row says it carried ("Message Body, 536 bytes").
    static func payload(_ e: StoredEvent) -> Int64? {
        if let l = e.len, l > 0 { return l }
        guard e.len == nil, let r = e.summary.range(of: " bytes", options: .backwards) else { return nil }
        return Int64(e.summary[..<r.lowerBound].reversed().prefix { $0.isNumber }.reversed().map(String.init).joined())
    }
}
