import TraceModel

/// SIPp's message trace (`-trace_msg`, `<scenario>_<pid>_messages.log` or `-message_file`): every SIP message
/// SIPp sent or received, each after a banner (corpus/sip-sipp, SIPp 3.6.1):
///
///     ----------------------------------------------- 2026-11-27 21:41:40.802587
///     UDP message sent (509 bytes):
///
///     INVITE sip:service@10.94.0.2:5060 SIP/2.0
///     Via: SIP/2.0/UDP 10.94.0.1:5060;branch=z9hG4bK-23004-1-0
///     …
///     ----------------------------------------------- 2026-11-27 21:41:40.802628
///     UDP message received [309] bytes :
///
/// Known variants: `TCP message sent (N bytes):` / `TCP message received [N] bytes :` (any transport word);
/// a banner without a time, `Unexpected UDP message received:`, which SIPp writes when the message it just
/// logged was not what its scenario expected (call.cpp, `Call::unexpected`) and which repeats that message:
/// its lines are read as the file's structure and the message before it is marked `"unexpected":true`.
/// The message's own lines end in CRLF, SIPp's banner lines in LF.
///
/// Time: `CStat::formatTime(…, true)`, `%4.4d-%2.2d-%2.2d %2.2d:%2.2d:%2.2d.%06ld` of `localtime()`: the SIPp
/// host's local time, microseconds, no zone written (so `zoneKnown` stays false; `--tz` applies). It is
/// SIPp's main-loop clock, read after the send or the receive: in the corpus it lies within a millisecond
/// of the capture's time of the same packet, a sent message's after it.
///
/// One event per message, kind log, label `SIP`, at its banner's time; the summary is the start line; attrs
/// as `sipstack_text` writes them (`message_type`, `method`/`status`+`reason`, `call_id`, `cseq`…) so that
/// `tracejoin sip` reads both, plus `direction` (sent/received), `transport`, `bytes` and SDP media.
///
/// Ends: SIPp writes neither its own nor the peer's address in a banner, so they come from the message,
/// only where RFC 3261 says what a field names, each with its provenance in attrs (`src_from`, `dst_from`):
/// - a request's sender: the top Via's `received`/`rport`, else its sent-by (18.2.1; with an explicit port);
/// - a response's receiver: the same Via (18.2.2);
/// - a request's receiver: the Request-URI's host and port when they are an IP literal and port and no Route
///   header names another next hop (RFC 3263 section 4: no DNS for a literal);
/// - a response's sender: where the request of its transaction (same Via branch and CSeq method, earlier in
///   the file) went: the server answers from where the request arrived (RFC 3581 section 4, 18.2.2).
/// With both ends known the event gets the transport (UDP 17, TCP 6) and so the capture's flow. For TCP a
/// Via's port is where the sender listens (18.1.1), not necessarily its connection's port; SIPp binds its
/// TCP connections to its `-p` port, so for SIPp they agree (checked against the capture in the tests).
public struct SIPDumpText: LineParser {
    public static let id = "sip_dump_text"
    public static let summary = "SIPp message traces (-trace_msg: `----- YYYY-MM-DD HH:MM:SS.uuuuuu` / `UDP message sent (N bytes):` then the SIP message): an event per message with direction, transport, start line, Call-ID, CSeq, tags, Via, Contact, SDP media; SIPp's local time"

    /// The banner's dash run, 47 dashes in SIPp 3.x; fewer than this is not a banner.
    static let minDashes = 20

    private let zoneOffsetNs: Int64
    /// The block being read, and the last finished one: held until it is known whether an `Unexpected`
    /// block follows it to say it was unexpected. So at most two messages are pending.
    private var cur: Block? = nil
    private var held: Block? = nil
    private var unexpected: Repeat? = nil
    /// Where each request went (its transaction: Via branch and CSeq method), for the sender of its responses.
    private var requestDst: [String: Endpoint] = [:]
    private var requestOrder: [String] = []
    static let requestMemory = 4096

