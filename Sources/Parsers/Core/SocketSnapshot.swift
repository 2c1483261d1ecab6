import TraceModel

/// What the netstat and ss parsers share: the time of the snapshot a row belongs to, and the row as an event.
///
/// A table has no time of its own. Collection loops write one before each table (`date` on Linux:
/// `Fri Nov 27 20:33:40 UTC 2026`; `date -Is`: `2026-11-27T20:33:40+00:00`): each row takes the time of the
/// last such line. Rows before any take the time the user gave (`--at`), else the file's modification time
/// (a table redirected to a file is written when it is taken), else 0 on a relative clock that `--anchor`
/// places. The source's notes say which.
struct SocketSnapshotClock {
    enum Basis { case dateLine, given, modified, none }

    private(set) var time: Int64 = 0
    private(set) var snapshot = 0
    private(set) var sawTimeLine = false
    /// Where the time of rows before the first date line came from.
    private let fallback: Basis
    private var fallbackTime: Int64 = 0
    private var rowsBeforeTimeLine = 0
    /// Whether the time lines gave a zone (UTC, GMT or a numeric offset).
    private(set) var zoneKnown = false
    /// `--tz`: date lines without an offset of their own are written in it.
    private let zoneNs: Int64

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    init(context: ParseContext) {
        zoneNs = Int64(context.zoneOffset ?? 0) * CivilTime.nsPerSecond
        if let at = context.takenAt {
            time = at; fallbackTime = at; fallback = .given
        } else if let m = context.modified {
            time = m; fallbackTime = m; fallback = .modified
        } else {
            fallback = .none
        }
    }

    static let weekdays: [[UInt8]] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map { Array($0.utf8) }

    /// Whether a line can be a `date` line at all (a weekday or, for `date -Is`, a digit first): most lines
    /// are rows, and reading them as dates first would cost more than the rows themselves.
    static func mayBeTimeLine(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < b.count, ASCII.isSpace(b[i]) { i += 1 }
        guard i + 3 <= b.count else { return false }
        if ASCII.isDigit(b[i]) { return true }
        return weekdays.contains { $0[0] == b[i] && $0[1] == b[i + 1] && $0[2] == b[i + 2] }
    }

    /// Reads a `date` line; true when the line was one.
    mutating func timeLine(_ text: String) -> Bool {
        let t = text.split(separator: " ", omittingEmptySubsequences: true)
        // `Fri Nov 27 20:33:40 UTC 2026` (the zone word may be absent or any abbreviation).
        if t.count >= 5, t.count <= 6, let mi = SocketSnapshotClock.months.firstIndex(of: String(t[1])), let day = Int(t[2]), let year = Int(t.last!),
           CivilTime.isValid(year: year, month: mi + 1, day: day) {
            let hms = t[3].split(separator: ":").compactMap { Int64($0) }
            guard hms.count == 3 else { return false }
            let zone = t.count == 6 ? String(t[4]) : ""
            let utc = zone == "UTC" || zone == "GMT"
            zoneKnown = zoneKnown || utc
            set(CivilTime.days(year: year, month: mi + 1, day: day) * CivilTime.nsPerDay + (hms[0] * 3600 + hms[1] * 60 + hms[2]) * CivilTime.nsPerSecond
                - (utc ? 0 : zoneNs))
            return true
        }
        // `2026-11-27T20:33:40+00:00` (date -Is).
        if t.count == 1, text.count >= 19, text.dropFirst(10).first == "T" {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBufferPointer { b -> Bool in
                guard let day = b.date(0, 10), let tod = b.timeOfDay(11, 19) else { return false }
                var offset = zoneNs
                if bytes.count >= 25, let z = CivilTime.parseZoneOffset(String(text.suffix(6))) { offset = Int64(z) * CivilTime.nsPerSecond; zoneKnown = true }
                set(day * CivilTime.nsPerDay + tod.ns - offset)
                return true
            }
        }
        return false
    }

    private mutating func set(_ ns: Int64) {
        time = ns
        sawTimeLine = true
        snapshot += 1
    }

    /// A table header: without time lines, each header starts the next snapshot.
    mutating func header() {
        if !sawTimeLine { snapshot += 1 }
    }

    mutating func row() {
        if !sawTimeLine { rowsBeforeTimeLine += 1 }
    }

    var facts: SourceFacts {
        var f = SourceFacts()
        let basis = sawTimeLine && rowsBeforeTimeLine == 0 ? .dateLine : fallback
        f.timeBasis = sawTimeLine || fallback != .none ? .absolute : .relative
        f.timeDigits = 0
        f.notes["snapshots"] = String(max(snapshot, 1))
        var how: String
        switch basis {
        case .dateLine: how = "from the date lines before each table"
        case .given: how = "given by --at"
        case .modified: how = "the file's modification time (no date line, no --at)"
        case .none: how = "none in the file: give --at or --anchor"
        }
        if sawTimeLine && basis != .dateLine { how += "; later tables from their date lines" }
        f.notes["snapshot time"] = how
        // --at and modification times are UTC; date lines are when they say so.
        f.zoneKnown = sawTimeLine ? zoneKnown && rowsBeforeTimeLine == 0 || zoneKnown && fallback != .none : fallback != .none
        if basis == .modified, !sawTimeLine || rowsBeforeTimeLine > 0 {
            f.warnings.append("no date line says when this table was taken: timed by the file's modification time, \(CivilTime.iso8601(fallbackTime, digits: 0)); give --at if it was taken at another time")
        }
        return f
    }
}

