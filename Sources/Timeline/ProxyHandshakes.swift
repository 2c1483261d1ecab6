import Foundation
import TraceModel
import EventStore

/// The Tivoli Firewall Security Toolbox handshake between a parent (endpoint proxy or relay) and its
/// child (gateway proxy), from their logs: the parent sends WHO, the child answers; the child sends TELL,
/// the parent answers. A parent's log names the child by its label (`TELL command received
/// [l=ascotti_gwp1]`); the child's own log does not (`WHO command received [l=null]`), so a child log is
/// paired with a parent's label when it is the only log with unlabelled steps. Also: routed-session
/// failures per target (`failure creating a routed session for nti281-gwp`).
public struct ProxyHandshakes: Sendable {
    public struct Step: Sendable {
        public var source: Int64
        public var ts: Int64
        public var handshake: String     // WHO, TELL
        public var step: String          // command received, reply received
        public var label: String?
    }

    public struct Failure: Sendable {
        public var source: Int64
        public var line: Int = 0
        public var ts: Int64
        public var summary: String
        public var target: String?
        public var gw: Int64?
        public var code: Int64?
    }

    public struct Pair: Sendable {
        public var label: String
        public var parent: Int64
        public var child: Int64?
        /// When each half was seen: the command at its receiver, the reply back at the sender.
        public var whoReceived: Int64?, whoReplyReceived: Int64?
        public var tellReceived: Int64?, tellReplyReceived: Int64?
        public var failures: [Failure]
        public var whoCompleted: Bool { whoReceived != nil && whoReplyReceived != nil }
        public var tellCompleted: Bool { tellReceived != nil && tellReplyReceived != nil }
    }

    public var steps: [Step] = []
    public var failures: [Failure] = []
    public var pairs: [Pair] = []

    public init(steps: [Step], failures: [Failure]) {
        self.steps = steps.sorted { ($0.ts, $0.source) < ($1.ts, $1.source) }
        self.failures = failures.sorted { ($0.ts, $0.source) < ($1.ts, $1.source) }
        let labelled = self.steps.filter { $0.label != nil && $0.label != "null" }
        let children = Set(self.steps.filter { $0.label == nil || $0.label == "null" }.map(\.source))
        for label in Set(labelled.map { $0.label! }).sorted() {
            let mine = labelled.filter { $0.label == label }
            let parent = mine[0].source
            let child = children.count == 1 ? children.first : nil
            let childSteps = self.steps.filter { $0.source == child }
            func first(_ list: [Step], _ h: String, _ s: String) -> Int64? { list.first { $0.handshake == h && $0.step == s }?.ts }
            var p = Pair(label: label, parent: parent, child: child,
                         whoReceived: first(childSteps, "WHO", "command received"), whoReplyReceived: first(mine, "WHO", "reply received"),
                         tellReceived: first(mine, "TELL", "command received"), tellReplyReceived: first(childSteps, "TELL", "reply received"),
                         failures: [])
            let times = (mine + childSteps).map(\.ts)
            if let lo = times.min(), let hi = times.max() {
                p.failures = self.failures.filter { ($0.source == parent || $0.source == child) && $0.ts >= lo && $0.ts <= hi }
            }
            pairs.append(p)
        }
    }

    /// Failures of routed sessions, by the target they were for.
    public var byTarget: [(target: String, failures: [Failure])] {
        Dictionary(grouping: failures.filter { $0.target != nil }, by: { $0.target! }).map { ($0.key, $0.value) }.sorted { $0.target < $1.target }
    }

    /// From the store: every TFST event that is a handshake step or a failure.
    public static func load(_ store: Store) throws -> ProxyHandshakes {
        let clocks = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0.clock) })
        var steps: [Step] = [], failures: [Failure] = []
        for e in try store.proxyHandshakeEvents() {
            // handshake, step, label, failed, summary, target, gw, code
            let v = e.values, ts = clocks[e.source]?.aligned(e.ts) ?? e.ts
            if let h = v[0], let s = v[1] {
                steps.append(Step(source: e.source, ts: ts, handshake: h, step: s, label: v[2]))
            }
            if v[3] == "1" {
                failures.append(Failure(source: e.source, line: e.line, ts: ts, summary: v[4] ?? "", target: v[5],
                                        gw: v[6].flatMap { Int64($0) }, code: v[7].flatMap { Int64($0) }))
            }
        }
        return ProxyHandshakes(steps: steps, failures: failures)
    }
}
