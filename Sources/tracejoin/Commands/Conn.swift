import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render

struct Conn: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One connection's events from every source, then its lifecycle.",
        discussion: """
        Give both endpoints in either order: `tracejoin conn 10.0.107.58:59193 10.7.3.187:3389`. \
        With one endpoint (or just an address), lists the connections it took part in. A host name \
        works where a loaded source gave it (a pcapng name resolution block, tcpdump's output): \
        `tracejoin conn server.example:443`.
        """
    )

    @OptionGroup var store: StoreOptions
    @Argument(help: ArgumentHelp("One or two endpoints: ADDRESS[:PORT], [IPv6]:PORT.", valueName: "endpoint"))
    var endpoints: [String]
    @Flag(help: "Print {\"connection\", \"events\", \"lifecycle\"} as JSON.") var json = false
    @Flag(help: "Beside the aligned time, each event's time as its source wrote it (where its clock was moved).") var ownTime = false

    func validate() throws {
        guard (1...2).contains(endpoints.count), endpoints.allSatisfy({ Endpoint(userText: $0) != nil || ConnectionMatch.looksLikeName($0) }) else {
            throw ValidationError("give one or two endpoints like 10.0.0.1:5000, 10.0.0.1 or server.example:443 (got \(endpoints.joined(separator: " ")))")
        }
    }

    func run() throws {
        let s = try store.openDerived()
        // Host names are those the loaded sources gave (pcapng name blocks, tcpdump's resolved names).
        guard let match = ConnectionMatch.parse(endpoints, names: try s.hostAddresses()) else {
            let unknown = endpoints.filter { Endpoint(userText: $0) == nil }
            throw CLIError("no loaded source names \(unknown.joined(separator: " and ")) (host names come from pcapng name resolution blocks and tcpdump output; give an address instead)")
        }
        let found = try match.find(in: s)
        let fmt = try EventFormatter(store: s)
        if found.isEmpty { throw CLIError("no connection of \(endpoints.joined(separator: " ")) in \(store.store)") }
        if endpoints.count == 1 || (found.count > 1 && !match.endpoints.allSatisfy { $0.port >= 0 }) {
            try ConnectionsPrinter.print(found, formatter: fmt, json: json)
            return
        }
        for (i, c) in found.enumerated() {
            if json {
                Swift.print(try ConnJSON.object(c, store: s, formatter: fmt))
                continue
            }
            let d = try ConnDetail(c, store: s, formatter: fmt)
            let (aliases, aliasRows, events, twins, life, time) = (d.aliases, d.aliasRows, d.events, d.twins, c.lifecycle, d.time)
            if i > 0 { Swift.print("") }
            Swift.print("\(IPProto.name(UInt8(truncatingIfNeeded: c.proto))) \(fmt.named(c.ordered.0)) → \(fmt.named(c.ordered.1))  community_id \(c.communityID)")
            for (a, row) in zip(aliases, aliasRows) {
                Swift.print("  also seen as \(IPProto.name(UInt8(truncatingIfNeeded: row.proto))) \(fmt.named(row.ordered.0)) → \(fmt.named(row.ordered.1)) (NAT between capture points; same SYN: \(a.evidence))")
            }
            // A column for the other capture points only when the connection was seen at more than one.
            let multi = Set(events.map(\.source)).count > 1
            var t = TextTable(header: ["time"] + (ownTime ? ["source's time"] : []) + ["host", "source", "dir"] + (multi ? ["elsewhere"] : []) + ["summary"])
            for e in events {
                let elsewhere = multi ? [TwinText.short(twins[e.id], fmt)] : []
                let forward = e.srcEndpoint == c.ordered.0 || aliasRows.contains { e.conn == $0.key && e.srcEndpoint == $0.ordered.0 }
                // Events bound to the connection by what they name (not its tuple) have no direction.
                let dir = e.sport == nil ? "" : forward ? "→" : "←"
                t.add([fmt.displayTime(e)] + (ownTime ? [fmt.ownTime(e)] : []) + [fmt.host(e), "\(fmt.sourceName(e)):\(e.line)", dir]
                      + elsewhere + [(e.label.map { $0 + " " } ?? "") + e.summary])
            }
            Swift.print(t.render())
            let tables = SnapshotText.lines(try SnapshotText.facts(c, aliases: aliasRows, store: s), fmt: fmt)
                + StackText.lines(StackStory.of(events), fmt: fmt)
            if life != nil || !tables.isEmpty { Swift.print("") }
            let lives = try s.instances(key: c.key)
            if lives.count > 1 {
                // A reused tuple: each connection it carried, told apart by its new initial sequence number.
                for (n, l) in lives.enumerated() {
                    Swift.print("  connection \(n + 1) of \(lives.count) on this tuple:")
                    for line in LifecycleText.lines(l, time: time) { Swift.print("    " + line) }
                }
            } else if let life {
                for l in LifecycleText.lines(life, time: time) { Swift.print("  " + l) }
            }
            for l in tables { Swift.print("  " + l) }
            if life != nil {
                for v in try s.captureViews(key: c.key) {
                    Swift.print("  at \(fmt.sources[v.source]?.host ?? "?") (\(fmt.sourceName(v.source))): \(v.packets) packets, conn_state \(v.connState), history \(v.history)")
                }
            }
        }
    }
}

