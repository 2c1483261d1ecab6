import CXML2
import TraceModel

/// One `<Event>` of a Windows event XML document, as `EventXMLReader` read it.
///
/// Values are keyed by their path below `<Event>`: `System/EventID` for an element's text,
/// `System/Provider@Name` for an attribute. `<EventData><Data Name=…>` values keep their order in `data`.
struct EventXML {
    /// Lines of the element's first and last byte.
    var line: Int
    var endLine: Int
    /// Where `<Event` starts in the decoded stream, and how long it is through `</Event>`.
    var rawAt: Int64
    var rawLen: Int
    var values: [String: String] = [:]
    var data: [(name: String, value: String)] = []
    /// Where, counted from `rawAt` in the text without carriage returns, the text of `RenderingInfo/Message`
    /// and the first `EventData/Data` start.
    var messageAt: Int? = nil
    var dataAt: Int? = nil

    subscript(_ key: String) -> String? { values[key] }

    func dataValue(_ name: String) -> String? { data.first { $0.name == name }?.value }
}

/// Reads the Windows event XML that `tracerpt -of XML`, Event Viewer's "Save as XML" and `wevtutil qe /f:xml`
/// write — `<Events><Event xmlns=…>…</Event>…</Events>`, or a bare run of `<Event>` elements with no root —
/// through libxml2's push parser, one line at a time, handing out each `<Event>` when its end tag is read.
///
/// It sits behind a `LineParser` rather than a `CaptureParser` so that events keep their line numbers and
/// their text in the source (the line splitter has already turned UTF-16 into UTF-8, which is why the
/// document's own `encoding="UTF-16"` is ignored). Each line is fed with the line end it had (`\r\n` or `\n`),
/// so libxml2's byte positions are positions in the decoded stream and its line numbers are the file's.
///
/// Memory: the bytes kept are those of the `<Event>` being read (or, between events, of the current line);
/// events are handed out as they end.
///
/// Bad input: at libxml2's first error the events before it stay read; the lines of the unfinished event and
/// every line after are reported as unparsed, the error's line and message in the reason.
struct EventXMLReader {
    /// What the SAX callbacks share with the reader.
    final class State {
        var ctxt: xmlParserCtxtPtr?
        /// Element depth: the root is 1, each `<Event>` 2.
        var depth = 0
        /// Names below the open `<Event>`, and the keys (`System/Provider`) they make.
        var keys: [String] = []
        var open: EventXML? = nil
        var openName = ""
        var text: [UInt8] = []
        var dataName = ""
        var done: [EventXML] = []
        /// Elements beside the events (not `<Event>`): their first and last line.
        var foreign: [(name: String, line: Int, endLine: Int)] = []

        /// The decoded bytes from `windowBase` on: the open event's, or the current line's between events.
        var window: [UInt8] = []
        var windowBase: Int64 = 0
        /// Lines starting in the window: number, offset, length without the line end.
        var lines: [(number: Int, offset: Int64, length: Int)] = []
        /// Bytes fed that are not in the file (a root made up for a bare run of events), before every element.
        var shift: Int64 = 0

        static let maxText = 1 << 20

        /// libxml2's position in the decoded stream.
        var position: Int64 { ctxt.map { Int64(xmlByteConsumed($0)) - shift } ?? 0 }

        func lineOf(_ offset: Int64) -> Int {
            var lo = 0, hi = lines.count - 1, best = lines.first?.number ?? 1
            while lo <= hi {
                let mid = (lo + hi) / 2
                if lines[mid].offset <= offset { best = lines[mid].number; lo = mid + 1 } else { hi = mid - 1 }
            }
            return best
        }

        /// The `<` of the tag libxml2 is reading: attribute values cannot hold `<`, so the last one before its position.
        func tagStart() -> Int64? {
            var i = min(Int(position - windowBase), window.count) - 1
            while i >= 0 {
                if window[i] == UInt8(ascii: "<") { return windowBase + Int64(i) }
                i -= 1
            }
            return nil
        }

        /// How far `to` is from `from` in the text as the store gives it back: without carriage returns
        /// (`TextReader`), which is what a summary offset counts in.
        func textOffset(_ from: Int64, _ to: Int64) -> Int {
            let a = max(0, Int(from - windowBase)), b = min(window.count, Int(to - windowBase))
            var cr = 0
            if a < b { for i in a..<b where window[i] == 0x0D { cr += 1 } }
            return Int(to - from) - cr
        }

