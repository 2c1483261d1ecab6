import TraceModel

/// Windows `tasklist` output: which image each process id runs, per host. Plain (`Image Name  PID  Session
/// Name  Session#  Mem Usage`), `/svc` (`Image Name  PID  Services`, services continued on indented lines),
/// and the flattened copies documents hold, rows run together with the memory's `K` glued to the next image
/// (`…Console 0 1,040,592 Kemsmta.exe 12020 Console 0 29,092 K…`).
///
/// A tasklist has no time: it gives no events, only the process map (`RecordSink.process`), which names the
/// processes of that host's events that carry only a PID (tracerpt rows, netstat -ano).
public struct TasklistText: LineParser {
    public static let id = "tasklist_text"
    public static let summary = "Windows tasklist output (plain, /svc, or flattened): the host's process id → image map"

    private var tokens: [Token] = []
    private var services = false
    private var last: (pid: Int64, image: String, services: String, line: Int)? = nil
    private var count = 0

    public init(context: ParseContext) {}

    public static func sniff(_ head: SniffHead) -> Double {
        for line in head.lines.prefix(20) {
            if line.hasPrefix("Image Name") && line.contains("PID") { return 0.95 }
            // Flattened rows: `name.exe PID Console|Services N MEM K`.
            if line.contains(".exe "), line.contains(" Console 0 ") || line.contains(" Services 0 "), line.contains(" K") { return 0.7 }
            // `tasklist /svc | find "1952"`: rows without their header, `image.exe PID SERVICES`.
            let t = line.split(separator: " ", omittingEmptySubsequences: true)
            if t.count >= 3, t[0].lowercased().hasSuffix(".exe"), Int(t[1]) != nil, Int(t[2]) == nil { return 0.6 }
        }
        return 0
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        if line.isBlank { return }
        let text = line.string
        if text.hasPrefix("Image Name") { services = text.contains("Services"); return }
        if text.hasPrefix("=====") { return }
        b.tokenize(into: &tokens)
        if services {
            if ASCII.isSpace(b[0]), var l = last {
                // `/svc` continues a long service list on the next line.
                l.services += " " + text.trimmingCharacters(in: .whitespaces)
                last = l
                return
            }
            flush(sink)
            // `svchost.exe   868 DcomLaunch, PlugPlay`: the image may hold spaces; the PID is the first number.
            guard let k = tokens.indices.first(where: { b.uint(tokens[$0]) != nil }), k > 0, let pid = b.uint(tokens[k]) else {
                sink.unparsed(UnparsedLine(line: line.number, reason: "not a tasklist /svc row", raw: text))
                return
            }
            let image = b.string(tokens[0].start, tokens[k - 1].end)
            let rest = k + 1 < tokens.count ? b.string(tokens[k + 1].start, b.count) : ""
            last = (pid, image, rest, line.number)
            return
        }
        // Plain or flattened: NAME PID SESSION-NAME SESSION# MEM K — find each `PID <word> <number> <mem> K`.
        var i = 0
        var found = false
        while i + 4 < tokens.count {
            guard let pid = b.uint(tokens[i + 1]), b.uint(tokens[i + 3]) != nil, TasklistText.isMemory(b.string(tokens[i + 4])) else { i += 1; continue }
            // A row alone on its line may have spaces in its image (`System Idle Process`); in flattened copies
            // the previous row's `K` is glued to the image (`Kstore.exe`).
            var image = !found && i > 0 && !b.string(tokens[0]).hasPrefix("...") ? b.string(tokens[0].start, tokens[i].end) : b.string(tokens[i])
            if found, image.hasPrefix("K"), image.count > 1 { image.removeFirst() }
            if image.hasPrefix("...") { image.removeFirst(3) }
            sink.process(pid: pid, image: image, services: nil, line: line.number)
            count += 1
            found = true
            i += 5
        }
        if !found, tokens.count >= 3, let pid = b.uint(tokens[1]), b.uint(tokens[2]) == nil {
            // A /svc row without its header (`tasklist /svc | find "1952"`): image, PID, services.
            let svc = b.string(tokens[2].start, b.count)
            sink.process(pid: pid, image: b.string(tokens[0]), services: svc == "N/A" ? nil : svc, line: line.number)
            count += 1
            found = true
        }
        if !found { sink.unparsed(UnparsedLine(line: line.number, reason: "not a tasklist row", raw: text)) }
    }

    /// `4,324` or `1,040,592` (thousands separators, the `K` comes after).
    static func isMemory(_ s: String) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isNumber || $0 == "," || $0 == "." }
    }

    private mutating func flush(_ sink: RecordSink) {
        if let l = last {
            sink.process(pid: l.pid, image: l.image, services: l.services.isEmpty || l.services == "N/A" ? nil : l.services, line: l.line)
            count += 1
        }
        last = nil
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        flush(sink)
        var facts = SourceFacts()
        facts.notes["processes"] = String(count)
        return facts
    }
}
