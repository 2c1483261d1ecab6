import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render

struct SIP: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "SIP dialogs: each Call-ID's first request, its final response and how long that took; with a Call-ID, its ladder.",
        discussion: """
        Times are aligned UTC. A response whose record kept no Call-ID is listed apart: no dialog can claim it. \
        `tracejoin sip CALL-ID` draws that dialog's messages from every source, one lane per endpoint, each \
        response with the time since its request; a request without a final response and 4xx/5xx/6xx answers \
        are marked.
        """
    )

    @OptionGroup var store: StoreOptions
    @Flag(help: "One JSON object per line.") var json = false
    @Argument(help: "A Call-ID: its ladder instead of the list.") var callID: String?

    func run() throws {
        var s = try store.open(readOnly: true)
        if try s.isStale(ClockPass.name) {
            // As timeline does: clocks solved before times are shown.
            s = try store.open()
            try ClockPass.run(s)
        }
        let sources = Dictionary(uniqueKeysWithValues: try s.sources().map { ($0.id, $0) })
        if let callID {
            let messages = try s.sipMessages(callID: callID)
            if messages.isEmpty { throw CLIError("no SIP message with Call-ID \(callID) in \(store.store) (`tracejoin sip` lists them)") }
            SIPLadder.print(messages, sources: sources, json: json)
            return
        }
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

/// One dialog as a ladder: a lane per endpoint, an arrow per message (a message whose ends the log did not
/// give sits at its host's lane), each response with the time since its request.
enum SIPLadder {
    static func label(_ m: SIPMessage) -> String {
        m.method ?? [m.status.map(String.init), m.reason].compactMap { $0 }.joined(separator: " ")
    }

    static func print(_ messages: [SIPLadderMessage], sources: [Int64: SourceInfo], json: Bool) {
        // The request each response answers: the latest one before it with the same CSeq.
        var sinceRequest: [Int] = Array(repeating: -1, count: messages.count)
        for (i, m) in messages.enumerated() where m.message.status != nil {
            sinceRequest[i] = messages[..<i].lastIndex { $0.message.method != nil && $0.message.cseq == m.message.cseq } ?? -1
        }
        let finals = Set(messages.indices.filter { (messages[$0].message.status ?? 0) >= 200 }.compactMap { sinceRequest[$0] >= 0 ? messages[sinceRequest[$0]].message.cseq : nil })
        func note(_ i: Int) -> String {
            let m = messages[i].message
            var n = ""
            if sinceRequest[i] >= 0 { n = String(format: "+%.1f ms", Double(m.ts - messages[sinceRequest[i]].message.ts) / 1e6) }
            if let s = m.status, s >= 400 { n += (n.isEmpty ? "" : " ") + "! \(s >= 500 ? "server/global" : "client") error" }
            if m.method != nil, m.method != "ACK", let c = m.cseq, !finals.contains(c) { n += (n.isEmpty ? "" : " ") + "! no final response" }
            return n
        }
        if json {
            for (i, l) in messages.enumerated() {
                var o = JSONObject()
                o.add("time", CivilTime.iso8601(l.message.ts, digits: 6)); o.add("host", l.host); o.add("from", l.from); o.add("to", l.to)
                o.add("message", label(l.message)); o.add("cseq", l.message.cseq)
                if sinceRequest[i] >= 0 { o.add("after_request_ms", Double(l.message.ts - messages[sinceRequest[i]].message.ts) / 1e6) }
                o.add("note", note(i).isEmpty ? nil : note(i))
                Swift.print(o.text)
            }
            return
        }
        var lanes: [String] = []
        for l in messages { for e in [l.from, l.to].compactMap({ $0 }) where !lanes.contains(e) { lanes.append(e) } }
        let width = 24
        Swift.print("time".padding(toLength: 28, withPad: " ", startingAt: 0) + "host".padding(toLength: 14, withPad: " ", startingAt: 0)
                    + lanes.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) }.joined())
        for (i, l) in messages.enumerated() {
            var row = Array(repeating: Character(" "), count: width * max(lanes.count, 1))
            for k in lanes.indices { row[k * width] = "|" }
            let text = label(l.message)
            if let f = l.from.flatMap({ lanes.firstIndex(of: $0) }), let t = l.to.flatMap({ lanes.firstIndex(of: $0) }), f != t {
                let (a, b) = (min(f, t) * width, max(f, t) * width)
                for x in (a + 1)..<b { row[x] = "-" }
                row[f < t ? b - 1 : a + 1] = f < t ? ">" : "<"
                for (k, ch) in text.prefix(b - a - 4).enumerated() { row[a + 2 + k] = ch }
            } else {
                let at = (l.from ?? l.to).flatMap { lanes.firstIndex(of: $0) } ?? 0
                for (k, ch) in ("* " + text).prefix(width - 2).enumerated() where at * width + 1 + k < row.count { row[at * width + 1 + k] = ch }
            }
            Swift.print(CivilTime.iso8601(l.message.ts, digits: 6).padding(toLength: 28, withPad: " ", startingAt: 0)
                        + l.host.padding(toLength: 14, withPad: " ", startingAt: 0) + String(row) + "  " + note(i))
        }
    }
}
