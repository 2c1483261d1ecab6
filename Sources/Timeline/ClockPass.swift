import Foundation
import TraceModel
import EventStore
import Parsers

/// The joiner pass that puts every source on one clock: it matches the packets sources share, bounds
/// each pair's offset (`ClockBounds`), places every source against a reference (`ClockGraph`) and stores
/// the solved clocks, which every view then applies when reading. Idempotent; runs again after an ingest.
public enum ClockPass {
    public static let name = "clocks"

    /// What the pass found, for `tracejoin clocks` to show.
    public struct Report: Sendable {
        public var reference: Int64?
        public var pairs: [ClockBounds] = []
        public var placements: [Int64: ClockGraph.Placement] = [:]

        public init(reference: Int64? = nil) { self.reference = reference }
    }

    public static func runIfStale(_ store: Store) throws {
        guard try store.isStale(name) else { return }
        _ = try run(store)
    }

    /// The reference when the user names none: a source whose zone is known, else the first with calendar
    /// times, else the first — among packet sources first: a socket table's or an event log's time is a
    /// second at best, and a table's may be only its file's modification time.
    public static func defaultReference(_ sources: [SourceInfo]) -> Int64? {
        let precise = sources.filter { !coarseFormats.contains($0.format) }
        for group in [precise, sources] {
            if let s = group.first(where: { $0.zoneGiven && $0.timeBasis == .absolute }) ?? group.first(where: { $0.timeBasis == .absolute }) {
                return s.id
            }
        }
        return sources.first?.id
    }

    /// Formats whose times are whole seconds or the file's (socket tables, event logs, process lists).
    static let coarseFormats: Set<String> = ["netstat_text", "ss_text", "eventlog_text", "tasklist_text"]

    /// Clocks the user set (anchors of relative sources, `--offset` overrides): kept as they are. A wall
    /// clock a source gave itself is not one: packets shared with the reference place it better.
    static func isUserClock(_ s: SourceInfo) -> Bool {
        guard let m = s.clockMethod else { return false }
        return !SolvedClock.isSolved(m) && m != SourceFacts.wallClockMethod
    }

