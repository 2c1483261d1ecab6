import Foundation
import TraceModel

/// `tracerpt` / `tracedmp` dumpfile.csv of a kernel logger trace with Network TCP/IP events:
/// `UdpIp, Send, 0xFFFFFFFF, 129079416141424158, 0, 0, 2136, 8, 172.016.001.001, 172.016.057.015, 2762, 36003, 0, 0`
/// — event, type, thread, time (Windows FILETIME: 100 ns since 1601-01-01 UTC), kernel and user time, PID,
/// payload bytes, destination address, source address, destination port, source port. Rows of the trace's
/// own header (`EventTrace`, `SystemConfig`, the `Event Name, Type, …` column line) are skipped and counted.
/// Copies pasted from documents run rows together on one line (`… 0, 0 UdpIp, Send, …`): each is read.
public struct TracerptCSV: LineParser {
    public static let id = "tracerpt_csv"
    public static let summary = "tracerpt/tracedmp dumpfile.csv: kernel TcpIp/UdpIp Send/Recv rows (FILETIME, PID, bytes, addresses, ports)"

    private var headerRows = 0
    private var rows = 0

    public init(context: ParseContext) {}

    public static func sniff(_ head: SniffHead) -> Double {
        var hits = 0, n = 0
        for line in head.lines.prefix(100) where !line.isEmpty {
            n += 1
            // A row starts the line (after the `...` a paste may leave): prose that names rows is not one.
            let start = line.drop { $0 == " " || $0 == "." || $0 == "\t" }
            if start.hasPrefix("UdpIp, ") || start.hasPrefix("TcpIp, ") || start.hasPrefix("EventTrace,") || start.hasPrefix("SystemConfig,")
                || start.hasPrefix("Event Name, Type") { hits += 1 }
        }
        return n > 0 && hits > 0 ? 0.6 + 0.3 * Double(hits) / Double(n) : 0
    }

    /// Windows FILETIME of 1970-01-01: 100 ns intervals since 1601.
    static let unixEpochFiletime: Int64 = 116_444_736_000_000_000

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        if line.isBlank { return }
        let text = line.string
        let trimmed = text.drop { $0 == " " || $0 == "." }
        if trimmed.hasPrefix("EventTrace") || trimmed.hasPrefix("SystemConfig") || trimmed.hasPrefix("Event Name") {
            headerRows += 1
            return
        }
        // Rows start at each `TcpIp, ` / `UdpIp, `; anything before the first is not a row.
        var starts: [String.Index] = []
        var search = text.startIndex
        while let r = TracerptCSV.nextRow(text, from: search) { starts.append(r); search = text.index(after: r) }
        guard !starts.isEmpty else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a tracerpt TcpIp/UdpIp row", raw: text))
            return
        }
        for (i, s) in starts.enumerated() {
            let e = i + 1 < starts.count ? starts[i + 1] : text.endIndex
            let row = text[s..<e]
            let f = row.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: ".")) }
            // Event, type, thread, FILETIME, kernel, user, PID, bytes, dst, src, dport, sport: 12 fields at least.
            guard f.count >= 12, let filetime = Int64(f[3]), let pid = Int64(f[6]), let size = Int64(f[7]),
                  let dst = Address(ip: f[8]), let src = Address(ip: f[9]), let dport = Int32(f[10]), let sport = Int32(f[11]) else {
                sink.unparsed(UnparsedLine(line: line.number, reason: "tracerpt row cut short or malformed", raw: String(row)))
                continue
            }
            rows += 1
            let start = text.utf8.distance(from: text.startIndex, to: s)
            var r = EventRecord(line: line.number, ordinal: Int64(rows), ts: (filetime - TracerptCSV.unixEpochFiletime) * 100, kind: .packet,
                                rawAt: line.offset + Int64(start), rawLen: row.utf8.count, summaryAt: 0)
            r.proto = f[0].hasPrefix("Tcp") ? IPProto.tcp : IPProto.udp
            r.label = f[0].hasPrefix("Tcp") ? "TCP" : "UDP"
            r.src = src; r.srcPort = sport
            r.dst = dst; r.dstPort = dport
            r.len = size
            r.attrs = "{\"pid\":\(pid),\"event\":" + jsonString(f[0] + " " + f[1]) + "}"
            sink.emit(r)
        }
    }

    static func nextRow(_ s: String, from: String.Index) -> String.Index? {
        let a = s[from...].range(of: "UdpIp, ")?.lowerBound
        let b = s[from...].range(of: "TcpIp, ")?.lowerBound
        switch (a, b) {
        case let (x?, y?): return min(x, y)
        case let (x?, nil): return x
        case let (nil, y?): return y
        default: return nil
        }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        var facts = SourceFacts()
        facts.timeBasis = .absolute
        facts.timeDigits = 7
        facts.notes["header_rows"] = String(headerRows)
        return facts
    }
}