struct Connections: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One row per connection: endpoints, first and last time, packets and bytes each way, how it ended."
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var filters: FilterOptions
    @Flag(help: "One JSON object per line.") var json = false

    func run() throws {
        let s = try store.openDerived()
        let fmt = try EventFormatter(store: s)
        let filter = try filters.filter(store: s)
        var rows = try s.allConnections()
        if let keys = filter.conns { rows = rows.filter { keys.contains($0.key) } }
        rows = rows.filter { c in
            guard let l = c.lifecycle else { return filter.from == nil && filter.to == nil && filter.hosts.isEmpty }
            if let from = filter.from, l.last < from { return false }
            if let to = filter.to, l.first > to { return false }
            if !filter.hosts.isEmpty && !filter.hosts.contains(where: { l.seenBy[$0] != nil }) { return false }
            return true
        }
        try ConnectionsPrinter.print(rows, formatter: fmt, json: json)
    }
}

enum ConnectionsPrinter {
    /// Rows in time order; a tuple that carried several connections in turn gives one row each.
    static func sorted(_ rows: [ConnectionRow], _ fmt: EventFormatter, expand: Bool = true) -> [(ConnectionRow, Lifecycle?)] {
        rows.flatMap { c -> [(ConnectionRow, Lifecycle?)] in
            let lives = expand ? (try? fmt.instances(c.key)) ?? [] : []
            return lives.isEmpty ? [(c, c.lifecycle)] : lives.map { l in var one = c; one.lifecycle = l; return (one, l) }
        }
        .sorted { ($0.1?.first ?? Int64.max, $0.0.key) < ($1.1?.first ?? Int64.max, $1.0.key) }
    }

    static func json(_ c: ConnectionRow, formatter fmt: EventFormatter, time: ((Int64) -> String)? = nil) -> String {
        let l = c.lifecycle
        var o = JSONObject()
        o.add("id", c.text)
        o.add("key", c.key)
        o.add("proto", IPProto.name(UInt8(truncatingIfNeeded: c.proto)))
        o.add("endpoints", strings: [c.aEndpoint, c.bEndpoint])
        o.add("community_id", c.communityID)
        // Host names sources gave for the two addresses, when any did.
        var names = JSONObject()
        for a in [c.a, c.b] { if let n = fmt.names[a] { names.add(a, strings: n) } }
        if !names.isEmpty { o.add("names", raw: names.text) }
        if let l {
            let t = time ?? { fmt.isoTime($0, source: l.vantageSource) }
            o.add("originator", l.originator)
            o.add("responder", l.responder)
            o.add("first", t(l.first))
            o.add("last", t(l.last))
            var p = JSONObject(); p.add("orig", l.orig.packets); p.add("resp", l.resp.packets)
            var b = JSONObject(); b.add("orig", l.orig.bytes); b.add("resp", l.resp.bytes)
            o.add("packets", raw: p.text)
            o.add("bytes", raw: b.text)
            o.add("end", l.end)
            o.add("end_by", l.endBy)
            o.add("conn_state", l.connState)
            o.add("history", l.history)
            o.add("seen_by", strings: l.seenBy.keys.sorted())
            // Each capture point's own account, when several saw it.
            let views = (try? fmt.captureViews(c.key)) ?? []
            if !views.isEmpty {
                o.add("by_capture_point", raw: "[" + views.map { v in
                    var j = JSONObject()
                    j.add("host", fmt.sources[v.source]?.host)
                    j.add("source", fmt.sources[v.source]?.path)
                    j.add("packets", v.packets)
                    j.add("conn_state", v.connState)
                    j.add("history", v.history)
                    return j.text
                }.joined(separator: ",") + "]")
            }
        }
        return o.text
    }