        /// Where the text after a start tag begins (quotes minded, since `>` may stand in an attribute value);
        /// nil for an empty element (`<Message/>`).
        func contentStart(after tag: Int64) -> Int64? {
            var i = Int(tag - windowBase)
            var quote: UInt8 = 0
            while i < window.count {
                let b = window[i]
                if quote != 0 { if b == quote { quote = 0 } }
                else if b == ASCII.quote || b == UInt8(ascii: "'") { quote = b }
                else if b == ASCII.gt { return i > 0 && window[i - 1] == ASCII.slash ? nil : windowBase + Int64(i + 1) }
                i += 1
            }
            return nil
        }
    }

    private let state = State()
    private var handler = xmlSAXHandler()
    private var started = false
    /// A bare run of `<Event>`s gets a root of our own: decided from the first element.
    private var rootDecided = false
    private var synthetic = false
    private var previousEnd: Int64? = nil
    private var scratch: [UInt8] = []
    /// Non-blank lines not yet part of an event, told as structure or unparsed: kept until it is known which.
    private var pending: [Int] = []
    private(set) var failure: (line: Int, message: String)? = nil

    init() {
        handler.initialized = XML_SAX2_MAGIC
        // Errors come back through the context (xmlCtxtGetLastError), not on stderr.
        handler.serror = { _, _ in }
        handler.startElementNs = { ctx, localname, _, _, _, _, nbAttributes, _, attributes in
            guard let ctx, let localname else { return }
            let st = Unmanaged<State>.fromOpaque(ctx).takeUnretainedValue()
            st.depth += 1
            let name = String(cString: localname)
            if st.depth == 2 {
                let at = st.tagStart() ?? st.position
                st.open = EventXML(line: st.lineOf(at), endLine: 0, rawAt: at, rawLen: 0)
                st.openName = name
                st.keys.removeAll(keepingCapacity: true)
                return
            }
            guard st.depth > 2, st.open != nil else { return }
            let key = st.keys.last.map { $0 + "/" + name } ?? name
            st.keys.append(key)
            st.text.removeAll(keepingCapacity: true)
            st.dataName = ""
            if let attributes, nbAttributes > 0 {
                // Five pointers per attribute: localname, prefix, URI, value start, value end.
                for i in 0..<Int(nbAttributes) {
                    guard let a = attributes[5 * i], let vs = attributes[5 * i + 3], let ve = attributes[5 * i + 4] else { continue }
                    let value = String(decoding: UnsafeBufferPointer(start: vs, count: ve - vs), as: UTF8.self)
                    let attr = String(cString: a)
                    st.open!.values[key + "@" + attr] = value
                    if attr == "Name" && key == "EventData/Data" { st.dataName = value }
                }
            }
            if key == "RenderingInfo/Message" || (key == "EventData/Data" && st.open!.dataAt == nil) {
                if let tag = st.tagStart() {
                    if key == "EventData/Data" { st.open!.dataAt = st.textOffset(st.open!.rawAt, tag) }
                    else if let c = st.contentStart(after: tag) { st.open!.messageAt = st.textOffset(st.open!.rawAt, c) }
                }
            }
        }
        handler.endElementNs = { ctx, _, _, _ in
            guard let ctx else { return }
            let st = Unmanaged<State>.fromOpaque(ctx).takeUnretainedValue()
            defer { st.depth -= 1 }
            if st.depth > 2, st.open != nil, let key = st.keys.popLast() {
                let value = String(decoding: st.text, as: UTF8.self)
                if key == "EventData/Data" { st.open!.data.append((st.dataName, value)) }
                else if !st.text.isEmpty { st.open!.values[key] = value }
                st.text.removeAll(keepingCapacity: true)
            } else if st.depth == 2, var e = st.open.take() {
                let end = st.position
                e.rawLen = Int(end - e.rawAt)
                e.endLine = st.lineOf(end - 1)
                if st.openName == "Event" { st.done.append(e) } else { st.foreign.append((st.openName, e.line, e.endLine)) }
            }
        }
        handler.characters = { ctx, ch, len in
            guard let ctx, let ch else { return }
            let st = Unmanaged<State>.fromOpaque(ctx).takeUnretainedValue()
            guard st.depth > 2, st.open != nil, st.text.count < State.maxText else { return }
            st.text.append(contentsOf: UnsafeBufferPointer(start: ch, count: Int(len)))
        }
    }

