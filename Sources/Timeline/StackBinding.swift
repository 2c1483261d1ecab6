import TraceModel
import EventStore

/// Ties an ETL trace's stack events to their connection when they do not print its tuple: a TCPIP event
/// naming a connection pointer gets the tuple the `local=… remote=…` lines give that pointer; the endpoint
/// a connection inherited its port from, and the Winsock endpoint bound to the connection's local address,
/// follow it. So `conn` of the tuple lists socket → bind → connect → SYN → timers → failure → closesocket.
///
/// A pointer is reused once its object is freed: an event takes the tuple of the nearest line (in the
/// file's order) that names its pointer with a tuple.
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
        try store.saveBindings(rows)
    }

    /// One source's stack events, in file order.
    static func bind(_ events: [StackEvent]) -> [(event: Int64, conn: Int64, via: String)] {
        // Tuple lines per pointer, and what connections inherited from which endpoint.
        var tupleLines: [String: [(ordinal: Int64, conn: Int64)]] = [:]
        var local: [String: Int64] = [:]            // local endpoint text → connection
        var endpointOf: [String: String] = [:]      // endpoint pointer → connection pointer
        for e in events {
            guard let c = e.conn else {
                if let p = e.attr("pointer"), let ep = e.attr("endpoint") { endpointOf[ep] = p }
                continue
            }
            if let p = e.attr("pointer") { tupleLines[p, default: []].append((e.ordinal, c)) }
            if let l = e.local { local[l] = c }
        }
        func nearest(_ p: String, _ ordinal: Int64) -> Int64? {
            tupleLines[p]?.min { abs($0.ordinal - ordinal) < abs($1.ordinal - ordinal) }?.conn
        }
        // Winsock endpoints: the local address a bind gave them, once it has a port.
        var afdLocal: [String: String] = [:]
        for e in events where e.attr("call") == "bind" {
            if let w = e.attr("afd_endpoint"), let a = e.attr("address"), !a.hasSuffix(":0") { afdLocal[w] = a }
        }
        var out: [(event: Int64, conn: Int64, via: String)] = []
        for e in events where e.conn == nil {
            if let p = e.attr("pointer") {
                if let c = nearest(p, e.ordinal) { out.append((e.id, c, "pointer \(p)")); continue }
                if let cp = endpointOf[p], let c = nearest(cp, e.ordinal) { out.append((e.id, c, "endpoint \(p) of \(cp)")); continue }
            }
            if let w = e.attr("afd_endpoint"), let a = afdLocal[w], let c = local[a] { out.append((e.id, c, "Winsock endpoint \(w) bound to \(a)")); continue }
            if let a = e.attr("address"), e.attr("call") == nil, let c = local[a] { out.append((e.id, c, "address \(a)")); continue }
        }
        return out
    }
}
