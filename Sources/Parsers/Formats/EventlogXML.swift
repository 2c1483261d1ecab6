import TraceModel

/// Windows event log entries as XML: Event Viewer's "Save as… XML" (an `<Events>` root) and
/// `wevtutil qe System /f:xml` (a bare run of `<Event>` elements, no root):
/// ```
/// <Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>
///   <System><Provider Name='Service Control Manager' Guid='{555908d1-…}' EventSourceName='Service Control Manager'/>
///     <EventID Qualifiers='49152'>7034</EventID> <Level>2</Level> <Task>0</Task> …
///     <TimeCreated SystemTime='2013-01-06T08:54:40.000000000Z'/> … <Computer>TS01.contoso.com</Computer></System>
///   <EventData><Data Name='param1'>Remote Desktop Services</Data><Data Name='param2'>3</Data> …</EventData>
///   <RenderingInfo Culture='en-US'><Message>The Remote Desktop Services service terminated unexpectedly. …</Message>
///     <Level>Error</Level><Task>None</Task> …</RenderingInfo>
/// </Event>
/// ```
/// Elements as the event schema defines them (learn.microsoft.com, wes/eventschema-systempropertiestype-complextype
/// and MS-EVEN6 2.2.13 "Event") and as Event Viewer exports them (`<Task>None</Task>` for task 0, `<Message>`
/// with `&#13;&#10;` for its line ends). wevtutil's `/f:xml` has no RenderingInfo: the level word then
/// comes from the level number (and the audit keywords) and task 0 is "None", as Event Viewer shows them.
///
/// Each entry is the event `eventlog_text` makes of the same entry — kind log, label EventLog, attrs level,
/// provider, event id, category — with its summary at the message. Unlike the text export the time is
/// known to be UTC (SystemTime): `--tz` does not apply.
public struct EventlogXML: LineParser {
    public static let id = "eventlog_xml"
    public static let summary = "Windows event log XML (Event Viewer Save as XML, wevtutil qe /f:xml): level, provider, event id, category, message; UTC"

    private var reader = EventXMLReader()
    private var count: Int64 = 0
    private var digits = 0
    private let zoneGiven: Bool

    public init(context: ParseContext) {
        zoneGiven = context.zoneOffset != nil
    }

    public static func sniff(_ head: SniffHead) -> Double {
        guard let text = EventXML.sniffText(head) else { return 0 }
        // An ETL dump has the same elements; tracerpt_xml takes those.
        return TracerptXML.marks.contains(where: { text.contains($0) }) ? 0 : 0.9
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        for e in reader.consume(line, into: sink) { read(e, sink) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        for e in reader.finish(into: sink) { read(e, sink) }
        return EventXML.utcFacts(digits: digits, zoneGiven: zoneGiven, what: "event log XML")
    }

    /// Event Viewer's words for the level numbers (winmeta.xml: 1 critical … 5 verbose).
    static let levelWords = [1: "Critical", 2: "Error", 3: "Warning", 4: "Information", 5: "Verbose"]

    /// The level as Event Viewer shows it when the export did not render it: security audits have level 0
    /// and say success or failure in their keywords (0x0020… audit success, 0x0010… audit failure).
    static func levelWord(_ level: String?, keywords: String?) -> String {
        let k = keywords.flatMap { UInt64($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) } ?? 0
        if k & 0x0020_0000_0000_0000 != 0 { return "Audit Success" }
        if k & 0x0010_0000_0000_0000 != 0 { return "Audit Failure" }
        return level.flatMap { Int($0) }.flatMap { levelWords[$0] } ?? "Information"
    }

    private mutating func read(_ e: EventXML, _ sink: RecordSink) {
        guard let time = e["System/TimeCreated@SystemTime"].flatMap(EventXML.systemTime) else {
            reader.unparsed(e, reason: "event without a readable TimeCreated SystemTime", into: sink)
            return
        }
        guard let id = e["System/EventID"].flatMap({ Int64($0.trimmingSpaces) }) else {
            reader.unparsed(e, reason: "event without an EventID", into: sink)
            return
        }
        digits = max(digits, time.digits)
        count += 1
        let rendered = e["RenderingInfo/Level"].map(\.trimmingSpaces).flatMap { $0.isEmpty ? nil : $0 }
        let level = rendered ?? EventlogXML.levelWord(e["System/Level"], keywords: e["System/Keywords"])
        let provider = e["System/Provider@Name"] ?? e["System/Provider@EventSourceName"] ?? ""
        let task = e["RenderingInfo/Task"].map(\.trimmingSpaces).flatMap { $0.isEmpty ? nil : $0 }
        let category = task ?? (e["System/Task"].map(\.trimmingSpaces) == "0" ? "None" : nil)
        var r = EventRecord(line: e.line, ordinal: count, ts: time.ns, kind: .log, rawAt: e.rawAt, rawLen: e.rawLen,
                            summaryAt: e.messageAt ?? e.dataAt ?? 0)
        r.label = "EventLog"
        r.attrs = "{\"level\":" + jsonString(level) + ",\"provider\":" + jsonString(provider) + ",\"event_id\":\(id)"
            + (category.map { ",\"category\":" + jsonString($0) } ?? "") + "}"
        sink.emit(r)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
