import ClickHouse
import EventStore
import Foundation
import Timeline

/// `ingest --store clickhouse+…`: the files go through a staging SQLite store in the temporary folder, where the
/// joiner's passes run (clocks, bindings, lifecycles: they are SQLite's), then into ClickHouse by the push, in its
/// batches. The staging store is removed afterwards, whatever happens.
enum ClickHouseIngest {
    static func run(url text: String, arguments: IngestArguments) throws {
        try IngestRunner.exit(for: try load(url: text, arguments: arguments))
    }

    /// Ingests, solves and pushes; returns the files' reports (for the exit status).
    static func load(url text: String, arguments: IngestArguments) throws -> [IngestReport] {
        let url: ClickHouseURL
        do { url = try ClickHouseURL(text, environment: ProcessInfo.processInfo.environment) } catch { throw CLIError("--store: \(error.description)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tracejoin-stage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("stage.db").path
        note("ingest: reading into a staging store (\(path)), where the joiner's passes run; then pushing it to \(url)")
        let stage = try Store(path: path)
        let reports = try IngestRunner.run(store: stage, arguments: arguments)
        try runStalePasses(stage)
        let pusher = Pusher(store: stage, client: ClickHouseClient(url: url), progress: note)
        pusher.extraDerived = FindingRows.rows(try Findings.run(stage))
        let report = try ClickHouseReader.wait { try await Push.run(pusher) }
        Push.summary(report, store: "the files", url: url)
        return reports
    }
}
