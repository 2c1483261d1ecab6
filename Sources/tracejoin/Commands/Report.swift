import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One self-contained HTML file to attach to the case: sources and clocks, findings with their evidence, activity per source, the merged timeline, and a ladder per connection.",
        discussion: """
        The file fetches nothing: styles, script and data are inside it. Every text that came from an input is \
        escaped. The timeline holds up to --limit events (the rest: `tracejoin timeline`); ladders are drawn for \
        the connections findings name and the busiest others, up to --ladders.
        """)

    @OptionGroup var store: StoreOptions
    @Option(name: .customLong("html"), help: ArgumentHelp("Where to write the report.", valueName: "file")) var html: String
    @Option(help: "Events in the report's timeline at most.") var limit = 200_000
    @Option(help: "Connections drawn as ladders at most.") var ladders = 20

    func run() throws {
        let s = try store.openDerived()
        let page = try ReportPage.build(store: s, findings: try FindingRows.of(s), limit: limit, ladders: ladders)
        do { try page.write(toFile: html, atomically: true, encoding: .utf8) } catch { throw CLIError("cannot write \(html): \(error.localizedDescription)") }
        Swift.print("report written to \(html) (\(page.utf8.count / 1024) KiB): open it in any browser")
    }
}

/// The report's HTML. Data goes in as JSON inside `<script type="application/json">` (with `<` escaped, so
/// no input can close the tag); the page's script renders it with textContent, never innerHTML of data.
enum ReportPage {
    static func esc(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.unicodeScalars.append(c)
            }
        }
        return o
    }

    /// JSON for inside a script element: `<` never appears raw.
    static func scriptJSON(_ json: String) -> String { json.replacingOccurrences(of: "<", with: "\\u003c") }

    static func build(store: any StoreReader, findings: [Finding], limit: Int, ladders: Int) throws -> String {
        let fmt = try EventFormatter(store: store)
        let sources = try store.sources()

        // The timeline as rows [id, time, host, source:line, connection, kind, summary] and each event's aligned ns.
        var rows: [String] = []
        var times: [Int64] = []
        var perSource: [Int64: [Int64]] = [:]
        var merge = try TimelineMerge(store: store, filter: EventFilter())
        while let e = merge.next(), rows.count < limit {
            let conn = fmt.connection(e.conn).map { "\($0.ordered.0)⇄\($0.ordered.1)" } ?? ""
            rows.append("[" + [String(e.id), jsonString(fmt.displayTime(e)), jsonString(fmt.host(e)), jsonString("\(fmt.sourceName(e)):\(e.line)"),
                               jsonString(conn), jsonString(e.kind.name), jsonString((e.label.map { $0 + " " } ?? "") + fmt.summary(e))].joined(separator: ",") + "]")
            times.append(e.ts)
            perSource[e.source, default: []].append(e.ts)
        }
        var body = "<h1>tracejoin report</h1><p class=meta>\(esc(CivilTime.iso8601(Int64(Date().timeIntervalSince1970 * 1e9), digits: 0))) · \(sources.count) sources · \(rows.count) events in the timeline below</p>"

        // Sources and clocks.
        body += "<h2 id=sources>Sources and clocks</h2><table><tr><th>host<th>file<th>format<th>events<th>offset (s)<th>± (s)<th>how</tr>"
        for src in sources {
            body += "<tr><td>\(esc(src.host))<td>\(esc(src.path))<td>\(esc(src.format))<td>\(src.events)<td>\(String(format: "%+.6f", Double(src.offsetNS) / 1e9))"
                + "<td>\(src.uncertaintyNS.map { String(format: "%.6f", Double($0) / 1e9) } ?? "-")<td>\(esc(src.clockMethod ?? "as written"))</tr>"
        }
        body += "</table>"

        // Findings with links to their evidence rows.
        body += "<h2 id=findings>Findings (\(findings.count))</h2>"
        if findings.isEmpty { body += "<p>none</p>" }
        for (i, f) in findings.enumerated() {
            body += "<div class='finding \(f.severity.rawValue)' id=finding-\(i)><b>\(esc(f.severity.rawValue.uppercased()))</b> <code>\(esc(f.kind))</code> "
                + "\(esc(f.evidence.first.map { fmt.isoTime(f.ts, source: $0.source) } ?? ""))"
                + (f.connection.map { " · <a href='#ladder-\(esc(ladderID($0)))'>\(esc($0))</a>" } ?? "") + " · \(esc(f.hosts.joined(separator: ", ")))"
                + "<p>\(esc(f.explanation))</p><ul>"
            for e in f.evidence.prefix(12) {
                body += "<li><a href='#' data-goto='\(esc(fmt.sourceName(e.source)))\(e.line > 0 ? ":\(e.line)" : "")'>\(esc(fmt.sourceName(e.source)))\(e.line > 0 ? ":\(e.line)" : "")</a> \(esc(String(e.text.prefix(160))))</li>"
            }
            body += "</ul></div>"
        }

        // Activity per source on the aligned clock: where the clocks line up is where the marks line up.
        body += "<h2 id=activity>Activity per source (aligned clock)</h2>" + activity(perSource, sources: sources, fmt: fmt)

        // Ladders.
        body += "<h2 id=ladders>Connections</h2>"
        let named = Set(findings.compactMap(\.connection))
        let conns = try store.allConnections().filter { $0.lifecycle != nil }
        let chosen = conns.filter { named.contains("tcp \($0.lifecycle!.originator) → \($0.lifecycle!.responder)") }
            + conns.filter { !named.contains("tcp \($0.lifecycle!.originator) → \($0.lifecycle!.responder)") }
                .sorted { ($0.lifecycle!.orig.packets + $0.lifecycle!.resp.packets) > ($1.lifecycle!.orig.packets + $1.lifecycle!.resp.packets) }
        for c in chosen.prefix(ladders) { body += try ladder(c, store: store, fmt: fmt) }

        // Timeline: rendered by the script from the data block, a screenful at a time.
        body += "<h2 id=timeline>Timeline</h2><div class=filters><input id=q placeholder='filter: text, host, connection, kind'> <span id=count></span></div>"
            + "<div id=tl><div id=tlspace></div><div id=tlrows></div></div>"
        let data = "{\"rows\":[" + rows.joined(separator: ",") + "]}"
        return """
        <!doctype html><html><head><meta charset=utf-8><title>tracejoin report</title><style>\(css)</style></head><body>
        \(body)
        <script type="application/json" id=data>\(scriptJSON(data))</script>
        <script>\(script)</script></body></html>
        """
    }

    static func ladderID(_ connection: String) -> String {
        String(connection.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    static func activity(_ perSource: [Int64: [Int64]], sources: [SourceInfo], fmt: EventFormatter) -> String {
        let all = perSource.values.flatMap { $0 }
        guard let lo = all.min(), let hi = all.max() else { return "<p>no events</p>" }
        let width = 900.0, lane = 22.0, span = Double(max(hi - lo, 1))
        var svg = "<svg class=activity width=\(Int(width) + 220) height=\(Int(lane * Double(perSource.count) + 30)) role=img>"
        for (i, src) in sources.filter({ perSource[$0.id] != nil }).enumerated() {
            let y = lane * Double(i) + 15
            svg += "<text x=0 y=\(y + 4)>\(esc(src.host)) · \(esc(fmt.sourceName(src.id)))</text><line x1=210 x2=\(210 + width) y1=\(y) y2=\(y) class=lane />"
            // Binned: one mark per pixel column that has events (a million events stay a few hundred marks).
            var cols = Set<Int>()
            for t in perSource[src.id]! { cols.insert(Int(Double(t - lo) / span * width)) }
            for x in cols.sorted() { svg += "<rect x=\(210 + x) y=\(y - 6) width=1.5 height=12 class=mark />" }
        }
        svg += "<text x=210 y=\(Int(lane * Double(perSource.count) + 25))>\(esc(CivilTime.iso8601(lo, digits: 3)))</text>"
            + "<text x=\(Int(width) + 210) y=\(Int(lane * Double(perSource.count) + 25)) text-anchor=end>\(esc(CivilTime.iso8601(hi, digits: 3)))</text></svg>"
        return svg
    }

    /// One lane per capture point, time going down; a packet seen at two points is a line from where it was
    /// first seen to where it was seen next; one seen at one point only is a red stub (lost, injected or
    /// uncaptured, as the joiner said).
    static func ladder(_ c: ConnectionRow, store: any StoreReader, fmt: EventFormatter) throws -> String {
        let life = c.lifecycle!
        let name = "tcp \(life.originator) → \(life.responder)"
        let packets = try store.events(conn: c.key).filter { $0.kind == .packet }.prefix(400)
        guard !packets.isEmpty else { return "" }
        let twins = try store.twins(events: packets.map(\.id))
        let points = Array(Set(packets.map(\.source))).sorted()
        let lo = packets.map(\.ts).min()!, hi = packets.map(\.ts).max()!
        let rowH = 16.0, top = 40.0, laneGap = 260.0
        // y by order of first sighting (time order with a minimum gap, so a burst stays readable).
        var y: [Int64: Double] = [:]
        var lastY = top
        for e in packets.sorted(by: { ($0.ts, $0.id) < ($1.ts, $1.id) }) { lastY = max(lastY + rowH, top); y[e.id] = lastY }
        let x = { (s: Int64) in 120 + laneGap * Double(points.firstIndex(of: s)!) }
        var svg = "<div class=ladder id='ladder-\(esc(ladderID(name)))'><h3>\(esc(name))</h3><p>\(esc(life.connState)) · \(esc(life.history)) · "
            + "\(esc(fmt.isoTime(lo, source: packets[packets.startIndex].source))) … \(esc(fmt.isoTime(hi, source: packets[packets.startIndex].source)))</p>"
            + "<svg width=\(Int(120 + laneGap * Double(max(points.count - 1, 1)) + 420)) height=\(Int(lastY + 30))>"
        for p in points {
            svg += "<text x=\(x(p)) y=20 text-anchor=middle>\(esc(fmt.sources[p]?.host ?? "?"))</text><line x1=\(x(p)) x2=\(x(p)) y1=28 y2=\(lastY + 10) class=lane />"
        }
        let byID = Dictionary(uniqueKeysWithValues: packets.map { ($0.id, $0) })
        for e in packets {
            let ey = y[e.id]!, ex = x(e.source)
            let forward = e.srcEndpoint == life.originator
            let label = esc(String(((e.label.map { $0 + " " } ?? "") + e.summary).prefix(70)))
            let verdicts = twins[e.id] ?? []
            if let seen = verdicts.first(where: { $0.verdict == .seen }), let twin = seen.twin.flatMap({ byID[$0] }), let ty = y[twin.id], e.ts <= twin.ts {
                svg += "<line x1=\(ex) y1=\(ey) x2=\(x(twin.source)) y2=\(ty) class=pkt />"
            } else if verdicts.contains(where: { $0.verdict != .seen }) {
                svg += "<line x1=\(ex) y1=\(ey) x2=\(ex + (forward ? 40 : -40)) y2=\(ey) class=alone><title>\(esc(verdicts.map(\.verdict.rawValue).joined(separator: ", ")))</title></line>"
            }
            svg += "<circle cx=\(ex) cy=\(ey) r=3 class='\(forward ? "fwd" : "rev")'><title>\(label)</title></circle>"
            if e.source == points.last { svg += "<text x=\(ex + 10) y=\(ey + 4) class=pl>\(label)</text>" }
        }
        return svg + "</svg></div>"
    }

    static let css = """
    body{font:13px/1.4 system-ui,sans-serif;margin:20px;color:#222}h1{font-size:20px}h2{margin-top:28px;border-bottom:1px solid #ccc}
    table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}.meta{color:#666}
    .finding{border-left:4px solid #999;padding:4px 10px;margin:8px 0;background:#fafafa}.finding.critical{border-color:#c00}.finding.warning{border-color:#e90}
    .finding p{margin:4px 0}.activity text,.ladder text{font-size:11px}.lane{stroke:#bbb}.mark{fill:#36c}
    .pkt{stroke:#2a2;stroke-width:1.2}.alone{stroke:#d00;stroke-width:2}.fwd{fill:#36c}.rev{fill:#a3c}.pl{fill:#444}
    #tl{height:480px;overflow-y:auto;position:relative;border:1px solid #ddd;font-family:ui-monospace,monospace;font-size:12px}
    #tlrows{position:absolute;top:0;left:0;right:0}.row{height:18px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
    .row span{margin-right:10px}.row .k{color:#888}.row.hit{background:#ffd}#q{width:360px}
    """

    static let script = """
    const data = JSON.parse(document.getElementById('data').textContent);
    const tl = document.getElementById('tl'), space = document.getElementById('tlspace'), out = document.getElementById('tlrows');
    const H = 18; let rows = data.rows;
    function render() {
      space.style.height = (rows.length * H) + 'px';
      const first = Math.floor(tl.scrollTop / H), n = Math.ceil(tl.clientHeight / H) + 2;
      out.style.top = (first * H) + 'px';
      out.replaceChildren(...rows.slice(first, first + n).map(r => {
        const d = document.createElement('div'); d.className = 'row'; d.id = 'ev-' + r[0]; d.dataset.place = r[3];
        for (const [i, c] of [[1,''],[2,''],[3,'k'],[4,'k'],[5,'k'],[6,'']]) { const s = document.createElement('span'); s.textContent = r[i]; if (c) s.className = c; d.appendChild(s); }
        return d; }));
    }
    document.getElementById('q').addEventListener('input', e => {
      const q = e.target.value.toLowerCase();
      rows = q ? data.rows.filter(r => r.some((c, i) => i > 0 && String(c).toLowerCase().includes(q))) : data.rows;
      document.getElementById('count').textContent = rows.length + ' of ' + data.rows.length; tl.scrollTop = 0; render();
    });
    document.querySelectorAll('a[data-goto]').forEach(a => a.addEventListener('click', e => {
      e.preventDefault(); const place = a.dataset.goto; rows = data.rows; document.getElementById('q').value = '';
      const i = rows.findIndex(r => r[3] === place); tl.scrollIntoView(); if (i >= 0) tl.scrollTop = i * H; render();
      const el = document.querySelector('[data-place="' + CSS.escape(place) + '"]'); if (el) el.classList.add('hit');
    }));
    tl.addEventListener('scroll', render); document.getElementById('count').textContent = rows.length + ' events'; render();
    """
}
