import TraceModel

/// Any text log whose lines begin with a time and which writes whole SIP messages into it: the message's start
/// line on a line of its own (or at the end of the log's stamped line), its headers and body on the lines after
/// it. Each message becomes a SIP event at the time of the stamped line it follows (or ends), with the direction,
/// transport, byte count and peer that line's words give (`EmbeddedSIP.cue`). SIPp's error log (`-trace_err`,
/// corpus/sip-sipp/uac-busy-errors.txt, SIPp 3.6.1) is one:
///
///     The following events occurred:
///     2026-11-27	21:41:53.875245	1795815713.875245: Aborting call on unexpected message for Call-Id '1-23259@10.94.0.1': while expecting '100' (index 1), received 'SIP/2.0 486 Busy Here
///     Via: SIP/2.0/UDP 10.94.0.1:5060;branch=z9hG4bK-23259-1-0
///     …
///     '
///
/// Times it reads at the start of a line: `YYYY-MM-DD` then a space, `T` or a tab, then `HH:MM:SS[.fraction]`
/// (the log's zone unknown: `--tz` applies), or a time of day alone (`HH:MM:SS.mmm`, on no day until `--anchor`).
/// Lines without a time that are not a message's (SIPp's closing `'`, a program's multi-line output) stay in the
/// event before them; such lines before the first event are reported, as is anything binary.
///
/// A parser of its own rather than part of the declarative formats: a message is many lines and a declarative
/// format reads one line an event; it sniffs below every specific format (PJSIP's, SIPp's message trace, the
/// Lync client log, which write SIP messages too), so it takes only the logs none of them claims.
public struct SIPEmbeddedText: LineParser {
    public static let id = "sip_embedded_text"
    public static let summary = "SIP messages written into other time-stamped text logs (SIPp -trace_err …): each message an event at the time of the line before it, with the direction and peer that line names; other lines as log events"

    private let zoneOffsetNs: Int64
    private var message: EmbeddedSIP? = nil
    /// The last event, held while lines without a time may still belong to it, and the text of its stamped line
    /// (the cue of a message that starts on the lines after it).
    private var held: EventRecord? = nil
    private var heldText: Substring? = nil
    private var basis: TimeBasis? = nil
    private var digits = 0

    public init(context: ParseContext) {
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
    }

    public static func sniff(_ head: SniffHead) -> Double {
        // A SIP start line (on its own line or ending a stamped one) with a header line right under it, and a
        // stamped line at or before it.
        var stamped = false
        let lines = head.lines.prefix(200)
        for (k, line) in lines.enumerated() {
            let b = Array(line.utf8)
            let found = b.withUnsafeBufferPointer { p -> (stamp: Bool, start: Bool) in
                let s = SIPEmbeddedText.stamp(p)
                if let s { return (true, SIPEmbeddedText.startLineAt(p, from: s.textAt) != nil) }
                return (false, EmbeddedSIP.startsMessage(p))
            }
            if found.stamp { stamped = true }
            guard stamped, found.start, k + 1 < lines.count else { continue }
            let next = Array(lines[lines.index(lines.startIndex, offsetBy: k + 1)].utf8)
            if next.withUnsafeBufferPointer({ SIPStackText.fieldColon($0) != nil && SIPEmbeddedText.stamp($0) == nil }) { return 0.5 }
        }
        return 0
    }

    /// `2026-11-27\t21:41:53.875245`, `2026-11-27 21:41:53,875`, `2026-11-27T21:41:53Z` or `21:41:53.875` at the
    /// start of a line: the time as written (day 0 for a time of day), its digits, whether a date was there, and
    /// where the text after it starts.
    static func stamp(_ b: UnsafeBufferPointer<UInt8>) -> (ns: Int64, digits: Int, dated: Bool, textAt: Int)? {
        guard b.count >= 8, ASCII.isDigit(b[0]), ASCII.isDigit(b[1]) else { return nil }
        var day: Int64? = nil
        var t = 0
        if b.count >= 19, b[4] == ASCII.dash, b[7] == ASCII.dash, let d = b.date(0, 10), b[10] == ASCII.space || b[10] == ASCII.tab || b[10] == UInt8(ascii: "T") {
            day = d
            t = 11
        }
        guard t + 8 <= b.count, b[t + 2] == ASCII.colon, b[t + 5] == ASCII.colon else { return nil }
        var e = t + 8
        if e < b.count, b[e] == ASCII.dot || b[e] == ASCII.comma {
            var f = e + 1
            while f < b.count && ASCII.isDigit(b[f]) { f += 1 }
            if f > e + 1 { e = f }
        }
        // `,875` is read as `.875` (a copy only then).
        let tod: (ns: Int64, digits: Int)?
        if e > t + 8, b[t + 8] == ASCII.comma {
            var text = Array(b[t..<e])
            text[8] = ASCII.dot
            tod = text.withUnsafeBufferPointer { $0.timeOfDay(0, $0.count) }
        } else {
            tod = b.timeOfDay(t, e)
        }
        guard let tod else { return nil }
        if e < b.count, b[e] == UInt8(ascii: "Z") { e += 1 }
        guard e == b.count || ASCII.isSpace(b[e]) || b[e] == ASCII.colon || b[e] == ASCII.rbracket else { return nil }
        while e < b.count && (ASCII.isSpace(b[e]) || b[e] == ASCII.colon || b[e] == ASCII.rbracket) { e += 1 }
        return ((day ?? 0) * CivilTime.nsPerDay + tod.ns, tod.digits, day != nil, e)
    }

