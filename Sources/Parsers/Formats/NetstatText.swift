import Foundation
import TraceModel

/// `netstat` socket tables, Windows and Linux:
/// - Windows `netstat -an`, `-ano` (PID), `-ano` with the offload state (`… LISTENING 4 InHost`), `-anob` (the
///   `[process.exe]` and service lines under a row attach to it), piped through `find` (no header,
///   `UDP 10.2.2.10:3478 *:* 1952`), IPv6 `[::]:135`, `[fe80::…%12]:…`, UDP rows without a state, without -n
///   (`ec2-3-218-125-188:https`), and localized (German `Aktive Verbindungen` … `ABHÖREN`, French
///   `Connexions actives`): any title line above the `Proto` header; unknown state words are kept as
///   written and reported;
/// - Linux `netstat -tanp`, `-tunap`: `tcp 0 0 10.95.0.2:8000 0.0.0.0:* LISTEN 14899/python3`, also in
///   net-tools' translations (`Aktive Internetverbindungen`, `VERBUNDEN`, Czech `POSLEDNÍ ACK` in two words).
/// Each row is a socket at the snapshot's time (`SocketSnapshotClock`). Rows the console cut at its width
/// are joined back (`CutRow`).
public struct NetstatText: LineParser, SocketTableParser {
    public static let id = "netstat_text"
    public static let summary = "netstat socket tables: Windows -an/-ano/-anob (offload state, find output, localized), Linux -tanp/-tunap; snapshots with date lines"

    private var clock: SocketSnapshotClock
    private let context: ParseContext
    private var tokens: [Token] = []
    private var count: Int64 = 0
    var held: EventRecord? = nil
    private var cut: CutRow? = nil
    /// A line at column 0 that is no row: the table's title if a `Proto` header follows.
    private var title: (number: Int, raw: String)? = nil
    /// The header ran to the console's width: its last words may be on the next line.
    private var headerCut = false
    /// State words no table of ours uses, with the first line that had each (a language we do not know).
    private var unknownStates: [String: Int] = [:]

    public init(context: ParseContext) {
        self.context = context
        clock = SocketSnapshotClock(context: context)
    }

    static let protocols: Set<String> = ["TCP", "UDP", "tcp", "udp", "tcp6", "udp6", "TCPv6", "UDPv6"]

    public static func sniff(_ head: SniffHead) -> Double {
        var n = 0, hits = 0
        for line in head.lines.prefix(100) where !line.isEmpty {
            if line.contains("Proto") && line.contains("Local Address") && line.contains("Foreign Address") { return 0.95 }
            n += 1
            let t = line.split(separator: " ", omittingEmptySubsequences: true)
            if t.count >= 3, protocols.contains(String(t[0])), t[1].contains(":") || t.count > 4 && t[3].contains(":") { hits += 1 }
        }
        return n > 0 && hits * 2 > n ? 0.8 : 0
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        let text = line.string.trimmingCharacters(in: [" ", "\t"])
        let kind = kind(of: text)
        if let c = cut.take() {
            if !line.isBlank, !ASCII.isSpace(b[0]), kind == .other {
                // The rest of a cut row: joined where it was cut, or at a space if that reads better.
                for space in [false, true] {
                    let whole = c.joined(b, space: space)
                    let done = whole.withUnsafeBufferPointer { row($0, number: c.number, offset: c.offset, length: Int(line.offset - c.offset) + b.count, strict: !space) }
                    if case .row(let r) = done { held = r; return }
                }
            }
            c.bytes.withUnsafeBufferPointer { finishRow($0, number: c.number, offset: c.offset, length: c.bytes.count, sink: sink) }
        }
        if line.isBlank { return }
        if headerCut {
            headerCut = false
            if kind == .other, !ASCII.isSpace(b[0]) { sink.structure(line: line.number); return }
        }
        if let t = title.take() {
            if kind == .header { sink.structure(line: t.number) }
            else { sink.unparsed(UnparsedLine(line: t.number, reason: "not a netstat row", raw: t.raw)) }
        }
        switch kind {
        case .timeLine, .header:
            release(sink)
            if kind == .timeLine { _ = clock.timeLine(text) }
            // Without date lines, each table is the next snapshot.
            if kind == .header { clock.header(); headerCut = CutRow.mayBeCut(b) }
            sink.structure(line: line.number)
            return
        case .row:
            release(sink)
            if CutRow.mayBeCut(b) { cut = CutRow(number: line.number, offset: line.offset, bytes: Array(b)); return }
            finishRow(b, number: line.number, offset: line.offset, length: b.count, sink: sink)
        case .other:
            let trimmed = text
            if !ASCII.isSpace(b[0]) {
                title = (line.number, line.string)
                return
            }
            // -anob: `[svchost.exe]` and the service name under a row belong to it (indented).
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
            sink.unparsed(UnparsedLine(line: line.number, reason: "not a netstat row", raw: line.string))
        }
    }

