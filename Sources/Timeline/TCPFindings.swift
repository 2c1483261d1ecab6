import Foundation
import TraceModel
import EventStore

/// Findings about TCP connections, from their packets, lifecycles, capture-point views and twins:
/// SYNs never answered (with the backoff and when the stack gave up), connections refused (and whether
/// the server's own table shows a listener), RSTs that never left their apparent sender, RSTs after a long
/// silence, segments lost between capture points.
enum TCPFindings {
    /// Silence before an RST that reads as an idle timeout somewhere on the path.
    static let idleBeforeRST: Int64 = 30 * CivilTime.nsPerSecond

    static func run(_ ctx: FindingContext) throws -> [Finding] {
        var out: [Finding] = []
        let rows = try ctx.store.socketRows()
        var told: Set<Int64> = []       // a connection seen under two tuples (NAT) is told once
        for c in try ctx.store.allConnections() where c.proto == 6 {
            guard let life = c.lifecycle, !told.contains(c.key) else { continue }
            for a in try ctx.store.aliases(of: c.key) { told.insert(a.key) }
            let events = try ctx.store.events(conn: c.key)
            let packets = events.filter { $0.kind == .packet }
            guard !packets.isEmpty else { continue }
            let name = "tcp \(life.originator) → \(life.responder)"
            let views = try ctx.store.captureViews(key: c.key)
            let twins = try ctx.store.twins(events: packets.map(\.id))
            func isSYN(_ e: StoredEvent) -> Bool { (e.flags ?? 0) & 0x12 == 0x02 }
            func isRST(_ e: StoredEvent) -> Bool { (e.flags ?? 0) & 0x04 != 0 }

            // SYN never answered, at the point closest to the originator that saw no SYN/ACK.
            let states = views.isEmpty ? [(life.vantageSource, life.connState)] : views.map { ($0.source, $0.connState) }
            for (source, state) in states where state == "S0" {
                let syns = packets.filter { $0.source == source && isSYN($0) }
                guard let first = syns.first else { continue }
                let gaps = zip(syns.dropFirst(), syns).map { FindingContext.span($0.ts - $1.ts) }
                var text = "\(life.originator) sent \(syns.count) SYN\(syns.count == 1 ? "" : "s") to \(life.responder)"
                if !gaps.isEmpty { text += " (resent after \(gaps.joined(separator: ", then ")))" }
                text += "; none was answered at \(ctx.host(source))"
                var evidence = syns.map(ctx.evidence)
                if let story = StackStory.of(events).first(where: { $0.failure != nil }), let f = story.failure, let tried = story.triedFor {
                    text += ". Its stack gave up with \(f.status) \(FindingContext.span(tried)) after the first SYN"
                    if !story.timersMS.isEmpty { text += " (retransmission timers " + story.timersMS.map(String.init).joined(separator: ", ") + " ms)" }
                    if let e = events.first(where: { $0.source == story.source && $0.ts == f.ts }) { evidence.append(ctx.evidence(e)) }
                }
                let elsewhere = Set(packets.filter { $0.source != source && isSYN($0) }.map(\.source))
                if !elsewhere.isEmpty {
                    let answered = packets.filter { elsewhere.contains($0.source) && ($0.flags ?? 0) & 0x12 == 0x12 }
                    text += ". " + elsewhere.sorted().map(ctx.host).joined(separator: ", ") + " saw the SYNs"
                    if !answered.isEmpty { text += " and answered \(answered.count) with a SYN/ACK that never reached \(ctx.host(source))" }
                }
                out.append(Finding(kind: "syn_unanswered", severity: .critical, ts: first.ts, hosts: [ctx.host(source)] + elsewhere.sorted().map(ctx.host),
                                   connection: name, explanation: text, evidence: evidence))
            }

            // Refused: an RST answered the SYN.
            if life.connState == "REJ" || views.contains(where: { $0.connState == "REJ" }),
               let syn = packets.first(where: isSYN), let rst = packets.first(where: { isRST($0) && $0.ts >= syn.ts }) {
                var text = "\(life.responder) answered the SYN from \(life.originator) with an RST \(FindingContext.span(rst.ts - syn.ts)) later: nothing accepted the connection"
                var evidence = [ctx.evidence(syn), ctx.evidence(rst)]
                if let r = Endpoint(userText: life.responder) {
                    for l in ListenerCheck.check(r, at: syn.ts, rows: rows) where l.listening == nil {
                        text += "; the host's own socket table (\(ctx.file(l.source))) shows no listener on that port"
                        evidence.append(Finding.Evidence(source: l.source, line: 0, ts: l.ts, text: "no LISTEN row for \(life.responder)"))
                    }
                }
                out.append(Finding(kind: "connection_refused", severity: .critical, ts: syn.ts, hosts: Array(Set(packets.map { ctx.host($0.source) })).sorted(),
                                   connection: name, explanation: text, evidence: evidence))
            }

            // RSTs that never passed the point their sender's packets pass first.
            let injected = packets.filter { isRST($0) && (twins[$0.id] ?? []).contains { $0.verdict == .injected } }
            if let first = injected.first {
                let peers = Set(injected.flatMap { (twins[$0.id] ?? []).filter { $0.verdict == .injected }.map(\.peer) })
                let text = "\(injected.count) RST\(injected.count == 1 ? "" : "s") seen at \(ctx.host(first.source)) in the name of \(first.srcEndpoint ?? "?") never passed "
                    + Set(peers.map(ctx.host)).sorted().joined(separator: ", ") + ", which that sender's packets pass first: something in between sent \(injected.count == 1 ? "it" : "them")"
                out.append(Finding(kind: "rst_injected", severity: .critical, ts: first.ts, hosts: [ctx.host(first.source)] + peers.sorted().map(ctx.host),
                                   connection: name, explanation: text, evidence: injected.map(ctx.evidence)))
            }

            // An RST after a long silence: an idle timeout in a firewall or the server.
            let bySource = Dictionary(grouping: packets, by: \.source)
            for (source, ps) in bySource.sorted(by: { $0.key < $1.key }) {
                guard let i = ps.firstIndex(where: isRST), i > 0 else { continue }
                let idle = ps[i].ts - ps[i - 1].ts
                guard idle >= idleBeforeRST else { continue }
                let text = "\(ps[i].srcEndpoint ?? "?") reset the connection after \(FindingContext.span(idle)) in which nothing crossed it (at \(ctx.host(source))): an idle timeout on the path or at that end"
                out.append(Finding(kind: "rst_after_idle", severity: .warning, ts: ps[i].ts, hosts: [ctx.host(source)], connection: name,
                                   explanation: text, evidence: [ctx.evidence(ps[i - 1]), ctx.evidence(ps[i])]))
                break
            }

            // Segments that left one capture point and never reached the next.
            let lost = packets.filter { (twins[$0.id] ?? []).contains { $0.verdict == .lost } }
            if let first = lost.first {
                var parts: [String] = []
                for (dir, ps) in Dictionary(grouping: lost, by: { "\($0.srcEndpoint ?? "?") → \($0.dstEndpoint ?? "?")" }).sorted(by: { $0.key < $1.key }) {
                    let to = Set(ps.flatMap { (twins[$0.id] ?? []).filter { $0.verdict == .lost }.map(\.peer) })
                    parts.append("\(ps.count) from \(dir), seen at \(ctx.host(ps[0].source)), never at " + Set(to.map(ctx.host)).sorted().joined(separator: ", "))
                }
                out.append(Finding(kind: "segments_lost", severity: .warning, ts: first.ts, hosts: Array(Set(lost.map { ctx.host($0.source) })).sorted(),
                                   connection: name, explanation: "lost between capture points: " + parts.joined(separator: "; "), evidence: lost.prefix(20).map(ctx.evidence)))
            }
        }
        return out
    }
}
