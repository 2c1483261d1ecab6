import TraceModel

/// Wireshark and tshark packet lists as text.
///
/// ```
/// No. Time Delta Source Destination Protocol Length Info
/// 5781 2013-01-06 09:52:15.407 0.000 10.0.107.58 10.7.3.187 TCP 66 59193 > 3389 [SYN] Seq=3976196062 Win=8192 Len=0 MSS=1380 WS=256
/// 1917 104.968750 10.1.1.1 172.16.1.1 TCP rmiactivation > http [SYN] Seq=0 Win=65535 Len=0 MSS=1460
///     1 0.000000000    10.99.0.1 → 10.99.0.2    TCP 74 40000 → 8080 [SYN] Seq=0 Win=64240 Len=0 MSS=1460
/// ```
/// Variants: "Export Packet Dissections → As Plain Text" (a header before each packet, details after it),
/// tshark's default layout (`→` between the addresses) and its `-t ad/a/r/d/dd/e` times; columns from
/// the header when there is one (custom ones too: `Identification`, `S-Port`, `TCP Ack`…), from the
/// row's shape when there is none; the destination glued to the protocol (`172.16.5.14TCP`); several
/// packets on one line (copied exports that lost their line breaks); packet details (`Frame 8852 (…)`,
/// `Internet Protocol Version 4, Src: …`, hex dump lines) attached to the frame above them; prose
/// around the table kept as unparsed lines.
public struct WiresharkText: LineParser {
    public static let id = "wireshark_text"
    public static let summary = "Wireshark/tshark packet list as text (Export Packet Dissections, tshark output)"

    private var builder: PacketRowBuilder
    private var resolver: PacketTimeResolver
    private var columns: [PacketColumn]? = nil {
        didSet { layout = columns.map(Layout.init) }
    }
    /// What the header implies, worked out once per header rather than per row.
    private struct Layout {
        var timeColumns: [TimeColumn]
        /// Columns between Protocol and Info, and how many tokens they take when all are present.
        var afterProtocol: [PacketColumn]
        var afterProtocolTokens: Int

        init(_ cols: [PacketColumn]) {
            timeColumns = cols.compactMap { if case .time(let c) = $0 { return c } else { return nil } }
            afterProtocol = []
            for c in cols.drop(while: { $0 != .protocolName }).dropFirst() {
                if c == .info { break }
                afterProtocol.append(c)
            }
            afterProtocolTokens = afterProtocol.reduce(0) { $0 + $1.tokens }
        }
    }
    private var layout: Layout? = nil
    /// Reused for every row so that cutting a row allocates nothing.
    private var row = PacketRowFields(number: Token(0, 0), source: Token(0, 0), destination: Token(0, 0), info: [], rawStart: 0, rawEnd: 0)
    /// Frame starts on the current line: the token index and how many time tokens follow it.
    private var starts: [(at: Int, timeTokens: Int)] = []
    /// Whether rows without a header carry a Length column; learnt from the first row that shows it.
    private var lengthColumn: Bool? = nil
    private var tokens: [Token] = []
    private var lastFrame: Int64 = -1
    /// The last row, held so that detail lines below it join its raw text.
    private var held: EventRecord? = nil
    private var heldTime: RowTime? = nil
    private var facts = SourceFacts()
    private var digits = 0

    public init(context: ParseContext) {
        builder = PacketRowBuilder(services: context.services)
        resolver = PacketTimeResolver(zoneOffset: context.zoneOffset)
    }

