import Foundation
import TraceModel

/// CA SiteMinder's own logs: the Policy Server's smps.log and the Web Agent's error log share one line shape,
/// `[pid/tid][Www Mmm DD YYYY HH:MM:SS][SrcFile.cpp:line][LEVEL][msg-id] message`:
///
///     [1860/2604][Mon Jul 18 2016 13:59:03][CServer.cpp:2121][ERROR][sm-Server-01070] Failed handshake with 155.35.245.129:49184
///
/// (CA KB000021905; corpus/siteminder-handshake says where each sample comes from). Typed, from what published
/// excerpts show the messages to be: the Policy Server's `Failed handshake with ADDR:PORT` — the agent's end of
/// the connection to 44443, kept as the event's source so the event joins that connection in a capture —, its
/// `Handshake error: …` / `Bad security handshake attempt. Handshake error:3154` reasons, the agent's `Agent Api
/// function failed - 'Sm_AgentApi_…' returned '-2'` and `Component reported fatal error: '…'`. An
/// `smpolicysrv -stats` block (the `====` banner, `System Statistics`, `Thread pool limit: 70`, `Thread pool:
/// Msgs=… Current Depth=… Busy Threads=…`, `Connections: Current=0 Max=23 Limit=256 Exceeded limit=0`) is one
/// event whose attrs are its counters, so blocks taken every minute are a time series (`event` = `stats`).
/// Times are the machine's local clock (the logs' default), zone unknown unless `--tz` says it.
public struct SiteMinderLog: LineParser {
    public static let id = "siteminder_log"
    public static let summary = "CA SiteMinder Policy Server smps.log and Web Agent error log ([pid/tid][date][src][LEVEL][msg-id]): handshake failures with the agent's address, Agent API failures, smpolicysrv -stats blocks as counters"

    private let zoneOffsetNs: Int64
    private var count: Int64 = 0
    /// The `smpolicysrv -stats` block being read: its first line's place and the counters so far.
    private var block: (record: EventRecord, pidTid: String, counters: [(String, String)], banners: Int)? = nil

    public init(context: ParseContext) {
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
    }

    public static func sniff(_ head: SniffHead) -> Double {
        var n = 0, hits = 0, ids = 0
        for line in head.lines.prefix(50) where !line.isEmpty {
            n += 1
            guard let h = Header.read(Array(line.utf8)) else { continue }
            hits += 1
            if h.msgID != nil || h.srcFile.contains(".cpp:") { ids += 1 }
        }
        // Its own lines (a message id or a source file in brackets), most of the head: prose quoting them is not.
        return hits > 0 && ids > 0 && hits * 2 >= n ? 0.9 : 0
    }

    /// The bracketed prefix of a line.
    struct Header {
        var pid: Int64, tid: Int64
        /// The time as written (local), ns; nil when the date field is empty or a placeholder (`[]`, `<Date> <Time>`).
        var ns: Int64?
        var srcFile: String, level: String, msgID: String?
        /// Where the message starts (after the brackets and one space).
        var message: Int

        static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

        /// `[pid/tid][date][src][LEVEL]` then an optional `[msg-id]`. The leading `[` may be missing: KB000012268
        /// quotes its line so.
        static func read(_ b: [UInt8]) -> Header? {
            var i = 0
            if i < b.count, b[i] == UInt8(ascii: "[") { i += 1 }
            // pid/tid
            func number() -> Int64? {
                let s = i
                var v: Int64 = 0
                while i < b.count, ASCII.isDigit(b[i]), i - s < 18 { v = v * 10 + Int64(b[i] - ASCII.zero); i += 1 }
                return i > s ? v : nil
            }
            guard let pid = number(), i < b.count, b[i] == ASCII.slash else { return nil }
            i += 1
            guard let tid = number(), i < b.count, b[i] == UInt8(ascii: "]") else { return nil }
            i += 1
            // The next bracketed fields. A date field may open with a doubled `[` (KB 15867 prints `[[<Date> <Time>]`).
            func field() -> (Int, Int)? {
                guard i < b.count, b[i] == UInt8(ascii: "[") else { return nil }
                i += 1
                while i < b.count, b[i] == UInt8(ascii: "[") { i += 1 }
                let s = i
                while i < b.count, b[i] != UInt8(ascii: "]") { i += 1 }
                guard i < b.count else { return nil }
                i += 1
                return (s, i - 1)
            }
            guard let date = field(), let src = field(), let level = field() else { return nil }
            let levelText = String(decoding: b[level.0..<level.1], as: UTF8.self)
            guard !levelText.isEmpty, levelText.utf8.allSatisfy(ASCII.isUpper) else { return nil }
            var msgID: String? = nil
            if i + 3 < b.count, b[i] == UInt8(ascii: "["), b[i + 1] == UInt8(ascii: "s"), b[i + 2] == UInt8(ascii: "m"), b[i + 3] == ASCII.dash,
               let m = field() {
                msgID = String(decoding: b[m.0..<m.1], as: UTF8.self)
            }
            if i < b.count, b[i] == ASCII.space { i += 1 }
            return Header(pid: pid, tid: tid, ns: time(Array(b[date.0..<date.1])),
                          srcFile: String(decoding: b[src.0..<src.1], as: UTF8.self), level: levelText, msgID: msgID, message: i)
        }