    /// Reads one line; returns the events it ended (usually none).
    mutating func consume(_ line: Line, into sink: RecordSink) -> [EventXML] {
        // The line end the splitter took off: two bytes apart is `\r\n`, one `\n`, none a line cut for length.
        let gap = previousEnd.map { line.offset - $0 } ?? 0
        previousEnd = line.offset + Int64(line.bytes.count)
        if !line.isBlank { pending.append(line.number) }
        if failure != nil {
            if !line.isBlank { sink.unparsed(UnparsedLine(line: line.number, reason: afterFailure, raw: line.string)) }
            pending.removeAll()
            return []
        }
        trim()
        if gap == 2 { state.window.append(0x0D) }
        if gap >= 1 { state.window.append(0x0A) }
        let start = state.windowBase + Int64(state.window.count)
        state.window.append(contentsOf: line.bytes)
        state.lines.append((line.number, line.offset, line.bytes.count))
        if !rootDecided {
            decideRoot(final: false)
            if !rootDecided { return [] }
            feed(window: 0, sink) // the head held while deciding
        } else {
            feed(window: Int(start - state.windowBase) - min(Int(gap), 2), sink)
        }
        if state.open != nil && state.window.count > EventXMLReader.maxEvent {
            // The bytes of an open event are kept until it ends: a start tag that never closes would take them all.
            fail(sink, message: "an <Event> longer than \(EventXMLReader.maxEvent >> 20) MiB (no end tag?)")
        }
        return collect(sink)
    }

    static let maxEvent = 64 << 20

    /// End of input: the rest of the document, then what it ended.
    mutating func finish(into sink: RecordSink) -> [EventXML] {
        defer {
            if let c = state.ctxt { xmlFreeParserCtxt(c) }
            state.ctxt = nil
        }
        if failure == nil {
            if !rootDecided {
                decideRoot(final: true)
                feed(window: 0, sink)
            }
            if failure == nil {
                if synthetic { push(Array("</Events>".utf8), sink) }
                if failure == nil, let c = state.ctxt, xmlParseChunk(c, nil, 0, 1) != 0 { fail(sink) }
            }
        }
        let out = collect(sink)
        for n in pending { sink.structure(line: n) }
        pending.removeAll()
        return out
    }

    /// Tells every non-blank line of `event` to the sink as unparsed (an event the format cannot read).
    func unparsed(_ event: EventXML, reason: String, into sink: RecordSink) {
        for n in event.line...max(event.line, event.endLine) {
            guard let t = text(ofLine: n), !t.allSatisfy({ $0 == " " || $0 == "\t" }) else { continue }
            sink.unparsed(UnparsedLine(line: n, reason: reason, raw: t))
        }
    }

    /// Tells every non-blank line of `event` to the sink as structure (a trace's header events).
    func structure(_ event: EventXML, into sink: RecordSink) {
        for n in event.line...max(event.line, event.endLine) {
            if let t = text(ofLine: n), t.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            sink.structure(line: n)
        }
    }

    /// A line still in the window (those of the events last handed out are).
    func text(ofLine n: Int) -> String? {
        guard let l = state.lines.first(where: { $0.number == n }) else { return nil }
        let s = Int(l.offset - state.windowBase)
        guard s >= 0, s + l.length <= state.window.count else { return nil }
        return String(decoding: state.window[s..<s + l.length], as: UTF8.self)
    }

    // MARK: - Feeding libxml2

    /// Decides from the head whether the document has a root or is a bare run of `<Event>`s (wevtutil).
    /// Skips the XML declaration, comments, processing instructions and a doctype to the first element.
    private mutating func decideRoot(final: Bool) {
        let w = state.window
        var i = 0
        while i < w.count {
            let b = w[i]
            if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { i += 1; continue }
            guard b == UInt8(ascii: "<"), i + 1 < w.count else { break }
            let next = w[i + 1]
            if next == UInt8(ascii: "?") || next == UInt8(ascii: "!") {
                // A declaration, comment or doctype: to its `>` (a comment's `-->`).
                let comment = i + 3 < w.count && w[i + 2] == ASCII.dash && w[i + 3] == ASCII.dash
                var j = i + 2
                while j < w.count && !(w[j] == ASCII.gt && (!comment || (j >= 2 && w[j - 1] == ASCII.dash && w[j - 2] == ASCII.dash))) { j += 1 }
                if j >= w.count { break }
                i = j + 1
                continue
            }
            // The first element: `<Event` followed by a space, `>` or `/`.
            let name = Array("Event".utf8)
            if i + 1 + name.count < w.count {
                let after = w[i + 1 + name.count]
                synthetic = Array(w[(i + 1)..<(i + 1 + name.count)]) == name
                    && (after == 0x20 || after == 0x09 || after == 0x0D || after == 0x0A || after == ASCII.gt || after == ASCII.slash)
                rootDecided = true
                insertAt = i
                return
            }
            break
        }
        // Not XML, or more than a megabyte before any element: libxml2 says what is wrong.
        if final || w.count > 1 << 20 || (i < w.count && w[i] != UInt8(ascii: "<")) {
            rootDecided = true
            synthetic = false
            insertAt = 0
        }
    }

