import TraceModel

/// Linux `ss` socket tables: `ss -tan`, `-tanp`, `-tunap` (a `Netid` column first), `-tanpie` (indented detail
/// lines — timer, uid, ino, cubic, rtt, cwnd, bytes_acked — under their socket). Process column
/// `users:(("nginx",pid=12,fd=6),("nginx",pid=13,fd=6))`. Each row is a socket at the snapshot's time
/// (`SocketSnapshotClock`).
public struct SsText: LineParser {
    public static let id = "ss_text"
    public static let summary = "Linux ss socket tables (-tan, -tanp, -tunap, -tanpie), one or many snapshots with date lines"

    private var clock = SocketSnapshotClock()
    private var tokens: [Token] = []
    private var netid = false
    private var count: Int64 = 0
    private var held: EventRecord? = nil

    public init(context: ParseContext) {}

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
        if line.isBlank { return }
        let text = line.string
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
        b.tokenize(into: &tokens)
        var k = 0
        var proto = IPProto.tcp
        if netid, tokens.count > 0 {
            let n = b.string(tokens[0])
            proto = n == "udp" ? IPProto.udp : IPProto.tcp
            k = 1
        }
        guard tokens.count >= k + 5, SsText.states.contains(b.string(tokens[k])),
              let local = SocketRow.endpoint(Substring(b.string(tokens[k + 3]))), let remote = SocketRow.endpoint(Substring(b.string(tokens[k + 4]))) else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "not an ss socket row", raw: text))
            return
        }
        clock.row()
        count += 1
        // users:(("python3",pid=14971,fd=3),…): the first user names the process; all pids are kept.
        var pid: Int64? = nil, process: String? = nil
        var extra: [String] = []
        if tokens.count > k + 5 {
            let users = b.string(tokens[k + 5].start, b.count)
            let pids = users.split(separator: "pid=").dropFirst().compactMap { Int64($0.prefix { $0.isNumber }) }
            pid = pids.first
            if let q = users.firstIndex(of: "\""), let q2 = users[users.index(after: q)...].firstIndex(of: "\"") {
                process = String(users[users.index(after: q)..<q2])
            }
            if pids.count > 1 { extra.append("\"pids\":[" + pids.map(String.init).joined(separator: ",") + "]") }
        }
        // -e on the row itself: `timer:(timewait,55sec,0) ino:726346 sk:8`.
        if tokens.count > k + 5 { extra += SsText.details(b.string(tokens[k + 5].start, b.count)) }
        held = SocketRow.event(line: line, ordinal: count, ts: clock.time, proto: proto, local: local, remote: remote,
                               state: b.string(tokens[k]), pid: pid, process: process, snapshot: clock.snapshot, extra: extra)
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
        release(sink)
        return clock.facts
    }
}