    public init(context: ParseContext) {
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
    }

    public static func sniff(_ head: SniffHead) -> Double {
        // A banner with its time, then the direction line under it.
        var previousWasBanner = false
        for line in head.lines.prefix(200) {
            let bytes = Array(line.utf8)
            let ok = bytes.withUnsafeBufferPointer { b -> (banner: Bool, direction: Bool) in
                if case .timed = Banner.dashLine(b) { return (true, false) }
                return (false, Banner.direction(b) != nil)
            }
            if previousWasBanner && ok.direction { return 0.95 }
            previousWasBanner = ok.banner
        }
        return 0
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        switch Banner.dashLine(b) {
        case .timed(let ns):
            endBlock(sink)
            emitHeld(sink)
            cur = Block(line: line.number, banner: line.string, ts: ns - zoneOffsetNs, rawAt: line.offset, rawLen: b.count)
            return
        case .timeless:
            endBlock(sink)
            unexpected = Repeat(lines: [(line.number, line.string)])
            return
        case .badTime:
            endBlock(sink)
            emitHeld(sink)
            sink.unparsed(UnparsedLine(line: line.number, reason: "SIPp banner whose time is not YYYY-MM-DD HH:MM:SS.uuuuuu", raw: line.string))
            return
        case .none:
            break
        }
        if var u = unexpected.take() {
            u.lines.append((line.number, line.string))
            if !u.named {
                // `Unexpected UDP message received:`; anything else after a timeless banner is no block SIPp writes.
                u.named = true
                u.known = Banner.unexpected(b)
            } else if u.known {
                if line.isBlank { u.message.blank() } else { u.message.read(b, offset: 0) }
            }
            unexpected = u
            return
        }
        guard var c = cur.take() else {
            if line.isBlank { return }
            sink.unparsed(UnparsedLine(line: line.number, reason: SIPStackText.binary(b) ? "binary bytes outside a SIPp message block" : "not inside a SIPp message block",
                                       raw: line.string))
            return
        }
        if !c.named {
            c.named = true
            if let d = Banner.direction(b) {
                c.direction = d
                c.rawLen = Int(line.offset - c.rawAt) + b.count
            } else {
                // A banner without its direction line: the block cannot be read as a message.
                sink.unparsed(UnparsedLine(line: line.number, reason: "after a SIPp banner, not `… message sent (N bytes):` or `… message received [N] bytes :`", raw: line.string))
                c.broken = true
            }
            cur = c
            return
        }
        if c.broken {
            if !line.isBlank { sink.unparsed(UnparsedLine(line: line.number, reason: "inside a SIPp block whose banner could not be read", raw: line.string)) }
            cur = c
            return
        }
        if line.isBlank {
            c.message.blank()
            cur = c
            return
        }
        // Every non-blank line up to the next banner is the message's (headers, body).
        let at = Int(line.offset - c.rawAt)
        c.rawLen = at + b.count
        switch c.message.read(b, offset: at) {
        case .ok: break
        case .binary:
            sink.unparsed(UnparsedLine(line: line.number, reason: "binary bytes inside the SIP message of line \(c.line) (kept in its text)", raw: line.string))
        case .notHeader:
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a SIP start line or header inside the message of line \(c.line) (kept in its text)", raw: line.string))
        }
        cur = c
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        endBlock(sink, atEnd: true)
        emitHeld(sink)
        var facts = SourceFacts()
        facts.timeBasis = .absolute
        facts.timeDigits = 6
        facts.notes["zone"] = "SIPp host's local time (not written in the file)"
        return facts
    }

