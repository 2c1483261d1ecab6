import Foundation
import TraceModel
import EventStore
import Timeline
import Render

/// The view's JSON endpoints as functions of a request's path and query: each answers a status and a
/// body, so tests call them without a server and the server only routes. Every object is the one the
/// CLI's `--json` prints (`timeline`, `conn`, `clocks`, `findings`), wrapped with paging facts.
final class ViewAPI: @unchecked Sendable {
    struct Answer {
        var status: Int
        var json: String
        static func ok(_ json: String) -> Answer { Answer(status: 200, json: json) }
        static func bad(_ why: String, status: Int = 400) -> Answer {
            var o = JSONObject(); o.add("error", why); return Answer(status: status, json: o.text)
        }
    }

    /// Query parameters by name, every value of a repeated one (`host=a&host=b`).
    typealias Query = [String: [String]]

    let store: any StoreReader
    /// The events a content filter matched, for the last such filter asked (scrolling asks it again and again).
    private var matches: (key: String, store: String, list: TimelineMatches)?
    /// Touched only on `findingsQueue`.
    private var findingsCache: (store: String, objects: [String])?
    private let findingsQueue = DispatchQueue(label: "tracejoin.view.findings")
    private let lock = NSLock()

    static let maxLimit = 2000

    init(store: any StoreReader) { self.store = store }

    // MARK: timeline

    /// `/api/timeline?offset=&limit=&at=&host=&source=&kind=&conn=&grep=&from=&to=`: the events at positions
    /// offset..<offset+limit of the filtered timeline, and how many there are. With `at` (a time), the
    /// page starts at the first event at or after it, and `offset` says where that is.
    func timeline(_ q: Query) -> Answer {
        do {
            let filter: EventFilter
            switch try Self.filter(q, store: store) { case .success(let f): filter = f; case .failure(let e): return .bad(e.why) }
            var offset = 0, limit = 200
            if let v = q["offset"]?.last { guard let n = Int(v), n >= 0 else { return .bad("offset must be a whole number ≥ 0, got \(v)") }; offset = n }
            if let v = q["limit"]?.last {
                guard let n = Int(v), (1...Self.maxLimit).contains(n) else { return .bad("limit must be 1…\(Self.maxLimit), got \(v)") }
                limit = n
            }
            var at: Int64?
            if let v = q["at"]?.last { guard let t = Self.time(v) else { return .bad("at: cannot read \(v) as a time") }; at = t }
            let fmt = try EventFormatter(store: store)
            let total: Int, events: [StoredEvent]
            var truncated = false
            if TimelineWindow.positional(filter) {
                let w = try TimelineWindow(store: store, filter: filter)
                if let at { offset = try w.position(of: at) }
                total = try w.total()
                events = try w.page(offset: offset, limit: limit)
            } else {
                let list = try matchList(filter, key: Self.cacheKey(q))
                if let at { offset = list.position(of: at) }
                total = list.total
                truncated = list.truncated
                events = try list.page(store: store, offset: offset, limit: limit)
            }
            var o = JSONObject()
            o.add("total", total)
            o.add("offset", offset)
            if truncated { o.add("truncated", true) }
            o.add("events", raw: "[" + events.map { fmt.json($0) }.joined(separator: ",") + "]")
            return .ok(o.text)
        } catch {
            return .bad("\(error)", status: 500)
        }
    }

    private func matchList(_ filter: EventFilter, key: String) throws -> TimelineMatches {
        let last = try store.changeMark()
        lock.lock()
        let cached = matches
        lock.unlock()
        if let m = cached, m.key == key, m.store == last { return m.list }
        // Listed outside the lock: a search through ten million events takes a while, and other requests
        // (another filter, the findings) must not wait for it.
        let list = try TimelineMatches(store: store, filter: filter)
        lock.lock(); matches = (key, last, list); lock.unlock()
        return list
    }

