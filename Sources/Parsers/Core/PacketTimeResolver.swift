import TraceModel

/// What a row's time column says, before the file's time basis is known.
enum RowTime {
    /// Date and time (local to the source unless the format says UTC).
    case absolute(Int64)
    /// Date and time already in UTC (epoch seconds, tshark's `-t ud`/`-t e`).
    case absoluteUTC(Int64)
    /// Time of day without a date.
    case timeOfDay(Int64)
    /// Seconds, counted as the column says; `.auto` means "relative or delta, decide from the values".
    case seconds(Int64, TimeColumn)
}

/// Turns row times into the source's nanoseconds, holding rows back while the meaning is unclear.
///
/// A "Time" column of plain seconds is either seconds since the start (Wireshark's default) or a delta
/// since the previous displayed packet (the seeds use both under the same title, e.g. the SCCM server
/// side `100.765625, 0.000000, 0.031250`). Relative times never decrease, so the first decrease proves a
/// delta column; `lookahead` rows that never decrease are taken as relative. Rows wait in `pending`
/// until then: bounded memory, and every row gets the same reading.
struct PacketTimeResolver {
    static let lookahead = 256

    private(set) var basis: TimeBasis? = nil
    private var autoMode: TimeColumn? = nil // .since or .delta once decided
    private var pending: [(EventRecord, Int64)] = []
    private var lastAutoSeconds: Int64 = -1
    private var deltaSum: Int64 = 0
    private var zoneOffsetNs: Int64
    private(set) var decidedBy: String? = nil

    init(zoneOffset: Int?) {
        zoneOffsetNs = Int64(zoneOffset ?? 0) * CivilTime.nsPerSecond
    }

    var pendingCount: Int { pending.count }

    /// Gives `r` its time. Returns true when the caller may emit it now; false when it is held until the
    /// column's meaning is known. Rows held earlier and released by this one go to `release` first, so
    /// the order of rows is kept. (In place, rather than through a closure per row: records are large.)
    mutating func place(_ r: inout EventRecord, time: RowTime, release: (EventRecord) -> Void) -> Bool {
        switch time {
        case .absolute(let ns):
            if basis == nil { basis = .absolute }
            r.ts = ns - zoneOffsetNs
            flush(release)
            return true
        case .absoluteUTC(let ns):
            if basis == nil { basis = .absolute }
            r.ts = ns
            flush(release)
            return true
        case .timeOfDay(let ns):
            if basis == nil { basis = .timeOfDay }
            r.ts = ns - zoneOffsetNs
            flush(release)
            return true
        case .seconds(let s, .since):
            if basis == nil { basis = .relative }
            r.ts = s
            return true
        case .seconds(let s, .delta):
            if basis == nil { basis = .relative }
            deltaSum += s
            r.ts = deltaSum
            return true
        case .seconds(let s, .auto):
            if basis == nil { basis = .relative }
            if let mode = autoMode {
                if mode == .delta { deltaSum += s; r.ts = deltaSum } else { r.ts = s }
                return true
            }
            if lastAutoSeconds >= 0 && s < lastAutoSeconds {
                autoMode = .delta
                decidedBy = "delta (time decreases at line \(r.line))"
                pending.append((r, s))
                flush(release)
                return false
            }
            lastAutoSeconds = s
            pending.append((r, s))
            if pending.count >= PacketTimeResolver.lookahead {
                autoMode = .since
                decidedBy = "relative (never decreases in \(PacketTimeResolver.lookahead) rows)"
                flush(release)
            }
            return false
        }
    }

    /// A new header starts a new table, whose seconds may start again from a lower value: only a
    /// decrease inside one table says "delta".
    mutating func newTable() {
        if autoMode == nil { lastAutoSeconds = -1 }
    }

    /// End of input: releases held rows and writes what the time column turned out to be into `facts`.
    mutating func finish(into facts: inout SourceFacts, digits: Int, release: (EventRecord) -> Void) {
        flush(release)
        facts.timeBasis = basis ?? .absolute
        facts.timeDigits = digits
        if let d = decidedBy { facts.notes["time column"] = d }
    }

    /// Releases held rows with the reading decided so far (relative when still undecided: end of input).
    mutating func flush(_ out: (EventRecord) -> Void) {
        guard !pending.isEmpty else { return }
        if autoMode == nil {
            autoMode = .since
            decidedBy = "relative (never decreases)"
        }
        for (rec, s) in pending {
            var r = rec
            if autoMode == .delta { deltaSum += s; r.ts = deltaSum } else { r.ts = s }
            out(r)
        }
        pending.removeAll(keepingCapacity: true)
    }
}
