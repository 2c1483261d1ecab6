import Foundation
import TraceModel

/// CA SiteMinder trace logs: the Policy Server's smtracedefault.log and the Web Agent's WebAgentTrace.log. Each
/// line is the `data:` list of the trace configuration (smtracedefault.txt, WebAgentTrace.conf, AgentConMgr.conf),
/// one field per column in square brackets, empty ones included — the "default (square brackets)" display CA
/// documents:
///
///     data: Date, PreciseTime, Tid, Realm, …, AgentName, Message, Data
///     [09/15/2011][17:09:17.059][5232][][][][][][][][][][][][][apiagent][Receive request attribute 200, data size is 8][apiagent]
///
/// (corpus/siteminder-policy-trace). The columns come from, in order of trust: the log's own header line
/// (`[Date][PreciseTime][Tid]…`, then its `[====]` underline), the trace configuration beside the log (same name with
/// .txt/.conf, else smtracedefault.txt, WebAgentTrace.conf, AgentConMgr.conf in the same folder — the agent's two
/// first for a log named like WebAgentTrace), and else the first line's bracket count — `Date`/`PreciseTime`
/// recognised by their values, the rest named `field3`…, and a warning says so. Every non-empty column becomes an
/// attr (snake_case of its name); `Message` is the summary. `IPAddr` + `IPPort` — CA: "the client IP address", "the
/// client IP port", the client's end of the connection the line is about (at a Policy Server, the agent: the far end)
/// — become the event's source, so the event joins the one connection in the store with that end when a capture has
/// it (Timeline's `PeerBinding`). No message is given a meaning: no published trace line shows the agent's connection
/// to a Policy Server, so none is typed (corpus/siteminder-scenario's lines are reconstructed, so they cannot change
/// that). Times are the machine's local clock, zone unknown unless `--tz` says it.
public struct SiteMinderTrace: LineParser {
    public static let id = "siteminder_trace"
    public static let summary = "CA SiteMinder traces (smtracedefault.log, WebAgentTrace.log): [field]… per the trace configuration's data: list (beside the log or the log's header); IPAddr/IPPort as the client's end"

    private let zoneOffsetNs: Int64
    private var count: Int64 = 0
    /// The column names in order, and where they came from.
    private var columns: [String]? = nil
    private var columnSource = ""
    private var configColumns: [String]? = nil
    private var configFile: String? = nil
    private var components: String? = nil
    private var warnings: [String] = []
    private var basis: TimeBasis? = nil
    private var digits = 0

