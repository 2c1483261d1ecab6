import Foundation
import TraceModel

/// The Tivoli Firewall Security Toolbox's proxy and relay logs (gwp.log, epp.log, relay logs):
/// `01/12/18 17:38:06 3 161 routingManager: WHO command received [l=null]` — date YY/MM/DD, time, level,
/// thread, component, message. The proxies write lines of at most 80 columns: a longer record goes on on
/// the next line, cut mid-word when the line is full (`failure creating a routed s` + `ession for …`),
/// at a space otherwise; those are joined back. Typed: the WHO/TELL handshake commands and their replies
/// with the label they carry (`[l=ascotti_gwp1]`), routed sessions (`[rs=8130]`, `[gw=9]`, `[id=92]`) and
/// their failures with error codes (`(e=-2)`, `(-1)`, `(e=24 - Too many open files)`), the target a
/// routed session was for. `gwproxy -v` output gives the version: events at the file's time (`--at`, else
/// its modification time) and a note of the source.
/// Times are the machine's local clock, zone unknown unless `--tz` says it.
public struct TivoliProxyLog: LineParser {
    public static let id = "tivoli_proxy_log"
    public static let summary = "Tivoli Firewall Security Toolbox gateway/endpoint proxy and relay logs (WHO/TELL handshakes, routed sessions; 80-column lines joined)"

    private let zoneOffsetNs: Int64
    private var held: (record: EventRecord, text: String, lastLength: Int)? = nil
    private var count: Int64 = 0
    private var version: [String] = []
    /// `gwproxy -v` output has no time: its lines take the time the user gives (`--at`) or the file's.
    private let fileTime: Int64?

    public init(context: ParseContext) {
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
        fileTime = context.takenAt ?? context.modified
    }

    public static func sniff(_ head: SniffHead) -> Double {
        var hits = 0, known = 0, version = false, n = 0
        for line in head.lines.prefix(50) where !line.isEmpty {
            n += 1
            if Self.header(Array(line.utf8)) != nil { hits += 1 }
            if line.contains("routingManager:") || line.contains("routedSession") || line.contains("gatewayProxySender")
                || line.contains("multiplex.") || line.contains("upcallSender") { known += 1 }
            if line.hasPrefix("Tivoli Firewall Security Toolbox ver.") { version = true }
        }
        // Its own lines (a date header and a TFST component), or `gwproxy -v`; prose quoting them is neither.
        if hits > 0 && known > 0 { return 0.9 }
        // Mostly its line shape (`YY/MM/DD HH:MM:SS level thread`), even without a component we know.
        if hits >= 2 && hits * 2 >= n { return 0.6 }
        return version ? 0.8 : 0
    }

    /// `YY/MM/DD HH:MM:SS LEVEL THREAD ` at the start of a line (after indentation): the time (ns as written),
    /// level, thread and where the message starts.
    static func header(_ b: [UInt8]) -> (ns: Int64, level: Int64, thread: Int64, message: Int)? {
        var i = 0
        while i < b.count, ASCII.isSpace(b[i]) { i += 1 }
        guard b.count >= i + 17, b[i + 2] == UInt8(ascii: "/"), b[i + 5] == UInt8(ascii: "/"), b[i + 8] == ASCII.space else { return nil }
        func num(_ s: Int, _ e: Int) -> Int64? {
            var v: Int64 = 0
            for k in s..<e { guard ASCII.isDigit(b[k]) else { return nil }; v = v * 10 + Int64(b[k] - 0x30) }
            return v
        }
        guard let yy = num(i, i + 2), let mo = num(i + 3, i + 5), let dd = num(i + 6, i + 8),
              CivilTime.isValid(year: 2000 + Int(yy), month: Int(mo), day: Int(dd)),
              b[i + 11] == ASCII.colon, b[i + 14] == ASCII.colon,
              let h = num(i + 9, i + 11), let mi = num(i + 12, i + 14), let s = num(i + 15, i + 17) else { return nil }
        // Level and thread: the next two numbers.
        var k = i + 17
        var fields: [Int64] = []
        while fields.count < 2 {
            while k < b.count, ASCII.isSpace(b[k]) { k += 1 }
            let start = k
            while k < b.count, ASCII.isDigit(b[k]) { k += 1 }
            guard k > start, let v = num(start, k) else { return nil }
            fields.append(v)
        }
        while k < b.count, ASCII.isSpace(b[k]) { k += 1 }
        let ns = CivilTime.days(year: 2000 + Int(yy), month: Int(mo), day: Int(dd)) * CivilTime.nsPerDay + (h * 3600 + mi * 60 + s) * CivilTime.nsPerSecond
        return (ns, fields[0], fields[1], k)
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        if line.isBlank { return }
        let bytes = Array(line.bytes)
        if let h = Self.header(bytes) {
            release(sink)
            count += 1
            var r = EventRecord(line: line.number, ordinal: count, ts: h.ns - zoneOffsetNs, kind: .log, rawAt: line.offset, rawLen: bytes.count,
                                summaryAt: h.message)
            r.label = "TFST"
            r.attrs = "{\"level\":\(h.level),\"thread\":\(h.thread)}"
            held = (r, String(decoding: bytes[h.message...], as: UTF8.self), bytes.count)
            return
        }
        let text = line.string
        if var (r, message, last) = held {
            // The rest of a record the proxy wrapped at 80 columns.
            let piece = text.drop { $0 == " " || $0 == "\t" }
            message += (last >= 80 ? "" : " ") + piece
            r.rawLen = Int(line.offset - r.rawAt) + bytes.count
            held = (r, message, bytes.count)
            return
        }
        // `gwproxy -v`: the version (and interim fix) installed, an event at the file's time and a fact of the source.
        if text.contains("Tivoli Firewall Security Toolbox") || text.hasPrefix("Interim fix ID") {
            let v = text.trimmingTrailingSpaces()
            version.append(v)
            count += 1
            var r = EventRecord(line: line.number, ordinal: count, ts: fileTime ?? 0, kind: .log, rawAt: line.offset, rawLen: bytes.count, summaryAt: 0)
            r.label = "TFST"
            r.attrs = "{\"version\":" + jsonString(v) + "}"
            sink.emit(r)
            return
        }
        if text.hasPrefix("#") && text.contains("gwproxy") || text.contains("epproxy -v") { sink.structure(line: line.number); return }
        sink.unparsed(UnparsedLine(line: line.number, reason: "not a Tivoli proxy log line (no YY/MM/DD HH:MM:SS level thread)", raw: text))
    }

