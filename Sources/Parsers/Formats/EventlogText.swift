import TraceModel

/// Windows Event Viewer entries as text: `Error 1/6/2013 8:54:40 AM Service Control Manager 7034 None` —
/// level, date, time, source (may hold spaces), event id, task category — with the message on the lines
/// after it, as Event Viewer's list copies them; tab-separated "Save as text" exports read the same way.
/// The time is the machine's local wall clock, zone unknown unless `--tz` says it.
public struct EventlogText: LineParser {
    public static let id = "eventlog_text"
    public static let summary = "Windows Event Viewer entries as text (level, date, time, source, event id, category; message lines attached)"

    static let levels: Set<String> = ["Error", "Warning", "Information", "Critical", "Verbose", "Audit Success", "Audit Failure"]

    private var tokens: [Token] = []
    private let zoneOffsetNs: Int64
    private var held: EventRecord? = nil
    private var heldMessageAt: Int? = nil
    private var count: Int64 = 0

    public init(context: ParseContext) {
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
    }

    public static func sniff(_ head: SniffHead) -> Double {
        var n = 0, hits = 0
        for line in head.lines.prefix(50) where !line.isEmpty {
            n += 1
            let first = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? ""
            if levels.contains(first) || line.hasPrefix("Audit "), line.contains(" AM") || line.contains(" PM") || line.contains(":") { hits += 1 }
        }
        return hits > 0 ? 0.5 + 0.3 * Double(hits) / Double(max(n, 1)) : 0
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        if line.isBlank { return }
        if b.contains(ASCII.tab), tabbed(line, sink) { return }
        b.tokenize(into: &tokens)
        // An entry line: LEVEL DATE TIME [AM|PM] SOURCE… ID CATEGORY (level may be two words: Audit Success).
        var k = 0
        let levelWords = tokens.count > 1 && b.equals(tokens[0], "Audit") ? 2 : 1
        let level = tokens.count > levelWords ? b.string(tokens[0].start, tokens[levelWords - 1].end) : ""
        if EventlogText.levels.contains(level), tokens.count >= levelWords + 4,
           let day = b.date(tokens[levelWords].start, tokens[levelWords].end),
           var tod = b.timeOfDay(tokens[levelWords + 1].start, tokens[levelWords + 1].end) {
            k = levelWords + 2
            if k < tokens.count, b.equals(tokens[k], "AM") || b.equals(tokens[k], "PM") {
                tod.ns = CivilTime.meridiem(tod.ns, pm: b.equals(tokens[k], "PM"))
                k += 1
            }
            // The event id is the last number before the category (the last token).
            guard let idAt = (k..<tokens.count).last(where: { b.uint(tokens[$0]) != nil }), idAt > k else {
                flushAsUnparsed(line, sink)
                return
            }
            release(sink)
            count += 1
            var r = EventRecord(line: line.number, ordinal: count, ts: day * CivilTime.nsPerDay + tod.ns - zoneOffsetNs, kind: .log,
                                rawAt: line.offset, rawLen: b.count, summaryAt: 0)
            r.label = "EventLog"
            let source = b.string(tokens[k].start, tokens[idAt - 1].end)
            let category = idAt + 1 < tokens.count ? b.string(tokens[idAt + 1].start, tokens[tokens.count - 1].end) : ""
            r.attrs = "{\"level\":" + jsonString(level) + ",\"provider\":" + jsonString(source) + ",\"event_id\":\(b.uint(tokens[idAt])!)"
                + (category.isEmpty ? "" : ",\"category\":" + jsonString(category)) + "}"
            held = r
            return
        }
        // The message under an entry: its lines join the entry (the summary shows the first).
        if var r = held {
            r.rawLen = Int(line.offset - r.rawAt) + b.count
            if heldMessageAt == nil { heldMessageAt = Int(line.offset - r.rawAt) }
            held = r
            return
        }
        sink.unparsed(UnparsedLine(line: line.number, reason: "not an event log entry", raw: line.string))
    }

    /// "Save as text": `Level<TAB>Date and Time<TAB>Source<TAB>Event ID<TAB>Task Category<TAB>Message`.
    private mutating func tabbed(_ line: Line, _ sink: RecordSink) -> Bool {
        let fields = line.string.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 5, EventlogText.levels.contains(fields[0]), let id = Int64(fields[3]) else { return false }
        let when = Array(fields[1].utf8)
        let parsed: Int64? = when.withUnsafeBufferPointer { w in
            var t = [Token](); w.tokenize(into: &t)
            guard t.count >= 2, let day = w.date(t[0].start, t[0].end), var tod = w.timeOfDay(t[1].start, t[1].end) else { return nil }
            if t.count > 2, w.equals(t[2], "AM") || w.equals(t[2], "PM") { tod.ns = CivilTime.meridiem(tod.ns, pm: w.equals(t[2], "PM")) }
            return day * CivilTime.nsPerDay + tod.ns
        }
        guard let ts = parsed else { return false }
        release(sink)
        count += 1
        // The summary starts at the message (the sixth field).
        let messageAt = fields.count > 5 ? fields[0..<5].reduce(0) { $0 + $1.utf8.count + 1 } : 0
        var r = EventRecord(line: line.number, ordinal: count, ts: ts - zoneOffsetNs, kind: .log, rawAt: line.offset, rawLen: line.bytes.count,
                            summaryAt: messageAt)
        r.label = "EventLog"
        r.attrs = "{\"level\":" + jsonString(fields[0]) + ",\"provider\":" + jsonString(fields[2]) + ",\"event_id\":\(id)"
            + (fields[4].isEmpty ? "" : ",\"category\":" + jsonString(fields[4])) + "}"
        held = r
        return true
    }

    private mutating func flushAsUnparsed(_ line: Line, _ sink: RecordSink) {
        sink.unparsed(UnparsedLine(line: line.number, reason: "event log entry without an event id", raw: line.string))
    }

    private mutating func release(_ sink: RecordSink) {
        if var r = held.take() {
            // The message says what happened; the entry line only who and when.
            if let m = heldMessageAt { r.summaryAt = m }
            sink.emit(r)
        }
        heldMessageAt = nil
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        release(sink)
        var facts = SourceFacts()
        facts.timeBasis = .absolute
        facts.timeDigits = 0
        return facts
    }
}