    /// The block being read is complete (the next banner, or the end of the file): it becomes the held one.
    private mutating func endBlock(_ sink: RecordSink, atEnd: Bool = false) {
        if let u = unexpected.take() {
            // SIPp repeats the message it has just logged: the held one, when start line, Call-ID and CSeq agree.
            if u.known, var h = held, h.message.startLine != nil, h.message.startLine == u.message.startLine,
               h.message.f["call_id"] == u.message.f["call_id"], h.message.f["cseq"] == u.message.f["cseq"] {
                h.unexpected = true
                held = h
                for (n, _) in u.lines { sink.structure(line: n) }
            } else {
                let why = u.known ? "SIPp's `Unexpected … message received` block repeats no message logged just before it"
                                  : "a SIPp banner without a time, not followed by `Unexpected … message received:`"
                for (n, s) in u.lines where !s.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { sink.unparsed(UnparsedLine(line: n, reason: why, raw: s)) }
            }
        }
        guard let c = cur.take() else { return }
        if c.broken || !c.named {
            // No direction line under the banner (or the file ends there): no message to make an event of.
            sink.unparsed(UnparsedLine(line: c.line, reason: "SIPp banner without a message under it", raw: c.banner))
            return
        }
        emitHeld(sink)
        var done = c
        done.truncated = atEnd && !c.message.complete
        held = done
    }

    private mutating func emitHeld(_ sink: RecordSink) {
        guard let h = held.take() else { return }
        sink.emit(record(h))
    }

    /// The event of a finished block, and what its request teaches about the transaction's responses.
    /// What a SIP message says, as the flat attrs every SIP parser writes (start line, Call-ID, CSeq, tags, top
    /// Via with received/rport, Contact, agent, content, SDP media), and what its transport ends can be read from.
    static func sipAttrs(_ m: Message) -> (attrs: [String], request: (method: String, uri: String)?, viaEnd: Endpoint?, branch: String?, cseqMethod: String?) {
        var a: [String] = []
        func put(_ k: String, _ v: String?) { if let v, !v.isEmpty { a.append(jsonString(k) + ":" + jsonString(v)) } }
        func put(_ k: String, int v: Int64?) { if let v { a.append(jsonString(k) + ":\(v)") } }
        var request: (method: String, uri: String)? = nil
        if let s = m.startLine {
            put("start_line", s)
            switch SIPText.startLine(s) {
            case .request(let method, let uri)?:
                put("message_type", "request"); put("method", method); put("request_uri", uri)
                request = (method, uri)
            case .response(let status, let reason)?:
                put("message_type", "response"); put("status", int: status); put("reason", reason)
            case nil: break
            }
        }
        put("call_id", m.f["call_id"])
        var cseqMethod: String? = nil
        if let c = m.f["cseq"] {
            let parts = c.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 2, let n = Int64(parts[0]) { put("cseq", int: n); cseqMethod = String(parts[1]); put("cseq_method", cseqMethod) } else { put("cseq", c) }
        }
        for side in ["from", "to"] {
            if let v = m.f[side] { let u = SIPText.nameAddr(v); put(side, u.uri); put(side + "_tag", u.params["tag"]) }
        }
        var viaEnd: Endpoint? = nil
        var branch: String? = nil
        if let v = m.f["via"] {
            let via = SIPText.via(v)
            put("via", via.sentBy); put("via_transport", via.transport); put("via_branch", via.params["branch"])
            put("received", via.params["received"]); put("rport", via.params["rport"])
            put("ms_received_cid", via.params["ms-received-cid"]); put("cid", via.params["ms-received-cid"].flatMap(SIPText.connectionID))
            branch = via.params["branch"]
            // 18.2.1 / RFC 3581: `received` and a valued `rport` say where the request really came from.
            let sentBy = SIPDumpText.hostPort(via.sentBy)
            let host = via.params["received"].flatMap { Address(ip: $0) } ?? sentBy?.address
            let port = via.params["rport"].flatMap { Int32($0) } ?? sentBy?.port
            if let host, let port { viaEnd = Endpoint(address: host, port: port) }
        }
        if let c = m.f["contact"] { put("contact", SIPText.nameAddr(c).uri) }
        put("user_agent", m.f["user_agent"]); put("server", m.f["server"])
        put("content_type", m.f["content_type"])
        if let l = m.f["content_length"] { if let n = Int64(l) { put("content_length", int: n) } else { put("content_length", l) } }
        a += sdpAttrs(m)
        return (a, request, viaEnd, branch, cseqMethod)
    }

