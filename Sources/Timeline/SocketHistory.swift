import TraceModel
import EventStore

/// A socket's life as one socket table (a netstat or ss file of one host) saw it, snapshot by snapshot:
/// when it was first seen, each state it was seen in, when last seen, and the snapshots around those —
/// the one before its first sighting (it appeared after that) and the one after its last (it was gone by
/// then). Tables say nothing between snapshots, so these are intervals, never instants.
public struct SocketHistory: Sendable {
    public struct Sighting: Sendable, Equatable {
        public var ts: Int64
        public var snapshot: Int
        public var state: String?
    }

    public var source: Int64
    public var local: String?
    public var port: Int
    public var remote: String?
    public var remotePort: Int
    public var pid: Int64?
    public var process: String?
    /// Every snapshot row of the socket, in time order.
    public var sightings: [Sighting]
    /// The table's snapshot just before the first sighting, if the table has one: the socket appeared after it.
    public var absentBefore: Int64?
    /// The table's snapshot just after the last sighting: the socket was gone by then.
    public var goneBy: Int64?
    /// How many snapshots the table holds.
    public var snapshots: Int

    /// Each state once, where it was first seen in a run of sightings.
    public var changes: [Sighting] {
        var out: [Sighting] = []
        for s in sightings where out.last?.state != s.state { out.append(s) }
        return out
    }

    /// The histories of the sockets whose two ends are `a` and `b` (either way round), one per table.
    public static func of(_ a: Endpoint, _ b: Endpoint, rows: [SocketRowFacts]) -> [SocketHistory] {
        func end(_ address: String?, _ port: Int, is e: Endpoint) -> Bool { address == e.address.text && port == Int(e.port) }
        let mine = rows.filter { r in
            (end(r.local, r.port, is: a) && end(r.remote, r.remotePort, is: b)) || (end(r.local, r.port, is: b) && end(r.remote, r.remotePort, is: a))
        }
        let times = snapshotTimes(rows)
        var out: [SocketHistory] = []
        for (source, group) in Dictionary(grouping: mine, by: \.source).sorted(by: { $0.key < $1.key }) {
            // (A table lists a socket once per snapshot; a loopback connection's two sockets are two rows each time.)
            for (_, socket) in Dictionary(grouping: group, by: { "\($0.local ?? "*"):\($0.port)" }).sorted(by: { $0.key < $1.key }) {
                let sorted = socket.sorted { ($0.ts, $0.snapshot) < ($1.ts, $1.snapshot) }
                let table = times[source] ?? []
                let first = sorted[0], last = sorted[sorted.count - 1]
                out.append(SocketHistory(
                    source: source, local: first.local, port: first.port, remote: first.remote, remotePort: first.remotePort,
                    pid: sorted.lazy.compactMap(\.pid).first, process: sorted.lazy.compactMap(\.process).first,
                    sightings: sorted.map { Sighting(ts: $0.ts, snapshot: $0.snapshot, state: $0.state) },
                    absentBefore: table.last { $0.snapshot < first.snapshot }?.ts,
                    goneBy: table.first { $0.snapshot > last.snapshot }?.ts,
                    snapshots: table.count))
            }
        }
        return out
    }

    /// Each table's snapshots (number, time), in order.
    static func snapshotTimes(_ rows: [SocketRowFacts]) -> [Int64: [(snapshot: Int, ts: Int64)]] {
        var times: [Int64: [Int: Int64]] = [:]
        for r in rows { times[r.source, default: [:]][r.snapshot] = min(times[r.source]?[r.snapshot] ?? .max, r.ts) }
        return times.mapValues { $0.map { (snapshot: $0.key, ts: $0.value) }.sorted { $0.snapshot < $1.snapshot } }
    }
}

/// Whether anything listened on a connection's server port, by the socket table of the host that owns
/// that address, in its snapshot nearest the connection (the RDP seed: nothing listens on 3389, so every
/// SYN is reset).
public struct ListenerCheck: Sendable {
    public var source: Int64
    /// The snapshot used and its time.
    public var snapshot: Int
    public var ts: Int64
    /// The listening sockets' pids (empty: a listener without a pid column; nil: nothing listens).
    public var listening: [Int64]?
    /// Snapshot time minus the connection's time (positive: taken after it).
    public var distance: Int64?

    public static func check(_ responder: Endpoint, at t: Int64?, rows: [SocketRowFacts]) -> [ListenerCheck] {
        let owners = Set(rows.filter { $0.local == responder.address.text }.map(\.source))
        let times = SocketHistory.snapshotTimes(rows)
        var out: [ListenerCheck] = []
        for source in owners.sorted() {
            guard let table = times[source], !table.isEmpty else { continue }
            let nearest = t.map { t in table.min { abs($0.ts - t) < abs($1.ts - t) }! } ?? table[table.count - 1]
            let listening = rows.filter { $0.source == source && $0.snapshot == nearest.snapshot && $0.state == "LISTEN"
                && $0.port == Int(responder.port) && ($0.local == nil || $0.local == responder.address.text) }
            out.append(ListenerCheck(source: source, snapshot: nearest.snapshot, ts: nearest.ts,
                                     listening: listening.isEmpty ? nil : listening.compactMap(\.pid),
                                     distance: t.map { nearest.ts - $0 }))
        }
        return out
    }
}