    /// CA's data field names (trace "Trace Message Data Fields"), by their lowercased form: a header line is made
    /// of these, and the `data:` list may write them in any case.
    static let knownFields: [String] = [
        "Message", "SrcFile", "Pid", "Tid", "Date", "Time", "PreciseTime", "Function", "User", "Domain", "Realm", "AgentName",
        "TransactionID", "DomainOID", "IPAddr", "RequestIPAddr", "IPPort", "CertSerial", "SubjectDN", "IssuerDN", "SessionSpec",
        "SessionID", "UserDN", "Resource", "Action", "RealmOID", "ResponseTime", "Rule", "Policy", "AuthStatus", "AuthReason",
        "AuthScheme", "Directory", "ErrorValue", "ErrorString", "Data", "ClusterID", "Throughput",
    ]
    static let canonical = Dictionary(knownFields.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })

    public init(context: ParseContext) {
        zoneOffsetNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
        if let (file, data, comps) = Self.configBeside(context.path) {
            configColumns = data
            configFile = file
            components = comps
        }
    }

    public static func sniff(_ head: SniffHead) -> Double {
        var n = 0, lines = 0, header = false
        for line in head.lines.prefix(50) where !line.isEmpty {
            n += 1
            let b = Array(line.utf8)
            if headerColumns(b) != nil { header = true; continue }
            guard let f = fields(b), f.count >= 3 else { continue }
            // A trace line opens with its date and time (the usual data: list) — else only its header says it is one.
            let dated = b.withUnsafeBufferPointer { p in p.date(f[0].start, f[0].end) != nil && p.timeOfDay(f[1].start, f[1].end) != nil }
            if dated || header { lines += 1 }
        }
        guard header || lines > 0 else { return 0 }
        return (lines + (header ? 1 : 0)) * 2 >= n ? 0.85 : 0
    }

    /// The bracketed fields of a line that is nothing but them (`[a][][c]`), as byte ranges; nil otherwise.
    static func fields(_ b: [UInt8]) -> [Token]? {
        var end = b.count
        while end > 0, ASCII.isSpace(b[end - 1]) { end -= 1 }
        guard end >= 2, b[0] == UInt8(ascii: "["), b[end - 1] == UInt8(ascii: "]") else { return nil }
        var out: [Token] = []
        var start = 1
        var i = 1
        // Fields end at `][`; a message holding `][` is put back together below, from the column count.
        while i < end - 1 {
            if b[i] == UInt8(ascii: "]"), b[i + 1] == UInt8(ascii: "[") {
                out.append(Token(start, i))
                start = i + 2
                i += 2
                continue
            }
            i += 1
        }
        out.append(Token(start, end - 1))
        return out
    }

    /// A header line: known column names in brackets (`[Date][PreciseTime][Tid]…`), up to its `[====]` underline,
    /// which may follow on the same line (the published sample) or on the next.
    static func headerColumns(_ b: [UInt8]) -> [String]? {
        var names: [String] = []
        var i = 0
        while i < b.count {
            while i < b.count, ASCII.isSpace(b[i]) { i += 1 }
            guard i < b.count else { break }
            guard b[i] == UInt8(ascii: "[") else { return nil }
            var e = i + 1
            while e < b.count, b[e] != UInt8(ascii: "]") { e += 1 }
            let name = String(decoding: b[(i + 1)..<e], as: UTF8.self)
            if name.hasPrefix("=") { break }
            guard let c = canonical[name.lowercased()] else { return nil }
            names.append(c)
            i = e + 1
        }
        return names.count >= 2 ? names : nil
    }

    /// `[====][=====]…` alone.
    static func isUnderline(_ b: [UInt8]) -> Bool {
        !b.isEmpty && b.allSatisfy { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: "=") || ASCII.isSpace($0) }
            && b.contains(UInt8(ascii: "="))
    }

    /// The trace configuration beside a log: its `data:` columns and `components:` list.
    static func configBeside(_ path: String) -> (file: String, data: [String], components: String?)? {
        // An archive member (`bundle.zip!/…`) or a test's bytes have no folder to look in.
        guard !path.contains("!"), FileManager.default.fileExists(atPath: path) else { return nil }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        let base = url.deletingPathExtension().lastPathComponent
        // A Web Agent's trace looks for the agent's configurations first: a folder of both machines' files holds
        // the Policy Server's smtracedefault.txt too, whose columns are not the agent's.
        let lower = base.lowercased()
        let agent = lower.contains("webagent") || lower.contains("agentconmgr")
        let shared = agent ? ["WebAgentTrace.conf", "AgentConMgr.conf", "smtracedefault.txt"] : ["smtracedefault.txt", "WebAgentTrace.conf", "AgentConMgr.conf"]
        for name in [base + ".txt", base + ".conf"] + shared {
            let candidate = dir.appendingPathComponent(name)
            guard candidate.path != url.path, let data = try? Data(contentsOf: candidate), data.count < 1 << 20,
                  let (columns, components) = readConfig(String(decoding: data, as: UTF8.self)) else { continue }
            return (name, columns, components)
        }
        return nil
    }

    /// `components: A, B` and `data: C, D` lines of a trace configuration (`#` starts a comment line).
    static func readConfig(_ text: String) -> ([String], String?)? {
        var data: [String]? = nil, components: String? = nil
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            let lower = line.lowercased()
            if lower.hasPrefix("data:") {
                data = line.dropFirst(5).split(separator: ",").map { f in
                    let t = f.trimmingCharacters(in: .whitespaces)
                    return canonical[t.lowercased()] ?? t
                }.filter { !$0.isEmpty }
            } else if lower.hasPrefix("components:") {
                components = line.dropFirst(11).trimmingCharacters(in: .whitespaces)
            }
        }
        guard let d = data, !d.isEmpty else { return nil }
        return (d, components)
    }

    /// `IPAddr` → `ip_addr`, `PreciseTime` → `precise_time`, `ClusterID` → `cluster_id`.
    static func attrName(_ column: String) -> String {
        var out = ""
        let chars = Array(column)
        for (i, c) in chars.enumerated() {
            if c.isUppercase, i > 0, chars[i - 1].isLowercase || (i + 1 < chars.count && chars[i + 1].isLowercase && chars[i - 1].isUppercase) { out += "_" }
            out += c.lowercased()
        }
        return out
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        if line.isBlank { return }
        let b = Array(line.bytes)
        if let names = Self.headerColumns(b) {
            if let c = configColumns, c != names, let f = configFile {
                warnings.append("line \(line.number): the header's \(names.count) columns differ from \(f)'s data: list (\(c.count)); the header's are used")
            }
            columns = names
            columnSource = "the header line \(line.number)"
            sink.structure(line: line.number)
            return
        }
        if Self.isUnderline(b) { sink.structure(line: line.number); return }
        guard var f = Self.fields(b) else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a trace line (fields in [brackets])", raw: line.string))
            return
        }
        if columns == nil {
            if let c = configColumns, let file = configFile {
                columns = c
                columnSource = file
            } else {
                columns = Self.infer(b, f)
                columnSource = "inferred"
                warnings.append("columns inferred from line \(line.number)'s \(f.count) brackets: no trace configuration (smtracedefault.txt, WebAgentTrace.conf) beside the log and no header line")
            }
        }
        let cols = columns!
        // A message holding `][` was cut in two: the extra pieces go back into the Message column.
        if f.count > cols.count, let m = cols.firstIndex(of: "Message") {
            let extra = f.count - cols.count
            f[m] = Token(f[m].start, f[m + extra].end)
            f.removeSubrange((m + 1)...(m + extra))
        }
        guard f.count == cols.count else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "\(f.count) fields where the columns (\(columnSource)) are \(cols.count)", raw: line.string))
            return
        }
        var day: Int64? = nil, tod: (ns: Int64, digits: Int)? = nil
        var attrs: [String] = []
        var ip: Address? = nil, port: Int32? = nil
        var summaryAt = 0, message: String? = nil
        b.withUnsafeBufferPointer { p in
            for (k, name) in cols.enumerated() {
                let t = f[k]
                switch name {
                case "Date": day = p.date(t.start, t.end)
                case "PreciseTime": tod = p.timeOfDay(t.start, t.end) ?? tod
                case "Time": if tod == nil { tod = p.timeOfDay(t.start, t.end) }
                default:
                    guard t.count > 0 else { continue }
                    let v = p.string(t)
                    // The message is the summary (below), not an attr of its own.
                    if name == "Message" { message = v; summaryAt = t.start; continue }
                    if name == "IPAddr" { ip = Address(ip: v) }
                    if name == "IPPort" { port = Int32(v).flatMap { $0 >= 0 && $0 <= 65535 ? $0 : nil } }
                    attrs.append("\"\(Self.attrName(name))\":" + jsonString(v))
                }
            }
        }
        guard let t = tod else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "no time: no Time or PreciseTime value among the columns (\(columnSource))", raw: line.string))
            return
        }
        let lineBasis: TimeBasis = day == nil ? .timeOfDay : .absolute
        if basis == nil { basis = lineBasis }
        digits = max(digits, t.digits)
        count += 1
        var r = EventRecord(line: line.number, ordinal: count, ts: (day ?? 0) * CivilTime.nsPerDay + t.ns - zoneOffsetNs, kind: .log,
                            rawAt: line.offset, rawLen: b.count, summaryAt: summaryAt)
        r.label = "SiteMinder"
        if let ip, let port {
            r.src = ip
            r.srcPort = port
            attrs.append("\"peer\":" + jsonString(Endpoint(address: ip, port: port).text))
        }
        if let m = message { attrs.append("\"summary\":" + jsonString(m)) }
        r.attrs = "{" + attrs.joined(separator: ",") + "}"
        sink.emit(r)
    }

    /// Columns for a line when nothing names them: a leading date and time are `Date` and `PreciseTime`/`Time`;
    /// the longest other field is taken for the `Message`; the rest are `fieldN` (1-based).
    static func infer(_ b: [UInt8], _ f: [Token]) -> [String] {
        var names = (1...f.count).map { "field\($0)" }
        b.withUnsafeBufferPointer { p in
            var k = 0
            if k < f.count, p.date(f[k].start, f[k].end) != nil { names[k] = "Date"; k += 1 }
            if k < f.count, let t = p.timeOfDay(f[k].start, f[k].end) { names[k] = t.digits > 0 ? "PreciseTime" : "Time"; k += 1 }
            if let m = (k..<f.count).max(by: { f[$0].count < f[$1].count }), f[m].count > 0 { names[m] = "Message" }
        }
        return names
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        var f = SourceFacts()
        f.timeBasis = basis ?? .absolute
        f.timeDigits = digits
        if let c = columns { f.notes["columns"] = c.joined(separator: ", ") + " (from \(columnSource))" }
        if let c = components { f.notes["components"] = c }
        f.warnings = warnings
        return f
    }
}