        /// `Sun Sep 17 2017 23:49:55` → ns as written.
        static func time(_ f: [UInt8]) -> Int64? {
            let words = f.split(separator: ASCII.space)
            guard words.count == 5, let mo = months.firstIndex(of: String(decoding: words[1], as: UTF8.self)) else { return nil }
            func int(_ w: ArraySlice<UInt8>) -> Int? { w.allSatisfy(ASCII.isDigit) && !w.isEmpty ? Int(String(decoding: w, as: UTF8.self)) : nil }
            guard let day = int(words[2]), let year = int(words[3]), CivilTime.isValid(year: year, month: mo + 1, day: day) else { return nil }
            let t = Array(words[4])
            return t.withUnsafeBufferPointer { p -> Int64? in
                guard let tod = p.timeOfDay(0, p.count) else { return nil }
                return CivilTime.days(year: year, month: mo + 1, day: day) * CivilTime.nsPerDay + tod.ns
            }
        }
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        if line.isBlank { return }
        let b = Array(line.bytes)
        guard let h = Header.read(b) else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a SiteMinder log line (no [pid/tid][date][source][LEVEL])", raw: line.string))
            return
        }
        guard let ns = h.ns else {
            // KB excerpts redact the date (`[]`, `[<Date> <Time>]`): such a line cannot be placed in time.
            sink.unparsed(UnparsedLine(line: line.number, reason: "no time: the date field is empty or a placeholder", raw: line.string))
            return
        }
        var message = String(decoding: b[h.message...], as: UTF8.self)
        while message.last == " " || message.last == "\t" { message.removeLast() }
        let pidTid = "\(h.pid)/\(h.tid)"
        var r = EventRecord(line: line.number, ordinal: 0, ts: ns - zoneOffsetNs, kind: .log, rawAt: line.offset, rawLen: b.count, summaryAt: h.message)
        r.label = "SiteMinder"
        var attrs = ["\"level\":" + jsonString(h.level), "\"pid\":\(h.pid)", "\"tid\":\(h.tid)", "\"src_file\":" + jsonString(h.srcFile)]
        if let m = h.msgID { attrs.append("\"msg_id\":" + jsonString(m)) }