    @discardableResult
    public static func run(_ store: Store, reference chosen: Int64? = nil) throws -> Report {
        // Read first: events that arrive while the pass runs (ingest --follow) leave it stale.
        let mark = try store.staleMark(name)
        let sources = try store.sources()
        var report = Report()
        guard let reference = chosen ?? defaultReference(sources) else { return report }
        report.reference = reference
        defer { PassProgress.done() }
        // Stack events that name their connection only through a pointer join it first.
        PassProgress.phase("clocks: binding stack events to their connections")
        try StackBinding.run(store)
        if sources.count < 2 {
            // One source is its own clock: nothing to match (and no pass over its events).
            try store.saveSolvedClocks([])
            try store.saveAliases([])
            try store.saveTwins([])
            try store.setFresh(name, ifStill: mark)
            return report
        }
        let byID = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0) })

        // One connection under several tuples (NAT between capture points) is matched as one.
        PassProgress.phase("clocks: looking for one connection under several tuples (NAT)")
        let found = try ConnectionAliases.find(store)
        try store.saveAliases(found)
        let aliases = Dictionary(uniqueKeysWithValues: found.map { ($0.key, $0) })

        // Pairs of sources, filled connection by connection. A packet from a capture host's own address
        // passed that capture point first (what lets a connection seen one way only still bound a pair).
        let own = try store.ownAddresses()
        var pairs: [PairKey: ClockBounds] = [:]
        var seen = 0
        PassProgress.phase("clocks: matching packets seen at several capture points")
        try forEachConnection(store, aliases: aliases) { bySource, _ in
            seen += 1
            PassProgress.step("clocks: matching packets seen at several capture points: \(seen) connections")
            let ids = bySource.keys.sorted()
            for i in 0..<ids.count {
                for j in (i + 1)..<ids.count {
                    let a = bySource[ids[i]]!, b = bySource[ids[j]]!
                    let matches = PacketMatcher.match(a, b)
                    guard !matches.isEmpty else { continue }
                    var deltas: [[(t: Int64, d: Int64)]] = [[], []]
                    for (x, y) in matches { deltas[a[x].side].append((a[x].ts, b[y].ts - a[x].ts)) }
                    var aFirst: [Bool?] = [nil, nil]
                    for side in 0...1 {
                        guard let sender = (a.first { $0.side == side } ?? b.first { $0.side == side })?.srcAddress else { continue }
                        if own[ids[i]]?.contains(sender) == true { aFirst[side] = true } else if own[ids[j]]?.contains(sender) == true { aFirst[side] = false }
                    }
                    // Changed in place: a copy taken out of the dictionary and put back copied the pair's
                    // whole list of matches for every connection (minutes on a 1 M-packet pair).
                    let key = PairKey(a: ids[i], b: ids[j])
                    pairs[key, default: ClockBounds(a: ids[i], b: ids[j])].add(deltas, aFirst: aFirst)
                    pairs[key]!.resolutionA = resolution(byID[ids[i]])
                    pairs[key]!.resolutionB = resolution(byID[ids[j]])
                }
            }
        }
        // A failure a SIP log and a stack trace of the same host both tell ties their clocks too.
        FailureMatches.addBounds(try FailureMatches.find(store), to: &pairs)
        let solved = place(sources, reference: reference, pairs: pairs.values.sorted { ($0.a, $0.b) < ($1.a, $1.b) }, into: &report)
        try store.saveSolvedClocks(solved)
        PassProgress.phase("clocks: pairing each packet with its twin at the other capture points")
        try TwinPass.run(store, pairs: report.pairs, aliases: aliases)
        try store.setFresh(name, ifStill: mark)
        return report
    }

    /// Places every source from the pairs' bounds against `reference` (and the sources no pair links to it
    /// against a reference of their own group), and the clocks to store: what the SQLite pass and the
    /// ClickHouse engine's (`EngineClockPass`, bounds reduced by the engine) share.
    public static func place(_ sources: [SourceInfo], reference: Int64, pairs: [ClockBounds], into report: inout Report) -> [SolvedClock] {
        let byID = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0) })
        report.reference = reference
        report.pairs = pairs
        var fixed: [Int64: SourceClock] = [:]
        for s in sources where isUserClock(s) { fixed[s.id] = s.clock }
        // The reference keeps whatever placed it (the user's anchor, its own wall clock).
        let base = byID[reference].map { $0.clockMethod != nil && !SolvedClock.isSolved($0.clockMethod) ? $0.clock : SourceClock() } ?? SourceClock()
        report.placements = ClockGraph.solve(reference: reference, base: base, pairs: report.pairs, fixed: fixed)
        // Sources that share packets with each other but not with the reference's group (the Edge and its
        // Front End beside a client capture of another connection) are still placed against each other,
        // from a reference of their own group chosen the same way.
        var groupReference: [Int64: Int64] = [:]
        var placed = Set(report.placements.keys).union([reference]).union(fixed.keys)
        while true {
            let paired = Set(report.pairs.flatMap { [$0.a, $0.b] }).subtracting(placed)
            guard let sub = defaultReference(sources.filter { paired.contains($0.id) }) else { break }
            let subBase = byID[sub].map { $0.clockMethod != nil && !SolvedClock.isSolved($0.clockMethod) ? $0.clock : SourceClock() } ?? SourceClock()
            let group = ClockGraph.solve(reference: sub, base: subBase, pairs: report.pairs, fixed: fixed)
            for (id, p) in group where !placed.contains(id) && id != sub { report.placements[id] = p; groupReference[id] = sub }
            placed.formUnion(group.keys); placed.insert(sub)
        }

        var solved: [SolvedClock] = []
        for (id, p) in report.placements.sorted(by: { $0.key < $1.key }) where id != reference && fixed[id] == nil {
            var c = SolvedClock(source: id, offsetNS: p.clock.offset, uncertaintyNS: p.uncertainty, reference: groupReference[id] ?? reference, matched: p.matched,
                                peer: p.peer, driftPPB: p.clock.driftPPB, origin: p.clock.origin)
            c.oneWay = p.oneWay
            // Placed by logged events alone (no packet shared): say so, and count the events.
            if let pair = report.pairs.first(where: { ($0.a, $0.b) == (min(id, p.peer), max(id, p.peer)) }), pair.events * 2 == pair.matched {
                c.byEvents = true
                c.matched = pair.events
            }
            solved.append(c)
        }
        // A source that shares no packets, from a host the user named, follows the clock of a placed source
        // of the same host (a log written on the machine a capture was taken on); matched = 0 says so.
        for s in sources where report.placements[s.id] == nil && fixed[s.id] == nil && s.hostGiven {
            let sameHost = sources.filter { $0.host == s.host && $0.id != s.id }.compactMap { report.placements[$0.id] }
            guard let p = sameHost.min(by: { ($0.uncertainty, $0.source) < ($1.uncertainty, $1.source) }) else { continue }
            report.placements[s.id] = ClockGraph.Placement(source: s.id, clock: p.clock, uncertainty: p.uncertainty, peer: p.source, matched: 0)
            solved.append(SolvedClock(source: s.id, offsetNS: p.clock.offset, uncertaintyNS: p.uncertainty, reference: reference, matched: 0,
                                      peer: p.source, driftPPB: p.clock.driftPPB, origin: p.clock.origin))
        }
        return solved
    }

    /// Hands over each connection's TCP packets seen by two or more sources, by source, in time order.
    /// Tuples that are one connection (`aliases`) come together, their sides turned so that side 0 is
    /// whoever sent the SYN in each.
    static func forEachConnection(_ store: Store, aliases: [Int64: ConnectionAlias] = [:],
                                  _ body: ([Int64: [MatchPacket]], [ConnectionAlias]) throws -> Void) throws {
        var conn: Int64? = nil
        var bySource: [Int64: [MatchPacket]] = [:]
        var members: [ConnectionAlias] = []
        func flush() throws {
            if bySource.count > 1 { try body(bySource, members) }
            bySource.removeAll(keepingCapacity: true)
        }
        try store.forEachMatchablePacket { p in
            guard aliases[p.conn] == nil else { return }
            if p.conn != conn {
                try flush()
                conn = p.conn
                members = [ConnectionAlias(key: p.conn, group: p.conn, sideFlip: false, evidence: "")]
            }
            bySource[p.source, default: []].append(p)
        }
        try flush()
        for (_, group) in Dictionary(grouping: aliases.values, by: \.group).sorted(by: { $0.key < $1.key }) {
            members = group.sorted(by: { $0.key < $1.key })
            for m in members {
                for var p in try store.matchablePackets(conn: m.key) {
                    if m.sideFlip { p.side = 1 - p.side }
                    bySource[p.source, default: []].append(p)
                }
            }
            // A source that saw two of the tuples (a capture on the NAT box) sees them in time order.
            for (k, v) in bySource where members.count > 1 { bySource[k] = v.sorted { ($0.ts, $0.id) < ($1.ts, $1.id) } }
            try flush()
        }
    }

    /// The smallest step a source's times can show.
    public static func resolution(_ s: SourceInfo?) -> Int64 {
        var r: Int64 = 1
        for _ in 0..<max(0, 9 - min(9, s?.timeDigits ?? 9)) { r *= 10 }
        return r
    }

    struct PairKey: Hashable { let a: Int64, b: Int64 }
}
