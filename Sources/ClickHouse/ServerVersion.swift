import Foundation

/// A ClickHouse server's release (`SELECT version()`: `18.16.1`, `26.9.2.1`) and what the backend may ask of it.
public struct ServerVersion: Sendable, Comparable, CustomStringConvertible {
    public var parts: [Int]

    public init?(_ text: String) {
        let p = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").map { Int($0) }
        guard p.count >= 2, p.allSatisfy({ $0 != nil }) else { return nil }
        parts = p.map { $0! }
    }

    public init(_ parts: Int...) { self.parts = parts }

    public var description: String { parts.map(String.init).joined(separator: ".") }

    public static func < (l: ServerVersion, r: ServerVersion) -> Bool {
        for i in 0..<max(l.parts.count, r.parts.count) {
            let a = i < l.parts.count ? l.parts[i] : 0, b = i < r.parts.count ? r.parts[i] : 0
            if a != b { return a < b }
        }
        return false
    }

    /// The oldest release the backend talks to: Debian bookworm's, the real server of the tests.
    public static let oldest = ServerVersion(18, 16)
    /// From here on the current schema: DateTime64, IPv6, LowCardinality, codecs, skip indexes and TTL (all there
    /// since 20.x), `insert_deduplication_token` (22.2), `mutations_sync` and query parameters (`{x:T}`, 19.x).
    /// 22.3 is the first LTS release that has all of them.
    public static let current = ServerVersion(22, 3)
    /// From here on a server stops reading at the LIMIT of an ORDER BY on the sorting key (`optimize_read_in_order`).
    public static let readsInOrder = ServerVersion(19, 14)

    /// Which schema and requests to use; nil when the server is older than `oldest`.
    public var dialect: Dialect? {
        if self < Self.oldest { return nil }
        return self < Self.current ? .compat : .current
    }
}

/// The two schemas (same columns in the same order, so the same RowBinary bytes load into both).
public enum Dialect: String, Sendable {
    /// 18.16 to 22.2: Int64 nanoseconds for times, FixedString(16) for addresses, plain String, no codecs, no skip
    /// indexes, no TTL, no deduplication tokens, no query parameters.
    case compat
    /// 22.3 and later: DateTime64(9), IPv6, LowCardinality, codecs, a bloom-filter index on the connection key,
    /// TTL on push time, deduplication tokens, query parameters.
    case current

    public var hasQueryParameters: Bool { self == .current }
    public var hasDeduplicationTokens: Bool { self == .current }
}
