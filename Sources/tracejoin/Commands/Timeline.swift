import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render

struct Timeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every event from every source, in time order.",
        discussion: "Columns: time (UTC unless --tz), host, source, connection, summary. Sources with relative times and no anchor show +SECONDS."
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var filters: FilterOptions

    @Flag(help: "One JSON object per line.") var json = false
    @Flag(help: "CSV with a header line.") var csv = false
    @Option(help: ArgumentHelp("Show times in this zone (±HH:MM).", valueName: "±HH:MM")) var tz: String?
    @Option(help: "Stop after this many events.") var limit: Int?
    @Flag(help: "Beside the aligned time, each event's time as its source wrote it (where its clock was moved).") var ownTime = false

    func validate() throws {
        if json && csv { throw ValidationError("choose one of --json and --csv") }
        if let tz, CivilTime.parseZoneOffset(tz) == nil { throw ValidationError("--tz wants ±HH:MM") }
    }

    func run() throws {
        let s: any StoreReader
        if store.isClickHouse {
            // A pushed dataset carries the clocks solved before the push.
            s = try store.openReader()
        } else {
            var db = try store.open(readOnly: true)
            if try db.isStale(ClockPass.name) {
                // New sources since the clocks were solved: solve them before showing times.
                db = try store.open()
                try ClockPass.run(db)
            }
            s = db
        }
        let filter = try filters.filter(store: s)
        let fmt = try EventFormatter(store: s, displayZone: tz.flatMap(CivilTime.parseZoneOffset) ?? 0)
        try TimelinePrinter.print(store: s, filter: filter, formatter: fmt, json: json, csv: csv, limit: limit, ownTime: ownTime)
    }
}

enum TimelinePrinter {
    static func print(store: any StoreReader, filter: EventFilter, formatter fmt: EventFormatter, json: Bool, csv: Bool, limit: Int?, ownTime: Bool = false) throws {
        var merge = try TimelineMerge(store: store, filter: filter)
        var n = 0
        var out = BufferedOutput()
        if csv { out.write(EventFormatter.csvHeader) }
        let width = TextTable.terminalWidth
        while let e = merge.next() {
            if let limit, n >= limit { break }
            n += 1
            if json { out.write(fmt.json(e)) }
            else if csv { out.write(fmt.csv(e)) }
            else {
                let conn = fmt.connection(e.conn).map { "\($0.ordered.0)⇄\($0.ordered.1)" } ?? "-"
                let own = ownTime ? "  (" + fmt.ownTime(e).padding(toLength: 26, withPad: " ", startingAt: 0) + ")" : ""
                let line = "\(fmt.displayTime(e))\(own)  \(fmt.host(e))  \(fmt.sourceName(e)):\(e.line)  \(conn)  \(fmt.summary(e))"
                out.write(line.count > width ? String(line.prefix(width - 1)) + "…" : line)
            }
        }
        out.flush()
        if let err = merge.error { throw err }
    }
}

/// Buffered stdout: a timeline of millions of lines should not pay a syscall per line.
struct BufferedOutput {
    private var buffer: [UInt8] = []

    mutating func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count > 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        fflush(stdout) // keep order with what print() buffered before us
        buffer.withUnsafeBytes { p in
            var off = 0
            while off < p.count {
                let n = Foundation.write(1, p.baseAddress! + off, p.count - off)
                if n <= 0 { break } // closed pipe (`| head`): stop quietly
                off += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
