/// Where a ClickHouse store is and who asks: `clickhouse+http://[user[:password]@]host[:port][,host[:port]…]/database?dataset=NAME[&cluster=NAME]`.
///
/// - `clickhouse+https://` speaks TLS (default port 8443); `clickhouse+http://` does not (default 8123).
/// - Several hosts, comma-separated, are the shards of `cluster`, each by its own HTTP address: the tables are
///   created on every one of them (no `ON CLUSTER`, which needs ZooKeeper or Keeper), rows are written and read
///   through the first one's `Distributed` tables. With `cluster` and one host, DDL goes `ON CLUSTER`.
/// - `dataset` names the case or collection inside the database (default `default`); one database holds many.
/// - `compression=gzip` sends insert bodies gzip-compressed (Content-Encoding: gzip).
/// - `retention_days=N` (current servers only) drops rows N days after they were *pushed* (never after their
///   event time: cases arrive with 2013 timestamps).
///
/// The password comes from the URL, else from `TRACEJOIN_CLICKHOUSE_PASSWORD`; the user from `--user`, else the
/// URL, else `default`. Nothing here prints the password: `description` and every error show the URL
/// without it.
public struct ClickHouseURL: Sendable, Equatable, CustomStringConvertible {
    public struct Host: Sendable, Equatable {
        public var name: String
        public var port: Int
    }

    public var tls: Bool
    public var hosts: [Host]
    public var database: String
    public var dataset: String
    public var cluster: String?
    public var retentionDays: Int?
    /// Insert bodies gzip-compressed (`compression=gzip`): about a sixth of the bytes over a slow link, for CPU on both
    /// ends (on loopback it is slower).
    public var gzip = false
    public var user: String
    /// Kept out of `description` and errors.
    public var password: String

    public static let passwordVariable = "TRACEJOIN_CLICKHOUSE_PASSWORD"

    /// Whether a `--store`/`--to` value names a ClickHouse store rather than a SQLite file.
    public static func isClickHouse(_ text: String) -> Bool {
        text.hasPrefix("clickhouse+http://") || text.hasPrefix("clickhouse+https://")
    }