    public static func sniff(_ head: SniffHead) -> Double {
        var rows = 0
        var headers = 0
        let probe = WiresharkText(context: ParseContext(path: ""))
        var toks: [Token] = []
        for line in head.lines.prefix(200) {
            // Empty tab-separated fields: a `-T fields` dump (its own format), not a packet list.
            if line.contains("\t\t") { return 0 }
            // Network Monitor's descriptions (`TCP:Flags=......S.`, its ETL providers): its frame lines look
            // like a packet list's, but they are netmon_text's.
            if line.contains("TCP:Flags=") || line.contains("_MicrosoftWindowsTCPIP:") || line.contains("_MicrosoftWindowsWinsockAFD:") { return 0 }
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBufferPointer { mb in
                let b = UnsafeBufferPointer(mb)
                b.tokenize(into: &toks)
                if probe.headerStart(b, toks) != nil { headers += 1 }
                if probe.frameStart(b, toks, at: 0, strict: false) != nil { rows += 1 }
            }
            bytes.removeAll()
        }
        if rows == 0 { return headers > 0 ? 0.3 : 0 }
        // Rows parse as packets, time included: confident; more so with a header.
        return min(1.0, 0.5 + 0.05 * Double(rows) + (headers > 0 ? 0.3 : 0))
    }

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        let b = line.bytes
        if line.isBlank { return }
        b.tokenize(into: &tokens)
        var from = 0
        if let h = headerStart(b, tokens) {
            let words = tokens[h...].map { b.string($0) }
            if let (cols, used) = PacketColumns.parseHeader(words) {
                releaseHeld(sink)
                if h > 0 { sink.unparsed(UnparsedLine(line: line.number, reason: "prose before the packet list header", raw: b.string(0, tokens[h].start))) }
                columns = cols
                lastFrame = -1
                resolver.newTable()
                from = h + used
                if from >= tokens.count { return }
            }
        }
        // Frame starts on this line: the first at `from` (or later, after prose), more if packets were glued.
        starts.removeAll(keepingCapacity: true)
        var i = from
        while i < tokens.count {
            if let f = frameStart(b, tokens, at: i, strict: !(i == 0 && starts.isEmpty)),
               let v = b.uint(tokens[i]), starts.isEmpty || v > lastFrame || i == 0 {
                // Numbers going back: the same capture listed again (a new table), not a delta column.
                if v <= lastFrame { resolver.newTable() }
                starts.append((i, f.timeTokens))
                lastFrame = v
                // The next packet cannot start before this one's protocol column.
                i = f.protocolAt
                continue
            }
            i += 1
        }
        if starts.isEmpty {
            if held != nil && isDetailLine(b) {
                // The frame's raw text grows to the end of its last detail line.
                held!.rawLen = Int(line.offset - held!.rawAt) + b.count
                fillFromDetails(b)
                return
            }
            releaseHeld(sink)
            sink.unparsed(UnparsedLine(line: line.number, reason: from > 0 ? "header followed by no packet" : "not a packet row", raw: line.string))
            return
        }
        if starts[0].at > from {
            releaseHeld(sink)
            sink.unparsed(UnparsedLine(line: line.number, reason: "prose before a packet row", raw: b.string(tokens[from].start, tokens[starts[0].at].start)))
        }
        for (n, start) in starts.enumerated() {
            let s = start.at
            let e = n + 1 < starts.count ? starts[n + 1].at : tokens.count
            guard let fields = rowFields(b, tokens, s, e, timeTokens: start.timeTokens) else {
                releaseHeld(sink)
                sink.unparsed(UnparsedLine(line: line.number, reason: "packet row without source and destination", raw: b.string(tokens[s].start, tokens[e - 1].end)))
                continue
            }
            let (rec, time, d) = builder.build(b, fields, line: line)
            digits = max(digits, d)
            releaseHeld(sink)
            guard let time else {
                sink.unparsed(UnparsedLine(line: line.number, reason: "packet row without a readable time", raw: b.string(fields.rawStart, fields.rawEnd)))
                continue
            }
            held = rec
            heldTime = time
        }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        releaseHeld(sink)
        resolver.finish(into: &facts, digits: digits) { sink.emit($0) }
        return facts
    }

    /// The last row waits for detail lines (`-V`, hex dumps); a followed file that stopped growing has
    /// written its details already (tshark -l writes a packet's lines together).
    public mutating func idle(into sink: RecordSink) { releaseHeld(sink) }

    public var timeSoFar: (basis: TimeBasis, digits: Int)? { resolver.basis.map { ($0, digits) } }

    // MARK: - Rows

    private mutating func releaseHeld(_ sink: RecordSink) {
        guard let t = heldTime, var r = held.take() else { return }
        heldTime = nil
        if resolver.place(&r, time: t, release: { sink.emit($0) }) { sink.emit(r) }
    }

    /// Index of a `No.` token that opens a header (`No. Time …`).
    func headerStart(_ b: UnsafeBufferPointer<UInt8>, _ t: [Token]) -> Int? {
        var i = 0
        while i + 1 < t.count {
            if b.equals(t[i], "No.") && (b.equals(t[i + 1], "Time") || b.equals(t[i + 1], "Source")) { return i }
            i += 1
        }
        return nil
    }

    private static func isArrow(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> Bool {
        t.count == 3 && b[t.start] == 0xE2 && b[t.start + 1] == 0x86 && b[t.start + 2] == 0x92
    }

    /// A date, a time of day or decimal seconds.
    private static func isTimeToken(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> Bool {
        guard t.count >= 3, ASCII.isDigit(b[t.start]) else { return false }
        // Every time Wireshark writes has a separator (`.`, `:`, `-`, `/`); plain integers are not times.
        var sep = false
        for k in t.start..<t.end where !ASCII.isDigit(b[k]) { sep = true; break }
        guard sep else { return false }
        return b.decimalSeconds(t.start, t.end) != nil || b.timeOfDay(t.start, t.end) != nil || b.date(t.start, t.end) != nil
    }

    /// Whether a token reads as a packet-list address. `strict` (mid-line) wants an IP or a MAC-like
    /// name; at the start of a line any name will do (resolved host names).
    private static func isAddressToken(_ b: UnsafeBufferPointer<UInt8>, _ t: Token, strict: Bool) -> Bool {
        if t.count == 0 || b[t.start] == ASCII.lbracket { return false }
        if Address.parseV4(UnsafeBufferPointer(rebasing: b[t.start..<t.end])) != nil { return true }
        if glueSplit(b, t) != nil { return true }
        var colons = 0
        for k in t.start..<t.end where b[k] == ASCII.colon { colons += 1 }
        if colons >= 2 { return true } // IPv6, MAC, vendor MAC (`HewlettP_10:11:91`)
        if b.equals(t, "Broadcast") { return true }
        if strict { return false }
        // A host name: letters, digits, dots, dashes, underscores, with at least one letter.
        var letter = false
        for k in t.start..<t.end {
            let c = b[k]
            if ASCII.isLetter(c) { letter = true; continue }
            if ASCII.isDigit(c) || c == ASCII.dot || c == ASCII.dash || c == UInt8(ascii: "_") { continue }
            return false
        }
        return letter
    }

    /// `172.16.5.14TCP`: an IPv4 address glued to the protocol column (a copied export lost the space).
    /// Returns where the protocol starts.
    static func glueSplit(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> Int? {
        var k = t.start
        while k < t.end && (ASCII.isDigit(b[k]) || b[k] == ASCII.dot) { k += 1 }
        guard k > t.start, k < t.end, ASCII.isUpper(b[k]),
              Address.parseV4(UnsafeBufferPointer(rebasing: b[t.start..<k])) != nil else { return nil }
        return k
    }

    /// Number of time tokens a row has at `i`, by the header's time columns or by shape.
    private func timeTokenCount(_ b: UnsafeBufferPointer<UInt8>, _ t: [Token], at i: Int) -> Int {
        var n = 0
        if let cols = columns {
            var k = i
            for c in cols {
                guard case .time = c else { continue }
                guard k < t.count, WiresharkText.isTimeToken(b, t[k]) else { return n }
                if b.date(t[k].start, t[k].end) != nil, k + 1 < t.count, b.timeOfDay(t[k + 1].start, t[k + 1].end) != nil {
                    k += 2; n += 2
                } else {
                    k += 1; n += 1
                }
            }
            return n
        }
        var k = i
        while k < t.count && n < 5 && WiresharkText.isTimeToken(b, t[k]) { k += 1; n += 1 }
        // `AM`/`PM` never follow Wireshark times; a date alone is not a time.
        return n
    }

    /// Whether a packet row starts at token `i` (frame number, time(s), two addresses, a protocol):
    /// how many time tokens it has and where its protocol column is, else nil.
    func frameStart(_ b: UnsafeBufferPointer<UInt8>, _ t: [Token], at i: Int, strict: Bool) -> (timeTokens: Int, protocolAt: Int)? {
        guard i < t.count, t[i].count <= 10, b.uint(t[i]) != nil else { return nil }
        let n = timeTokenCount(b, t, at: i + 1)
        guard n > 0 else { return nil }
        var k = i + 1 + n
        guard k < t.count, WiresharkText.isAddressToken(b, t[k], strict: strict) else { return nil }
        k += 1
        k = WiresharkText.skipPortColumn(b, t, k)
        if k < t.count && WiresharkText.isArrow(b, t[k]) { k += 1 }
        guard k < t.count else { return nil }
        if WiresharkText.glueSplit(b, t[k]) != nil { return (n, k) }
        guard WiresharkText.isAddressToken(b, t[k], strict: strict) else { return nil }
        k = WiresharkText.skipPortColumn(b, t, k + 1)
        // The protocol column is a name (TCP, TLSv1.2, 802.11 aside): this keeps tab-separated field
        // dumps (`-T fields`: number, epoch, addresses, ports) from passing for packet lists.
        guard k < t.count, ASCII.isLetter(b[t[k].start]) else { return nil }
        return (n, k)
    }

    /// Past a port column after an address (`10.99.0.1 41001 10.99.0.2 8080`, tshark's `%uS`/`%uD`):
    /// an integer followed by an address or by the protocol name.
    static func skipPortColumn(_ b: UnsafeBufferPointer<UInt8>, _ t: [Token], _ k: Int) -> Int {
        guard k + 1 < t.count, let v = b.uint(t[k]), v <= 65535 else { return k }
        let next = t[k + 1]
        if isArrow(b, next) || isAddressToken(b, next, strict: true) || ASCII.isLetter(b[next.start]) { return k + 1 }
        return k
    }

    /// Cuts tokens `[s, e)` into the row's columns.
    private mutating func rowFields(_ b: UnsafeBufferPointer<UInt8>, _ t: [Token], _ s: Int, _ e: Int, timeTokens n: Int) -> PacketRowFields? {
        var k = s + 1
        row.times.removeAll(keepingCapacity: true)
        row.custom.removeAll(keepingCapacity: true)
        row.label = nil
        row.length = nil
        var ci = 0
        var used = 0
        while used < n {
            let col: TimeColumn
            if let l = layout, ci < l.timeColumns.count { col = l.timeColumns[ci] } else { col = ci == 0 ? .auto : .delta }
            if b.date(t[k].start, t[k].end) != nil, used + 1 < n {
                row.times.append((col, t[k])); row.times.append((col, t[k + 1]))
                k += 2; used += 2
            } else {
                row.times.append((col, t[k]))
                k += 1; used += 1
            }
            ci += 1
        }
        guard k < e else { return nil }
        row.source = t[k]; k += 1
        var k2 = WiresharkText.skipPortColumn(b, t, k)
        if k2 > k, k2 < e { row.custom.append((.srcPort, t[k])); k = k2 }
        if k < e && WiresharkText.isArrow(b, t[k]) { k += 1 }
        guard k < e else { return nil }
        row.destination = t[k]; k += 1
        k2 = WiresharkText.skipPortColumn(b, t, k)
        if k2 > k, k2 < e, WiresharkText.glueSplit(b, row.destination) == nil { row.custom.append((.dstPort, t[k])); k = k2 }
        if let g = WiresharkText.glueSplit(b, row.destination) {
            row.label = Token(g, row.destination.end)
            row.destination = Token(row.destination.start, g)
        } else if k < e {
            row.label = t[k]; k += 1
        }
        if let l = layout {
            // Custom columns may be empty for a packet (no TCP Ack on a SYN): then the number of values
            // before Info does not match, and Info (which repeats them for TCP) is the safer source.
            let infoAt = l.afterProtocol.isEmpty ? k : infoStart(b, t, from: k, to: e)
            let available = (infoAt ?? k + l.afterProtocolTokens) - k
            if available == l.afterProtocolTokens {
                for c in l.afterProtocol {
                    guard k < e else { break }
                    if c == .length { row.length = t[k] } else { row.custom.append((c, t[k])) }
                    k += c.tokens
                }
            } else {
                // Take what the shape proves: the length right after the protocol, an `0x…` IP id.
                var kk = k
                for c in l.afterProtocol where kk < (infoAt ?? e) {
                    if c == .length, b.uint(t[kk]) != nil { row.length = t[kk]; kk += 1; continue }
                    if c == .ipID, b.hasPrefix(t[kk], "0x") { row.custom.append((c, t[kk])); kk += 2; continue }
                    break
                }
                k = infoAt ?? kk
            }
        } else if k + 1 < e, b.uint(t[k]) != nil {
            // No header: an integer after the protocol is the Length column unless it is a port of
            // `51122 > 7890`; learn it once per file.
            let portsNext = k + 2 < e && (b.equals(t[k + 1], ">") || WiresharkText.isArrow(b, t[k + 1]))
            if portsNext && (k + 3 >= e || !(b.equals(t[k + 2], ">") || WiresharkText.isArrow(b, t[k + 2]))) {
                if lengthColumn == nil { lengthColumn = false }
            } else if lengthColumn != false {
                row.length = t[k]; k += 1
                lengthColumn = true
            }
            // Extra custom columns without a header (`0x5017 (20503) 0 0` before `41001 → 8080 [SYN]`):
            // an `0x…` IP id is recognisable; the rest stays in the raw text.
            if let infoAt = infoStart(b, t, from: k, to: e), infoAt > k {
                if b.hasPrefix(t[k], "0x") { row.custom.append((.ipID, t[k])) }
                k = infoAt
            }
        }
        row.number = t[s]
        row.info = t[min(k, e)..<e]
        row.rawStart = t[s].start
        row.rawEnd = t[e - 1].end
        return row
    }

    /// Where a TCP Info column (`57134 > 443 [`) starts in `[from, to)`, if it has one.
    private func infoStart(_ b: UnsafeBufferPointer<UInt8>, _ t: [Token], from: Int, to: Int) -> Int? {
        var k = from
        while k + 2 < to {
            if (b.equals(t[k + 1], ">") || WiresharkText.isArrow(b, t[k + 1])) && b[t[k + 2].start] != ASCII.lbracket {
                // Ports, possibly after an expert note: `[TCP Dup ACK 12#1] 28474 > 25`.
                return k
            }
            if b[t[k].start] == ASCII.lbracket { return k }
            k += 1
        }
        return nil
    }

    // MARK: - Details

    /// Lines of a packet's details: indented lines, layer titles, `Key: value`, bit fields, hex dump.
    private func isDetailLine(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count > 0 else { return false }
        // tshark indents frame numbers too: an indented `N <time>` is a row this parser could not read,
        // never a detail of the row above.
        if tokens.count >= 2, b.uint(tokens[0]) != nil, WiresharkText.isTimeToken(b, tokens[1]) { return false }
        if ASCII.isSpace(b[0]) || b[0] == ASCII.lbracket { return true }
        // Titles of the -x data sources: `Frame (74 bytes):`, `Reassembled TCP (207 bytes):`.
        if b.count > 9, b[b.count - 1] == ASCII.colon, b[b.count - 2] == ASCII.rparen {
            var k = b.count - 3
            while k > 0 && ASCII.isLetter(b[k]) { k -= 1 }
            if b.string(k + 1, b.count - 2) == "bytes" { return true }
        }
        // Hex dump: `0010 00 00 57 d0 …`
        if b.count > 6, (0..<4).allSatisfy({ ASCII.isHex(b[$0]) }), ASCII.isSpace(b[4]) { return true }
        // Bit fields: `.... ..0. = ECN-Capable Transport (ECT): 0`
        if b[0] == ASCII.dot || b[0] == ASCII.zero || b[0] == UInt8(ascii: "1") {
            var k = 0
            while k < b.count && (b[k] == ASCII.dot || b[k] == ASCII.zero || b[k] == UInt8(ascii: "1") || b[k] == ASCII.space) { k += 1 }
            if k + 1 < b.count && b[k] == ASCII.equals { return true }
        }
        // `Key: value` with a short key, or a layer title `Xxx, Src: …`.
        var k = 0
        var words = 1
        while k + 1 < b.count && k < 80 {
            if b[k] == ASCII.space { words += 1 }
            if b[k] == ASCII.colon && b[k + 1] == ASCII.space { return words <= 8 }
            k += 1
        }
        let line = Token(0, b.count)
        return WiresharkText.layerTitles.contains { b.hasPrefix(line, $0) }
    }

    /// First lines of the protocol layers in packet details (`Internet Protocol` alone in old versions).
    static let layerTitles: [StaticString] = [
        "Frame ", "Ethernet II", "Linux cooked", "Null/Loopback", "Internet Protocol", "Transmission Control Protocol",
        "User Datagram Protocol", "Address Resolution Protocol", "Internet Control Message Protocol", "Hypertext Transfer Protocol",
        "Transport Layer Security", "Secure Sockets Layer", "Domain Name System", "Distributed Computing Environment",
        "DCE/RPC", "Tabular Data Stream", "Simple Mail Transfer Protocol", "Session Initiation Protocol", "Data (",
    ]

    /// Packet details say what a summary row may lack (MAC-only rows): addresses and ports.
    private mutating func fillFromDetails(_ b: UnsafeBufferPointer<UInt8>) {
        guard var r = held else { return }
        let text = String(decoding: b, as: UTF8.self)
        if text.hasPrefix("Internet Protocol Version"), r.src?.isIP != true {
            if let s = WiresharkText.value(after: "Src: ", in: text), let a = Address(ip: s) { r.src = a }
            if let d = WiresharkText.value(after: "Dst: ", in: text), let a = Address(ip: d) { r.dst = a }
        } else if text.hasPrefix("Transmission Control Protocol, Src Port: "), r.srcPort < 0 {
            if let s = WiresharkText.value(after: "Src Port: ", in: text), let p = builderPort(s) { r.srcPort = p }
            if let d = WiresharkText.value(after: "Dst Port: ", in: text), let p = builderPort(d) { r.dstPort = p }
            if r.seq == EventRecord.none, let v = WiresharkText.value(after: "Seq: ", in: text) { r.seq = Int64(v) ?? EventRecord.none }
            if r.ack == EventRecord.none, let v = WiresharkText.value(after: "Ack: ", in: text) { r.ack = Int64(v) ?? EventRecord.none }
            if r.len == EventRecord.none, let v = WiresharkText.value(after: "Len: ", in: text) { r.len = Int64(v) ?? EventRecord.none }
            if r.srcPort >= 0 && r.dstPort >= 0 { r.proto = IPProto.tcp }
        }
        held = r
    }

    private func builderPort(_ s: Substring) -> Int32? { builder.services.port(s) }

    /// The value after `key` up to a space, comma or parenthesis: `Src: 10.1.1.1 (10.1.1.1)` → `10.1.1.1`.
    static func value(after key: String, in text: String) -> Substring? {
        guard let r = text.range(of: key) else { return nil }
        let rest = text[r.upperBound...]
        let end = rest.firstIndex(where: { $0 == " " || $0 == "," || $0 == "(" }) ?? rest.endIndex
        let v = rest[..<end]
        return v.isEmpty ? nil : v
    }
}
