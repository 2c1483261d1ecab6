import Foundation
import TraceModel

/// Reads a file with a `DeclarativeFormat`: each line that fits one of its patterns is an event at the
/// time its time group gives, lines that fit the continuation rule join the record above, the rest are
/// reported unparsed with their line. (It is a `LineParser` so the ingest runs it like any other; the
/// format it reads is given at construction, not by its type.)
public struct DeclarativeParser: LineParser {
    public static let id = "declarative"
    public static let summary = "a format defined in a JSON file"
    public static func sniff(_ head: SniffHead) -> Double { 0 }

    let format: DeclarativeFormat
    private let zoneNs: Int64
    private let zoneKnown: Bool
    /// The year for layouts without one (RFC 3164): the file's, from its modification time.
    private let fileYear: Int
    private let fileTime: Int64?
    private var held: EventRecord? = nil
    private var count: Int64 = 0
    private var digits = 0
    private var noTime = 0

    public init(context: ParseContext) {
        preconditionFailure("a declarative parser is made from its format: DeclarativeFormat.parser(context:)")
    }

    init(format: DeclarativeFormat, context: ParseContext) {
        self.format = format
        let zone = format.zoneSeconds ?? context.zoneOffset
        zoneNs = Int64(zone ?? 0) * CivilTime.nsPerSecond
        zoneKnown = zone != nil
        fileTime = context.takenAt ?? context.modified
        fileYear = fileTime.map { CivilTime.civil(days: $0 / CivilTime.nsPerDay).year } ?? 1970
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        if line.isBlank { return }
        let text = line.string
        let range = NSRange(text.startIndex..., in: text)
        if let c = format.continuation, var r = held, c.firstMatch(in: text, range: range) != nil {
            r.rawLen = Int(line.offset - r.rawAt) + line.bytes.count
            held = r
            return
        }
        for (k, pattern) in format.patterns.enumerated() {
            guard let m = pattern.firstMatch(in: text, range: range) else { continue }
            release(sink)
            guard let r = record(m, names: format.groups[k], text: text, line: line) else {
                noTime += 1
                sink.unparsed(UnparsedLine(line: line.number, reason: "\(format.id): the time group fits none of time.formats", raw: text))
                return
            }
            held = r
            return
        }
        sink.unparsed(UnparsedLine(line: line.number, reason: "fits none of \(format.id)'s patterns", raw: text))
    }

    /// A group's text and where it starts in the line's bytes.
    private func group(_ m: NSTextCheckingResult, _ name: String, _ text: String) -> (String, Int)? {
        let r = m.range(withName: name)
        guard r.location != NSNotFound, let sr = Range(r, in: text) else { return nil }
        return (String(text[sr]), text.utf8.distance(from: text.utf8.startIndex, to: sr.lowerBound))
    }

    private mutating func record(_ m: NSTextCheckingResult, names: [String], text: String, line: Line) -> EventRecord? {
        let spec = format.spec
        guard let (timeText, _) = group(m, spec.time.group, text) else { return nil }
        var parsed: (ns: Int64, digits: Int, zoned: Bool)? = nil
        var utf8 = Array(timeText.utf8)
        for f in format.times {
            parsed = utf8.withUnsafeBufferPointer { f.parse($0, year: fileYear) }
            if var p = parsed {
                // A year-less syslog line later than its file was written is from the year before.
                if f.lacksYear, let ft = fileTime, p.ns > ft + CivilTime.nsPerDay {
                    p.ns = utf8.withUnsafeBufferPointer { f.parse($0, year: fileYear - 1) }?.ns ?? p.ns
                    parsed = p
                }
                break
            }
        }
        utf8.removeAll()
        guard let t = parsed else { return nil }
        digits = max(digits, t.digits)
        count += 1
        let summaryAt = spec.fields?.message.flatMap { group(m, $0, text)?.1 } ?? 0
        var r = EventRecord(line: line.number, ordinal: count, ts: t.ns - (t.zoned ? 0 : zoneNs), kind: .log, rawAt: line.offset,
                            rawLen: line.bytes.count, summaryAt: summaryAt)
        r.label = spec.label ?? spec.name
        var attrs: [String] = []
        if let f = spec.fields {
            if let g = f.src, let (s, _) = group(m, g, text) { (r.src, r.srcPort) = endpoint(s, f.src_port.flatMap { group(m, $0, text)?.0 }) }
            if let g = f.dst, let (s, _) = group(m, g, text) { (r.dst, r.dstPort) = endpoint(s, f.dst_port.flatMap { group(m, $0, text)?.0 }) }
            if r.src != nil || r.dst != nil { r.proto = IPProto.tcp }
            if let g = f.pid, let (s, _) = group(m, g, text), let p = Int64(s) { attrs.append("\"pid\":\(p)") }
            if let g = f.process, let (s, _) = group(m, g, text) { attrs.append("\"process\":" + jsonString(s)) }
            if let g = f.level, let (s, _) = group(m, g, text) { attrs.append("\"level\":" + jsonString(s)) }
            for g in f.attrs ?? [] {
                guard let (s, _) = group(m, g, text) else { continue }
                attrs.append(jsonString(g) + ":" + (Int64(s) != nil && !s.hasPrefix("0") || s == "0" ? s : jsonString(s)))
            }
        }
        if !attrs.isEmpty { r.attrs = "{" + attrs.joined(separator: ",") + "}" }
        return r
    }

    /// `10.1.1.1`, `10.1.1.1:443`, `[2001:db8::1]:443`, with the port from its own group when given.
    private func endpoint(_ s: String, _ port: String?) -> (Address?, Int32) {
        if let port, let p = Int32(port) { return (Address(ip: s), p) }
        if let a = Address(ip: s) { return (a, -1) }
        if s.hasPrefix("["), let close = s.lastIndex(of: "]") {
            return (Address(ip: String(s[s.index(after: s.startIndex)..<close])), Int32(s[s.index(after: close)...].dropFirst()) ?? -1)
        }
        if let colon = s.lastIndex(of: ":"), let a = Address(ip: String(s[..<colon])) { return (a, Int32(s[s.index(after: colon)...]) ?? -1) }
        return (nil, -1)
    }

    public mutating func idle(into sink: RecordSink) { release(sink) }

    public var timeSoFar: (basis: TimeBasis, digits: Int)? { (.absolute, digits) }

    private mutating func release(_ sink: RecordSink) {
        if let r = held.take() { sink.emit(r) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        release(sink)
        var f = SourceFacts()
        f.timeBasis = .absolute
        f.timeDigits = digits
        f.zoneKnown = zoneKnown || format.times.allSatisfy(\.hasZone)
        f.notes["format file"] = format.origin
        if format.times.contains(where: \.lacksYear) { f.notes["year"] = "from the file's modification time (\(fileYear)); the layout has none" }
        return f
    }
}
