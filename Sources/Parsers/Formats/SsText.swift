import TraceModel

/// Linux `ss` socket tables: `ss -tan`, `-tanp`, `-tunap` (a `Netid` column first), `-tanpie` (indented detail
/// lines — timer, uid, ino, cubic, rtt, cwnd, bytes_acked — under their socket). Process column
/// `users:(("nginx",pid=12,fd=6),("nginx",pid=13,fd=6))`. Each row is a socket at the snapshot's time
/// (`SocketSnapshotClock`).
public struct SsText: LineParser, SocketTableParser {
    public static let id = "ss_text"
    public static let summary = "Linux ss socket tables (-tan, -tanp, -tunap, -tanpie), one or many snapshots with date lines"

    private var clock: SocketSnapshotClock
    private let context: ParseContext
    private var tokens: [Token] = []
    private var netid = false
    private var count: Int64 = 0
    var held: EventRecord? = nil
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
        if let c = cut.take() {
            // The rest of a row the console cut: at column 0, and neither a row, a header nor a date line.
            if !line.isBlank, !ASCII.isSpace(b[0]), !isTimeLine(b), !isHeader(b), !SsText.states.contains(firstWord(b)) {
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
            b.tokenize(into: &tokens)
            let extra = SsText.details(b, tokens)
            if !extra.isEmpty, let a = r.attrs { r.attrs = String(a.dropLast()) + "," + extra.joined(separator: ",") + "}" }
            held = r
            return
        }
        release(sink)
        if SocketSnapshotClock.mayBeTimeLine(b), clock.timeLine(line.string) { sink.structure(line: line.number); return }
        if isHeader(b) { netid = b.count > 0 && b[0] == UInt8(ascii: "N"); clock.header(); sink.structure(line: line.number); return }
        // (A line as long as a console is wide may go on on the next: parsed strictly first.)
        let result = row(b, number: line.number, offset: line.offset, length: b.count, strict: CutRow.mayBeCut(b))
        switch result {
        case .row(let r): held = r
        case .bad where CutRow.mayBeCut(b): cut = CutRow(number: line.number, offset: line.offset, bytes: Array(b))
        case .bad: finishRow(b, number: line.number, offset: line.offset, length: b.count, sink: sink)
        }
    }

    private func isHeader(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        b.count >= 6 && (b.starts(with: "State ".utf8) || b.starts(with: "Netid ".utf8))
    }

    private func isTimeLine(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard SocketSnapshotClock.mayBeTimeLine(b) else { return false }
        var probe = clock
        return probe.timeLine(String(decoding: b, as: UTF8.self))
    }

    private func firstWord(_ b: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: b.prefix { !ASCII.isSpace($0) }, as: UTF8.self)
    }

    /// One row. `strict`: only a whole one (its process list closed), for deciding whether a row was cut.
    mutating func row(_ b: UnsafeBufferPointer<UInt8>, number: Int, offset: Int64, length: Int, strict: Bool) -> SocketRowResult {
        b.tokenize(into: &tokens)
        var k = 0
        var proto = IPProto.tcp
        if netid, tokens.count > 0 {
            let n = b.string(tokens[0])
            proto = n == "udp" ? IPProto.udp : IPProto.tcp
            k = 1
        }
        guard tokens.count >= k + 5, SsText.states.contains(b.string(tokens[k])),
              let local = SocketRow.endpoint(b, tokens[k + 3], context),
              let remote = SocketRow.endpoint(b, tokens[k + 4], context) else {
            return .bad(tokens.count < k + 5 && tokens.count > k && SsText.states.contains(b.string(tokens[k])) ? "ss row cut short" : "not an ss socket row")
        }
        // users:(("python3",pid=14971,fd=3),…): the first user names the process; all pids are kept.
        var pid: Int64? = nil, process: String? = nil
        var extra: [String] = []
        if tokens.count > k + 5 {
            let rest = UnsafeBufferPointer(rebasing: b[tokens[k + 5].start...])
            if strict, rest.reduce(0, { $0 + ($1 == UInt8(ascii: "(") ? 1 : $1 == UInt8(ascii: ")") ? -1 : 0) }) != 0 { return .bad("cut") }
            if b.hasPrefix(tokens[k + 5], "users:") {
                var pids: [Int64] = []
                var i = 0
                while i + 4 < rest.count {
                    if rest[i] == UInt8(ascii: "p"), rest[i + 1] == UInt8(ascii: "i"), rest[i + 2] == UInt8(ascii: "d"), rest[i + 3] == UInt8(ascii: "=") {
                        var j = i + 4
                        while j < rest.count, ASCII.isDigit(rest[j]) { j += 1 }
                        if let p = rest.uint(i + 4, j) { pids.append(p) }
                        i = j
                    } else { i += 1 }
                }
                pid = pids.first
                if let q = rest.firstIndex(of: UInt8(ascii: "\"")), let q2 = rest[(q + 1)...].firstIndex(of: UInt8(ascii: "\"")) {
                    process = rest.string(q + 1, q2)
                }
                if pids.count > 1 { extra.append("\"pids\":[" + pids.map(String.init).joined(separator: ",") + "]") }
            }
            // -e on the row itself: `timer:(timewait,55sec,0) ino:726346 sk:8`.
            extra += SsText.details(b, Array(tokens[(k + 5)...]))
        } else if strict, remote.port < 0, remote.address != nil {
            return .bad("cut")
        }
        clock.row()
        count += 1
        return .row(SocketRow.event(line: number, offset: offset, length: length, ordinal: count, ts: clock.time, proto: proto, local: local,
                                    remote: remote, state: b.string(tokens[k]), pid: pid, process: process, snapshot: clock.snapshot, extra: extra))
    }

    /// The -e/-i values users ask for: timer, uid, inode, rtt (avg/var ms), cwnd, bytes acked, retransmits.
    static func details(_ b: UnsafeBufferPointer<UInt8>, _ tokens: [Token]) -> [String] {
        var out: [String] = []
        for t in tokens {
            for key in detailKeys where b.hasPrefix(t, key.prefix) {
                let v = b.string(t.start + key.prefix.utf8CodeUnitCount, t.end)
                out.append("\"\(key.name)\":" + (Int64(v) != nil ? v : jsonString(v)))
            }
        }
        return out
    }

    static let detailKeys: [(prefix: StaticString, name: String)] = [
        ("timer:", "timer"), ("uid:", "uid"), ("ino:", "ino"), ("rtt:", "rtt"), ("cwnd:", "cwnd"), ("bytes_acked:", "bytes_acked"), ("retrans:", "retrans"),
    ]

    private mutating func release(_ sink: RecordSink) {
        if let r = held.take() { sink.emit(r) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        if let c = cut.take() { c.bytes.withUnsafeBufferPointer { finishRow($0, number: c.number, offset: c.offset, length: c.bytes.count, sink: sink) } }
        release(sink)
        return clock.facts
    }
}
