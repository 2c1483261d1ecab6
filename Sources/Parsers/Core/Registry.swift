/// The one explicit list of parsers. Add a parser here; the compiler checks the list.
public enum Registry {
    public static let parsers: [any LineParser.Type] = [
        WiresharkText.self,
        WiresharkCSV.self,
    ]

    public static func parser(id: String) -> (any LineParser.Type)? {
        parsers.first { $0.id == id }
    }

    /// The best parser for a file's head and its confidence; nil when none claims it.
    public static func detect(_ head: SniffHead) -> (parser: any LineParser.Type, confidence: Double)? {
        var best: (any LineParser.Type, Double)? = nil
        for p in parsers {
            let c = p.sniff(head)
            if c > 0 && c > (best?.1 ?? 0) { best = (p, c) }
        }
        return best
    }
}