    private mutating func release(_ sink: RecordSink) {
        guard var (r, message, _) = held.take() else { return }
        let extra = TivoliMessage.attrs(message)
        if !extra.isEmpty, let a = r.attrs { r.attrs = String(a.dropLast()) + "," + extra.joined(separator: ",") + "}" }
        sink.emit(r)
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        release(sink)
        var f = SourceFacts()
        f.timeBasis = count > 0 && version.count == Int(count) && fileTime == nil ? .relative : .absolute
        f.timeDigits = 0
        if !version.isEmpty { f.notes["version"] = version.joined(separator: " ") }
        return f
    }
}

/// What a TFST message says, as attrs: the whole (joined) message as `summary`, its component, the handshake step,
/// routed-session ids, the error code and text, the target. Read from the message's bytes (Foundation's
/// string search had been most of the parser's time).
enum TivoliMessage {
    static func attrs(_ message: String) -> [String] {
        var out = ["\"summary\":" + jsonString(message)]
        let all = Array(message.utf8)
        var m = all[...]
        if m.starts(with: "ERROR ".utf8) { out.append("\"error\":true"); m = m.dropFirst(6) }
        func str(_ s: ArraySlice<UInt8>) -> String { String(decoding: s, as: UTF8.self) }
        func find(_ needle: String, in hay: ArraySlice<UInt8>) -> Int? {
            let n = Array(needle.utf8)
            guard n.count <= hay.count else { return nil }
            var i = hay.startIndex
            while i + n.count <= hay.endIndex {
                if hay[i] == n[0], hay[i..<(i + n.count)].elementsEqual(n) { return i }
                i += 1
            }
            return nil
        }
        // The component: the first word (`routingManager:`, `gatewayProxySender`, `multiplex.newsessopen:`).
        let component = m.prefix { $0 != ASCII.space && $0 != ASCII.colon && $0 != UInt8(ascii: "[") }
        if !component.isEmpty { out.append("\"component\":" + jsonString(str(component))) }
        for cmd in ["WHO", "TELL"] {
            if find("\(cmd) reply command received", in: m) != nil { out.append("\"handshake\":\"\(cmd)\",\"step\":\"reply received\"") }
            else if find("\(cmd) command received", in: m) != nil { out.append("\"handshake\":\"\(cmd)\",\"step\":\"command received\"") }
        }
        // [l=label], [rs=8130], [gw=9], [id=92,rs=8130], [line=3505]
        var rest = m
        while let open = rest.firstIndex(of: UInt8(ascii: "[")), let close = rest[open...].firstIndex(of: UInt8(ascii: "]")) {
            for pair in rest[(open + 1)..<close].split(separator: ASCII.comma) {
                guard let eq = pair.firstIndex(of: UInt8(ascii: "=")) else { continue }
                let k = str(pair[..<eq]), v = str(pair[(eq + 1)...])
                out.append(jsonString(k == "l" ? "label" : k) + ":" + (Int64(v) != nil ? v : jsonString(v)))
            }
            rest = rest[(close + 1)...]
        }
        // (e=-2), (-1), (e=24 - Too many open files): the last parenthesis, closing the message.
        var tail = m
        while tail.last == UInt8(ascii: ".") || tail.last == ASCII.space { tail = tail.dropLast() }
        if tail.last == UInt8(ascii: ")"), let open = tail.lastIndex(of: UInt8(ascii: "(")) {
            var inside = tail[(open + 1)..<(tail.endIndex - 1)]
            if inside.starts(with: "e=".utf8) { inside = inside.dropFirst(2) }
            let code = inside.prefix { $0 == UInt8(ascii: "-") || ASCII.isDigit($0) }
            if !code.isEmpty, let c = Int64(str(code)) {
                out.append("\"code\":\(c)")
                let why = inside.dropFirst(code.count).drop { $0 == ASCII.space || $0 == UInt8(ascii: "-") }
                if !why.isEmpty { out.append("\"error_text\":" + jsonString(str(why))) }
            }
        }
        if find("failed", in: m) != nil || find("failure", in: m) != nil || find("cannot", in: m) != nil { out.append("\"failed\":true") }
        // `… routed session for nti281-gwp.`
        if let at = find("routed session for ", in: m) {
            var target = m[(at + 19)...].prefix { $0 != ASCII.space }
            if target.last == UInt8(ascii: ".") { target = target.dropLast() }
            out.append("\"target\":" + jsonString(str(target)))
        }
        return out
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
