import Foundation
import TraceModel
import EventStore

/// Where the time goes in a request/response conversation, per capture point: how long each answer took
/// to come back after its request, and how long the other side took to send the next request. Seen at the
/// client, the wait holds server time and path; seen at the server, only server time. With both points (or
/// the handshake's round trip at the client), the difference is the path — the SQL-over-NAT seed, where the
/// client blames the server, the server blames the client, and 89 ms of every turn is the WAN.
enum TurnFindings {
    struct Point {
        var source: Int64
        var waits: [Int64] = []       // request start → first answer packet
        var thinks: [Int64] = []      // last answer packet → next request
        var synToSynAck: Int64?
        var synAckToAck: Int64?
    }

    static let minimumWait: Int64 = 20_000_000

    static func median(_ v: [Int64]) -> Int64? { v.isEmpty ? nil : v.sorted()[v.count / 2] }

    static func point(_ events: [StoredEvent], source: Int64) -> Point? {
        let ps = events.filter { $0.source == source && $0.kind == .packet }.sorted { ($0.ts, $0.id) < ($1.ts, $1.id) }
        guard let syn = ps.first(where: { ($0.flags ?? 0) & 0x12 == 0x02 }), let client = syn.srcEndpoint else { return nil }
        var p = Point(source: source)
        if let sa = ps.first(where: { ($0.flags ?? 0) & 0x12 == 0x12 && $0.ts >= syn.ts }) {
            p.synToSynAck = sa.ts - syn.ts
            if let ack = ps.first(where: { ($0.flags ?? 0) & 0x12 == 0x10 && $0.srcEndpoint == client && $0.ts >= sa.ts }) { p.synAckToAck = ack.ts - sa.ts }
        }
        // Data: a segment with payload, or an application row that shows no TCP header (a text export's TDS line).
        let data = ps.filter { ($0.len ?? 0) > 0 || ($0.flags == nil && $0.len == nil) }
        var requestStart: Int64? = nil, lastAnswer: Int64? = nil
        for e in data {
            if e.srcEndpoint == client {
                if requestStart == nil {
                    requestStart = e.ts
                    if let a = lastAnswer { p.thinks.append(e.ts - a); lastAnswer = nil }
                }
            } else {
                if let r = requestStart { p.waits.append(e.ts - r); requestStart = nil }
                lastAnswer = e.ts
            }
        }
        return p.waits.count >= 3 ? p : nil
    }

    static func run(_ ctx: FindingContext) throws -> [Finding] {
        var out: [Finding] = []
        var told: Set<Int64> = []
        for c in try ctx.store.allConnections() where c.proto == 6 && !told.contains(c.key) {
            let aliases = try ctx.store.aliases(of: c.key).filter { $0.key != c.key }
            for a in aliases { told.insert(a.key) }
            var events = try ctx.store.events(conn: c.key)
            for a in aliases { events += try ctx.store.events(conn: a.key) }
            let points = Set(events.map(\.source)).sorted().compactMap { point(events, source: $0) }
            guard !points.isEmpty else { continue }
            // The client's point waits for the SYN/ACK; the server's for the ACK of its SYN/ACK.
            let clientSide = points.filter { ($0.synToSynAck ?? 0) >= ($0.synAckToAck ?? 0) }.max { median($0.waits)! < median($1.waits)! }
            let serverSide = points.filter { ($0.synAckToAck ?? 0) > ($0.synToSynAck ?? 0) }.min { median($0.waits)! < median($1.waits)! }
            // Only where someone waits noticeably for answers: a fast conversation needs no breakdown.
            guard let cp = clientSide ?? points.first, let wait = median(cp.waits), wait >= minimumWait else { continue }
            let ms = FindingContext.span
            var text = "\(cp.waits.count) request/response turns. At \(ctx.host(cp.source)) each answer came a median \(ms(wait)) after its request"
            if let t = median(cp.thinks) { text += ", and the next request followed a median \(ms(t)) after an answer" }
            var path: Int64? = nil
            if let sp = serverSide, sp.source != cp.source, let serve = median(sp.waits) {
                text += ". At \(ctx.host(sp.source)) the server answered a median \(ms(serve)) after a request arrived"
                if let g = median(sp.thinks) { text += ", and the next request came a median \(ms(g)) after its answer" }
                path = wait - serve
                text += ". So about \(ms(path!)) of every turn is the path between them"
            } else if let rtt = cp.synToSynAck {
                path = rtt
                text += ". The handshake's round trip there was \(ms(rtt)): about that much of every turn is the path, \(ms(max(wait - rtt, 0))) the server"
            }
            if let rtt = cp.synToSynAck, serverSide != nil { text += " (the handshake's round trip at \(ctx.host(cp.source)): \(ms(rtt)))" }
            let pathBound = (path ?? 0) >= 20_000_000 && Double(path ?? 0) >= 0.5 * Double(wait)
            if pathBound { text += ": the time goes to the network, not to the client or the server" }
            let first = events.filter { $0.kind == .packet }.min { $0.ts < $1.ts }!
            var f = Finding(kind: "request_response_time", severity: pathBound ? .warning : .info, ts: first.ts,
                            hosts: points.map { ctx.host($0.source) }, connection: c.lifecycle.map { "tcp \($0.originator) → \($0.responder)" },
                            explanation: text, evidence: [ctx.evidence(first)])
            f.numbers["turns"] = Double(cp.waits.count)
            f.numbers["client_wait_ms"] = Double(wait) / 1e6
            if let t = median(cp.thinks) { f.numbers["client_think_ms"] = Double(t) / 1e6 }
            if let sp = serverSide, sp.source != cp.source, let serve = median(sp.waits) { f.numbers["server_response_ms"] = Double(serve) / 1e6 }
            if let path { f.numbers["path_ms"] = Double(path) / 1e6 }
            out.append(f)
        }
        return out
    }
}
