import Foundation
import TraceModel
import EventStore

/// Findings from CA SiteMinder logs (`siteminder_log`): the Policy Server refusing an agent's handshake, tied to
/// the agent's connection to 44443 when a capture has it, and a Web Agent whose Agent API calls to its Policy
/// Servers failed.
enum SiteMinderFindings {
    static func run(_ ctx: FindingContext) throws -> [Finding] {
        try handshakeFailed(ctx) + agentAPIFailed(ctx)
    }

    /// One SiteMinder event row: where, when (aligned), its pid/tid and the attrs asked for.
    private static func rows(_ ctx: FindingContext, event: String, _ fields: [String]) throws -> [(id: Int64, source: Int64, line: Int, ts: Int64, thread: String, f: [String?])] {
        try ctx.store.siteMinderEvents(event, fields: fields).map { e in
            let ts = (ctx.sources[e.source]?.clock ?? SourceClock()).aligned(e.ts)
            return (e.id, e.source, e.line, ts, e.values[0] ?? "", Array(e.values.dropFirst()))
        }
    }

    /// `Failed handshake with ADDR:PORT` (sm-Server-01070), with the `Handshake error:` the same thread wrote just
    /// before it (CA KB000021905: the shared secret refused), and the connection from that address and port.
    static func handshakeFailed(_ ctx: FindingContext) throws -> [Finding] {
        let failures = try rows(ctx, event: "handshake_failed", ["peer", "summary"])
        guard !failures.isEmpty else { return [] }
        let errors = try rows(ctx, event: "handshake_error", ["reason", "handshake_error", "summary"])
        var out: [Finding] = []
        for f in failures {
            let peer = f.f[0] ?? "an agent"
            // The reason: the same thread's handshake error in the second before (they are written together).
            let reason = errors.last { $0.source == f.source && $0.thread == f.thread && $0.ts <= f.ts && f.ts - $0.ts <= CivilTime.nsPerSecond }
            var text = "the Policy Server (\(ctx.host(f.source))) refused the handshake of the agent at \(peer)"
            if let r = reason, let why = r.f[0] { text += ": " + why + (r.f[1].map { " (handshake error \($0))" } ?? "") }
            var evidence: [Finding.Evidence] = []
            if let r = reason { evidence.append(Finding.Evidence(source: r.source, line: r.line, ts: r.ts, text: "SiteMinder " + (r.f[2] ?? ""))) }
            evidence.append(Finding.Evidence(source: f.source, line: f.line, ts: f.ts, text: "SiteMinder " + (f.f[1] ?? "")))
            var connection: String? = nil
            var hosts = [ctx.host(f.source)]
            if let key = try ctx.store.boundConnection(event: f.id), let c = try ctx.store.connection(key: key) {
                let (o, r) = c.ordered
                connection = "tcp \(o) → \(r)"
                let packets = try ctx.store.events(conn: key).filter { $0.kind == .packet }
                text += "; its connection \(o) → \(r)" + (c.lifecycle.map { " (\($0.connState), \(packets.count) packet\(packets.count == 1 ? "" : "s"))" } ?? "")
                hosts += Set(packets.map { ctx.host($0.source) }).sorted()
                evidence += packets.prefix(6).map(ctx.evidence)
            } else {
                text += "; no capture in the store has that connection"
            }
            out.append(Finding(kind: "siteminder_handshake_failed", severity: .critical, ts: reason?.ts ?? f.ts, hosts: hosts, connection: connection,
                               explanation: text, evidence: evidence))
        }
        return out
    }

    /// A Web Agent's Agent API calls that failed (`… Agent Api function failed - 'Sm_AgentApi_LoginEx' returned '-1'`,
    /// CA KB000038141), per log: how many, from when to when, which calls and codes, and the components that then
    /// reported a fatal error.
    static func agentAPIFailed(_ ctx: FindingContext) throws -> [Finding] {
        let failures = try rows(ctx, event: "agent_api_failed", ["function", "returned", "summary", "returned_means"])
        guard !failures.isEmpty else { return [] }
        let fatal = try rows(ctx, event: "component_fatal", ["component", "summary"])
        var out: [Finding] = []
        for (source, list) in Dictionary(grouping: failures, by: \.source).sorted(by: { $0.key < $1.key }) {
            guard let first = list.first, let last = list.last else { continue }
            var calls: [String: Int] = [:]
            var order: [String] = []
            for f in list {
                let call = (f.f[0] ?? "?") + " returned " + (f.f[1] ?? "?") + (f.f[3].map { " (\($0))" } ?? "")
                if calls[call] == nil { order.append(call) }
                calls[call, default: 0] += 1
            }
            let gaveUp = fatal.filter { $0.source == source && $0.ts >= first.ts }
            var names: [String] = []
            for g in gaveUp { if let n = g.f[0], !names.contains(n) { names.append(n) } }
            var text = "the Web Agent's calls to its Policy Servers failed \(list.count) time\(list.count == 1 ? "" : "s")"
            if last.ts > first.ts { text += " in " + FindingContext.span(last.ts - first.ts) }
            text += ": " + order.map { calls[$0]! > 1 ? "\($0) ×\(calls[$0]!)" : $0 }.joined(separator: ", ")
            if !names.isEmpty { text += "; components then reported a fatal error: " + names.joined(separator: ", ") }
            let evidence = (list.map { ($0.source, $0.line, $0.ts, $0.f[2]) } + gaveUp.map { ($0.source, $0.line, $0.ts, $0.f[1]) })
                .sorted { ($0.2, $0.1) < ($1.2, $1.1) }
                .map { Finding.Evidence(source: $0.0, line: $0.1, ts: $0.2, text: "SiteMinder " + ($0.3 ?? "")) }
            out.append(Finding(kind: "siteminder_agent_api_failed", severity: .warning, ts: first.ts, hosts: [ctx.host(source)], connection: nil,
                               explanation: text, evidence: evidence, numbers: ["failures": Double(list.count)]))
        }
        return out
    }
}
