import Foundation
import TraceModel
import EventStore

/// What a host's own TCP/IP stack said about a connection (the TCPIP and Winsock events of an ETL trace
/// bound to it), told as the few facts an engineer writes down: who connected where, the SYN's initial
/// number, the state changes, the retransmission timers, how it failed and when — e.g. the Lync Edge:
/// RTCSrv.exe connects to 192.168.3.10:5061, timers of 3000, 6000 and 12000 ms, STATUS_IO_TIMEOUT 21 s
/// after its first SYN. A capture shows the SYNs; only the stack says when and why it gave up.
public struct StackStory: Sendable {
    public struct StateChange: Sendable { public var ts: Int64; public var from: String; public var to: String }

    public var source: Int64
    public var process: String?
    public var pid: Int64?
    /// The Winsock connect call and the address it named.
    public var connectAt: Int64?
    public var connectTo: String?
    /// When the stack put out its first SYN (its ISN line, else the move to SynSentState).
    public var firstSynAt: Int64?
    public var isn: Int64?
    public var states: [StateChange] = []
    public var timersMS: [Int64] = []
    /// Retransmissions the stack counted (its highest RexmitCount).
    public var resends = 0
    /// The first status other than Success, and when.
    public var failure: (ts: Int64, status: String)?
    public var closedAt: Int64?

    /// From first SYN (or connect) to the failure: how long the stack tried.
    public var triedFor: Int64? {
        guard let f = failure, let start = firstSynAt ?? connectAt else { return nil }
        return f.ts - start
    }

    /// One story per source that has stack events among `events` (a connection's, in time order).
    public static func of(_ events: [StoredEvent]) -> [StackStory] {
        var stories: [Int64: StackStory] = [:]
        for e in events where e.kind == .log {
            guard let a = e.attrs, a.contains("\"pointer\"") || a.contains("\"call\"") else { continue }
            var s = stories[e.source] ?? StackStory(source: e.source)
            let call = Attr.string(a, "call")
            if call != nil || s.process == nil, let p = Attr.string(a, "process"), p != "Idle", p != "System" {
                s.process = p; s.pid = Attr.int(a, "pid")
            }
            if call == "connect", s.connectAt == nil { s.connectAt = e.ts; s.connectTo = Attr.string(a, "address") }
            if let isn = Attr.int(a, "isn"), s.isn == nil { s.isn = isn; s.firstSynAt = s.firstSynAt.map { min($0, e.ts) } ?? e.ts }
            if let from = Attr.string(a, "state_from"), let to = Attr.string(a, "state_to") {
                s.states.append(StateChange(ts: e.ts, from: from, to: to))
                if to == "SynSentState", s.firstSynAt == nil { s.firstSynAt = e.ts }
            }
            if let ms = Attr.int(a, "timer_ms") { s.timersMS.append(ms) }
            if let n = Attr.int(a, "rexmit_count") { s.resends = max(s.resends, Int(n)) }
            if let st = Attr.string(a, "status"), st != "Success", s.failure == nil { s.failure = (e.ts, st) }
            if call == "closesocket" { s.closedAt = e.ts }
            stories[e.source] = s
        }
        return stories.values.sorted { $0.source < $1.source }
    }
}
