import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render

struct SIP: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "SIP dialogs: each Call-ID's first request, its final response and how long that took.",
        discussion: "Times are aligned UTC. A response whose record kept no Call-ID is listed apart: no dialog can claim it."
    )

    @OptionGroup var store: StoreOptions
    @Flag(help: "One JSON object per line.") var json = false

    func run() throws {
        var s = try store.open(readOnly: true)
        if try s.isStale(ClockPass.name) {
            // As timeline does: clocks solved before times are shown.
            s = try store.open()
            try ClockPass.run(s)
        }
        let sources = Dictionary(uniqueKeysWithValues: try s.sources().map { ($0.id, $0) })
        let (dialogs, orphans) = try s.sipDialogs()
        SIPPrinter.print(dialogs, orphans, sources: sources, json: json)
    }
}

enum SIPPrinter {
    static func print(_ dialogs: [SIPDialog], _ orphans: [SIPMessage], sources: [Int64: SourceInfo], json: Bool) {
        func time(_ m: SIPMessage) -> String { CivilTime.iso8601(m.ts, digits: sources[m.source]?.timeDigits ?? 3) }
        func place(_ m: SIPMessage) -> String { "\(sources[m.source].map { $0.path.split(separator: "/").last.map(String.init) ?? $0.path } ?? "?"):\(m.line)" }
        func response(_ m: SIPMessage) -> String { [m.status.map(String.init), m.reason].compactMap { $0 }.joined(separator: " ") }
        if json {
            for d in dialogs {
                var o = JSONObject()
                o.add("call_id", d.callID); o.add("method", d.request.method); o.add("at", time(d.request)); o.add("where", place(d.request))
                o.add("status", d.final?.status); o.add("reason", d.final?.reason); o.add("final_at", d.final.map(time))
                o.add("after_s", d.responseTime.map { Double($0) / 1e9 }); o.add("messages", d.messages)
                Swift.print(o.text)
            }
            for m in orphans {
                var o = JSONObject()
                o.addNull("call_id"); o.add("status", m.status); o.add("reason", m.reason); o.add("at", time(m)); o.add("where", place(m))
                Swift.print(o.text)
            }
            return
        }
        var t = TextTable(header: ["call-id", "request", "at", "final response", "after", "messages", "where"])
        for d in dialogs {
            t.add([d.callID, d.request.method ?? "?", time(d.request), d.final.map(response) ?? "none",
                   d.responseTime.map { String(format: "%.3f s", Double($0) / 1e9) } ?? "-", String(d.messages), place(d.request)])
        }
        for m in orphans { t.add(["(no Call-ID)", "-", time(m), response(m), "-", "1", place(m)]) }
        Swift.print(t.render())
    }
}