    static func print(_ rows: [ConnectionRow], formatter fmt: EventFormatter, json: Bool) throws {
        let items = sorted(rows, fmt)
        if json {
            for (c, _) in items { Swift.print(self.json(c, formatter: fmt)) }
            return
        }
        var t = TextTable(header: ["connection", "first", "last", "pkts →/←", "bytes →/←", "end", "state", "seen by"])
        for (c, l) in items {
            guard let l else {
                t.add(["\(IPProto.name(UInt8(truncatingIfNeeded: c.proto))) \(fmt.named(c.aEndpoint)) ⇄ \(fmt.named(c.bEndpoint))", "-", "-", "-", "-", "-", "-", "-"])
                continue
            }
            let dir = "\(fmt.named(l.originator)) → \(fmt.named(l.responder))"
            let end = l.end == "none" ? "none" : "\(l.end) by \(l.endBy ?? "?")"
            t.add(["\(IPProto.name(UInt8(truncatingIfNeeded: c.proto))) \(dir)", fmt.isoTime(l.first, source: l.vantageSource), fmt.isoTime(l.last, source: l.vantageSource),
                   "\(l.orig.packets)/\(l.resp.packets)", "\(l.orig.bytes)/\(l.resp.bytes)", end, l.connState,
                   l.seenBy.keys.sorted().joined(separator: ",")])
        }
        Swift.print(t.render())
    }
}

/// What `conn` shows of one connection, as text or JSON: the same connection under its other tuples (NAT
/// between capture points), all their events interleaved, and how each packet fared at the other points.
struct ConnDetail {
    let aliases: [ConnectionAlias]
    let aliasRows: [ConnectionRow]
    let events: [StoredEvent]
    let twins: [Int64: [TwinVerdict]]
    /// A lifecycle's times are those of the source it was counted at.
    let time: (Int64) -> String

    init(_ c: ConnectionRow, store s: any StoreReader, formatter fmt: EventFormatter) throws {
        aliases = try s.aliases(of: c.key).filter { $0.key != c.key }
        var events = try s.events(conn: c.key)
        for a in aliases { events += try s.events(conn: a.key) }
        events.sort { ($0.ts, $0.source, $0.id) < ($1.ts, $1.source, $1.id) }
        self.events = events
        aliasRows = try aliases.compactMap { try s.connection(key: $0.key, hosts: nil) }
        twins = try s.twins(events: events.map(\.id))
        let vantage = c.lifecycle?.vantageSource ?? events.first?.source ?? 0
        time = { fmt.isoTime($0, source: vantage) }
    }
}