/// One end of a socket-table row.
struct SocketEnd {
    var address: Address?
    /// -1 for `*`.
    var port: Int32
    /// As written, when the tool printed a name rather than numbers (`netstat` without -n:
    /// `ec2-3-218-125-188:https`).
    var written: String?
}

enum SocketRow {
    /// The same from a row's token, reading the common `a.b.c.d:port` without making strings.
    static func endpoint(_ b: UnsafeBufferPointer<UInt8>, _ t: Token, _ context: ParseContext) -> SocketEnd? {
        var colon = t.end - 1
        while colon > t.start, b[colon] != UInt8(ascii: ":") { colon -= 1 }
        if colon > t.start, b[t.start] != UInt8(ascii: "["), let port = b.uint(colon + 1, t.end), port <= 65535,
           let v4 = Address.parseV4(UnsafeBufferPointer(rebasing: b[t.start..<colon])) {
            return SocketEnd(address: v4 == 0 ? nil : .v4(v4), port: Int32(port), written: nil)
        }
        return endpoint(Substring(b.string(t)), context)
    }

    /// `10.95.0.1:50792`, `0.0.0.0:*`, `*:*`, `[::]:135`, `[fe80::1%12]:5000`, `:::22`, and without -n
    /// `LAPTOP-7:49712`, `20.54.232.160:https` (names a loaded capture or `services` resolve).
    static func endpoint(_ text: Substring, _ context: ParseContext) -> SocketEnd? {
        var host: Substring, port: Substring
        if text.hasPrefix("["), let close = text.lastIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(after: close)...].dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        if let pct = host.firstIndex(of: "%") { host = host[..<pct] }
        let number: Int32 = port == "*" ? -1 : (context.services.port(port) ?? -1)
        let wildcard = host == "*" || host == "0.0.0.0" || host == "::" || host.isEmpty
        if wildcard { return SocketEnd(address: nil, port: number, written: nil) }
        if let a = Address(ip: String(host)) {
            return SocketEnd(address: a, port: number, written: Int32(port) != nil || port == "*" ? nil : String(text))
        }
        // A name: an address only if a loaded capture named that host.
        guard host.contains(where: { $0.isLetter }) else { return nil }
        return SocketEnd(address: context.hostAddresses[host.lowercased()], port: number, written: String(text))
    }

    /// A row as an event: the socket's tuple (so it joins its connection), state, process in attrs.
    static func event(line: Int, offset: Int64, length: Int, ordinal: Int64, ts: Int64, proto: UInt8, local: SocketEnd, remote: SocketEnd,
                      state: String?, pid: Int64?, process: String?, snapshot: Int, extra: [String] = []) -> EventRecord {
        var r = EventRecord(line: line, ordinal: ordinal, ts: ts, kind: .socketSnapshot, rawAt: offset, rawLen: length, summaryAt: 0)
        r.proto = proto
        r.label = proto == IPProto.udp ? "UDP" : "TCP"
        r.src = local.address; r.srcPort = local.port
        r.dst = remote.address; r.dstPort = remote.port
        var a: [String] = []
        if let state { a.append("\"state\":" + jsonString(state)) }
        if let pid { a.append("\"pid\":\(pid)") }
        if let process { a.append("\"process\":" + jsonString(process)) }
        if local.address == nil { a.append("\"local\":" + jsonString("*:" + (local.port >= 0 ? String(local.port) : "*"))) }
        else if let w = local.written { a.append("\"local\":" + jsonString(w)) }
        if let w = remote.written { a.append("\"remote\":" + jsonString(w)) }
        a.append("\"snapshot\":\(snapshot)")
        r.attrs = "{" + (a + extra).joined(separator: ",") + "}"
        return r
    }
}

/// What netstat and ss parsers share about rows: one read strictly or not, and where a bad one goes.
enum SocketRowResult { case row(EventRecord), bad(String) }

protocol SocketTableParser {
    /// The row read last, held for the lines that may still belong to it (-anob, -e/-i details).
    var held: EventRecord? { get set }
    /// One row; `strict`: only a whole one (deciding whether a console cut it).
    mutating func row(_ b: UnsafeBufferPointer<UInt8>, number: Int, offset: Int64, length: Int, strict: Bool) -> SocketRowResult
}

extension SocketTableParser {
    /// A row held, or reported with why it is none.
    mutating func finishRow(_ b: UnsafeBufferPointer<UInt8>, number: Int, offset: Int64, length: Int, sink: RecordSink) {
        switch row(b, number: number, offset: offset, length: length, strict: false) {
        case .row(let r): held = r
        case .bad(let why): sink.unparsed(UnparsedLine(line: number, reason: why, raw: String(decoding: b, as: UTF8.self)))
        }
    }
}

/// A row the console cut at its width (a table copied from a window 80 or 120 columns wide wraps rows
/// with long IPv6 addresses): it waits for the next line, which continues it when it starts at column 0
/// and is nothing else the table has.
struct CutRow {
    let number: Int
    let offset: Int64
    let bytes: [UInt8]

    /// Console widths a cut happens at, less the one column some copies lose.
    static func mayBeCut(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        b.count >= 79
    }

    /// The row and its continuation as one line, joined as cut (mid-word) or at a space.
    func joined(_ next: UnsafeBufferPointer<UInt8>, space: Bool) -> [UInt8] {
        bytes + (space ? [ASCII.space] : []) + Array(next)
    }
}
