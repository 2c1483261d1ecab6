import TraceModel

/// What the netstat and ss parsers share: the time of the snapshot a row belongs to, and the row as an event.
///
/// A table has no time of its own. Collection loops write one before each table (`date` on Linux:
/// `Fri Nov 27 20:33:40 UTC 2026`; `date -Is`: `2026-11-27T20:33:40+00:00`): each row takes the time of the
/// last such line. Rows before any get time 0 on a relative clock (the snapshot index): `--anchor` places them.
struct SocketSnapshotClock {
    private(set) var time: Int64 = 0
    private(set) var snapshot = 0
    private(set) var sawTimeLine = false
    /// Whether the time lines gave a zone (UTC, GMT or a numeric offset).
    private(set) var zoneKnown = false
    private var rowsSinceTime = 0

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Reads a `date` line; true when the line was one.
    mutating func timeLine(_ text: String) -> Bool {
        let t = text.split(separator: " ", omittingEmptySubsequences: true)
        // `Fri Nov 27 20:33:40 UTC 2026` (the zone word may be absent or any abbreviation).
        if t.count >= 5, t.count <= 6, let mi = SocketSnapshotClock.months.firstIndex(of: String(t[1])), let day = Int(t[2]), let year = Int(t.last!),
           CivilTime.isValid(year: year, month: mi + 1, day: day) {
            let hms = t[3].split(separator: ":").compactMap { Int64($0) }
            guard hms.count == 3 else { return false }
            let zone = t.count == 6 ? String(t[4]) : ""
            zoneKnown = zone == "UTC" || zone == "GMT"
            set(CivilTime.days(year: year, month: mi + 1, day: day) * CivilTime.nsPerDay + (hms[0] * 3600 + hms[1] * 60 + hms[2]) * CivilTime.nsPerSecond)
            return true
        }
        // `2026-11-27T20:33:40+00:00` (date -Is).
        if t.count == 1, text.count >= 19, text.dropFirst(10).first == "T" {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBufferPointer { b -> Bool in
                guard let day = b.date(0, 10), let tod = b.timeOfDay(11, 19) else { return false }
                var offset: Int64 = 0
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
        rowsSinceTime = 0
    }

    /// A table header: without time lines, each header starts the next snapshot.
    mutating func header() {
        if !sawTimeLine { snapshot += 1 }
    }

    mutating func row() { rowsSinceTime += 1 }

    var facts: SourceFacts {
        var f = SourceFacts()
        f.timeBasis = sawTimeLine ? .absolute : .relative
        f.timeDigits = 0
        f.notes["snapshots"] = String(max(snapshot, 1))
        f.notes["snapshot time"] = sawTimeLine ? "from the date lines before each table" : "none in the file: give --anchor"
        return f
    }
}

enum SocketRow {
    /// `10.95.0.1:50792`, `0.0.0.0:*`, `*:*`, `[::]:135`, `[fe80::1%12]:5000`, `:::22` → address and port
    /// (-1 for `*`); nil for the wildcard address.
    static func endpoint(_ s: Substring) -> (Address?, Int32)? {
        var text = s
        if text.hasPrefix("["), let close = text.lastIndex(of: "]") {
            var host = text[text.index(after: text.startIndex)..<close]
            if let pct = host.firstIndex(of: "%") { host = host[..<pct] }
            let port = text[text.index(after: close)...].dropFirst()
            return (Address(ip: String(host)), Int32(port) ?? -1)
        }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = text[..<colon]
        let port = text[text.index(after: colon)...]
        if let pct = host.firstIndex(of: "%") { host = host[..<pct] }
        text = host
        let wildcard = text == "*" || text == "0.0.0.0" || text == "::" || text.isEmpty
        return (wildcard ? nil : Address(ip: String(text)), Int32(port) ?? -1)
    }

    /// A row as an event: the socket's tuple (so it joins its connection), state, process in attrs.
    static func event(line: Line, ordinal: Int64, ts: Int64, proto: UInt8, local: (Address?, Int32), remote: (Address?, Int32),
                      state: String?, pid: Int64?, process: String?, snapshot: Int, extra: [String] = []) -> EventRecord {
        var r = EventRecord(line: line.number, ordinal: ordinal, ts: ts, kind: .socketSnapshot, rawAt: line.offset, rawLen: line.bytes.count, summaryAt: 0)
        r.proto = proto
        r.label = proto == IPProto.udp ? "UDP" : "TCP"
        r.src = local.0; r.srcPort = local.1
        r.dst = remote.0; r.dstPort = remote.1
        var a: [String] = []
        if let state { a.append("\"state\":" + jsonString(state)) }
        if let pid { a.append("\"pid\":\(pid)") }
        if let process { a.append("\"process\":" + jsonString(process)) }
        if local.0 == nil { a.append("\"local\":" + jsonString("*:" + (local.1 >= 0 ? String(local.1) : "*"))) }
        a.append("\"snapshot\":\(snapshot)")
        r.attrs = "{" + (a + extra).joined(separator: ",") + "}"
        return r
    }
}