/// `conn --json`'s object for one connection (also the view's `/api/conn/<id>`): the connection, its
/// other tuples, every event from every source with where else each packet was seen, the lifecycle,
/// socket tables and the stack's story.
enum ConnJSON {
    static func object(_ c: ConnectionRow, store s: any StoreReader, formatter fmt: EventFormatter) throws -> String {
        let d = try ConnDetail(c, store: s, formatter: fmt)
        let (aliases, aliasRows, events, twins, life, time) = (d.aliases, d.aliasRows, d.events, d.twins, c.lifecycle, d.time)
        var o = JSONObject()
        o.add("connection", raw: ConnectionsPrinter.json(c, formatter: fmt, time: time))
        if !aliasRows.isEmpty {
            o.add("aliases", raw: "[" + zip(aliases, aliasRows).map { a, row in
                var j = JSONObject(); j.add("id", row.text); j.add("community_id", row.communityID); j.add("evidence", a.evidence); return j.text
            }.joined(separator: ",") + "]")
        }
        o.add("events", raw: "[" + events.map { TwinText.json(fmt.json($0), twins[$0.id], fmt) }.joined(separator: ",") + "]")
        o.add("lifecycle", raw: life.map { LifecycleText.json($0, time: time) } ?? "null")
        let lives = try s.instances(key: c.key)
        if !lives.isEmpty { o.add("connections_on_tuple", raw: "[" + lives.map { LifecycleText.json($0, time: time) }.joined(separator: ",") + "]") }
        let tables = SnapshotText.json(try SnapshotText.facts(c, aliases: aliasRows, store: s), fmt: fmt)
        o.add("sockets", raw: tables.sockets)
        o.add("listeners", raw: tables.listeners)
        o.add("stack", raw: StackText.json(StackStory.of(events), fmt: fmt))
        return o.text
    }
}

enum TwinText {
    static func hostOf(_ source: Int64, _ fmt: EventFormatter) -> String { fmt.sources[source]?.host ?? "source \(source)" }

    /// `server ✓`, `lost → server`, `missed by server's capture`, `not from client's side`.
    static func short(_ twins: [TwinVerdict]?, _ fmt: EventFormatter) -> String {
        guard let twins, !twins.isEmpty else { return "" }
        return twins.map { t in
            let h = hostOf(t.peer, fmt)
            switch t.verdict {
            case .seen: return "\(h) ✓"
            case .lost: return "lost → \(h)"
            case .uncaptured: return "not in \(h)'s capture"
            case .injected: return "never passed \(h)"
            case .outside: return "\(h) not capturing"
            case .unknown: return "\(h) ✗"
            }
        }.joined(separator: ", ")
    }

    static func json(_ event: String, _ twins: [TwinVerdict]?, _ fmt: EventFormatter) -> String {
        guard let twins, !twins.isEmpty, event.hasSuffix("}") else { return event }
        let list = twins.map { t -> String in
            var o = JSONObject()
            o.add("host", hostOf(t.peer, fmt))
            o.add("source", t.peer)
            o.add("verdict", t.verdict.rawValue)
            o.add("twin", t.twin)
            return o.text
        }
        return String(event.dropLast()) + ",\"elsewhere\":[" + list.joined(separator: ",") + "]}"
    }
}

/// What socket tables (netstat, ss) say about a connection: each socket's life over the snapshots of
/// its table, and whether anything listened on its server port on the host that owns that address.
enum SnapshotText {
    struct Facts {
        var sockets: [SocketHistory]
        var listeners: [ListenerCheck]
        var responder: String?
    }

    static func facts(_ c: ConnectionRow, aliases: [ConnectionRow], store: any StoreReader) throws -> Facts {
        let rows = try store.socketRows()
        var sockets: [SocketHistory] = []
        for row in [c] + aliases {
            guard let a = Endpoint(userText: row.aEndpoint), let b = Endpoint(userText: row.bEndpoint) else { continue }
            sockets += SocketHistory.of(a, b, rows: rows)
        }
        // The server side: the responder of the lifecycle, else the end whose port is the lower.
        let responder = c.lifecycle?.responder ?? (c.aport < c.bport ? c.aEndpoint : c.bEndpoint)
        let at = c.lifecycle.map { $0.synAt ?? $0.first }
        let listeners = Endpoint(userText: responder).map { ListenerCheck.check($0, at: at, rows: rows) } ?? []
        return Facts(sockets: sockets, listeners: listeners, responder: responder)
    }

    /// A table whose time is its file's modification time (no date line, no --at).
    static func timedByFile(_ source: Int64, _ fmt: EventFormatter) -> Bool {
        fmt.sources[source]?.notes?.contains("modification time") ?? false
    }