    private enum LineKind { case timeLine, header, row, other }

    /// What a line is (the clock is only asked, not set: a cut row before a date line keeps its time).
    private func kind(of text: String) -> LineKind {
        var probe = clock
        if probe.timeLine(text) { return .timeLine }
        if text.hasPrefix("Proto ") { return .header }
        let first = text.prefix { $0 != " " && $0 != "\t" }
        return NetstatText.protocols.contains(String(first)) ? .row : .other
    }

    /// One row. `strict`: only a row whose state word is known (deciding where a cut row joins).
    mutating func row(_ b: UnsafeBufferPointer<UInt8>, number: Int, offset: Int64, length: Int, strict: Bool) -> SocketRowResult {
        b.tokenize(into: &tokens)
        let first = tokens.isEmpty ? "" : b.string(tokens[0])
        let proto = first.lowercased().hasPrefix("udp") ? IPProto.udp : IPProto.tcp
        // Linux rows carry Recv-Q and Send-Q before the addresses.
        let linux = first == first.lowercased()
        let a = linux ? 3 : 1
        guard tokens.count >= a + 2, let local = SocketRow.endpoint(b, tokens[a], context),
              let remote = SocketRow.endpoint(b, tokens[a + 1], context) else {
            return .bad(tokens.count < a + 2 ? "netstat row cut short: no remote address" : "netstat row without its two addresses")
        }
        var k = a + 2
        var state: String? = nil
        var unknown: String? = nil
        // The state is the words after the addresses up to the PID (Windows: digits, then perhaps the
        // offload state; Linux: `1234/name` or `-`); one word but in Czech (`POSLEDNÍ ACK`).
        var words: [String] = []
        while k < tokens.count {
            let t = b.string(tokens[k])
            if linux ? t == "-" || t.contains("/") : Int64(t) != nil || !words.isEmpty && SocketState.normalized(words.joined(separator: " ")) != nil { break }
            words.append(t); k += 1
        }
        if !words.isEmpty {
            let w = words.joined(separator: " ")
            if let s = SocketState.normalized(w) { state = s } else { unknown = w; state = w }
        }
        if strict && (unknown != nil || state == nil && proto == IPProto.tcp) { return .bad("cut") }
        var pid: Int64? = nil, process: String? = nil
        var extra: [String] = []
        if k < tokens.count {
            let t = b.string(tokens[k])
            if linux, let slash = t.firstIndex(of: "/"), let p = Int64(t[..<slash]) {
                pid = p; process = String(t[t.index(after: slash)...]); k += 1
            } else if let p = Int64(t) { pid = p; k += 1 }
            else if linux, t == "-" { k += 1 }
        }
        // Windows' offload state column (`InHost`, `Offloaded`).
        if !linux, k < tokens.count { extra.append("\"offload\":" + jsonString(b.string(tokens[k]))) }
        if let unknown {
            if unknownStates[unknown] == nil { unknownStates[unknown] = number }
            extra.append("\"state_as_written\":true")
        }
        clock.row()
        count += 1
        return .row(SocketRow.event(line: number, offset: offset, length: length, ordinal: count, ts: clock.time, proto: proto, local: local,
                                    remote: remote, state: state, pid: pid, process: process, snapshot: max(clock.snapshot, 1), extra: extra))
    }

    private mutating func release(_ sink: RecordSink) {
        if let r = held.take() { sink.emit(r) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        if let c = cut.take() { c.bytes.withUnsafeBufferPointer { finishRow($0, number: c.number, offset: c.offset, length: c.bytes.count, sink: sink) } }
        if let t = title.take() { sink.unparsed(UnparsedLine(line: t.number, reason: "not a netstat row", raw: t.raw)) }
        release(sink)
        var f = clock.facts
        if !unknownStates.isEmpty {
            f.warnings.append("state words not known, kept as written: " + unknownStates.sorted { $0.value < $1.value }
                .map { "\($0.key) (line \($0.value))" }.joined(separator: ", ") + " (a language tracejoin does not read yet?)")
        }
        return f
    }
}
