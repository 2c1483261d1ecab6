/// A parser of either kind, as the registry hands it out.
public enum ParserKind {
    case lines(any LineParser.Type)
    case capture(any CaptureParser.Type)
    /// A format described in a JSON file (`parsers/*.json`, the user's folder, `--parsers DIR`).
    case declarative(DeclarativeFormat)

    public var id: String {
        switch self {
        case .lines(let p): return p.id
        case .capture(let p): return p.id
        case .declarative(let f): return f.id
        }
    }

    public var summary: String {
        switch self {
        case .lines(let p): return p.summary
        case .capture(let p): return p.summary
        case .declarative(let f): return f.summary
        }
    }

    /// A line parser ready to read one file.
    public func lineParser(context: ParseContext) -> (any LineParser)? {
        switch self {
        case .lines(let p): return p.init(context: context)
        case .declarative(let f): return f.parser(context: context)
        case .capture: return nil
        }
    }
}

/// The one explicit list of parsers. Add a parser here; the compiler checks the list.
public enum Registry {
    public static let parsers: [any LineParser.Type] = [
        WiresharkText.self,
        WiresharkCSV.self,
        TcpdumpText.self,
        NetmonText.self,
        TracerptCSV.self,
        TasklistText.self,
        EventlogText.self,
        TracerptXML.self,
        EventlogXML.self,
        SsText.self,
        NetstatText.self,
        TivoliProxyLog.self,
        SIPStackText.self,
        SIPDumpText.self,
        LyncClientLog.self,
        SiteMinderLog.self,
        SiteMinderTrace.self,
        PJSIPLog.self,
        SIPEmbeddedText.self,
    ]

    public static let captureParsers: [any CaptureParser.Type] = [
        Pcap.self,
        Pcapng.self,
        PDML.self,
    ]

    /// Formats loaded from JSON files at start (`FormatLoader`); set once, before any ingest runs.
    nonisolated(unsafe) public static var declarative: [DeclarativeFormat] = []

    /// Every parser, for `tracejoin formats` and `--format`.
    public static var all: [ParserKind] { parsers.map { .lines($0) } + captureParsers.map { .capture($0) } + declarative.map { .declarative($0) } }

    public static func parser(id: String) -> ParserKind? {
        all.first { $0.id == id }
    }

    /// The best line parser for a file's head and its confidence; nil when none claims it.
    public static func detect(_ head: SniffHead) -> (parser: any LineParser.Type, confidence: Double)? {
        var best: (any LineParser.Type, Double)? = nil
        for p in parsers {
            let c = p.sniff(head)
            if c > 0 && c > (best?.1 ?? 0) { best = (p, c) }
        }
        return best
    }

    /// Captures by their magic numbers first, then text formats by their lines (binary heads excepted).
    public static func detect(bytes head: [UInt8]) -> ParserKind? {
        for p in captureParsers where p.sniff(head) > 0 { return .capture(p) }
        let looksBinary = head.prefix(4096).contains(0) && !(head.count >= 2 && (head[0] == 0xFF || head[0] == 0xFE))
        if looksBinary { return nil }
        let sniffed = SniffHead(bytes: head)
        let builtIn = detect(sniffed)
        // A format from a file wins only where it is surer than every built-in one.
        var best: (ParserKind, Double)? = builtIn.map { (.lines($0.parser), $0.confidence) }
        for f in declarative {
            let c = f.sniff(sniffed)
            if c > (best?.1 ?? 0) { best = (.declarative(f), c) }
        }
        return best?.0
    }
}
