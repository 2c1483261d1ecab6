import ArgumentParser
import Foundation
import Hummingbird
import NIOCore
import Logging
import EventStore
import Timeline

struct View: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Browse the store in a web page: the merged timeline, a connection's ladder, findings, live.",
        discussion: """
        Serves a local page (only on 127.0.0.1 unless --listen says otherwise) and prints its address. The \
        timeline scrolls through every event on the aligned clock, filtered as `tracejoin timeline` filters \
        (the filters are in the page's address, to share a view); the histogram above it zooms and pans; \
        clicking an event of a connection draws its ladder across every capture point. Events another \
        process adds (`tracejoin ingest --follow`) appear within a second. The store is opened read-only \
        (clocks and connections are brought up to date first when an ingest left them stale). Ctrl-C stops.

        On a ClickHouse dataset (--store clickhouse+http://…?dataset=NAME) it shows the dataset as it was when \
        the view started, its findings those the push copied; start it again to see a later push.

        The page's data comes from JSON endpoints that answer as the CLI's --json does: /api/timeline, \
        /api/histogram, /api/conn/<community_id>, /api/clocks, /api/findings, /api/sources, and \
        /api/live (server-sent events). README lists their parameters.
        """)

    @OptionGroup var store: StoreOptions
    @Option(help: "Port to serve on (0: any free port).") var port = 8787
    @Option(help: ArgumentHelp("Address to listen on. Anything but loopback shows your traces to the network.", valueName: "address"))
    var listen = "127.0.0.1"
    @Flag(help: "Open the page in the desktop's browser (xdg-open).") var open = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535, got \(port)") }
    }

    func run() async throws {
        if store.store == ":memory:" { throw CLIError("view needs a store file (--store case.db); :memory: holds nothing to show") }
        // SQLite: derived tables first, then read-only (the view itself never writes).
        if !store.isClickHouse { _ = try store.openSolved() }
        let api = ViewAPI(store: try store.openReader())
        if !["127.0.0.1", "::1", "localhost"].contains(listen) {
            note("warning: serving on \(listen): anyone who can reach this address can read the store")
        }
        let router = ViewServer.router(api: api, live: LiveFeed(api: api))
        let openPage = open
        let host = listen
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(listen, port: port), serverName: "tracejoin"),
            onServerRunning: { channel in
                let p = channel.localAddress?.port ?? 0
                let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(p)/"
                print("tracejoin view: \(url)  (Ctrl-C stops)")
                fflush(stdout)
                if openPage { ViewCommandSupport.openBrowser(url) }
            },
            logger: ViewCommandSupport.quietLogger())
        let watchdog = ViewCommandSupport.exitSoonAfterStopSignal()
        defer { for w in watchdog { w.cancel() } }
        do {
            try await app.runService()
        } catch {
            throw CLIError("view: \(error)")
        }
    }
}

enum ViewCommandSupport {
    static func openBrowser(_ url: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["xdg-open", url]
        do { try p.run() } catch { note("could not open a browser (\(error.localizedDescription)): open \(url) yourself") }
    }

    /// Hummingbird logs every request at info; a terminal wants only problems.
    /// Ctrl-C (or SIGTERM) lets the server finish what it is sending, but an answer still being computed
    /// (the findings of ten million events) cannot be interrupted: a second after the signal the process
    /// exits anyway. The store is open read-only, so nothing is left half written.
    static func exitSoonAfterStopSignal() -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { sig in
            // Delivered to every source for the signal: the server's own graceful shutdown still runs.
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                DispatchQueue.global().asyncAfter(deadline: .now() + 1.0) { exit(0) }
            }
            s.resume()
            return s
        }
    }

    static func quietLogger() -> Logger {
        var l = Logger(label: "tracejoin.view")
        l.logLevel = .warning
        return l
    }
}