    private var insertAt = 0

    /// Feeds the window from `from` to its end (the first time: the held head, with the made-up root).
    private mutating func feed(window from: Int, _ sink: RecordSink) {
        if !started {
            started = true
            let head = Array(state.window[0..<insertAt])
            let rest = Array(state.window[insertAt...])
            let ctx = Unmanaged.passUnretained(state).toOpaque()
            state.ctxt = xmlCreatePushParserCtxt(&handler, ctx, nil, 0, nil)
            guard let c = state.ctxt else { fail(sink, message: "libxml2 could not start"); return }
            // The splitter already decoded UTF-16; no network access for DTDs.
            _ = xmlCtxtUseOptions(c, Int32(XML_PARSE_IGNORE_ENC.rawValue | XML_PARSE_NONET.rawValue))
            if synthetic {
                let root = Array("<Events>".utf8)
                state.shift = Int64(root.count)
                push(head + root + rest, sink)
            } else {
                push(head + rest, sink)
            }
            return
        }
        guard from < state.window.count else { return }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: state.window[from...])
        let s = scratch
        push(s, sink)
    }

    private mutating func push(_ bytes: [UInt8], _ sink: RecordSink) {
        guard let c = state.ctxt, failure == nil, !bytes.isEmpty else { return }
        let rc = bytes.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { xmlParseChunk(c, $0.baseAddress, Int32($0.count), 0) }
        }
        if rc != 0 { fail(sink) }
    }

    /// Drops the window up to the line where the open event starts, or where libxml2 is between events.
    private mutating func trim() {
        guard rootDecided, state.ctxt != nil else { return }
        let keep = state.open?.rawAt ?? state.position
        guard keep - state.windowBase > 64 << 10 || state.open == nil else { return }
        // Line-aligned, so every line in the window can still be given back whole.
        guard let first = state.lines.lastIndex(where: { $0.offset <= keep }), first > 0 else { return }
        let base = state.lines[first].offset
        state.window.removeFirst(Int(base - state.windowBase))
        state.windowBase = base
        state.lines.removeFirst(first)
    }

    /// The events libxml2 finished; the lines before them (and before where it is) are structure.
    private mutating func collect(_ sink: RecordSink) -> [EventXML] {
        var out: [EventXML] = []
        if !state.done.isEmpty { swap(&out, &state.done) }
        for f in state.foreign.drained() {
            for n in f.line...max(f.line, f.endLine) {
                guard let t = text(ofLine: n) else { continue }
                sink.unparsed(UnparsedLine(line: n, reason: "<\(f.name)> beside the <Event> elements is not an event", raw: t))
            }
            pending.removeAll { $0 >= f.line && $0 <= f.endLine }
        }
        guard !pending.isEmpty else { return out }
        var k = 0
        for e in out {
            while k < pending.count && pending[k] < e.line { sink.structure(line: pending[k]); k += 1 }
            while k < pending.count && pending[k] <= e.endLine { k += 1 }
        }
        if failure == nil, state.ctxt != nil {
            let settled = state.open?.line ?? Int(xmlSAX2GetLineNumber(UnsafeMutableRawPointer(state.ctxt)))
            while k < pending.count && pending[k] < settled { sink.structure(line: pending[k]); k += 1 }
        }
        pending.removeFirst(k)
        return out
    }

    private var afterFailure: String {
        guard let f = failure else { return "" }
        return "after the XML error at line \(f.line) (\(f.message)): not read"
    }

    /// Stops at libxml2's first error: the unfinished event's lines and every later one are unparsed.
    private mutating func fail(_ sink: RecordSink, message: String? = nil) {
        // A message of our own is not libxml2's error (whose record then says nothing).
        let err = message != nil ? nil : state.ctxt.flatMap { xmlCtxtGetLastError($0) }.flatMap { $0.pointee.code != 0 ? $0 : nil }
        var text = message ?? err.flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "malformed XML"
        while text.last == "\n" || text.last == " " { text.removeLast() }
        let line = err.map { Int($0.pointee.line) } ?? pending.last ?? 0
        failure = (line, text)
        // Events ended before the error are still handed out.
        let ended = collect(sink)
        state.done = ended
        let from = state.open?.line ?? min(line, pending.last ?? line)
        let reason = "XML error at line \(line): \(text); the rest of the file is not read"
        var told = false
        for n in pending {
            if n < from { sink.structure(line: n); continue }
            sink.unparsed(UnparsedLine(line: n, reason: reason, raw: self.text(ofLine: n) ?? ""))
            told = true
        }
        pending.removeAll()
        // The error is told even when no line of its own is left (an empty document).
        if !told { sink.unparsed(UnparsedLine(line: line, reason: reason, raw: "")) }
        state.open = nil
    }
}