        // smpolicysrv -stats: told by the text, not the message id (the 2017 post prints `sm-Serveor-01990`).
        if let stats = StatsLine(message) {
            // A block is one thread's consecutive lines; another thread's line, or a new banner after the
            // counters, ends it.
            if let open = block, open.pidTid != pidTid || (!open.counters.isEmpty && stats == .received) { release(sink) }
            if block == nil {
                r.attrs = "{" + attrs.joined(separator: ",") + "}"
                block = (r, pidTid, [], 0)
            }
            block!.record.rawLen = Int(line.offset - block!.record.rawAt) + b.count
            switch stats {
            case .banner: block!.banners += 1
            case .received, .title: break
            case .counters(let prefix): block!.counters += StatsLine.counters(message, prefix: prefix)
            }
            // The closing banner (the second `====`, after counters) ends the block.
            if case .banner = stats, block!.banners >= 2 || !block!.counters.isEmpty { release(sink) }
            return
        }
        release(sink)
        attrs += SiteMinderMessage.attrs(message)
        attrs.append("\"summary\":" + jsonString(message))
        if let peer = SiteMinderMessage.failedHandshakePeer(message) {
            // The Policy Server names the agent's end: the source of the connection to 44443 it refused.
            r.src = peer.address
            r.srcPort = peer.port
        }
        r.attrs = "{" + attrs.joined(separator: ",") + "}"
        emit(r, sink)
    }

    private mutating func emit(_ r: EventRecord, _ sink: RecordSink) {
        var r = r
        count += 1
        r.ordinal = count
        sink.emit(r)
    }

    /// Emits the stats block read so far as one event with its counters.
    private mutating func release(_ sink: RecordSink) {
        guard let open = block.take() else { return }
        var r = open.record
        var attrs = String(r.attrs!.dropLast())
        attrs += ",\"event\":\"stats\""
        for (k, v) in open.counters { attrs += ",\"\(k)\":\(v)" }
        attrs += ",\"summary\":" + jsonString(StatsLine.summary(open.counters)) + "}"
        r.attrs = attrs
        emit(r, sink)
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        release(sink)
        var f = SourceFacts()
        f.timeDigits = 0
        return f
    }
}

/// The lines of an `smpolicysrv -stats` block, as smps.log writes them (Policy Server 12.52–12.8 samples).
enum StatsLine: Equatable {
    case banner, received, title
    /// `Thread pool limit: 70`, `Thread pool: Msgs=…`, `Connections: Current=…`: counters, their keys prefixed.
    case counters(prefix: String)

    init?(_ m: String) {
        if m.count >= 10, m.allSatisfy({ $0 == "=" }) { self = .banner }
        else if m == "Server 'Stats' command received" { self = .received }
        else if m == "System Statistics" { self = .title }
        else if m.hasPrefix("Thread pool limit:") { self = .counters(prefix: "thread_pool_limit") }
        else if m.hasPrefix("Thread pool:") { self = .counters(prefix: "") }
        else if m.hasPrefix("Connections:") { self = .counters(prefix: "connections_") }
        else { return nil }
    }

    /// `Key One=12 Key Two=0.5ms` → `[("key_one", "12"), ("key_two_ms", "0.5")]`: keys may hold spaces, values
    /// do not; a unit glued to the value (`ms`, `/sec`) goes to the key. Values that are not numbers are left out.
    static func counters(_ m: String, prefix: String) -> [(String, String)] {
        guard let colon = m.firstIndex(of: ":") else { return [] }
        let body = m[m.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        if prefix == "thread_pool_limit" { return number(body).map { [(prefix, $0)] } ?? [] }
        var out: [(String, String)] = []
        let parts = body.components(separatedBy: "=")
        var key = parts.first ?? ""
        for part in parts.dropFirst() {
            let value = part.prefix { $0 != " " }
            let next = part.dropFirst(value.count).trimmingCharacters(in: .whitespaces)
            var v = String(value), unit = ""
            for (suffix, name) in [("/sec", "_per_sec"), ("ms", "_ms")] where v.hasSuffix(suffix) { v.removeLast(suffix.count); unit = name }
            let name = prefix + key.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "_") + unit
            if let n = number(v) { out.append((name, n)) }
            key = next
        }
        return out
    }

    /// A JSON number as written (`0.000000`, `238.235`), or nil.
    static func number(_ s: String) -> String? {
        let digits = s.hasPrefix("-") ? s.dropFirst() : Substring(s)
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard !digits.isEmpty, parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }) else { return nil }
        // JSON forbids leading zeros on the integer part.
        let whole = parts[0].drop { $0 == "0" }
        return (s.hasPrefix("-") ? "-" : "") + (whole.isEmpty ? "0" : String(whole)) + (parts.count == 2 ? "." + parts[1] : "")
    }

    /// One line a person reads: connections, queue depth, threads, messages.
    static func summary(_ c: [(String, String)]) -> String {
        let v = Dictionary(c, uniquingKeysWith: { a, _ in a })
        var parts: [String] = []
        if let cur = v["connections_current"] {
            parts.append("connections \(cur)" + [("max", "connections_max"), ("limit", "connections_limit"), ("over limit", "connections_exceeded_limit")]
                .compactMap { n, k in v[k].map { "\(n) \($0)" } }.joined(separator: ", ").wrapped)
        }
        if let d = v["current_depth"] { parts.append("queue depth \(d)" + (v["max_depth"].map { " (max \($0))" } ?? "")) }
        if let busy = v["busy_threads"] { parts.append("busy threads \(busy)" + (v["current_threads"].map { " of \($0)" } ?? "")) }
        if let m = v["msgs"] { parts.append("\(m) messages") }
        if let l = v["thread_pool_limit"], v["busy_threads"] == nil { parts.append("thread pool limit \(l)") }
        return "smpolicysrv -stats" + (parts.isEmpty ? "" : ": " + parts.joined(separator: "; "))
    }
}

