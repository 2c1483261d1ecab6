import Foundation
import TraceModel
import EventStore

/// Findings from logs: SIP requests without a final response and SIP errors (5xx/6xx), proxy handshakes
/// that never completed and routed-session failures (Tivoli Firewall Security Toolbox).
enum LogFindings {
    /// Connection failures the SIP logs recorded (a connection record that failed), with where and when.
    static func transportFailures(_ ctx: FindingContext) throws -> [(source: Int64, line: Int, ts: Int64, text: String)] {
        try ctx.store.sipTransportFailures().map { e in
            let ts = (ctx.sources[e.source]?.clock ?? SourceClock()).aligned(e.ts)
            // text, peer, result code
            let text = [e.values[0], e.values[1].map { "to \($0)" }, e.values[2]].compactMap { $0 }.joined(separator: " ")
            return (e.source, e.line, ts, text)
        }
    }

    /// A media flow the SIP messages negotiated (SDP `m=`/`c=`) whose connection was refused or never
    /// answered: the federated desktop-sharing seed, where 1.1.1.1:50704 refuses the Edge three times.
    static func mediaRefused(_ ctx: FindingContext) throws -> [Finding] {
        let rows = try ctx.store.sdpMedia()
        guard !rows.isEmpty else { return [] }
        var offered: [String: (source: Int64, line: Int, ts: Int64, media: String, callID: String?)] = [:]
        for e in rows {
            // Call-ID, media, address, port
            guard let a = e.values[2], let p = e.values[3].flatMap({ Int($0) }), p > 0 else { continue }
            let key = FailureMatches.endpoint(a, p)
            if offered[key] == nil {
                offered[key] = (e.source, e.line, (ctx.sources[e.source]?.clock ?? SourceClock()).aligned(e.ts), e.values[1] ?? "media", e.values[0])
            }
        }
        var out: [Finding] = []
        for c in try ctx.store.allConnections() where c.proto == 6 {
            guard let life = c.lifecycle, ["REJ", "S0"].contains(life.connState), let o = offered[life.responder] else { continue }
            let packets = try ctx.store.events(conn: c.key).filter { $0.kind == .packet }
            let syns = packets.filter { ($0.flags ?? 0) & 0x12 == 0x02 }.count
            let rsts = packets.filter { ($0.flags ?? 0) & 0x04 != 0 }.count
            let fate = life.connState == "REJ" ? "refused: \(syns) SYN\(syns == 1 ? "" : "s"), \(rsts) RST\(rsts == 1 ? "" : "s") back" : "never answered: \(syns) SYN\(syns == 1 ? "" : "s")"
            let text = "the \(o.media) flow a SIP dialog negotiated" + (o.callID.map { " (Call-ID \($0))" } ?? "") + " to \(life.responder) was \(fate), from \(life.originator)"
                + ": something on the media path blocks it"
            out.append(Finding(kind: "sip_media_blocked", severity: .critical, ts: life.synAt ?? life.first, hosts: [ctx.host(o.source), ctx.host(life.vantageSource)],
                               connection: "tcp \(life.originator) → \(life.responder)", explanation: text,
                               evidence: [Finding.Evidence(source: o.source, line: o.line, ts: o.ts, text: "SDP m=\(o.media) \(life.responder)")] + packets.prefix(6).map(ctx.evidence)))
        }
        return out
    }