    static func cacheKey(_ q: Query) -> String {
        ["host", "source", "kind", "conn", "grep", "from", "to"].map { k in k + "=" + (q[k] ?? []).joined(separator: "\u{1}") }.joined(separator: "&")
    }

    // MARK: histogram

    /// `/api/histogram?buckets=&from=&to=&host=&source=`: events per host in equal slices of time (aligned
    /// ns), over the whole store unless a range is given.
    func histogram(_ q: Query) -> Answer {
        do {
            var filter: EventFilter
            switch try Self.filter(q, store: store) { case .success(let f): filter = f; case .failure(let e): return .bad(e.why) }
            // Only hosts, sources and the range shape the histogram: it is the axis the other filters move along.
            filter.kinds = []; filter.conns = nil; filter.grep = nil
            var buckets = 200
            if let v = q["buckets"]?.last { guard let n = Int(v), (1...2000).contains(n) else { return .bad("buckets must be 1…2000, got \(v)") }; buckets = n }
            let w = try TimelineWindow(store: store, filter: filter)
            var o = JSONObject()
            o.add("from_ns", w.lo)
            o.add("to_ns", w.hi)
            o.add("from", CivilTime.iso8601(w.lo, digits: 6))
            o.add("to", CivilTime.iso8601(w.hi, digits: 6))
            o.add("buckets", buckets)
            let rows = try w.histogram(from: w.lo, to: w.hi, buckets: buckets)
            o.add("hosts", raw: "[" + rows.map { r in
                var j = JSONObject(); j.add("host", r.host); j.add("counts", raw: "[" + r.counts.map(String.init).joined(separator: ",") + "]"); return j.text
            }.joined(separator: ",") + "]")
            return .ok(o.text)
        } catch {
            return .bad("\(error)", status: 500)
        }
    }

    // MARK: connection, clocks, findings, sources

    /// `/api/conn/<id>`: `conn --json` of one connection, named by its Community ID or its 64-bit key.
    func conn(_ id: String) -> Answer {
        do {
            let row = try Int64(id).flatMap { try store.connection(key: $0, hosts: nil) } ?? store.connection(communityID: id)
            guard let row else { return .bad("no connection \(id) in the store (give its community_id or key)", status: 404) }
            return .ok(try ConnJSON.object(row, store: store, formatter: EventFormatter(store: store)))
        } catch {
            return .bad("\(error)", status: 500)
        }
    }

    /// `/api/clocks`: `clocks --json`'s objects as an array.
    func clocks() -> Answer {
        do {
            let sources = try store.sources()
            return .ok("[" + ClocksPrinter.jsonObjects(sources, reference: ClockPass.defaultReference(sources)).joined(separator: ",") + "]")
        } catch {
            return .bad("\(error)", status: 500)
        }
    }

    /// `/api/findings`: `findings --json`'s objects as an array, computed again only when the store grew
    /// or a pass recomputed the connections (`ingest --follow` does both while the view is open).
    func findings() -> Answer {
        // One computation at a time: a second request (another tab, a reload) waits for the first's
        // answer and takes it from the cache rather than reading the whole store again beside it.
        findingsQueue.sync { computeFindings() }
    }

    /// Runs on `findingsQueue` only.
    private func computeFindings() -> Answer {
        do {
            let last = try store.changeMark()
            if let cached = findingsCache, cached.store == last { return .ok("[" + cached.objects.joined(separator: ",") + "]") }
            let objects = FindingsPrinter.jsonObjects(try FindingRows.of(store), fmt: try EventFormatter(store: store))
            findingsCache = (last, objects)
            return .ok("[" + objects.joined(separator: ",") + "]")
        } catch {
            return .bad("\(error)", status: 500)
        }
    }

