import TraceModel
import EventStore
@testable import Timeline

// The lifecycle of events read back from the store, from one host's view: the scenarios' facts are
// stated per capture point, while the store's pass keeps the vantage that saw most.
extension Lifecycle {
    /// Derives the lifecycle from the connection's events (all sources; the vantage is the source with
    /// the most of them, so that one packet seen at two capture points is not counted twice).
    static func derive(_ events: [StoredEvent], hosts: [Int64: String]) -> Lifecycle? {
        var builders: [Int64: LifecycleBuilder] = [:]
        var x: String? = nil, y: String? = nil
        for e in events where e.kind == .packet {
            guard let s = e.srcEndpoint, let d = e.dstEndpoint else { continue }
            if x == nil { x = s; y = d }
            builders[e.source, default: LifecycleBuilder(source: e.source)].add(PacketFacts(e, side: s == x ? 0 : 1))
        }
        guard let x, let y else { return nil }
        return LifecycleBuilder.choose(Array(builders.values), endpoints: (x, y), hosts: hosts)
    }
}

extension PacketFacts {
    init(_ e: StoredEvent, side: Int) {
        self.init(source: e.source, ts: e.ts, side: side, flags: e.flags ?? -1, seq: e.seq, ack: e.ack, len: e.len, expert: e.expert)
    }
}
