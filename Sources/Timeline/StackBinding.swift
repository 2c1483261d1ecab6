import TraceModel
import EventStore

/// Ties an ETL trace's stack events to their connection when they do not print its tuple: a TCPIP event
/// naming a connection pointer gets the tuple the `local=… remote=…` lines give that pointer; the endpoint
/// a connection inherited its port from, and the Winsock endpoint bound to the connection's local address,
/// follow it. So `conn` of the tuple lists socket → bind → connect → SYN → timers → failure → closesocket.
///
/// A pointer is reused once its object is freed, so a pointer's events are cut into lives: one ends with
/// the object's `released port number` (the last thing TCPIP says of it), or when a connection that went to
/// ClosedState comes back from it. An event takes the tuple of the nearest line (in the file's order) of
/// the same life that names its pointer with a tuple; a life without one stays unbound.
public enum StackBinding {
    public static func run(_ store: Store) throws {
        var rows: [(event: Int64, conn: Int64, via: String)] = []
        var events: [StackEvent] = []
        var source: Int64? = nil
        func flush() {
            rows += bind(events)
            events.removeAll(keepingCapacity: true)
        }
        try store.forEachStackEvent { e in
            if e.source != source { flush(); source = e.source }
            events.append(e)
        }
        flush()
        // A SIP connection record joins the connection whose failure the same host's stack logged.
        let records = try FailureMatches.find(store).map { (event: $0.record, conn: $0.conn, via: "the same failure in the host's stack trace") }
        // SIP messages join the connection that has the peer their log names.
        let peers = try PeerBinding.find(store, except: Set(records.map(\.event)))
        // And those that name no peer, the connection of another record with their server's connection id.
        let byID = try ConnectionIDBinding.find(store, bound: records + peers)
        try store.saveBindings(rows + records + peers + byID)
    }

    /// One source's stack events, in file order.
    static func bind(_ events: [StackEvent]) -> [(event: Int64, conn: Int64, via: String)] {
        let life = PointerLives(events)
        // Tuple lines per pointer and life, and what connections inherited from which endpoint.
        var tupleLines: [PointerLives.Life: [(ordinal: Int64, conn: Int64)]] = [:]
        var local: [String: Int64] = [:]            // local endpoint text → connection
        var endpointOf: [String: String] = [:]      // endpoint pointer → connection pointer
        for e in events {
            guard let c = e.conn else {
                if let p = e.pointer, let ep = e.endpoint { endpointOf[ep] = p }
                continue
            }
            if let p = e.pointer { tupleLines[life.of(p, e.id), default: []].append((e.ordinal, c)) }
            if let l = e.local { local[l] = c }
        }
        func nearest(_ p: String, _ e: StackEvent) -> Int64? {
            tupleLines[life.of(p, e.id)]?.min { abs($0.ordinal - e.ordinal) < abs($1.ordinal - e.ordinal) }?.conn
        }
        // Winsock endpoints: the local address a bind gave them, once it has a port.
        var afdLocal: [String: String] = [:]
        for e in events where e.call == "bind" {
            if let w = e.afdEndpoint, let a = e.address, !a.hasSuffix(":0") { afdLocal[w] = a }
        }
        var out: [(event: Int64, conn: Int64, via: String)] = []
        // One text per pointer: a trace binds millions of events, most through a few thousand pointers.
        var viaPointer: [String: String] = [:]
        for e in events where e.conn == nil {
            if let p = e.pointer {
                if let c = nearest(p, e) {
                    let via = viaPointer[p] ?? "pointer \(p)"
                    viaPointer[p] = via
                    out.append((e.id, c, via))
                    continue
                }
                if let cp = endpointOf[p], let c = nearest(cp, e) { out.append((e.id, c, "endpoint \(p) of \(cp)")); continue }
            }
            if let w = e.afdEndpoint, let a = afdLocal[w], let c = local[a] { out.append((e.id, c, "Winsock endpoint \(w) bound to \(a)")); continue }
            if let a = e.address, e.call == nil, let c = local[a] { out.append((e.id, c, "address \(a)")); continue }
        }
        return out
    }
}

/// Which life of its pointer each stack event belongs to (see `StackBinding`).
struct PointerLives {
    struct Life: Hashable { let pointer: String; let index: Int }
    /// Per pointer, the event ids (in file order) that begin its second, third … life.
    private var starts: [String: [Int64]] = [:]

    init(_ events: [StackEvent]) {
        var closed: Set<String> = []     // went to ClosedState in its current life
        var ended: Set<String> = []      // released its port: the next event of it begins a new life
        for e in events {
            guard let p = e.pointer else { continue }
            let reopened = closed.contains(p) && e.fromClosed
            if ended.contains(p) || reopened {
                starts[p, default: []].append(e.id)
                ended.remove(p); closed.remove(p)
            }
            if e.toClosed { closed.insert(p) }
            if e.released { ended.insert(p) }
        }
    }

    /// The life of `pointer` that event `id` (a rowid, in file order) falls in.
    func of(_ pointer: String, _ id: Int64) -> Life {
        Life(pointer: pointer, index: starts[pointer]?.reduce(0) { $0 + ($1 <= id ? 1 : 0) } ?? 0)
    }
}
