import TraceModel

/// PJSIP's log (pjsua, pjsua2 and every application built on pjproject), with its default decoration: the
/// time of day with milliseconds, the sender (a source file or an object such as `tsx0x…`) right-aligned, then
/// the message indented by dots (`!` marks a thread switch). At level 5 pjsua writes every SIP message it sends
/// or receives after a TX/RX line and closes it with `--end msg--` (corpus/sip-pjsua, pjproject 2.15.1):
///
///     22:17:58.108           pjsua_core.c  ....TX 1199 bytes Request msg INVITE/cseq=10952 (tdta0x5572c0e798b8) to UDP 10.85.0.2:5060:
///     INVITE sip:service@10.85.0.2:5060 SIP/2.0
///     Via: SIP/2.0/UDP 10.85.0.1:5070;rport;branch=z9hG4bKPjtRDyPmv2HvJnY.dqs0oixhyWTUNTTMm4
///     …
///     --end msg--
///     22:17:58.113           pjsua_core.c  .RX 349 bytes Response msg 180/INVITE/cseq=10952 (rdata0x5572c0e6bd88) from UDP 10.85.0.2:5060:
///
/// Known variants: `to TCP`/`from TCP`/TLS; the message's own lines end in CRLF, PJSIP's in LF; lines without a
/// time that continue the line before them (a call's media statistics, `  [CONFIRMED] To: …`), which stay in
/// that line's event. The time has no date and no zone: the events stay on no day until `--anchor` gives it, and
/// `--tz` applies. A time earlier than the one before by more than 12 h is read as the next day.
///
/// One event per SIP message (through `EmbeddedSIP`: kind log, label `SIP`, the attrs every SIP parser writes,
/// `direction`, `transport`, `bytes`, `peer`, and PJSIP's `tdta`/`rdata` object), at its TX/RX line's time,
/// with the peer the line names as destination (TX) or source (RX); every other line is a log event with its
/// sender and indent depth.
public struct PJSIPLog: LineParser {
    public static let id = "pjsip_log"
    public static let summary = "PJSIP/pjsua logs (HH:MM:SS.mmm sender .text): TX/RX SIP messages with the peer each names, other lines as log events; time of day only"

    private let zoneOffsetNs: Int64
    /// The message being read, or the log line being held (lines without a time may continue it).
    private var message: EmbeddedSIP? = nil
    private var held: EventRecord? = nil
    /// What ends a message's block: its `--end msg--` is taken as structure even after the message ended.
    private var awaitingEnd = false
    private var lastTOD: Int64? = nil
    private var dayOffset: Int64 = 0
    private var digits = 3

    public init(context: ParseContext) {
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
    }

    public static func sniff(_ head: SniffHead) -> Double {
        var stamped = 0, senders = 0, messages = 0, n = 0
        for line in head.lines.prefix(200) where !line.isEmpty {
            n += 1
            let b = Array(line.utf8)
            guard let s = b.withUnsafeBufferPointer({ p in PJSIPLog.stamp(p).map { (sender: p.string($0.sender.lowerBound, $0.sender.upperBound), message: PJSIPLog.isMessageLine(p, $0.textAt)) } })
            else { continue }
            stamped += 1
            let sender = s.sender
            // pjlib's senders: source files (`sip_endpoint.c`) and objects (`tsx0x55…`, `pjlib`).
            if sender.hasSuffix(".c") || sender.hasSuffix(".cpp") || sender.contains("0x") || sender == "pjlib" { senders += 1 }
            if s.message { messages += 1 }
        }
        guard stamped >= 2, senders * 2 >= stamped else { return 0 }
        return messages > 0 ? 0.9 : (stamped * 2 >= n ? 0.6 : 0)
    }

    /// `22:17:58.108           pjsua_core.c  ....TX …` → time of day, sender, indent depth, text.
    /// (Ranges, not strings: a `String` is made only for what is stored.)
    static func stamp(_ b: UnsafeBufferPointer<UInt8>) -> (tod: (ns: Int64, digits: Int), sender: Range<Int>, depth: Int, textAt: Int)? {
        // HH:MM:SS.mmm then a space.
        guard b.count > 14, b[2] == ASCII.colon, b[5] == ASCII.colon, b[8] == ASCII.dot else { return nil }
        var e = 9
        while e < b.count && ASCII.isDigit(b[e]) { e += 1 }
        guard e > 9, e < b.count, b[e] == ASCII.space, let tod = b.timeOfDay(0, e) else { return nil }
        var i = e
        while i < b.count && b[i] == ASCII.space { i += 1 }
        let s = i
        while i < b.count && b[i] != ASCII.space { i += 1 }
        guard i > s else { return nil }
        let sender = s..<i
        // One space, then the indent (`.` per level, `!` for a thread switch), then the text. The text may be
        // empty (a sender that logs a bare newline).
        if i < b.count { i += 1 }
        if i < b.count && b[i] == ASCII.space { i += 1 }
        var depth = 0
        while i < b.count && (b[i] == ASCII.dot || b[i] == UInt8(ascii: "!")) { if b[i] == ASCII.dot { depth += 1 }; i += 1 }
        return (tod, sender, depth, i)
    }

