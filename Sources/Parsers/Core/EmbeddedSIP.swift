import TraceModel

/// A SIP message written into another program's log: its start line (`INVITE sip:… SIP/2.0`, `SIP/2.0 200 OK`)
/// at the start of a line, its headers and body on the lines after it, and what the log says of it — when,
/// which way, to or from whom — on the line just before it (the *cue*):
///
///     22:17:58.108           pjsua_core.c  ....TX 1199 bytes Request msg INVITE/cseq=10952 (tdta0x5572c0e798b8) to UDP 10.85.0.2:5060:
///     INVITE sip:service@10.85.0.2:5060 SIP/2.0
///     Via: SIP/2.0/UDP 10.85.0.1:5070;rport;branch=z9hG4bKPj…
///
/// Why here, in Core, and not in one parser: which lines are the host log's own (stamped) lines and which
/// belong to a message, and where a message ends (`--end msg--`, the next stamped line, Content-Length), only
/// the parser of that log's shape knows; what a message is, and what its cue can say, is the same whatever log
/// it is written in. So each parser that meets embedded messages (`pjsip_log`; the Lync client log reads its own
/// banner the same way) keeps its line grammar and hands the rest to this accumulator, and every one of them
/// writes the attrs `sip_dump_text` and `sipstack_text` write (`tracejoin sip`, the media findings read those).
/// The generic declarative formats do not use it: a line regex cannot tell a message's header lines from
/// the log's, and a message is many lines where their contract reads one.
///
/// The cue's words are read loosely (`EmbeddedSIP.cue`): a direction word (`TX`/`sent`/`sending`/`to` against
/// `RX`/`received`/`from`), a transport word, an `N bytes` count and the last IP:port on the line.
struct EmbeddedSIP {
    /// What the line before the message says of it.
    struct Cue {
        var line: Int
        var offset: Int64
        var ts: Int64
        var sent: Bool? = nil
        var peer: Endpoint? = nil
        var transport: String? = nil
        var bytes: Int64? = nil
        /// More the host log's parser wants kept (`"object":"tdta0x…"`), as `"key":value` pairs.
        var extra: [String] = []
    }

    var cue: Cue
    var message = SIPDumpText.Message()
    /// Bytes of the decoded stream the record spans, from the cue's line on.
    var rawLen: Int

    init(cue: Cue, cueLength: Int) {
        self.cue = cue
        rawLen = cueLength
    }