    static func run(_ ctx: FindingContext) throws -> [Finding] {
        var out: [Finding] = []
        let sip = try ctx.store.sipDialogs()
        let failures = try transportFailures(ctx)
        /// The transport failure behind a SIP error: one the same host's SIP log recorded between the request
        /// and its answer (or a second after it).
        func behind(_ from: Int64, _ to: Int64?, host: String) -> (source: Int64, line: Int, ts: Int64, text: String)? {
            failures.first { ctx.host($0.source) == host && $0.ts >= from && $0.ts <= (to ?? from + 60 * CivilTime.nsPerSecond) + CivilTime.nsPerSecond }
        }
        func ev(_ m: SIPMessage, _ text: String) -> Finding.Evidence { Finding.Evidence(source: m.source, line: m.line, ts: m.ts, text: text) }
        for d in sip.dialogs {
            let what = d.request.method ?? "request"
            if let f = d.final, let s = f.status, s >= 500 {
                var text = "\(what) (Call-ID \(d.callID)) was answered \(s) \(f.reason ?? "") \(FindingContext.span(f.ts - d.request.ts)) after it"
                var evidence = [ev(d.request, what), ev(f, "\(s) \(f.reason ?? "")")]
                if let t = behind(d.request.ts, f.ts, host: ctx.host(f.source)) {
                    text += ", after \(t.text) (\(FindingContext.span(t.ts - d.request.ts)) after the request)"
                    evidence.append(Finding.Evidence(source: t.source, line: t.line, ts: t.ts, text: t.text))
                }
                out.append(Finding(kind: "sip_error", severity: .critical, ts: f.ts, hosts: [ctx.host(f.source)], connection: nil,
                                   explanation: text, evidence: evidence))
            } else if d.final == nil {
                var text = "\(what) (Call-ID \(d.callID)) got no final response in the logs"
                var evidence = [ev(d.request, what)]
                // A final error with no Call-ID of its own (a record cut short) after the request, from the same source.
                let orphan = sip.withoutCallID.first(where: { $0.source == d.request.source && $0.ts >= d.request.ts && ($0.status ?? 0) >= 300 })
                if let orphan {
                    text += "; the same log sends \(orphan.status ?? 0) \(orphan.reason ?? "") \(FindingContext.span(orphan.ts - d.request.ts)) later without naming it"
                    evidence.append(ev(orphan, "\(orphan.status ?? 0) \(orphan.reason ?? "")"))
                }
                if let t = behind(d.request.ts, orphan?.ts, host: ctx.host(d.request.source)) {
                    text += "; behind it: \(t.text), \(FindingContext.span(t.ts - d.request.ts)) after the request"
                    evidence.append(Finding.Evidence(source: t.source, line: t.line, ts: t.ts, text: t.text))
                }
                out.append(Finding(kind: "sip_no_final_response", severity: .warning, ts: d.request.ts, hosts: [ctx.host(d.request.source)], connection: nil,
                                   explanation: text, evidence: evidence))
            }
        }
        out += try mediaRefused(ctx)
        let proxies = try ProxyHandshakes.load(ctx.store)
        for p in proxies.pairs where !p.whoCompleted || !p.tellCompleted {
            let halves = [(!p.whoCompleted, "WHO"), (!p.tellCompleted, "TELL")].filter(\.0).map(\.1).joined(separator: " and ")
            let ts = [p.whoReceived, p.whoReplyReceived, p.tellReceived, p.tellReplyReceived].compactMap { $0 }.min() ?? 0
            out.append(Finding(kind: "proxy_handshake_incomplete", severity: .critical, ts: ts, hosts: [ctx.host(p.parent)] + (p.child.map { [ctx.host($0)] } ?? []),
                               connection: nil, explanation: "the \(halves) half of the handshake with \(p.label) never completed" + (p.failures.isEmpty ? "" : "; in between: " + p.failures.map(\.summary).joined(separator: "; ")),
                               evidence: p.failures.map { Finding.Evidence(source: $0.source, line: $0.line, ts: $0.ts, text: $0.summary) }))
        }
        for (target, fs) in proxies.byTarget {
            let gws = Set(fs.compactMap(\.gw)).sorted().map { "gw=\($0)" }.joined(separator: ", ")
            out.append(Finding(kind: "routed_session_failures", severity: .warning, ts: fs[0].ts, hosts: Array(Set(fs.map { ctx.host($0.source) })).sorted(), connection: nil,
                               explanation: "\(fs.count) failures creating a routed session for \(target) in \(FindingContext.span(fs[fs.count - 1].ts - fs[0].ts))" + (gws.isEmpty ? "" : " (\(gws))"),
                               evidence: fs.map { Finding.Evidence(source: $0.source, line: $0.line, ts: $0.ts, text: $0.summary) }))
        }
        return out
    }
}