    /// `TX 1199 bytes …` or `RX 349 bytes …` at `at`.
    static func isMessageLine(_ b: UnsafeBufferPointer<UInt8>, _ at: Int) -> Bool {
        at + 3 <= b.count && (b[at] == UInt8(ascii: "T") || b[at] == UInt8(ascii: "R")) && b[at + 1] == UInt8(ascii: "X") && b[at + 2] == ASCII.space
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        let st = PJSIPLog.stamp(b)
        if var m = message.take() {
            // A line with PJSIP's time is PJSIP's own, whatever the message's state (a message cut short).
            switch st != nil ? .notMine : m.take(b, offset: line.offset) {
            case .taken:
                message = m
                return
            case .binary:
                sink.unparsed(UnparsedLine(line: line.number, reason: "binary bytes inside the SIP message of line \(m.cue.line) (kept in its text)", raw: line.string))
                message = m
                return
            case .notMine:
                emit(m, sink)
                awaitingEnd = true
            }
        }
        if line.isBlank { return }
        if SIPStackText.hasPrefix(b, "--end msg--") {
            if awaitingEnd { awaitingEnd = false; sink.structure(line: line.number) } else {
                sink.unparsed(UnparsedLine(line: line.number, reason: "PJSIP's --end msg-- without a message before it", raw: line.string))
            }
            return
        }
        awaitingEnd = false
        guard let st else {
            // A line that continues the held log line (PJSIP writes some messages over several lines).
            if var h = held {
                h.rawLen = Int(line.offset - h.rawAt) + b.count
                held = h
                return
            }
            sink.unparsed(UnparsedLine(line: line.number, reason: SIPStackText.binary(b) ? "binary bytes in a PJSIP log" : "not a PJSIP log line (no HH:MM:SS.mmm sender)",
                                       raw: line.string))
            return
        }
        release(sink)
        digits = max(digits, st.tod.digits)
        let ts = time(st.tod.ns)
        if PJSIPLog.isMessageLine(b, st.textAt) {
            // `TX 1199 bytes Request msg INVITE/cseq=10952 (tdta0x5572c0e798b8) to UDP 10.85.0.2:5060:`
            let text = Substring(b.string(st.textAt, b.count))
            let c = EmbeddedSIP.cue(text)
            var cue = EmbeddedSIP.Cue(line: line.number, offset: line.offset, ts: ts, sent: text.hasPrefix("TX "), peer: c.peer, transport: c.transport, bytes: c.bytes)
            if let open = text.firstIndex(of: "("), let close = text[open...].firstIndex(of: ")") {
                cue.extra.append("\"pjsip_object\":" + jsonString(String(text[text.index(after: open)..<close])))
            }
            message = EmbeddedSIP(cue: cue, cueLength: b.count)
            return
        }
        var r = EventRecord(line: line.number, ordinal: Int64(line.number), ts: ts, kind: .log, rawAt: line.offset, rawLen: b.count, summaryAt: st.textAt)
        r.label = "PJSIP"
        r.attrs = "{\"sender\":" + jsonString(b.string(st.sender.lowerBound, st.sender.upperBound)) + ",\"depth\":\(st.depth)}"
        held = r
    }

    /// Time of day as written, the days it crossed added, the zone taken off.
    private mutating func time(_ tod: Int64) -> Int64 {
        if let last = lastTOD, tod + 12 * 3600 * CivilTime.nsPerSecond < last { dayOffset += CivilTime.nsPerDay }
        lastTOD = tod
        return dayOffset + tod - zoneOffsetNs
    }

    private mutating func release(_ sink: RecordSink) {
        if let h = held.take() { sink.emit(h) }
    }

    private mutating func emit(_ m: EmbeddedSIP, _ sink: RecordSink) {
        // A TX/RX line whose message never started (the log cut there) is kept as what it is: a log line.
        guard m.message.startLine != nil else {
            var r = EventRecord(line: m.cue.line, ordinal: Int64(m.cue.line), ts: m.cue.ts, kind: .log, rawAt: m.cue.offset, rawLen: m.rawLen)
            r.label = "PJSIP"
            r.attrs = "{\"truncated\":true}"
            sink.emit(r)
            return
        }
        sink.emit(m.record(ordinal: Int64(m.cue.line), truncated: false))
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        if let m = message.take() { emit(m, sink) }
        release(sink)
        var f = SourceFacts()
        f.timeBasis = .timeOfDay
        f.timeDigits = digits
        return f
    }
}
