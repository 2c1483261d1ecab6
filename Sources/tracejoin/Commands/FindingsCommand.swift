import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render

struct FindingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "findings",
        abstract: "What an expert would write in the case notes: SYNs never answered, refused and injected resets, losses between capture points, sockets piling up, SIP errors, proxy handshakes.",
        discussion: "Each finding with its severity, time, hosts, connection, a sentence with the numbers and the events that prove it (source:line). `--json` prints one object per finding.")

    @OptionGroup var store: StoreOptions
    @Flag(help: "One JSON object per line.") var json = false

    func run() throws {
        let s = try store.openDerived()
        try FindingsPrinter.print(try FindingRows.of(s), store: s, json: json)
    }
}

enum FindingsPrinter {
    static func print(_ findings: [Finding], store: any StoreReader, json: Bool) throws {
        let fmt = try EventFormatter(store: store)
        func place(_ e: Finding.Evidence) -> String { fmt.sourceName(e.source) + (e.line > 0 ? ":\(e.line)" : "") }
        if json {
            for line in jsonObjects(findings, fmt: fmt) { Swift.print(line) }
            return
        }
        if findings.isEmpty { Swift.print("no findings"); return }
        for f in findings {
            let when = f.evidence.first.map { fmt.isoTime(f.ts, source: $0.source) } ?? CivilTime.iso8601(f.ts, digits: 3)
            Swift.print("\(f.severity.rawValue.uppercased())  \(when)  \(f.kind)" + (f.connection.map { "  \($0)" } ?? "") + "  [\(f.hosts.joined(separator: ", "))]")
            Swift.print("  " + f.explanation)
            for e in f.evidence.prefix(8) { Swift.print("    \(place(e))  \(String(e.text.prefix(110)))") }
            if f.evidence.count > 8 { Swift.print("    … \(f.evidence.count - 8) more") }
        }
    }

    /// `findings --json`'s objects (also the view's `/api/findings`).
    static func jsonObjects(_ findings: [Finding], fmt: EventFormatter) -> [String] {
        findings.map { f in
            var o = JSONObject()
            o.add("kind", f.kind); o.add("severity", f.severity.rawValue); o.add("ts_ns", f.ts)
            o.add("time", f.evidence.first.map { fmt.isoTime(f.ts, source: $0.source) } ?? CivilTime.iso8601(f.ts, digits: 3))
            o.add("hosts", strings: f.hosts); o.add("connection", f.connection); o.add("explanation", f.explanation)
            if !f.numbers.isEmpty {
                var n = JSONObject()
                for (k, v) in f.numbers.sorted(by: { $0.key < $1.key }) { n.add(k, v) }
                o.add("numbers", raw: n.text)
            }
            o.add("evidence", raw: "[" + f.evidence.map { e in
                var j = JSONObject(); j.add("source", fmt.sources[e.source]?.path); j.add("line", e.line > 0 ? e.line : nil)
                j.add("time", fmt.isoTime(e.ts, source: e.source)); j.add("ts_ns", e.ts); j.add("text", e.text); return j.text
            }.joined(separator: ",") + "]")
            return o.text
        }
    }
}
