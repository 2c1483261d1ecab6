import TraceModel

/// Wireshark's "Export Packet Dissections → As CSV": one quoted field per packet-list column.
///
/// ```
/// "No.","Time","Source","Destination","Protocol","Length","Info"
/// "1","0.000000000","10.99.0.1","10.99.0.2","TCP","74","40000 → 8080 [SYN] Seq=0 Win=64240 Len=0 MSS=1460"
/// ```
/// The header line names the columns (custom ones too); fields are quoted, `""` escapes a quote.
public struct WiresharkCSV: LineParser {
    public static let id = "wireshark_csv"
    public static let summary = "Wireshark packet list exported as CSV (\"No.\",\"Time\",\"Source\",…)"

    private var builder: PacketRowBuilder
    private var resolver: PacketTimeResolver
    private var columns: [PacketColumn]? = nil
    private var fields: [Token] = []
    private var infoTokens: [Token] = []
    private var digits = 0

    public init(context: ParseContext) {
        builder = PacketRowBuilder(services: context.services)
        resolver = PacketTimeResolver(zoneOffset: context.zoneOffset)
    }

    public static func sniff(_ head: SniffHead) -> Double {
        guard let first = head.lines.first(where: { !$0.isEmpty }) else { return 0 }
        let f = first.hasPrefix("\u{FEFF}") ? String(first.dropFirst()) : first
        return f.hasPrefix("\"No.\",\"Time\"") || f.hasPrefix("\"No.\",") && f.contains("\"Source\"") ? 0.95 : 0
    }

    /// Splits a CSV line into field contents (quotes removed; a field keeps `""` as written).
    static func split(_ b: UnsafeBufferPointer<UInt8>, into out: inout [Token]) {
        out.removeAll(keepingCapacity: true)
        var i = 0
        while i <= b.count {
            if i < b.count && b[i] == ASCII.quote {
                var k = i + 1
                while k < b.count {
                    if b[k] == ASCII.quote {
                        if k + 1 < b.count && b[k + 1] == ASCII.quote { k += 2; continue }
                        break
                    }
                    k += 1
                }
                out.append(Token(i + 1, min(k, b.count)))
                i = k + 1
                while i < b.count && b[i] != ASCII.comma { i += 1 }
                i += 1
            } else {
                var k = i
                while k < b.count && b[k] != ASCII.comma { k += 1 }
                out.append(Token(i, k))
                i = k + 1
            }
        }
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        if line.isBlank { return }
        WiresharkCSV.split(b, into: &fields)
        if fields.first.map({ b.equals($0, "No.") }) == true {
            let words = fields.map { b.string($0) }
            var cols: [PacketColumn] = []
            for w in words {
                let parts = w.split(separator: " ").map(String.init)
                if let (c, n) = PacketColumns.match(parts, at: 0), n == parts.count { cols.append(c) } else { cols.append(.other(w)) }
            }
            columns = cols
            return
        }
        guard let cols = columns, fields.count == cols.count,
              let ni = cols.firstIndex(of: .number), let si = cols.firstIndex(of: .source), let di = cols.firstIndex(of: .destination) else {
            sink.unparsed(UnparsedLine(line: line.number, reason: columns == nil ? "CSV row before the header" : "CSV row with \(fields.count) fields, header has \(columns!.count)", raw: line.string))
            return
        }
        var row = PacketRowFields(number: fields[ni], source: fields[si], destination: fields[di], info: [], rawStart: 0, rawEnd: b.count)
        for (k, c) in cols.enumerated() {
            let t = fields[k]
            switch c {
            case .time(let tc):
                // A date-and-time value holds a space: give it as two tokens, as the text layout does.
                var parts: [Token] = []
                b.tokenize(into: &parts, from: t.start, to: t.end)
                for p in parts { row.times.append((tc, p)) }
            case .protocolName: row.label = t
            case .length: row.length = t
            case .info:
                b.tokenize(into: &infoTokens, from: t.start, to: t.end)
            case .number, .source, .destination: break
            default: row.custom.append((c, t))
            }
        }
        row.info = infoTokens[...]
        var (rec, time, d) = builder.build(b, row, line: line)
        digits = max(digits, d)
        if let i = cols.firstIndex(of: .info) { rec.summaryAt = fields[i].start }
        guard let time else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "packet row without a readable time", raw: line.string))
            return
        }
        if resolver.place(&rec, time: time, release: { sink.emit($0) }) { sink.emit(rec) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        var facts = SourceFacts()
        resolver.finish(into: &facts, digits: digits) { sink.emit($0) }
        return facts
    }
}