    /// The SDP a message's body gave: the session's `c=` address and each `m=` with its port, protocol and
    /// address (its own `c=`, else the session's). `sdp_media` is what the media findings look up.
    static func sdpAttrs(_ m: Message) -> [String] {
        var a: [String] = []
        if let s = m.sdpSession, !s.isEmpty { a.append("\"sdp_connection\":" + jsonString(s)) }
        if !m.media.isEmpty {
            let items = m.media.map { md -> String in
                var o = ["\"media\":" + jsonString(md.media)]
                if let p = md.port { o.append("\"port\":\(p)") }
                o.append("\"proto\":" + jsonString(md.proto))
                if let addr = md.address ?? m.sdpSession { o.append("\"address\":" + jsonString(addr)) }
                return "{" + o.joined(separator: ",") + "}"
            }
            a.append("\"sdp_media\":[" + items.joined(separator: ",") + "]")
        }
        return a
    }

    private mutating func record(_ blk: Block) -> EventRecord {
        var r = EventRecord(line: blk.line, ordinal: Int64(blk.line), ts: blk.ts, kind: .log, rawAt: blk.rawAt, rawLen: blk.rawLen)
        r.label = "SIP"
        let m = blk.message
        if let s = m.startAt { r.summaryAt = s }
        var a: [String] = []
        func put(_ k: String, _ v: String?) { if let v, !v.isEmpty { a.append(jsonString(k) + ":" + jsonString(v)) } }
        func put(_ k: String, int v: Int64?) { if let v { a.append(jsonString(k) + ":\(v)") } }
        let d = blk.direction
        put("direction", d?.sent == true ? "sent" : d?.sent == false ? "received" : nil)
        put("transport", d?.transport); put("bytes", int: d?.bytes)
        let parsed = SIPDumpText.sipAttrs(m)
        a += parsed.attrs
        let (request, viaEnd, branch, cseqMethod) = (parsed.request, parsed.viaEnd, parsed.branch, parsed.cseqMethod)
        var src: Endpoint? = nil, dst: Endpoint? = nil
        let key = branch.flatMap { b in cseqMethod.map { b + " " + $0 } }
        if let req = request {
            if let v = viaEnd { src = v; put("src_from", "via") }
            if m.f["route"] == nil, let u = SIPDumpText.uriHostPort(req.uri) { dst = u; put("dst_from", "request-uri") }
            if let key, let dst { remember(key, dst) }
        } else if m.startLine != nil {
            if let v = viaEnd { dst = v; put("dst_from", "via") }
            if let key, let s = requestDst[key] { src = s; put("src_from", "request") }
        }
        if blk.unexpected { a.append("\"unexpected\":true") }
        if blk.truncated { a.append("\"truncated\":true") }
        r.attrs = "{" + a.joined(separator: ",") + "}"
        if let s = src { r.src = s.address; r.srcPort = s.port }
        if let t = dst { r.dst = t.address; r.dstPort = t.port }
        // The transport only with both ends: one end alone names no flow, and a log event with a source and a
        // transport is read as its host's own end (Store.ownAddresses), which a lone peer is not.
        if src != nil, dst != nil {
            switch d?.transport.uppercased() {
            case "UDP": r.proto = 17
            case "TCP", "TLS": r.proto = 6
            default: break
            }
        }
        return r
    }

    private mutating func remember(_ key: String, _ e: Endpoint) {
        if requestDst.updateValue(e, forKey: key) == nil { requestOrder.append(key) }
        // Bounded: the oldest transactions are forgotten (their late responses then name one end only).
        if requestOrder.count > SIPDumpText.requestMemory {
            let drop = requestOrder.count - SIPDumpText.requestMemory / 2
            for k in requestOrder.prefix(drop) { requestDst[k] = nil }
            requestOrder.removeFirst(drop)
        }
    }

