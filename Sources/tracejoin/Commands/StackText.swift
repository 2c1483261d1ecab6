import Foundation
import TraceModel
import EventStore
import Timeline
import Render

/// What each host's stack said about a connection (`StackStory`), for `conn`.
enum StackText {
    static func state(_ s: String) -> String { s.hasSuffix("State") ? String(s.dropLast(5)) : s }

    static func lines(_ stories: [StackStory], fmt: EventFormatter) -> [String] {
        stories.map { s in
            let t = { fmt.isoTime($0, source: s.source) }
            var parts: [String] = []
            let who = s.process.map { $0 + (s.pid.map { " (\($0))" } ?? "") }
            if let at = s.connectAt { parts.append("\(who.map { $0 + " " } ?? "")connect to \(s.connectTo ?? "?") at \(t(at))") }
            if let isn = s.isn { parts.append("SYN with ISN \(isn)" + (s.firstSynAt.map { " at \(t($0))" } ?? "")) }
            // State changes as chains: a change that does not start where the last ended starts another.
            var chain = ""
            for (i, c) in s.states.enumerated() {
                if i == 0 || s.states[i - 1].to != c.from { chain += (i == 0 ? "" : ", ") + state(c.from) }
                chain += " → \(state(c.to)) at \(t(c.ts))"
            }
            if !chain.isEmpty { parts.append(chain) }
            if !s.timersMS.isEmpty {
                parts.append("retransmission timers " + s.timersMS.map(String.init).joined(separator: ", ") + " ms" + (s.resends > 0 ? ", \(s.resends) resends" : ""))
            }
            if let f = s.failure {
                parts.append("failed \(f.status) at \(t(f.ts))" + (s.triedFor.map { String(format: ", %.1f s after %@", Double($0) / 1e9, s.firstSynAt != nil ? "its first SYN" : "the connect") } ?? ""))
            }
            if let c = s.closedAt { parts.append("closesocket at \(t(c))") }
            return "stack at \(fmt.sources[s.source]?.host ?? "?") (\(fmt.sourceName(s.source))): " + parts.joined(separator: "; ")
        }
    }

    static func json(_ stories: [StackStory], fmt: EventFormatter) -> String {
        "[" + stories.map { s in
            let t = { (ns: Int64?) in ns.map { fmt.isoTime($0, source: s.source) } }
            var o = JSONObject()
            o.add("host", fmt.sources[s.source]?.host); o.add("source", fmt.sources[s.source]?.path)
            o.add("process", s.process); o.add("pid", s.pid)
            o.add("connect_at", t(s.connectAt)); o.add("connect_to", s.connectTo)
            o.add("isn", s.isn); o.add("first_syn_at", t(s.firstSynAt))
            o.add("states", raw: "[" + s.states.map { c in
                var j = JSONObject(); j.add("time", t(c.ts)); j.add("from", c.from); j.add("to", c.to); return j.text
            }.joined(separator: ",") + "]")
            o.add("timers_ms", raw: "[" + s.timersMS.map(String.init).joined(separator: ",") + "]")
            o.add("resends", s.resends)
            o.add("failure", s.failure?.status); o.add("failed_at", t(s.failure?.ts))
            o.add("tried_for_s", s.triedFor.map { Double($0) / 1e9 })
            o.add("closed_at", t(s.closedAt))
            return o.text
        }.joined(separator: ",") + "]"
    }
}