extension Array {
    /// Empties the array, giving back what it held.
    fileprivate mutating func drained() -> [Element] {
        guard !isEmpty else { return [] }
        var out: [Element] = []
        swap(&out, &self)
        return out
    }
}

extension EventXML {
    /// The first lines of a file hold Windows event XML with times (both event-log exports and ETL dumps
    /// do; the two parsers tell them apart by what else the lines say). Also gives the text it looked at.
    static func sniffText(_ head: SniffHead) -> String? {
        let text = head.lines.prefix(200).joined(separator: "\n")
        guard text.contains("<Event"), text.contains("schemas.microsoft.com/win/2004/08/events/event"), text.contains("SystemTime=") else { return nil }
        return text
    }

    /// What a source of these events says of its times: `SystemTime` is UTC, written to `digits` places,
    /// whatever `--tz` said (`what` names the format in the warning when it was given).
    static func utcFacts(digits: Int, zoneGiven: Bool, what: String) -> SourceFacts {
        var facts = SourceFacts()
        facts.timeBasis = .absolute
        facts.timeDigits = digits
        facts.notes["zone"] = "UTC (SystemTime)"
        facts.zoneKnown = true
        if zoneGiven { facts.warnings.append("\(what) times are UTC (SystemTime …Z); --tz was not applied to them") }
        return facts
    }

    /// `TimeCreated@SystemTime`: `2013-01-08T09:18:57.600123400Z` (tracerpt), `2025-03-19T19:37:32.1807200Z`
    /// (Event Viewer), `2006-02-28T21:51:44.754Z`; an offset instead of `Z` is honoured. Nanoseconds UTC, and
    /// the fractional digits that carry information: the clock behind it is FILETIME, so never more than 7.
    static func systemTime(_ text: String) -> (ns: Int64, digits: Int)? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= b.count else { return nil }
            var v = 0
            for k in from..<from + n {
                guard ASCII.isDigit(b[k]) else { return nil }
                v = v * 10 + Int(b[k] - ASCII.zero)
            }
            return v
        }
        guard b.count >= 19, b[4] == ASCII.dash, b[7] == ASCII.dash, b[10] == UInt8(ascii: "T") || b[10] == ASCII.space,
              b[13] == ASCII.colon, b[16] == ASCII.colon,
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var i = 19
        var frac: Int64 = 0
        var digits = 0, significant = 0
        if i < b.count && b[i] == ASCII.dot {
            i += 1
            var scale: Int64 = 100_000_000
            while i < b.count && ASCII.isDigit(b[i]) {
                digits += 1
                if b[i] != ASCII.zero { significant = digits }
                frac += Int64(b[i] - ASCII.zero) * scale
                scale /= 10
                i += 1
            }
        }
        var offset: Int64 = 0
        if i < b.count {
            if b[i] == UInt8(ascii: "Z") {
                i += 1
            } else if b[i] == UInt8(ascii: "+") || b[i] == ASCII.dash, let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == ASCII.colon, let om = num(i + 4, 2) {
                offset = Int64((oh * 60 + om) * 60) * (b[i] == ASCII.dash ? -1 : 1)
                i += 6
            }
        }
        guard i == b.count else { return nil }
        let secs = CivilTime.days(year: y, month: mo, day: d) * 86_400 + Int64(h * 3600 + mi * 60 + s) - offset
        return (secs * CivilTime.nsPerSecond + frac, min(7, max(digits > 7 ? significant : digits, 0)))
    }
}