    /// Reads a cue's text: `TX 508 bytes Request msg REGISTER/cseq=39231 (tdta0x…) to UDP 81.88.86.11:5060:`,
    /// `RX 349 bytes Response msg 180/INVITE/cseq=10952 (rdata0x…) from TCP 10.85.0.2:5060:`.
    static func cue(_ text: Substring) -> (sent: Bool?, peer: Endpoint?, transport: String?, bytes: Int64?) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        var sent: Bool? = nil, peer: Endpoint? = nil, transport: String? = nil, bytes: Int64? = nil
        for (k, w) in words.enumerated() {
            let lower = w.lowercased()
            switch lower {
            case "tx", "sent", "sending", "send", "transmitting": if sent == nil { sent = true }
            case "rx", "received", "receiving", "recv": if sent == nil { sent = false }
            case "to": if sent == nil, k + 1 < words.count, peerOf(words[k + 1]) != nil || transportWord(words[k + 1]) != nil { sent = true }
            case "from": if sent == nil, k + 1 < words.count, peerOf(words[k + 1]) != nil || transportWord(words[k + 1]) != nil { sent = false }
            case "bytes", "bytes:": if k > 0, let n = Int64(words[k - 1]) { bytes = n }
            default:
                if let t = transportWord(w) { transport = t } else if let e = peerOf(w) { peer = e }
            }
        }
        return (sent, peer, transport, bytes)
    }

    static func transportWord(_ w: Substring) -> String? {
        let u = w.uppercased()
        return ["UDP", "TCP", "TLS", "WS", "WSS", "SCTP"].contains(u) ? u : nil
    }

    /// `10.85.0.2:5060:`, `[::1]:5060`, `udp://10.0.0.1:5060` → the endpoint (IP literal and port only).
    static func peerOf(_ w: Substring) -> Endpoint? {
        var s = w
        while let l = s.last, [":", ",", ";", ")", "]", ">", "."].contains(l), !(l == "]" && s.first == "[") { s = s.dropLast() }
        while let f = s.first, ["(", "<", "'", "\""].contains(f) { s = s.dropFirst() }
        if let r = s.range(of: "://") { s = s[r.upperBound...] }
        guard s.contains(":") else { return nil }
        return SIPDumpText.hostPort(String(s))
    }

    /// Whether a line starts a SIP message: its start line, whole.
    static func startsMessage(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        // Cheap test first: `SIP/` at the start or ` SIP/2.0` at the end.
        guard b.count >= 12 else { return false }
        let head = b[0] == UInt8(ascii: "S") && b[1] == UInt8(ascii: "I") && b[2] == UInt8(ascii: "P") && b[3] == ASCII.slash
        var e = b.count
        while e > 0 && ASCII.isSpace(b[e - 1]) { e -= 1 }
        let tail = e >= 8 && b[e - 8] == ASCII.space && b[e - 7] == UInt8(ascii: "S") && b[e - 6] == UInt8(ascii: "I") && b[e - 5] == UInt8(ascii: "P") && b[e - 4] == ASCII.slash
        guard head || tail else { return false }
        return SIPText.startLine(b.string(0, e)) != nil
    }

    /// Where the message stands once a line has been read.
    enum Take {
        /// The line was the message's.
        case taken
        /// The line was the message's body but holds control bytes: kept in the message's text, for the caller
        /// to report with its line.
        case binary
        /// The line is not the message's: the message ended before it.
        case notMine
    }

    /// Offers the message one line of the log (`offset`: the line's place in the decoded stream). A header,
    /// a folded header line, the blank line and the body up to Content-Length are the message's; so are body
    /// lines past a Content-Length that is absent, until a line that is no SDP or header. The caller offers only
    /// lines that are not its log's own: a header name may begin with a digit, so `22:17:58.113 …` would pass
    /// for one.
    mutating func take(_ b: UnsafeBufferPointer<UInt8>, offset: Int64) -> Take {
        let at = Int(offset - cue.offset)
        if message.startLine == nil {
            guard EmbeddedSIP.startsMessage(b) else { return .notMine }
            message.read(b, offset: at)
            rawLen = at + b.count
            return .taken
        }
        let blank = b.allSatisfy { $0 == ASCII.space || $0 == ASCII.tab }
        if !message.inBody {
            if blank { message.blank(); return .taken }
            // A header (`Name: value`), or a folded one (7.3.1).
            guard ASCII.isSpace(b[0]) || SIPStackText.fieldColon(b) != nil else { return .notMine }
            message.read(b, offset: at)
            rawLen = at + b.count
            return .taken
        }
        if message.complete { return .notMine }
        if blank { message.blank(); return .taken }
        let read = message.read(b, offset: at)
        rawLen = at + b.count
        return read == .binary ? .binary : .taken
    }

    /// The message's event: kind log, label `SIP`, at its cue's time, the summary its start line; attrs as every
    /// SIP parser writes them plus `direction`, `transport`, `bytes`, `peer`. The peer is the event's destination
    /// when sent, its source when received; the log's own end is not on the cue, so no transport and no
    /// connection key: the peer alone is what the joiner binds by (`PeerBinding`).
    func record(ordinal: Int64, truncated: Bool) -> EventRecord {
        var r = EventRecord(line: cue.line, ordinal: ordinal, ts: cue.ts, kind: .log, rawAt: cue.offset, rawLen: rawLen)
        r.label = "SIP"
        if let s = message.startAt { r.summaryAt = s }
        var a: [String] = []
        if let d = cue.sent { a.append("\"direction\":" + jsonString(d ? "sent" : "received")) }
        if let t = cue.transport { a.append("\"transport\":" + jsonString(t)) }
        if let n = cue.bytes { a.append("\"bytes\":\(n)") }
        if let p = cue.peer { a.append("\"peer\":" + jsonString(p.text)) }
        a += cue.extra
        a += SIPDumpText.sipAttrs(message).attrs
        if truncated || !message.complete { a.append("\"truncated\":true") }
        r.attrs = "{" + a.joined(separator: ",") + "}"
        if let p = cue.peer, let sent = cue.sent {
            if sent { r.dst = p.address; r.dstPort = p.port } else { r.src = p.address; r.srcPort = p.port }
        }
        return r
    }
}
