import TraceModel

/// Linux `ss` socket tables: `ss -tan`, `-tanp`, `-tunap` (a `Netid` column first), `-tanpie` (indented detail
/// lines — timer, uid, ino, cubic, rtt, cwnd, bytes_acked — under their socket). Process column
/// `users:(("nginx",pid=12,fd=6),("nginx",pid=13,fd=6))`. Each row is a socket at the snapshot's time
/// (`SocketSnapshotClock`).
public struct SsText: LineParser {
    public static let id = "ss_text"
    public static let summary = "Linux ss socket tables (-tan, -tanp, -tunap, -tanpie), one or many snapshots with date lines"

    private var clock: SocketSnapshotClock
    private let context: ParseContext
    private var tokens: [Token] = []
    private var netid = false
    private var count: Int64 = 0
    private var held: EventRecord? = nil
    private var cut: CutRow? = nil

    public init(context: ParseContext) {
        self.context = context
        clock = SocketSnapshotClock(context: context)
    }

    public static func sniff(_ head: SniffHead) -> Double {
        for line in head.lines.prefix(20) {
            if (line.hasPrefix("State ") || line.hasPrefix("Netid ")) && line.contains("Recv-Q") && line.contains("Local Address:Port") { return 0.95 }
        }
        return 0
    }

    static let states: Set<String> = ["ESTAB", "LISTEN", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSE-WAIT",
                                      "LAST-ACK", "CLOSING", "CLOSED", "UNCONN", "UNKNOWN"]

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        let text = line.string
        if let c = cut.take() {
            var probe = clock
            // The rest of a row the console cut: at column 0, and neither a row, a header nor a date line.
            if !line.isBlank, !ASCII.isSpace(b[0]), !probe.timeLine(text), !text.hasPrefix("State "), !text.hasPrefix("Netid "),
               !SsText.states.contains(String(text.prefix { $0 != " " })) {
                for space in [false, true] {
                    let whole = c.joined(b, space: space)
                    let done = whole.withUnsafeBufferPointer { row($0, number: c.number, offset: c.offset, length: Int(line.offset - c.offset) + b.count, strict: true) }
                    if case .row(let r) = done { held = r; return }
                }
            }
            c.bytes.withUnsafeBufferPointer { finishRow($0, number: c.number, offset: c.offset, length: c.bytes.count, sink: sink) }
        }
        if line.isBlank { return }
        if ASCII.isSpace(b[0]), var r = held {
            // -e/-i details of the socket above: kept with it, and the numbers users ask for in attrs.
            r.rawLen = Int(line.offset - r.rawAt) + b.count
            let extra = SsText.details(text)
            if !extra.isEmpty, let a = r.attrs { r.attrs = String(a.dropLast()) + "," + extra.joined(separator: ",") + "}" }
            held = r
            return
        }
        release(sink)
        if clock.timeLine(text) { sink.structure(line: line.number); return }
        if text.hasPrefix("State ") || text.hasPrefix("Netid ") { netid = text.hasPrefix("Netid "); clock.header(); sink.structure(line: line.number); return }
        if CutRow.mayBeCut(b), case .bad = row(b, number: line.number, offset: line.offset, length: b.count, strict: true) {
            cut = CutRow(number: line.number, offset: line.offset, bytes: Array(b))
            return
        }
        finishRow(b, number: line.number, offset: line.offset, length: b.count, sink: sink)
    }

    private enum RowResult { case row(EventRecord), bad(String) }

    private mutating func finishRow(_ b: UnsafeBufferPointer<UInt8>, number: Int, offset: Int64, length: Int, sink: RecordSink) {
        switch row(b, number: number, offset: offset, length: length, strict: false) {
        case .row(let r): held = r
        case .bad(let why): sink.unparsed(UnparsedLine(line: number, reason: why, raw: String(decoding: b, as: UTF8.self)))
        }
    }

    /// One row. `strict`: only a whole one (its process list closed), for deciding whether a row was cut.
    private mutating func row(_ b: UnsafeBufferPointer<UInt8>, number: Int, offset: Int64, length: Int, strict: Bool) -> RowResult {
        b.tokenize(into: &tokens)
        var k = 0
        var proto = IPProto.tcp
        if netid, tokens.count > 0 {
            let n = b.string(tokens[0])
            proto = n == "udp" ? IPProto.udp : IPProto.tcp
            k = 1
        }
        guard tokens.count >= k + 5, SsText.states.contains(b.string(tokens[k])),
              let local = SocketRow.endpoint(Substring(b.string(tokens[k + 3])), context),
              let remote = SocketRow.endpoint(Substring(b.string(tokens[k + 4])), context) else {
            return .bad(tokens.count < k + 5 && tokens.count > k && SsText.states.contains(b.string(tokens[k])) ? "ss row cut short" : "not an ss socket row")
        }
        let rest = tokens.count > k + 5 ? b.string(tokens[k + 5].start, b.count) : ""
        if strict, rest.filter({ $0 == "(" }).count != rest.filter({ $0 == ")" }).count { return .bad("cut") }
        if strict, tokens.count == k + 5, remote.port < 0, remote.address != nil { return .bad("cut") }
        // users:(("python3",pid=14971,fd=3),…): the first user names the process; all pids are kept.
        var pid: Int64? = nil, process: String? = nil
        var extra: [String] = []
        if !rest.isEmpty {
            let pids = rest.split(separator: "pid=").dropFirst().compactMap { Int64($0.prefix { $0.isNumber }) }
            pid = pids.first
            if let q = rest.firstIndex(of: "\""), let q2 = rest[rest.index(after: q)...].firstIndex(of: "\"") {
                process = String(rest[rest.index(after: q)..<q2])
            }
            if pids.count > 1 { extra.append("\"pids\":[" + pids.map(String.init).joined(separator: ",") + "]") }
            // -e on the row itself: `timer:(timewait,55sec,0) ino:726346 sk:8`.
            extra += SsText.details(rest)
        }
        clock.row()
        count += 1
        return .row(SocketRow.event(line: number, offset: offset, length: length, ordinal: count, ts: clock.time, proto: proto, local: local,
                                    remote: remote, state: b.string(tokens[k]), pid: pid, process: process, snapshot: clock.snapshot, extra: extra))
    }

    /// The -e/-i values users ask for: timer, uid, inode, rtt (avg/var ms), cwnd, bytes acked, retransmits.
    static func details(_ text: String) -> [String] {
        var out: [String] = []
        for part in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            for key in ["timer:", "uid:", "ino:", "rtt:", "cwnd:", "bytes_acked:", "retrans:"] where part.hasPrefix(key) {
                let v = part.dropFirst(key.count)
                out.append("\"\(key.dropLast())\":" + (Int64(v) != nil ? String(v) : jsonString(String(v))))
            }
        }
        return out
    }

    private mutating func release(_ sink: RecordSink) {
        if let r = held.take() { sink.emit(r) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        if let c = cut.take() { c.bytes.withUnsafeBufferPointer { finishRow($0, number: c.number, offset: c.offset, length: c.bytes.count, sink: sink) } }
        release(sink)
        return clock.facts
    }
}