private extension String {
    /// ` (a, b)`, or nothing for an empty list.
    var wrapped: String { isEmpty ? "" : " (\(self))" }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// What a SiteMinder log message says, as attrs (`event` and its fields), from the messages published excerpts show.
enum SiteMinderMessage {
    /// The meanings CA gives to the Policy Server's handshake error codes (KB 42071, "Possible handshake errors in
    /// Policy Server smps.log explanations"; 3151, success, never appears).
    static let handshakeErrors: [Int: String] = [
        3152: "failed to receive client hello", 3153: "bad version (client hello of the wrong length or format, or non-FIPS hello to a FIPS-only server)",
        3154: "client name does not match hash value (the agent's shared secret is not valid)", 3155: "failed to send server hello",
        3156: "failed to receive client ack", 3157: "bad encryption",
    ]

    /// The Agent API's negative return codes (SmAgentAPI.h, "Function return codes", as the Netegrity SDK
    /// ships it, e.g. crespo2014/cpp-lib vc60/inc_src/siteminder/SmAgentAPI.h).
    static let agentAPIReturns: [Int: String] = [-3: "no connection", -2: "timeout", -1: "failure"]

    static func attrs(_ m: String) -> [String] {
        if failedHandshakePeer(m) != nil || m.hasPrefix("Failed handshake with") {
            var out = ["\"event\":\"handshake_failed\""]
            if let p = failedHandshakePeer(m) { out.append("\"peer\":" + jsonString(p.text)) }
            return out
        }
        if let r = m.range(of: "Handshake error:") {
            let rest = m[r.upperBound...].trimmingCharacters(in: .whitespaces)
            var out = ["\"event\":\"handshake_error\""]
            let code = rest.prefix { $0.isASCIIDigit }
            if !code.isEmpty, let c = Int(code) {
                out.append("\"handshake_error\":\(c)")
                if let meaning = handshakeErrors[c] { out.append("\"reason\":" + jsonString(meaning)) }
            } else if !rest.isEmpty {
                out.append("\"reason\":" + jsonString(rest))
            }
            return out
        }
        // `LLA:SiteMinder Agent Api function failed - 'Sm_AgentApi_LoginEx' returned'-1'.` (the space may be missing)
        if let r = m.range(of: "Agent Api function failed - '") {
            let rest = m[r.upperBound...]
            let function = rest.prefix { $0 != "'" }
            var out = ["\"event\":\"agent_api_failed\"", "\"function\":" + jsonString(String(function))]
            if let ret = rest.range(of: "returned") {
                let code = rest[ret.upperBound...].drop { $0 == " " || $0 == "'" }.prefix { $0 == "-" || $0.isASCIIDigit }
                if let c = Int(code) {
                    out.append("\"returned\":\(c)")
                    if let meaning = agentAPIReturns[c] { out.append("\"returned_means\":" + jsonString(meaning)) }
                }
            }
            return out
        }
        if let r = m.range(of: "Component reported fatal error: '") {
            let component = m[r.upperBound...].prefix { $0 != "'" }
            return ["\"event\":\"component_fatal\"", "\"component\":" + jsonString(String(component))]
        }
        return []
    }

    /// `Failed handshake with 155.35.245.129:49184` (an IPv4-mapped `::ffff:` prefix dropped) → the agent's end.
    static func failedHandshakePeer(_ m: String) -> Endpoint? {
        guard let r = m.range(of: "Failed handshake with ") else { return nil }
        var text = m[r.upperBound...].prefix { $0 != " " }
        if text.hasPrefix("::ffff:") { text = text.dropFirst(7) }
        guard let e = Endpoint(userText: String(text)), e.port >= 0 else { return nil }
        return e
    }
}
