import Foundation
import TraceModel

/// `netstat` socket tables, Windows and Linux:
/// - Windows `netstat -an`, `-ano` (PID), `-ano` with the offload state (`… LISTENING 4 InHost`), `-anob` (the
///   `[process.exe]` and service lines under a row attach to it), piped through `find` (no header,
///   `UDP 10.2.2.10:3478 *:* 1952`), IPv6 `[::]:135`, `[fe80::…%12]:…`, UDP rows without a state;
/// - Linux `netstat -tanp`, `-tunap`: `tcp 0 0 10.95.0.2:8000 0.0.0.0:* LISTEN 14899/python3`.
/// Each row is a socket at the snapshot's time (`SocketSnapshotClock`).
public struct NetstatText: LineParser {
    public static let id = "netstat_text"
    public static let summary = "netstat socket tables: Windows -an/-ano/-anob (offload state, find output), Linux -tanp/-tunap; snapshots with date lines"

    private var clock = SocketSnapshotClock()
    private var tokens: [Token] = []
    private var count: Int64 = 0
    private var held: EventRecord? = nil

    public init(context: ParseContext) {}

    static let states: Set<String> = ["LISTENING", "LISTEN", "ESTABLISHED", "SYN_SENT", "SYN_RECEIVED", "SYN_RECV", "FIN_WAIT_1", "FIN_WAIT1",
                                      "FIN_WAIT_2", "FIN_WAIT2", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK", "CLOSING", "CLOSED", "BOUND", "DELETE_TCB"]

    public static func sniff(_ head: SniffHead) -> Double {
        var n = 0, hits = 0
        for line in head.lines.prefix(100) where !line.isEmpty {
            if line.contains("Proto") && line.contains("Local Address") && line.contains("Foreign Address") { return 0.95 }
            n += 1
            let t = line.split(separator: " ", omittingEmptySubsequences: true)
            if t.count >= 3, ["TCP", "UDP", "tcp", "udp", "tcp6", "udp6"].contains(String(t[0])), t[1].contains(":") || t.count > 4 && t[3].contains(":") { hits += 1 }
        }
        return n > 0 && hits * 2 > n ? 0.8 : 0
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        if line.isBlank { return }
        let text = line.string
        let trimmed = text.trimmingCharacters(in: [" ", "\t"])
        if clock.timeLine(trimmed) { release(sink); sink.structure(line: line.number); return }
        if trimmed.hasPrefix("Active ") { release(sink); clock.header(); sink.structure(line: line.number); return }
        if trimmed.hasPrefix("Proto ") { release(sink); sink.structure(line: line.number); return }
        b.tokenize(into: &tokens)
        let first = tokens.isEmpty ? "" : b.string(tokens[0])
        let isRow = ["TCP", "UDP", "tcp", "udp", "tcp6", "udp6"].contains(first)
        if !isRow {
            // -anob: `[svchost.exe]` and the service name under a row belong to it.
            if var r = held {
                r.rawLen = Int(line.offset - r.rawAt) + b.count
                if trimmed.hasPrefix("["), trimmed.hasSuffix("]"), let a = r.attrs {
                    r.attrs = String(a.dropLast()) + ",\"process\":" + jsonString(String(trimmed.dropFirst().dropLast())) + "}"
                } else if let a = r.attrs, !trimmed.hasPrefix("Can not obtain") {
                    r.attrs = String(a.dropLast()) + ",\"service\":" + jsonString(trimmed) + "}"
                }
                held = r
                return
            }
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a netstat row", raw: text))
            return
        }
        release(sink)
        let proto = first.lowercased().hasPrefix("udp") ? IPProto.udp : IPProto.tcp
        // Linux rows carry Recv-Q and Send-Q before the addresses.
        let linux = first == first.lowercased()
        let a = linux ? 3 : 1
        guard tokens.count >= a + 2, let local = SocketRow.endpoint(Substring(b.string(tokens[a]))),
              let remote = SocketRow.endpoint(Substring(b.string(tokens[a + 1]))) else {
            sink.unparsed(UnparsedLine(line: line.number, reason: "netstat row without its two addresses", raw: text))
            return
        }
        var k = a + 2
        var state: String? = nil
        if k < tokens.count, NetstatText.states.contains(b.string(tokens[k])) { state = b.string(tokens[k]); k += 1 }
        var pid: Int64? = nil, process: String? = nil
        var extra: [String] = []
        if k < tokens.count {
            let t = b.string(tokens[k])
            if linux, let slash = t.firstIndex(of: "/"), let p = Int64(t[..<slash]) {
                pid = p; process = String(t[t.index(after: slash)...]); k += 1
            } else if let p = Int64(t) { pid = p; k += 1 }
        }
        // Windows' offload state column (`InHost`, `Offloaded`).
        if !linux, k < tokens.count { extra.append("\"offload\":" + jsonString(b.string(tokens[k]))) }
        clock.row()
        count += 1
        held = SocketRow.event(line: line, ordinal: count, ts: clock.time, proto: proto, local: local, remote: remote,
                               state: state.map(NetstatText.normalized), pid: pid, process: process, snapshot: max(clock.snapshot, 1), extra: extra)
    }

    /// One name per state whichever tool wrote it (ss's, which are also TCP's: LISTEN, ESTAB, TIME-WAIT).
    static func normalized(_ s: String) -> String {
        switch s {
        case "LISTENING", "LISTEN": return "LISTEN"
        case "ESTABLISHED": return "ESTAB"
        case "SYN_RECEIVED", "SYN_RECV": return "SYN-RECV"
        case "FIN_WAIT1", "FIN_WAIT_1": return "FIN-WAIT-1"
        case "FIN_WAIT2", "FIN_WAIT_2": return "FIN-WAIT-2"
        default: return s.replacingOccurrences(of: "_", with: "-")
        }
    }

    private mutating func release(_ sink: RecordSink) {
        if let r = held.take() { sink.emit(r) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        release(sink)
        return clock.facts
    }
}
