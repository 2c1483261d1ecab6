import Foundation
import TraceModel
import EventStore

/// Findings from socket tables (netstat, ss): CLOSE-WAIT sockets of one process growing snapshot after
/// snapshot (a process that stopped closing what its peers closed — the Tivoli APAR IY55176 case), and
/// TIME-WAIT piling up.
enum TableFindings {
    static func run(_ ctx: FindingContext) throws -> [Finding] {
        var out: [Finding] = []
        let rows = try ctx.store.socketRows()
        for (state, kind, why) in [("CLOSE-WAIT", "close_wait_growing", "its peers closed these connections and it did not close its end"),
                                   ("TIME-WAIT", "time_wait_piling_up", "connections closed here first wait out 2×MSL; many short connections fill the port range")] {
            // Per table and process: sockets in the state per snapshot.
            var counts: [String: [Int: Int]] = [:]
            var times: [Int64: [Int: Int64]] = [:]
            var sourceOf: [String: Int64] = [:]
            for r in rows {
                times[r.source, default: [:]][r.snapshot] = min(times[r.source]?[r.snapshot] ?? .max, r.ts)
                guard r.state == state else { continue }
                let who = r.process ?? r.pid.map { "pid \($0)" } ?? "-"
                let k = "\(r.source)\u{1}\(who)"
                counts[k, default: [:]][r.snapshot, default: 0] += 1
                sourceOf[k] = r.source
            }
            for (k, bySnap) in counts.sorted(by: { $0.key < $1.key }) {
                let source = sourceOf[k]!, who = String(k.split(separator: "\u{1}")[1])
                let snaps = (times[source] ?? [:]).keys.sorted()
                guard snaps.count >= 3 else { continue }
                let series = snaps.map { bySnap[$0] ?? 0 }
                // Grows: never falls, and rises at least twice.
                let rises = zip(series.dropFirst(), series).filter { $0 > $1 }.count
                guard rises >= 2, zip(series.dropFirst(), series).allSatisfy({ $0 >= $1 }) else { continue }
                let t = { (s: Int) in times[source]?[s] ?? 0 }
                let text = "\(state) sockets of \(who) at \(ctx.host(source)) grew \(series.map(String.init).joined(separator: " → ")) over \(snaps.count) snapshots "
                    + "(\(FindingContext.span(t(snaps[snaps.count - 1]) - t(snaps[0])))): \(why)"
                out.append(Finding(kind: kind, severity: state == "CLOSE-WAIT" ? .warning : .info, ts: t(snaps[0]), hosts: [ctx.host(source)], connection: nil,
                                   explanation: text, evidence: snaps.map { Finding.Evidence(source: source, line: 0, ts: t($0), text: "snapshot \($0): \(bySnap[$0] ?? 0) \(state)") }))
            }
        }
        return out
    }
}
