import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render

struct Handshakes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tivoli Firewall Security Toolbox proxies: whether each WHO/TELL handshake and its reply completed, and routed-session failures per target.",
        discussion: """
        From gwp.log, epp.log and relay logs (tivoli_proxy_log): per parent and child, when the child received the \
        parent's WHO and the parent its reply, when the parent received the child's TELL and the child its reply, \
        and what failed in between (`cannot open connection (-1)`); then each routed-session target with its \
        failures. `--json` prints one object per pair and per target.
        """
    )

    @OptionGroup var store: StoreOptions
    @Flag(help: "One JSON object per line.") var json = false

    func run() throws {
        let s = try store.open()
        try ClockPass.runIfStale(s)
        let fmt = try EventFormatter(store: s)
        let h = try ProxyHandshakes.load(s)
        if h.steps.isEmpty && h.failures.isEmpty { throw CLIError("no Tivoli proxy log events in \(store.store) (ingest gwp.log, epp.log or relay logs)") }
        let name = { (id: Int64?) in id.map { fmt.sourceName($0) } ?? "(child log not loaded or not told apart)" }
        let t = { (src: Int64?, ns: Int64?) -> String in ns.map { fmt.isoTime($0, source: src ?? 0) } ?? "never seen" }
        if json {
            for p in h.pairs {
                var o = JSONObject()
                o.add("label", p.label); o.add("parent", fmt.sources[p.parent]?.path); o.add("child", p.child.flatMap { fmt.sources[$0]?.path })
                o.add("who_received", p.whoReceived.map { fmt.isoTime($0, source: p.child ?? p.parent) })
                o.add("who_reply_received", p.whoReplyReceived.map { fmt.isoTime($0, source: p.parent) })
                o.add("who_completed", p.whoCompleted)
                o.add("tell_received", p.tellReceived.map { fmt.isoTime($0, source: p.parent) })
                o.add("tell_reply_received", p.tellReplyReceived.map { fmt.isoTime($0, source: p.child ?? p.parent) })
                o.add("tell_completed", p.tellCompleted)
                o.add("failures_between", raw: "[" + p.failures.map { f in
                    var j = JSONObject(); j.add("time", fmt.isoTime(f.ts, source: f.source)); j.add("source", fmt.sources[f.source]?.path); j.add("message", f.summary); return j.text
                }.joined(separator: ",") + "]")
                Swift.print(o.text)
            }
            for (target, fs) in h.byTarget {
                var o = JSONObject()
                o.add("target", target); o.add("failures", fs.count)
                o.add("first", fmt.isoTime(fs[0].ts, source: fs[0].source)); o.add("last", fmt.isoTime(fs[fs.count - 1].ts, source: fs[fs.count - 1].source))
                o.add("gateways", raw: "[" + Set(fs.compactMap(\.gw)).sorted().map(String.init).joined(separator: ",") + "]")
                Swift.print(o.text)
            }
            return
        }
        for p in h.pairs {
            Swift.print("\(name(p.child)) (child, label \(p.label)) ↔ \(name(p.parent)) (parent)")
            Swift.print("  WHO  parent → child: child received it \(t(p.child, p.whoReceived)), parent received the reply \(t(p.parent, p.whoReplyReceived)): \(p.whoCompleted ? "completed" : "NOT completed")")
            Swift.print("  TELL child → parent: parent received it \(t(p.parent, p.tellReceived)), child received the reply \(t(p.child, p.tellReplyReceived)): \(p.tellCompleted ? "completed" : "NOT completed")")
            for f in p.failures { Swift.print("  failed in between: \(fmt.isoTime(f.ts, source: f.source)) \(fmt.sourceName(f.source)): \(f.summary)") }
        }
        if h.pairs.isEmpty && !h.steps.isEmpty {
            Swift.print("handshake steps without a parent's label (no pair can be told):")
            for st in h.steps { Swift.print("  \(fmt.isoTime(st.ts, source: st.source)) \(fmt.sourceName(st.source)): \(st.handshake) \(st.step)") }
        }
        let targets = h.byTarget
        if !targets.isEmpty {
            if !h.pairs.isEmpty { Swift.print("") }
            Swift.print("routed-session failures per target:")
            var table = TextTable(header: ["target", "failures", "first", "last", "gateways", "in"])
            for (target, fs) in targets {
                table.add([target, String(fs.count), fmt.isoTime(fs[0].ts, source: fs[0].source), fmt.isoTime(fs[fs.count - 1].ts, source: fs[fs.count - 1].source),
                           Set(fs.compactMap(\.gw)).sorted().map { "gw=\($0)" }.joined(separator: ","),
                           Set(fs.map { fmt.sourceName($0.source) }).sorted().joined(separator: ",")])
            }
            Swift.print(table.render())
        }
    }
}
