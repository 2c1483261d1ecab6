import ArgumentParser
import ClickHouse
import EventStore
import Foundation
import Render
import Timeline

struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a store into ClickHouse: sources, events, clocks, connections and what the joiner derived, findings.",
        discussion: """
        --to clickhouse+http://HOST:8123/DATABASE?dataset=NAME (or clickhouse+https://, default port 8443). \
        The tables are created when missing. Several hosts joined by commas are the shards of a cluster \
        (&cluster=NAME): every event of one connection goes to one shard. A source counts as pushed once all \
        its events are there; pushing the same store again inserts nothing, and a push that was cut off is \
        completed by running it again. A dataset holds one store: another store's push into it is refused. \
        &compression=gzip compresses the inserts. The password: in the URL, or in TRACEJOIN_CLICKHOUSE_PASSWORD; \
        it is never printed. Afterwards timeline, conn, connections, clocks, sources, findings, report and sql \
        read the dataset with --store and the same URL.
        """
    )

    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("The ClickHouse database to copy into: clickhouse+http://HOST:PORT/DATABASE?dataset=NAME.", valueName: "url"))
    var to: String
    @Option(help: ArgumentHelp("The ClickHouse user (default: the URL's, else `default`).", valueName: "name"))
    var user: String?
    @Flag(help: "Print {\"events_in_store\", \"rows\", \"rows_inserted\", \"seconds\"} as one JSON object.") var json = false
    @Option(help: ArgumentHelp("Events per INSERT (10^5–10^6 suits ClickHouse).", valueName: "n"))
    var batchRows: Int = 250_000
    @Flag(help: "Do not compute and copy the findings (on a store of millions of events they take minutes).") var noFindings = false
    @Option(help: .private) var stopAfterBatches: Int?
    /// Events read and encoded at a time (measurements).
    @Option(help: .private) var chunkRows: Int?
    /// Waits for a line on stdin after that many batches (tests stop a server there).
    @Option(help: .private) var pauseAfterBatches: Int?

    func validate() throws {
        guard ClickHouseURL.isClickHouse(to) else {
            throw ValidationError("--to wants clickhouse+http://HOST:PORT/DATABASE?dataset=NAME (or clickhouse+https://)")
        }
        do { _ = try ClickHouseURL(to, user: user) } catch { throw ValidationError(error.description) }
        guard (100...10_000_000).contains(batchRows) else { throw ValidationError("--batch-rows wants 100 to 10000000") }
    }

    func run() async throws {
        let url: ClickHouseURL
        do { url = try ClickHouseURL(to, user: user, environment: ProcessInfo.processInfo.environment) } catch { throw CLIError(error.description) }
        if ClickHouseURL.isClickHouse(store.store) { throw CLIError("--store names the SQLite store to copy from; --to names ClickHouse") }
        let s = try Self.prepared(store)
        let client = ClickHouseClient(url: url)
        let pusher = Pusher(store: s, client: client, progress: note)
        if !noFindings { pusher.extraDerived = FindingRows.rows(try Findings.run(s)) }
        pusher.batchRows = batchRows
        pusher.stopAfterBatches = stopAfterBatches
        if let chunkRows, chunkRows > 0 { pusher.chunkRows = chunkRows }
        if let pause = pauseAfterBatches {
            pusher.afterBatch = { n in
                if n == pause {
                    note("push: paused after \(n) batches; a line on stdin goes on")
                    _ = readLine()
                }
            }
        }
        let report = try await Self.run(pusher)
        Self.summary(report, store: store.store, url: url)
        if json {
            var o = JSONObject()
            o.add("events_in_store", report.eventsInStore)
            o.add("rows", report.rows)
            o.add("rows_inserted", report.rowsInserted)
            o.add("events_inserted", report.eventsInserted)
            o.add("sources_pushed", report.sourcesPushed)
            o.add("sources_skipped", report.sourcesSkipped)
            o.add("sources_replaced", report.sourcesReplaced)
            o.add("seconds", (report.seconds * 1000).rounded() / 1000)
            o.add("server", report.server)
            o.add("schema", report.dialect.rawValue)
            print(o.text)
        }
    }

    /// The store with its clocks and lifecycles up to date (the push copies them): opened to write only when a pass
    /// must run.
    static func prepared(_ store: StoreOptions) throws -> Store {
        let s = try store.open(readOnly: true)
        guard try s.isStale(ClockPass.name) || s.isStale(LifecyclePass.name) else { return s }
        return try store.openSolved()
    }

    /// Runs a push to its end and closes its client, whatever happens; ClickHouse's errors as the user's.
    static func run(_ pusher: Pusher) async throws -> PushReport {
        let result: Result<PushReport, Error>
        do { result = .success(try await pusher.run()) } catch { result = .failure(error) }
        await pusher.client.shutdown()
        switch result {
        case .success(let report): return report
        case .failure(let e as ClickHouseError): throw CLIError(e.description)
        case .failure(let e): throw e
        }
    }

    /// What a push did, on stderr.
    static func summary(_ report: PushReport, store: String, url: ClickHouseURL) {
        if report.rowsInserted == 0 {
            note("push: nothing to insert: \(url) already holds every source of \(store) (\(report.rows) events)")
        } else {
            note("push: \(report.eventsInserted) events of \(report.sourcesPushed) sources inserted (\(report.rowsInserted) rows in all) in \(String(format: "%.2f", report.seconds)) s; \(report.rows) of \(report.eventsInStore) events of the store are in \(url)")
        }
    }
}
