import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render

struct Sockets: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Socket tables (netstat, ss) counted per snapshot: how many sockets per state, process or remote, and how that grew.",
        discussion: """
        One row per table snapshot and group, with the change since that table's previous snapshot: CLOSE-WAIT \
        sockets of one process climbing snapshot after snapshot is a process that stopped closing what its \
        peers closed. `tracejoin sockets --state CLOSE-WAIT --by process`.
        """
    )

    enum By: String, ExpressibleByArgument, CaseIterable { case state, process, remote }

    @OptionGroup var store: StoreOptions
    @Option(help: "Only the tables of this host.") var host: String?
    @Option(help: "Only sockets in this state (ss's names: ESTAB, LISTEN, CLOSE-WAIT, TIME-WAIT; netstat's are read the same).") var state: String?
    @Option(help: "Count by state, process or remote address.") var by: By = .state
    @Flag(help: "One JSON object per line.") var json = false

    func run() throws {
        let s = try store.open()
        try ClockPass.runIfStale(s)
        let fmt = try EventFormatter(store: s)
        var rows = try s.socketRows()
        if let host { rows = rows.filter { fmt.sources[$0.source]?.host == host } }
        let wanted = state.map { SocketState.userName($0) }
        if let wanted { rows = rows.filter { $0.state == wanted } }
        if rows.isEmpty { throw CLIError("no socket-table rows\(host.map { " of host \($0)" } ?? "")\(state.map { " in state \($0)" } ?? "") in \(store.store)") }
        // (source, snapshot) → group → count, and each snapshot's time.
        struct Snap: Hashable, Comparable {
            let source: Int64, snapshot: Int
            static func < (l: Snap, r: Snap) -> Bool { (l.source, l.snapshot) < (r.source, r.snapshot) }
        }
        var counts: [Snap: [String: Int]] = [:]
        var when: [Snap: Int64] = [:]
        for r in rows {
            let k = Snap(source: r.source, snapshot: r.snapshot)
            let group: String
            switch by {
            case .state: group = r.state ?? "-"
            case .process: group = r.process ?? fmt.processes[fmt.sources[r.source]?.host ?? ""]?[r.pid ?? -1] ?? r.pid.map { "pid \($0)" } ?? "-"
            case .remote: group = r.remote ?? "*"
            }
            counts[k, default: [:]][group, default: 0] += 1
            when[k] = min(when[k] ?? Int64.max, r.ts)
        }
        var previous: [Int64: [String: Int]] = [:]
        var t = TextTable(header: ["host", "source", "snapshot", "time", by.rawValue, "sockets", "change"])
        for snap in counts.keys.sorted() {
            var groups = counts[snap]!
            let before = previous[snap.source]
            // A group the previous snapshot had and this one lacks went to 0.
            for (g, _) in before ?? [:] where groups[g] == nil { groups[g] = 0 }
            for (g, n) in groups.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
                let change = before.map { n - ($0[g] ?? 0) }
                let host = fmt.sources[snap.source]?.host ?? "?"
                let time = fmt.isoTime(when[snap] ?? 0, source: snap.source)
                if json {
                    var o = JSONObject()
                    o.add("host", host); o.add("source", fmt.sources[snap.source]?.path); o.add("snapshot", snap.snapshot)
                    o.add("time", time); o.add(by.rawValue, g); o.add("sockets", n); o.add("change", change)
                    Swift.print(o.text)
                } else {
                    t.add([host, fmt.sourceName(snap.source), String(snap.snapshot), time, g, String(n), change.map { $0 > 0 ? "+\($0)" : String($0) } ?? "-"])
                }
            }
            previous[snap.source] = groups.filter { $0.value > 0 }
        }
        if !json { Swift.print(t.render()) }
    }
}
