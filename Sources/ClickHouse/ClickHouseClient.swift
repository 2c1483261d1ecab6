import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// ClickHouse's HTTP interface: `POST /?query=…` with the rows (or the query) as the body.
///
/// - Credentials travel in the `X-ClickHouse-User` / `X-ClickHouse-Key` headers (18.16 reads them too), never in
///   the request URL, so no log line of a proxy or of ours can show the password; every error text is scrubbed
///   of it as well.
/// - User values travel as query parameters (`{dataset:String}` in the SQL, `param_dataset=…` in the URL) on
///   servers that have them. 18.16 has none: there, and only there, `Param.literal` writes the value as a quoted
///   literal, the one place where a value meets SQL text.
/// - Insert bodies are streamed: `insert` pulls chunks from the caller as the server reads them, so memory is
///   one chunk, whatever the batch size.
public final class ClickHouseClient: @unchecked Sendable {
    public let url: ClickHouseURL
    public private(set) var dialect: Dialect = .compat
    public private(set) var version: ServerVersion?
    let http: HTTPClient

    public init(url: ClickHouseURL, connectTimeout: TimeAmount = .seconds(5), readTimeout: TimeAmount = .seconds(600)) {
        self.url = url
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: connectTimeout, read: readTimeout)
        // A refused connection is an answer: say so at once rather than retrying for the whole timeout.
        config.connectionPool = .init(idleTimeout: .seconds(30))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    private var isShutdown = false

    public func shutdown() async {
        isShutdown = true
        try? await http.shutdown()
    }

    /// A client dropped without `shutdown()` (an error thrown between) still closes its connections.
    deinit {
        if !isShutdown { try? http.syncShutdown() }
    }

    /// Asks the first host its version and picks the dialect; a server older than 18.16 is refused.
    @discardableResult
    public func connect() async throws -> ServerVersion {
        let text = try await query("SELECT version()")
        guard let v = ServerVersion(text) else {
            throw ClickHouseError.protocolError(host: describe(0), what: "version() answered \(text.prefix(60).debugDescription)")
        }
        guard let d = v.dialect else { throw ClickHouseError.tooOld(host: describe(0), version: v.description) }
        version = v
        dialect = d
        return v
    }

    /// Runs one statement on one host (default: the first) and returns its TabSeparated answer.
    @discardableResult
    public func query(_ sql: String, _ params: [String: Param] = [:], settings: [String: String] = [:], host: Int = 0) async throws -> String {
        let (text, queryParams) = try bind(sql, params)
        var request = try self.request(host: host, urlParams: queryParams.merging(settings) { a, _ in a })
        request.body = .bytes(ByteBuffer(string: text))
        let body = try await send(request, host: host, limit: 64 << 20)
        return String(buffer: body)
    }

    /// Runs one `SELECT … FORMAT RowBinary` on one host and returns its bytes (at most 256 MiB: callers page).
    public func queryBinary(_ sql: String, _ params: [String: Param] = [:], host: Int = 0) async throws -> [UInt8] {
        let (text, queryParams) = try bind(sql + " FORMAT RowBinary", params)
        var request = try self.request(host: host, urlParams: queryParams)
        request.body = .bytes(ByteBuffer(string: text))
        let body = try await send(request, host: host, limit: 256 << 20)
        return Array(body.readableBytesView)
    }

    /// `SELECT … FORMAT RowBinary`, each row decoded by `read`; an answer that does not read as the query's columns is
    /// a protocol error, not a crash.
    public func rows<T>(_ sql: String, _ params: [String: Param] = [:], host: Int = 0,
                        _ read: (inout RowBinaryReader) throws -> T) async throws -> [T] {
        var r = RowBinaryReader(try await queryBinary(sql, params, host: host))
        var out: [T] = []
        do {
            while !r.atEnd { out.append(try read(&r)) }
        } catch is RowBinaryReader.Short {
            throw ClickHouseError.protocolError(host: describe(host), what: "a RowBinary answer ended early")
        }
        return out
    }