    static func lines(_ f: Facts, fmt: EventFormatter) -> [String] {
        var out: [String] = []
        for h in f.sockets {
            let t = { fmt.isoTime($0, source: h.source) }
            let local = (h.local ?? "*") + ":" + String(h.port)
            var line = "socket \(local) at \(fmt.sources[h.source]?.host ?? "?") (\(fmt.sourceName(h.source)), \(h.snapshots) snapshot\(h.snapshots == 1 ? "" : "s")): "
            line += h.changes.map { "\($0.state ?? "?") at \(t($0.ts))" }.joined(separator: " → ")
            if let p = h.pid { line += "; pid \(p)" + (h.process.map { " (\($0))" } ?? "") }
            if h.snapshots > 1 {
                line += h.absentBefore.map { "; appeared after \(t($0))" } ?? "; there from the first snapshot"
                line += "; last seen \(t(h.sightings[h.sightings.count - 1].ts))"
                line += h.goneBy.map { ", gone by \(t($0))" } ?? ", still there in the last snapshot"
            }
            out.append(line)
        }
        for l in f.listeners {
            let name = fmt.sourceName(l.source)
            var line: String
            if let pids = l.listening {
                line = "\(name) shows \(f.responder ?? "?") listening" + (pids.first.map { " (pid \($0))" } ?? "") + " in its snapshot at \(fmt.isoTime(l.ts, source: l.source))"
            } else {
                line = "no socket listens on \(f.responder ?? "?") in \(name) (snapshot at \(fmt.isoTime(l.ts, source: l.source))): the host's own table says nothing accepts connections there"
            }
            if let d = l.distance, abs(d) > 600 * CivilTime.nsPerSecond {
                line += "; taken \(Duration.text(abs(d))) \(d > 0 ? "after" : "before") the connection"
                if timedByFile(l.source, fmt) { line += " (that is the file's modification time: --at says when it was taken)" }
            }
            out.append(line)
        }
        return out
    }

    static func json(_ f: Facts, fmt: EventFormatter) -> (sockets: String, listeners: String) {
        let sockets = f.sockets.map { h -> String in
            var o = JSONObject()
            o.add("host", fmt.sources[h.source]?.host); o.add("source", fmt.sources[h.source]?.path)
            o.add("local", (h.local ?? "*") + ":" + String(h.port)); o.add("pid", h.pid); o.add("process", h.process)
            o.add("snapshots", h.snapshots)
            o.add("states", raw: "[" + h.changes.map { c in
                var j = JSONObject(); j.add("state", c.state); j.add("time", fmt.isoTime(c.ts, source: h.source)); j.add("snapshot", c.snapshot); return j.text
            }.joined(separator: ",") + "]")
            o.add("first_seen", fmt.isoTime(h.sightings[0].ts, source: h.source))
            o.add("last_seen", fmt.isoTime(h.sightings[h.sightings.count - 1].ts, source: h.source))
            o.add("absent_before", h.absentBefore.map { fmt.isoTime($0, source: h.source) })
            o.add("gone_by", h.goneBy.map { fmt.isoTime($0, source: h.source) })
            return o.text
        }
        let listeners = f.listeners.map { l -> String in
            var o = JSONObject()
            o.add("host", fmt.sources[l.source]?.host); o.add("source", fmt.sources[l.source]?.path); o.add("endpoint", f.responder)
            o.add("snapshot", l.snapshot); o.add("time", fmt.isoTime(l.ts, source: l.source))
            o.add("listening", l.listening != nil)
            if let pids = l.listening { o.add("pids", raw: "[" + pids.map(String.init).joined(separator: ",") + "]") }
            o.add("seconds_from_connection", l.distance.map { Double($0) / 1e9 })
            o.add("time_from_file", timedByFile(l.source, fmt))
            return o.text
        }
        return ("[" + sockets.joined(separator: ",") + "]", "[" + listeners.joined(separator: ",") + "]")
    }
}

/// Spans as people say them: 45 s, 12 min, 3.5 h, 13.9 years.
enum Duration {
    static func text(_ ns: Int64) -> String {
        let s = Double(ns) / 1e9
        if s < 120 { return String(format: "%.0f s", s) }
        if s < 7200 { return String(format: "%.0f min", s / 60) }
        if s < 3 * 86400 { return String(format: "%.1f h", s / 3600) }
        if s < 730 * 86400 { return String(format: "%.0f days", s / 86400) }
        return String(format: "%.1f years", s / (365.25 * 86400))
    }
}
