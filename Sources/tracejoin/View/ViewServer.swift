import Foundation
import Hummingbird
import NIOCore
import HTTPTypes
import ServiceLifecycle
import EventStore

/// `tracejoin view`'s HTTP server: the page and its assets (compiled into the binary), the JSON API
/// (`ViewAPI`), and the live feed (server-sent events). Routes only; the answers are ViewAPI's.
enum ViewServer {
    /// Everything from this origin only, no inline script or style, nothing remote: input text that
    /// somehow reached the page as markup could still run nothing.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static func router(api: ViewAPI, live: LiveFeed) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: SecurityHeaders())
        // The page for `/`, and for `/conn/<id>` (the page opens that connection: links can be shared).
        router.get("/") { _, _ in asset("index.html") }
        router.get("/conn/:id") { _, _ in asset("index.html") }
        router.get("/view.js") { _, _ in asset("view.js") }
        router.get("/view.css") { _, _ in asset("view.css") }
        router.get("/api/timeline") { req, _ in let q = query(req); return await offloaded { api.timeline(q) } }
        router.get("/api/histogram") { req, _ in let q = query(req); return await offloaded { api.histogram(q) } }
        // Community IDs hold `/`, `+` and `=`: the page sends them percent-encoded.
        router.get("/api/conn/:id") { _, ctx in
            let id = ctx.parameters.get("id").map { $0.removingPercentEncoding ?? $0 } ?? ""
            return await offloaded { api.conn(id) }
        }
        router.get("/api/clocks") { _, _ in await offloaded { api.clocks() } }
        router.get("/api/findings") { _, _ in await offloaded { api.findings() } }
        router.get("/api/sources") { _, _ in await offloaded { api.sources() } }
        router.get("/api/live") { req, _ in
            let q = query(req)
            guard let from = Int64(q["after"]?.last ?? "") else {
                return json(.bad("live wants after=<event id> (the last_id of /api/sources)"))
            }
            return live.stream(after: from)
        }
        return router
    }

    /// The API reads the store synchronously (SQLite), for seconds at times (the findings of ten million
    /// events, a text search over them): each answer on a thread of its own. Not on Swift concurrency's
    /// cooperative pool nor on Dispatch's global queue: both run one thread per core, which two long answers
    /// would hold while every other request, the page's first rows too, waits behind them.
    static func offloaded(_ work: @escaping @Sendable () -> ViewAPI.Answer) async -> Response {
        json(await blocking(work))
    }

    static func blocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in
            let t = Thread { c.resume(returning: work()) }
            t.stackSize = 8 << 20
            t.start()
        }
    }

    static func query(_ req: Request) -> ViewAPI.Query {
        var q: ViewAPI.Query = [:]
        for (k, v) in req.uri.queryParameters { q[String(k), default: []].append(String(v)) }
        return q
    }

    static func json(_ a: ViewAPI.Answer) -> Response {
        Response(status: .init(code: a.status), headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: a.json)))
    }

    static func asset(_ name: String) -> Response {
        guard let a = ViewAssets.file(name) else { return Response(status: .notFound) }
        return Response(status: .ok, headers: [.contentType: a.type], body: .init(byteBuffer: ByteBuffer(bytes: a.bytes)))
    }
}

/// The page's files, as SwiftPM embedded them (Package.swift: `.embedInCode`).
enum ViewAssets {
    static func file(_ name: String) -> (type: String, bytes: [UInt8])? {
        switch name {
        case "index.html": return ("text/html; charset=utf-8", PackageResources.index_html)
        case "view.js": return ("text/javascript; charset=utf-8", PackageResources.view_js)
        case "view.css": return ("text/css; charset=utf-8", PackageResources.view_css)
        default: return nil
        }
    }
}

struct SecurityHeaders: RouterMiddleware {
    typealias Context = BasicRequestContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var r = try await next(request, context)
        r.headers[.contentSecurityPolicy] = ViewServer.contentSecurityPolicy
        r.headers[.xContentTypeOptions] = "nosniff"
        r.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return r
    }
}

/// What one look at the store found for the live feed.
struct Batch: Sendable { let appended: (json: [String], last: Int64) }

/// New events as server-sent events: the store is polled for rows past the last one sent (a second
/// process appends them: `ingest --follow`), each batch goes out as one `events` message of timeline
/// objects. A comment line every 15 s keeps proxies from closing an idle stream; a client that goes
/// away ends its stream at the next write.
struct LiveFeed: Sendable {
    let api: ViewAPI
    /// How often the store is looked at: new events show within this (and the browser's paint).
    var interval: Swift.Duration = .milliseconds(250)

    func stream(after start: Int64) -> Response {
        let api = self.api, interval = self.interval
        let body = ResponseBody { (writer: inout any ResponseBodyWriter) async throws in
            var last = start
            var idle = Swift.Duration.zero
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            // Ctrl-C ends the stream at once (a graceful shutdown would otherwise wait for it to end).
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let from = last
                let batch = await ViewServer.blocking { Batch(appended: (try? api.appended(after: from)) ?? (json: [], last: from)) }.appended
                if !batch.json.isEmpty {
                    last = batch.last
                    // SSE data lines: one JSON array; the objects have no raw newlines (JSON escapes them).
                    try await writer.write(ByteBuffer(string: "event: events\nid: \(last)\ndata: [" + batch.json.joined(separator: ",") + "]\n\n"))
                    idle = .zero
                    continue
                }
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                } catch { break }
                idle += interval
                if idle >= .seconds(15) { try await writer.write(ByteBuffer(string: ": idle\n\n")); idle = .zero }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }
}