    /// `INSERT INTO table (columns) FORMAT RowBinary` with the rows pulled from `next` until it returns nil.
    public func insert(table: String, columns: [String], settings: [String: String] = [:], host: Int = 0,
                       next: @escaping @Sendable () async throws -> [UInt8]?) async throws {
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) FORMAT RowBinary"
        var request = try self.request(host: host, urlParams: settings.merging(["query": sql]) { a, _ in a })
        if url.gzip {
            request.headers.add(name: "Content-Encoding", value: "gzip")
            let gz = GzipStream()
            // Never an empty chunk (deflate may keep a whole chunk back): the next one, or the trailer at the end.
            request.body = .stream(ChunkSequence {
                while let chunk = try await next() {
                    let packed = gz.compress(chunk)
                    if !packed.isEmpty { return packed }
                }
                let tail = gz.finish()
                return tail.isEmpty ? nil : tail
            }, length: .unknown)
        } else {
            request.body = .stream(ChunkSequence(next: next), length: .unknown)
        }
        _ = try await send(request, host: host, limit: 1 << 20)
    }

    /// Every insert's settings: through a cluster's Distributed table, answered only once the shards hold the rows.
    var insertSettings: [String: String] { url.cluster != nil ? ["insert_distributed_sync": "1"] : [:] }

    /// Inserts the rows `w` holds (`count` of them) into `table`, in one request.
    @discardableResult
    func insertRows(_ table: ClickHouseSchema.Table, _ schema: ClickHouseSchema, _ w: RowBinaryWriter, count: Int) async throws -> Int {
        guard count > 0 else { return 0 }
        let box = OnceBox(w.bytes)
        try await insert(table: schema.name(table), columns: table.insertColumns, settings: insertSettings) { box.take() }
        return count
    }

    /// Runs a statement on every shard's own tables (a DELETE mutates those, not a Distributed table): on each listed
    /// host, or once with `ON CLUSTER` (the clause `sql` is given) when the URL lists one host of a cluster.
    func onEveryShard(_ sql: (String?) -> String, _ params: [String: Param], settings: [String: String] = [:]) async throws {
        if url.cluster != nil && hostCount == 1 {
            try await query(sql(url.cluster), params, settings: settings)
        } else {
            for host in 0..<hostCount { try await query(sql(nil), params, settings: settings, host: host) }
        }
    }

    public var hostCount: Int { url.hosts.count }

    public func describe(_ host: Int) -> String { "\(url.hosts[host].name):\(url.hosts[host].port)" }

    // MARK: - Plumbing

    func request(host: Int, urlParams: [String: String]) throws -> HTTPClientRequest {
        let query = urlParams.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.percentEncoded($0.value))" }.joined(separator: "&")
        var r = HTTPClientRequest(url: url.baseURL(url.hosts[host]) + "/" + (query.isEmpty ? "" : "?" + query))
        r.method = .POST
        r.headers.add(name: "X-ClickHouse-User", value: url.user)
        if !url.password.isEmpty { r.headers.add(name: "X-ClickHouse-Key", value: url.password) }
        r.headers.add(name: "User-Agent", value: "tracejoin")
        return r
    }

    func send(_ request: HTTPClientRequest, host: Int, limit: Int) async throws -> ByteBuffer {
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(3600))
        } catch let e as ClickHouseError {
            throw e
        } catch {
            throw ClickHouseError.unreachable(host: describe(host), why: scrub(Self.transportReason(error)))
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: limit)
        } catch {
            throw ClickHouseError.unreachable(host: describe(host), why: scrub("the answer broke off: \(Self.transportReason(error))"))
        }
        guard response.status == .ok else {
            throw ClickHouseError.fromServer(status: Int(response.status.code), body: scrub(String(buffer: body)), host: describe(host), user: url.user)
        }
        return body
    }

    /// Never lets the password through, whatever a server or library echoes.
    func scrub(_ text: String) -> String {
        url.password.count >= 1 ? text.replacingOccurrences(of: url.password, with: "***") : text
    }

    static func transportReason(_ error: Error) -> String {
        let s = String(describing: error)
        if s.contains("connectTimeout") { return "connection timed out" }
        if s.contains("ECONNREFUSED") || s.contains("Connection refused") || s.contains("connectionRefused") { return "connection refused" }
        if s.contains("readTimeout") || s.contains("deadlineExceeded") { return "no answer in time" }
        if s.contains("remoteConnectionClosed") || s.contains("ECONNRESET") { return "the server closed the connection" }
        return s.count > 200 ? String(s.prefix(200)) + "…" : s
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.utf8 {
            switch c {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(c))
            default:
                out += "%" + String(c, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    /// The statement as sent and the URL parameters it needs: `{name:Type}` kept with `param_name` on servers
    /// that have query parameters, replaced by `Param.literal` on the others.
    func bind(_ sql: String, _ params: [String: Param]) throws -> (String, [String: String]) {
        if params.isEmpty { return (sql, [:]) }
        if dialect.hasQueryParameters {
            for name in params.keys where !sql.contains("{\(name):") {
                throw ClickHouseError.protocolError(host: describe(0), what: "parameter \(name) is not in the statement")
            }
            return (sql, Dictionary(uniqueKeysWithValues: params.map { ("param_" + $0.key, $0.value.paramValue) }))
        }
        return (try Param.substitute(sql, params), [:])
    }
}

/// A value for a statement, typed so that it can only become a literal of its own type.
public enum Param: Sendable, Equatable {
    case string(String)
    case uint64(UInt64)
    case int64(Int64)
    case uint64s([UInt64])
    case int64s([Int64])
    case strings([String])

    /// As `param_x=` wants it (values in the Escaped form; arrays as `[1,2]`).
    var paramValue: String {
        switch self {
        case .string(let s): return Param.escaped(s)
        case .uint64(let v): return String(v)
        case .int64(let v): return String(v)
        case .uint64s(let vs): return "[" + vs.map(String.init).joined(separator: ",") + "]"
        case .int64s(let vs): return "[" + vs.map(String.init).joined(separator: ",") + "]"
        // An array parameter's value is written as a literal array, its strings quoted.
        case .strings: return literal
        }
    }

    /// ClickHouse's Escaped form (TabSeparated values, `param_x=` values): `\`, tab and newline escaped.
    static func escaped(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// A SQL literal, for servers without query parameters: strings quoted with `\` and `'` escaped
    /// (ClickHouse's string literal syntax), numbers formatted from integers.
    var literal: String {
        switch self {
        case .string(let s):
            var out = "'"
            for c in s.unicodeScalars {
                switch c {
                case "\\": out += "\\\\"
                case "'": out += "\\'"
                case "\0": out += "\\0"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "'"
        case .uint64(let v): return String(v)
        case .int64(let v): return String(v)
        case .uint64s(let vs): return "[" + vs.map(String.init).joined(separator: ",") + "]"
        case .int64s(let vs): return "[" + vs.map(String.init).joined(separator: ",") + "]"
        case .strings(let vs): return "[" + vs.map { Param.string($0).literal }.joined(separator: ",") + "]"
        }
    }

    /// Replaces each `{name:Type}` by the literal of `params[name]`; an unknown name is an error.
    static func substitute(_ sql: String, _ params: [String: Param]) throws -> String {
        var out = ""
        var rest = Substring(sql)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}"), let colon = rest[open..<close].firstIndex(of: ":") else {
                out += rest[open...]
                return out
            }
            let name = String(rest[rest.index(after: open)..<colon])
            guard let p = params[name] else {
                throw ClickHouseError.protocolError(host: "-", what: "no value for parameter \(name)")
            }
            out += p.literal
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}

/// Chunks pulled on demand: the HTTP client asks for the next one when it has sent the last.
struct ChunkSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let next: @Sendable () async throws -> [UInt8]?

    struct AsyncIterator: AsyncIteratorProtocol {
        let next: @Sendable () async throws -> [UInt8]?
        mutating func next() async throws -> ByteBuffer? {
            guard let bytes = try await next() else { return nil }
            return ByteBuffer(bytes: bytes)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(next: next) }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