    /// `/api/sources`: what the filters can choose from — hosts, sources, kinds — and the newest event id
    /// (where a live feed starts).
    func sources() -> Answer {
        do {
            let sources = try store.sources()
            var o = JSONObject()
            o.add("hosts", strings: Array(Set(sources.map(\.host))).sorted())
            o.add("sources", raw: "[" + sources.map { s in
                var j = JSONObject(); j.add("id", s.id); j.add("path", s.path); j.add("host", s.host); j.add("format", s.format); j.add("events", s.events)
                return j.text
            }.joined(separator: ",") + "]")
            o.add("kinds", strings: EventKind.allCases.map(\.name))
            o.add("last_id", try store.lastEventID())
            return .ok(o.text)
        } catch {
            return .bad("\(error)", status: 500)
        }
    }

    /// Events stored after `id`, as timeline objects, for the live feed; and the id to continue from.
    func appended(after id: Int64, limit: Int = 1000) throws -> (json: [String], last: Int64) {
        let events = try store.events(afterID: id, limit: limit)
        guard let last = events.last?.id else { return ([], id) }
        let fmt = try EventFormatter(store: store)
        return (events.map { fmt.json($0) }, last)
    }

    // MARK: parameters

    struct Invalid: Error { let why: String }

    /// The timeline filter a query names, or why it cannot be read.
    static func filter(_ q: Query, store: any StoreReader) throws -> Result<EventFilter, Invalid> {
        var f = EventFilter()
        let known: Set<String> = ["host", "source", "kind", "conn", "grep", "from", "to", "offset", "limit", "at", "buckets"]
        if let unknown = q.keys.sorted().first(where: { !known.contains($0) }) {
            return .failure(Invalid(why: "unknown parameter \(unknown); known: \(known.sorted().joined(separator: ", "))"))
        }
        f.hosts = (q["host"] ?? []).flatMap { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty }
        for v in (q["source"] ?? []).flatMap({ $0.split(separator: ",") }) {
            guard let id = Int64(v) else { return .failure(Invalid(why: "source wants source ids (see /api/sources), got \(v)")) }
            f.sources.append(id)
        }
        for v in (q["kind"] ?? []).flatMap({ $0.split(separator: ",") }) {
            guard let k = EventKind(name: String(v)) else {
                return .failure(Invalid(why: "unknown kind \(v); known: \(EventKind.allCases.map(\.name).joined(separator: ", "))"))
            }
            f.kinds.append(k)
        }
        if let g = q["grep"]?.last, !g.isEmpty { f.grep = g }
        if let v = q["from"]?.last, !v.isEmpty { guard let t = time(v) else { return .failure(Invalid(why: "from: cannot read \(v) as a time")) }; f.from = t }
        if let v = q["to"]?.last, !v.isEmpty { guard let t = time(v) else { return .failure(Invalid(why: "to: cannot read \(v) as a time")) }; f.to = t }
        let conns = (q["conn"] ?? []).filter { !$0.isEmpty }
        if !conns.isEmpty {
            var keys: [Int64] = []
            for c in conns {
                if let key = Int64(c) {
                    keys.append(key)
                } else if let row = try store.connection(communityID: c) {
                    keys.append(row.key)
                } else if let m = ConnectionMatch.parse(c) {
                    keys += try m.find(in: store).map(\.key)
                } else {
                    return .failure(Invalid(why: "conn wants a community_id, a key or endpoints (10.0.0.1:5000,10.0.0.2:80), got \(c)"))
                }
            }
            // The same connection under its other tuples (NAT between capture points).
            for k in keys { keys += try store.aliases(of: k).map(\.key).filter { !keys.contains($0) } }
            f.conns = keys
        }
        return .success(f)
    }

    /// A time as the CLI reads it (`2013-01-06T09:52:15.4Z`, `+12.5`) or aligned nanoseconds (`ns:…`).
    static func time(_ text: String) -> Int64? {
        if text.hasPrefix("ns:") { return Int64(text.dropFirst(3)) }
        return TimeArgument.parse(text)
    }
}