    /// `10.94.0.1:5060` (or `[::1]:5060`) with an IP literal and an explicit port.
    static func hostPort(_ s: String) -> Endpoint? {
        // Endpoint(userText:) takes IP literals only (a name is no Address(ip:)).
        Endpoint(userText: s).flatMap { $0.port >= 0 ? $0 : nil }
    }

    /// A SIP URI's host and port: `sip:service@10.94.0.2:5060;transport=UDP` → 10.94.0.2:5060.
    static func uriHostPort(_ uri: String) -> Endpoint? {
        var s = Substring(uri)
        guard let colon = s.firstIndex(of: ":"), ["sip", "sips"].contains(s[..<colon].lowercased()) else { return nil }
        s = s[s.index(after: colon)...]
        if let at = s.lastIndex(of: "@") { s = s[s.index(after: at)...] }
        if let semi = s.firstIndex(where: { $0 == ";" || $0 == "?" }) { s = s[..<semi] }
        return hostPort(String(s))
    }
}

extension SIPDumpText {
    enum Banner {
        enum DashLine { case timed(Int64), timeless, badTime }

        /// `-----…----- 2026-11-27 21:41:40.802587`, or the dashes alone.
        static func dashLine(_ b: UnsafeBufferPointer<UInt8>) -> DashLine? {
            var i = 0
            while i < b.count && b[i] == ASCII.dash { i += 1 }
            guard i >= SIPDumpText.minDashes else { return nil }
            var e = b.count
            while e > i && ASCII.isSpace(b[e - 1]) { e -= 1 }
            if i == e { return .timeless }
            guard b[i] == ASCII.space else { return nil }
            i += 1
            // YYYY-MM-DD HH:MM:SS.uuuuuu
            guard e - i >= 19, let day = b.date(i, i + 10), b[i + 10] == ASCII.space, let tod = b.timeOfDay(i + 11, e) else { return .badTime }
            return .timed(day * CivilTime.nsPerDay + tod.ns)
        }

        /// `UDP message sent (509 bytes):` or `TCP message received [309] bytes :`.
        static func direction(_ b: UnsafeBufferPointer<UInt8>) -> (sent: Bool, transport: String, bytes: Int64)? {
            var i = 0
            while i < b.count && (ASCII.isUpper(b[i]) || ASCII.isDigit(b[i])) { i += 1 }
            guard i > 0, i < b.count, b[i] == ASCII.space else { return nil }
            let transport = b.string(0, i)
            let rest = b.string(i + 1, b.count)
            func number(_ s: Substring) -> Int64? { Int64(s) }
            if rest.hasPrefix("message sent ("), rest.hasSuffix(" bytes):") {
                guard let n = number(rest.dropFirst(14).dropLast(8)) else { return nil }
                return (true, transport, n)
            }
            if rest.hasPrefix("message received ["), rest.hasSuffix("] bytes :") {
                guard let n = number(rest.dropFirst(18).dropLast(9)) else { return nil }
                return (false, transport, n)
            }
            return nil
        }

        /// `Unexpected UDP message received:`.
        static func unexpected(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
            let s = b.string(0, b.count)
            return s.hasPrefix("Unexpected ") && s.hasSuffix(" message received:")
        }
    }

    /// One banner's block.
    struct Block {
        var line: Int
        /// Kept for the one case it is needed: a banner with nothing under it is reported with its text.
        var banner: String
        var ts: Int64
        var rawAt: Int64
        var rawLen: Int
        var named = false
        var broken = false
        var direction: (sent: Bool, transport: String, bytes: Int64)? = nil
        var message = Message()
        var unexpected = false
        var truncated = false
    }

    /// The lines of an `Unexpected … message received:` block, kept until the block ends (a message's worth).
    struct Repeat {
        var lines: [(Int, String)]
        var named = false
        var known = false
        var message = Message()
    }

    /// A SIP message read line by line: start line, headers (RFC 3261 7.3; compact forms 7.3.3), body.
    struct Message {
        enum Read { case ok, binary, notHeader }

