import Foundation
import TraceModel

/// A line format a user describes in a JSON file instead of code (docs/declarative-formats.md):
/// a name, line patterns with named groups, the timestamp's layout and zone, a continuation rule,
/// and which groups are endpoints, pid, process, level, message and extra attributes.
public final class DeclarativeFormat: @unchecked Sendable {   // (NSRegularExpression is safe to share for matching)
    public struct Spec: Codable, Sendable {
        public var name: String
        public var description: String?
        public var label: String?
        public var sniff: String?
        public var patterns: [String]
        public var time: TimeSpec
        public var continuation: String?
        public var fields: Fields?

        public struct TimeSpec: Codable, Sendable {
            public var group: String
            public var formats: [String]
            /// "UTC", "+02:00", or "local" (the machine's own, unknown unless --tz says it; the default).
            public var zone: String?
        }

        public struct Fields: Codable, Sendable {
            public var message: String?
            public var pid: String?
            public var process: String?
            public var level: String?
            public var src: String?
            public var src_port: String?
            public var dst: String?
            public var dst_port: String?
            public var attrs: [String]?
        }
    }

    public let spec: Spec
    /// Where the file came from, for `tracejoin formats`.
    public let origin: String
    let patterns: [NSRegularExpression]
    let groups: [[String]]       // named groups per pattern
    let sniffPattern: NSRegularExpression?
    let continuation: NSRegularExpression?
    let times: [TimeFormat]
    let zoneSeconds: Int?        // nil: local (unknown)

    public var id: String { spec.name }
    public var summary: String { (spec.description ?? "user-defined format") + " (\(origin))" }

    /// Compiles and checks a spec; errors name the field (`patterns[1]`, `time.formats[0]`, `fields.pid`).
    public init(spec: Spec, origin: String) throws {
        self.spec = spec
        self.origin = origin
        func fail(_ field: String, _ why: String) -> FormatFileError { FormatFileError(file: origin, field: field, message: why) }
        guard !spec.name.isEmpty, spec.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw fail("name", "a name of letters, digits, _ and - (it is the id for --format)")
        }
        guard !spec.patterns.isEmpty else { throw fail("patterns", "at least one pattern") }
        var compiled: [NSRegularExpression] = []
        var names: [[String]] = []
        for (i, p) in spec.patterns.enumerated() {
            do { compiled.append(try NSRegularExpression(pattern: p)) } catch { throw fail("patterns[\(i)]", "not a regular expression: \(p)") }
            names.append(DeclarativeFormat.groupNames(p))
        }
        patterns = compiled
        groups = names
        let all = Set(names.flatMap { $0 })
        guard names.allSatisfy({ $0.contains(spec.time.group) }) else {
            throw fail("time.group", "every pattern needs the group (?<\(spec.time.group)>…)")
        }
        guard !spec.time.formats.isEmpty else { throw fail("time.formats", "at least one timestamp layout") }
        var t: [TimeFormat] = []
        for (i, f) in spec.time.formats.enumerated() {
            do { t.append(try TimeFormat(f)) } catch { throw fail("time.formats[\(i)]", "\(error)") }
        }
        times = t
        switch spec.time.zone ?? "local" {
        case "local": zoneSeconds = nil
        case "UTC", "utc", "Z": zoneSeconds = 0
        case let z:
            guard let o = CivilTime.parseZoneOffset(z) else { throw fail("time.zone", "\"UTC\", \"local\" or ±HH:MM, not \"\(z)\"") }
            zoneSeconds = o
        }
        if let f = spec.fields {
            let named: [(String, String?)] = [("message", f.message), ("pid", f.pid), ("process", f.process), ("level", f.level),
                                               ("src", f.src), ("src_port", f.src_port), ("dst", f.dst), ("dst_port", f.dst_port)]
            for (field, group) in named {
                if let g = group, !all.contains(g) { throw fail("fields.\(field)", "no pattern has a group (?<\(g)>…)") }
            }
            for (i, g) in (f.attrs ?? []).enumerated() where !all.contains(g) {
                throw fail("fields.attrs[\(i)]", "no pattern has a group (?<\(g)>…)")
            }
        }
        do { sniffPattern = try spec.sniff.map { try NSRegularExpression(pattern: $0) } } catch { throw fail("sniff", "not a regular expression") }
        do { continuation = try spec.continuation.map { try NSRegularExpression(pattern: $0) } } catch { throw fail("continuation", "not a regular expression") }
    }

    /// `(?<name>` groups, in order.
    static func groupNames(_ pattern: String) -> [String] {
        var out: [String] = []
        var rest = Substring(pattern)
        while let r = rest.range(of: "(?<") {
            let after = rest[r.upperBound...]
            // `(?<=` and `(?<!` are lookbehinds, not names.
            if let first = after.first, first != "=", first != "!" {
                out.append(String(after.prefix { $0 != ">" }))
            }
            rest = after
        }
        return out
    }

    /// Confidence that these first lines are this format: most of them fit its sniff pattern (or its line
    /// patterns). Below the built-in parsers' marks, so a user's format never takes their files by accident.
    public func sniff(_ head: SniffHead) -> Double {
        var n = 0, hits = 0
        for line in head.lines.prefix(50) where !line.isEmpty {
            n += 1
            let r = NSRange(line.startIndex..., in: line)
            let fits = sniffPattern.map { $0.firstMatch(in: line, range: r) != nil } ?? patterns.contains { $0.firstMatch(in: line, range: r) != nil }
            if fits { hits += 1 }
        }
        guard n > 0, hits * 2 >= n else { return 0 }
        return 0.45 + 0.4 * Double(hits) / Double(n)
    }

    public func parser(context: ParseContext) -> DeclarativeParser { DeclarativeParser(format: self, context: context) }
}

/// A format file that cannot be used, and why: reported, and the tool goes on without it.
public struct FormatFileError: Error, CustomStringConvertible {
    public let file: String
    public let field: String
    public let message: String
    public var description: String { "\(file): \(field): \(message)" }
}