    /// A SIP start line ending the stamped line, from `from` on: `… received 'SIP/2.0 486 Busy Here`,
    /// `… sending INVITE sip:bob@10.0.0.2 SIP/2.0`. Its first byte's index.
    static func startLineAt(_ b: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        let text = b.string(from, b.count)
        // A status line: `SIP/2.0 ddd …` to the end of the line.
        if let r = text.range(of: "SIP/2.0 ") {
            let s = String(text[r.lowerBound...])
            if SIPText.startLine(s).map({ if case .response = $0 { return true } else { return false } }) == true {
                return from + text.utf8.distance(from: text.startIndex, to: r.lowerBound)
            }
        }
        // A request line: the line's last three words, the method's quote or bracket left out.
        guard text.hasSuffix(" SIP/2.0") else { return nil }
        let words = text.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count >= 3 else { return nil }
        var method = words[words.count - 3]
        while let f = method.first, !f.isLetter { method = method.dropFirst() }
        let candidate = ([String(method)] + words.suffix(2).map(String.init)).joined(separator: " ")
        guard case .request? = SIPText.startLine(candidate) else { return nil }
        return from + text.utf8.distance(from: text.startIndex, to: method.startIndex)
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        let st = SIPEmbeddedText.stamp(b)
        if var m = message.take() {
            // A stamped line is the log's own, whatever the message's state (a message cut short).
            if st == nil {
                switch m.take(b, offset: line.offset) {
                case .taken: message = m; return
                case .binary:
                    sink.unparsed(UnparsedLine(line: line.number, reason: "binary bytes inside the SIP message of line \(m.cue.line) (kept in its text)", raw: line.string))
                    message = m
                    return
                case .notMine: break
                }
            }
            // The message's event is held: lines after it without a time (SIPp's closing quote) stay in it.
            held = m.record(ordinal: Int64(m.cue.line), truncated: false)
            heldText = nil
        }
        if line.isBlank { return }
        guard let st else {
            if EmbeddedSIP.startsMessage(b), let h = held, let text = heldText {
                // A message on its own lines after a stamped line: that line is its cue, and the first line of
                // the message's event (as PJSIP's TX/RX line is).
                held = nil
                heldText = nil
                let c = EmbeddedSIP.cue(text)
                var m = EmbeddedSIP(cue: EmbeddedSIP.Cue(line: h.line, offset: h.rawAt, ts: h.ts, sent: c.sent, peer: c.peer, transport: c.transport, bytes: c.bytes),
                                    cueLength: h.rawLen)
                _ = m.take(b, offset: line.offset)
                message = m
                return
            }
            if var h = held {
                h.rawLen = Int(line.offset - h.rawAt) + b.count
                held = h
                return
            }
            sink.unparsed(UnparsedLine(line: line.number, reason: SIPStackText.binary(b) ? "binary bytes before any time-stamped line" : "before any time-stamped line",
                                       raw: line.string))
            return
        }
        release(sink)
        let dated: TimeBasis = st.dated ? .absolute : .timeOfDay
        if basis == nil { basis = dated }
        digits = max(digits, st.digits)
        let ts = st.ns - zoneOffsetNs
        var r = EventRecord(line: line.number, ordinal: Int64(line.number), ts: ts, kind: .log, rawAt: line.offset, rawLen: b.count, summaryAt: st.textAt)
        r.label = "log"
        if let at = SIPEmbeddedText.startLineAt(b, from: st.textAt) {
            // The message starts on the stamped line: its cue is the text before it.
            let c = EmbeddedSIP.cue(Substring(b.string(st.textAt, at)))
            var m = EmbeddedSIP(cue: EmbeddedSIP.Cue(line: line.number, offset: line.offset, ts: ts, sent: c.sent, peer: c.peer, transport: c.transport, bytes: c.bytes), cueLength: 0)
            _ = m.take(UnsafeBufferPointer(rebasing: b[at...]), offset: line.offset + Int64(at))
            m.cue.extra.append("\"cue\":" + jsonString(b.string(st.textAt, at)))
            message = m
            return
        }
        held = r
        heldText = Substring(b.string(st.textAt, b.count))
    }

    private mutating func release(_ sink: RecordSink) {
        heldText = nil
        if let h = held.take() { sink.emit(h) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        if let m = message.take() { release(sink); held = m.record(ordinal: Int64(m.cue.line), truncated: false) }
        release(sink)
        var f = SourceFacts()
        f.timeBasis = basis ?? .absolute
        f.timeDigits = digits
        return f
    }
}