        var startLine: String? = nil
        /// Where the start line begins, in bytes from the block's first byte.
        var startAt: Int? = nil
        var inBody = false
        var lastHeader: String? = nil
        var f: [String: String] = [:]
        /// Body bytes seen (CRLF counted for each line, as SIP writes them) and blank lines not yet counted.
        var bodyBytes: Int64 = 0
        var pendingBlank = 0
        var headersEnded = false
        var sdpSession: String? = nil
        var media: [(media: String, port: Int64?, proto: String, address: String?)] = []

        static let names: [String: String] = [
            "call-id": "call_id", "i": "call_id", "cseq": "cseq", "from": "from", "f": "from", "to": "to", "t": "to",
            "via": "via", "v": "via", "contact": "contact", "m": "contact", "user-agent": "user_agent", "server": "server",
            "content-length": "content_length", "l": "content_length", "content-type": "content_type", "c": "content_type",
            "route": "route",
        ]

        /// Whole when its headers ended and the body holds Content-Length bytes.
        var complete: Bool {
            guard headersEnded else { return false }
            let want = f["content_length"].flatMap { Int64($0) } ?? 0
            return bodyBytes >= want
        }

        mutating func blank() {
            if startLine == nil { return }
            if !inBody { inBody = true; headersEnded = true } else { pendingBlank += 1 }
        }

        @discardableResult
        mutating func read(_ b: UnsafeBufferPointer<UInt8>, offset: Int) -> Read {
            if SIPStackText.binary(b) {
                if inBody { bodyBytes += Int64(b.count) + 2 }
                return .binary
            }
            if startLine == nil {
                let s = b.string(0, b.count)
                guard SIPText.startLine(s) != nil else { return .notHeader }
                startLine = s
                startAt = offset
                return .ok
            }
            if inBody {
                bodyBytes += Int64(pendingBlank) * 2 + Int64(b.count) + 2
                pendingBlank = 0
                sdp(b)
                return .ok
            }
            // A folded header line (7.3.1) continues the last one.
            if ASCII.isSpace(b[0]) {
                if let h = lastHeader, let v = f[h] { f[h] = v + " " + trimmed(b, 0) }
                return .ok
            }
            guard let colon = SIPStackText.fieldColon(b) else { return .notHeader }
            lastHeader = nil
            guard let key = Message.names[b.string(0, colon).lowercased()] else { return .ok }
            // The first of a repeated header counts (the top Via).
            if f[key] == nil { f[key] = trimmed(b, colon + 1); lastHeader = key }
            return .ok
        }

        func trimmed(_ b: UnsafeBufferPointer<UInt8>, _ from: Int) -> String {
            var v = from
            while v < b.count && ASCII.isSpace(b[v]) { v += 1 }
            var e = b.count
            while e > v && ASCII.isSpace(b[e - 1]) { e -= 1 }
            return b.string(v, e)
        }

        /// SDP (RFC 8866 5.7, 5.14): `c=IN IP4 10.94.0.1`, `m=audio 6000 RTP/AVP 0`; a c= after an m= is that media's.
        mutating func sdp(_ b: UnsafeBufferPointer<UInt8>) {
            guard b.count > 2, b[1] == UInt8(ascii: "=") else { return }
            let value = b.string(2, b.count).split(separator: " ", omittingEmptySubsequences: true)
            switch b[0] {
            case UInt8(ascii: "c"):
                guard value.count >= 3 else { return }
                // `IN IP4 224.2.1.1/127`: the address without TTL or count.
                let addr = String(value[2].split(separator: "/").first ?? value[2])
                if media.isEmpty { if sdpSession == nil { sdpSession = addr } } else if media[media.count - 1].address == nil { media[media.count - 1].address = addr }
            case UInt8(ascii: "m"):
                guard value.count >= 3 else { return }
                let port = value[1].split(separator: "/").first.flatMap { Int64($0) }
                media.append((String(value[0]), port, String(value[2]), nil))
            default: return
            }
        }
    }
}