    /// - Parameters:
    ///   - user: `--user`, which wins over the URL's.
    ///   - environment: where `TRACEJOIN_CLICKHOUSE_PASSWORD` is looked up (tests pass their own).
    public init(_ text: String, user: String? = nil, environment: [String: String] = [:]) throws(ClickHouseURLError) {
        let scheme: String
        if text.hasPrefix("clickhouse+http://") { scheme = "clickhouse+http://"; tls = false }
        else if text.hasPrefix("clickhouse+https://") { scheme = "clickhouse+https://"; tls = true }
        else { throw .init("wants clickhouse+http://HOST:PORT/DATABASE?dataset=NAME (or clickhouse+https://)") }
        var rest = Substring(text.dropFirst(scheme.count))

        // Credentials: everything before the last '@' ahead of the query (a password with an unescaped '/' is
        // still taken whole, so that no piece of it can end up in a host name and from there in an error).
        let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
        var urlUser: String?
        var urlPassword: String?
        if let at = rest[..<queryStart].lastIndex(of: "@") {
            let userInfo = rest[..<at]
            if let colon = userInfo.firstIndex(of: ":") {
                urlUser = try Self.percentDecoded(userInfo[..<colon], what: "user")
                urlPassword = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], what: "password")
            } else {
                urlUser = try Self.percentDecoded(userInfo, what: "user")
            }
            rest = rest[rest.index(after: at)...]
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]

        let defaultPort = tls ? 8443 : 8123
        var hosts: [Host] = []
        for part in authority.split(separator: ",", omittingEmptySubsequences: false) {
            hosts.append(try Self.host(part, defaultPort: defaultPort))
        }
        self.hosts = hosts

        guard rest.first == "/" else { throw .init("names no database: add /DATABASE after the host") }
        rest = rest.dropFirst()
        let pathEnd = rest.firstIndex(of: "?") ?? rest.endIndex
        let db = String(rest[..<pathEnd])
        guard Self.isIdentifier(db) else {
            throw .init("database \"\(db.prefix(80))\" is not a plain name (letters, digits, _; not starting with a digit)")
        }
        database = db
        rest = rest[pathEnd...]

        var dataset = "default"
        var cluster: String?
        var retention: Int?
        var gzip = false
        if rest.first == "?" {
            for pair in rest.dropFirst().split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(kv[0])
                let value = try Self.percentDecoded(kv.count > 1 ? kv[1] : "", what: key)
                switch key {
                case "dataset":
                    guard Self.isDatasetName(value) else {
                        throw .init("dataset \"\(value.prefix(80))\" wants 1–128 letters, digits or . _ : @ -")
                    }
                    dataset = value
                case "cluster":
                    guard Self.isIdentifier(value) else { throw .init("cluster \"\(value.prefix(80))\" is not a plain name") }
                    cluster = value
                case "retention_days":
                    guard let n = Int(value), n > 0, n <= 100_000 else { throw .init("retention_days wants a number of days ≥ 1") }
                    retention = n
                case "compression":
                    guard value == "gzip" || value == "none" else { throw .init("compression wants gzip or none") }
                    gzip = value == "gzip"
                default:
                    throw .init("unknown parameter \"\(key.prefix(40))\" (known: dataset, cluster, retention_days, compression)")
                }
            }
        }
        self.dataset = dataset
        self.cluster = cluster
        retentionDays = retention
        self.gzip = gzip
        if hosts.count > 1 && cluster == nil {
            throw .init("lists \(hosts.count) hosts: name the cluster they are the shards of (&cluster=NAME)")
        }

        if let user, !user.isEmpty { self.user = user } else { self.user = urlUser ?? "default" }
        password = urlPassword ?? environment[Self.passwordVariable] ?? ""
    }

    /// The URL as given, without the password.
    public var description: String {
        var s = tls ? "clickhouse+https://" : "clickhouse+http://"
        if user != "default" { s += user + "@" }
        s += hosts.map { "\($0.name):\($0.port)" }.joined(separator: ",")
        s += "/\(database)?dataset=\(dataset)"
        if let cluster { s += "&cluster=\(cluster)" }
        if let retentionDays { s += "&retention_days=\(retentionDays)" }
        if gzip { s += "&compression=gzip" }
        return s
    }

    /// `http://host:port` (or https) of one host, for the HTTP client.
    public func baseURL(_ host: Host) -> String {
        let name = host.name.contains(":") ? "[\(host.name)]" : host.name
        return (tls ? "https://" : "http://") + "\(name):\(host.port)"
    }

    // MARK: - Pieces

    static func host(_ text: Substring, defaultPort: Int) throws(ClickHouseURLError) -> Host {
        var name = text
        var port = defaultPort
        if name.first == "[" {
            // [::1]:8123
            guard let close = name.firstIndex(of: "]") else { throw .init("host \"\(text.prefix(80))\": no closing ]") }
            let after = name[name.index(after: close)...]
            name = name[name.index(after: name.startIndex)..<close]
            if !after.isEmpty {
                guard after.first == ":", let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    throw .init("host \"\(text.prefix(80))\": bad port")
                }
                port = p
            }
        } else if let colon = name.lastIndex(of: ":") {
            guard let p = Int(name[name.index(after: colon)...]), (1...65535).contains(p) else {
                throw .init("host \"\(text.prefix(80))\": the port wants a number 1–65535")
            }
            port = p
            name = name[..<colon]
        }
        guard !name.isEmpty, name.utf8.count <= 253,
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_") })
        else { throw .init("host \"\(text.prefix(80))\" is not a host name or address") }
        return Host(name: String(name), port: port)
    }

    /// A name ClickHouse takes unquoted: `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters.
    public static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, s.utf8.count <= 64 else { return false }
        let letter = { (c: UInt8) in (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F }
        return letter(first) && s.utf8.allSatisfy { letter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    /// Dataset names: 1–128 of `A-Z a-z 0-9 . _ : @ -`. Strict because a server without query parameters
    /// (18.16) gets the name as a quoted literal.
    public static func isDatasetName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 128 else { return false }
        return s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || c == UInt8(ascii: "@") || c == UInt8(ascii: "-")
        }
    }

    /// `%40` → `@`. A malformed escape is an error that names the part, never its text (it may be the password).
    static func percentDecoded(_ s: Substring, what: String) throws(ClickHouseURLError) -> String {
        guard s.contains("%") else { return String(s) }
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%") {
                guard it.count >= 2, let h = hexValue(it[it.startIndex]), let l = hexValue(it[it.startIndex + 1]) else {
                    throw .init("the \(what) has a malformed %-escape")
                }
                out.append(h << 4 | l)
                it = it.dropFirst(2)
            } else {
                out.append(c)
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw .init("the \(what) is not UTF-8 once decoded") }
        return text
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}

/// A `--store`/`--to` URL that cannot be used; its text never includes the password.
public struct ClickHouseURLError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { "ClickHouse URL: \(reason)" }
}
