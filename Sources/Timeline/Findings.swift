import Foundation
import TraceModel
import EventStore

/// What an expert would write in the case notes, found in the store: a kind, how bad, when, who, the
/// events that prove it (source and line) and a sentence with the numbers.
public struct Finding: Sendable {
    public enum Severity: String, Sendable, Comparable {
        case critical, warning, info
        var rank: Int { self == .critical ? 0 : self == .warning ? 1 : 2 }
        public static func < (l: Severity, r: Severity) -> Bool { l.rank < r.rank }
    }

    public struct Evidence: Sendable {
        public var source: Int64
        public var line: Int
        public var ts: Int64
        public var text: String

        public init(source: Int64, line: Int, ts: Int64, text: String) {
            self.source = source; self.line = line; self.ts = ts; self.text = text
        }
    }

    public var kind: String
    public var severity: Severity
    /// Aligned ns of the first evidence.
    public var ts: Int64
    public var hosts: [String]
    public var connection: String?
    public var explanation: String
    public var evidence: [Evidence]
    /// The figures the explanation gives, by name (for --json and tests).
    public var numbers: [String: Double] = [:]

    public init(kind: String, severity: Severity, ts: Int64, hosts: [String], connection: String?, explanation: String,
                evidence: [Evidence], numbers: [String: Double] = [:]) {
        self.kind = kind; self.severity = severity; self.ts = ts; self.hosts = hosts; self.connection = connection
        self.explanation = explanation; self.evidence = evidence; self.numbers = numbers
    }
}

/// Runs every detector (`TCPFindings`, `TCPStallFindings`, `TurnFindings`, `NagleFindings`, `TableFindings`, `LogFindings`, `SiteMinderFindings`) over a store whose clocks and
/// lifecycles are current, most severe and earliest first.
public enum Findings {
    public static func run(_ store: Store) throws -> [Finding] {
        defer { PassProgress.done() }
        PassProgress.phase("findings: reading the store")
        let context = try FindingContext(store)
        var out: [Finding] = []
        out += try TCPFindings.run(context)
        out += try TCPStallFindings.run(context)
        out += try TurnFindings.run(context)
        out += try NagleFindings.run(context)
        out += try TableFindings.run(context)
        out += try LogFindings.run(context)
        out += try SiteMinderFindings.run(context)
        return out.sorted { ($0.severity, $0.ts, $0.kind) < ($1.severity, $1.ts, $1.kind) }
    }
}

/// What the detectors share: the store, its sources, and how to name things.
struct FindingContext {
    let store: Store
    let sources: [Int64: SourceInfo]

    init(_ store: Store) throws {
        self.store = store
        sources = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0) })
    }

    func host(_ source: Int64) -> String { sources[source]?.host ?? "source \(source)" }
    func file(_ source: Int64) -> String { sources[source].map { ($0.path as NSString).lastPathComponent } ?? "source \(source)" }

    func evidence(_ e: StoredEvent) -> Finding.Evidence {
        Finding.Evidence(source: e.source, line: e.line, ts: e.ts, text: (e.label.map { $0 + " " } ?? "") + e.summary)
    }

    /// `3.0 s`, `250 ms`, `0.2 ms`.
    static func span(_ ns: Int64) -> String {
        let s = Double(ns) / 1e9
        if s >= 1 { return String(format: "%.1f s", s) }
        return s >= 0.01 ? String(format: "%.0f ms", s * 1000) : String(format: "%.1f ms", s * 1000)
    }
}
