import XCTest
import Foundation
@testable import ClickHouse
@testable import EventStore

/// The current schema and the push's queries on ClickHouse 26.9 in process (PyPI's chdb-core), through
/// `scripts/check-clickhouse-current.py`: the real server of the tests is 18.16, which never sees this DDL.
///
/// Python with chDB: TRACEJOIN_CHDB_PYTHON, else `.build-ch/venv/bin/python` (`.ci/run` makes it). Without it the
/// test skips and says why; under CI=true it fails unless `.ci/run` said why (TRACEJOIN_CHDB_SKIP).
final class CurrentEngineTests: XCTestCase {
    func python() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let why = env["TRACEJOIN_CHDB_SKIP"] { throw XCTSkip("no chDB: \(why)") }
        let venv = PushEndToEndTests.root.appendingPathComponent(".build-ch/venv/bin/python").path
        if let p = env["TRACEJOIN_CHDB_PYTHON"] ?? (FileManager.default.fileExists(atPath: venv) ? venv : nil) { return p }
        let why = "no Python with chdb-core: python3 -m venv .build-ch/venv && .build-ch/venv/bin/pip install chdb-core==26.9.0"
        if env["CI"] == "true" { XCTFail(why) }
        throw XCTSkip(why)
    }

    func testCurrentSchemaAndQueriesOnClickHouse26() throws {
        let python = try python()
        let dir = NSTemporaryDirectory() + "tj-chdb-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }

        // nat-two-points as a store, its events as the RowBinary a push sends.
        let path = dir + "/case.db"
        let p = try PushEndToEndTests.tracejoin(["analyze", "--store", path, "corpus/nat-two-points"])
        XCTAssertEqual(p.status, 0, p.err)
        let store = try Store(path: path, readOnly: true)
        let sources = try store.sources()
        let hashes = try store.contentHashes()
        var rows = EventRows(dataset: "nat", communityIDs: try store.communityIDs())
        var w = RowBinaryWriter()
        var ids: [UInt64] = []
        for s in sources {
            let id = try XCTUnwrap(hashes[s.id].flatMap { sourceID(contentHash: $0) })
            ids.append(id)
            var after: (ts: Int64, id: Int64)?
            while true {
                let page = try store.eventPage(source: s, filter: EventFilter(), after: after, limit: 10)
                for e in page.events { try rows.write(e, host: s.host, sourceID: id, path: s.path, into: &w) }
                after = page.last
                if page.exhausted { break }
            }
        }
        try Data(w.bytes).write(to: URL(fileURLWithPath: dir + "/events.rowbinary"))

        let schema = ClickHouseSchema(database: "tj", dialect: .current, retentionDays: 90)
        try schema.ddl().joined(separator: "\n;\n").write(toFile: dir + "/ddl.sql", atomically: true, encoding: .utf8)
        let insert: [String: Any] = ["table": schema.name(ClickHouseSchema.events), "columns": EventRows.columns,
                                     "token": "tj:nat:0", "file": "events.rowbinary"]
        try JSONSerialization.data(withJSONObject: insert).write(to: URL(fileURLWithPath: dir + "/insert.json"))
        let ds: [String: Param] = ["dataset": .string("nat")]
        let queries: [(String, String, [String: Param])] = [
            ("eventCounts", PushQueries.eventCounts(schema), ["dataset": .string("nat"), "ids": .uint64s(ids)]),
            ("pushedSources", PushQueries.pushedSources(schema), ds),
            ("clocks", PushQueries.clocks(schema), ds),
            ("aliases", PushQueries.aliases(schema), ds),
            ("mutationsLeft", PushQueries.mutationsLeft, ["db": .string("tj"), "table": .string("events")]),
        ]
        let qjson = queries.map { ["name": $0.0, "sql": $0.1, "params": $0.2.mapValues { $0.paramValue }] as [String: Any] }
        try JSONSerialization.data(withJSONObject: qjson).write(to: URL(fileURLWithPath: dir + "/queries.json"))

        let run = Process()
        run.executableURL = URL(fileURLWithPath: python)
        run.arguments = [PushEndToEndTests.root.appendingPathComponent("scripts/check-clickhouse-current.py").path, dir]
        let out = Pipe(), err = Pipe()
        run.standardOutput = out
        run.standardError = err
        try run.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        run.waitUntilExit()
        if run.terminationStatus == 2 { throw XCTSkip(e) }
        XCTAssertEqual(run.terminationStatus, 0, e)
        let r = try XCTUnwrap(JSONSerialization.jsonObject(with: o) as? [String: Any], e)
        let results = r["results"] as? [String: String] ?? [:]

        XCTAssertTrue((r["version"] as? String ?? "").hasPrefix("26.9"), "\(r["version"] ?? "")")
        XCTAssertEqual(r["inserted_twice_count"] as? Int, 65, "the same batch sent twice with one token lands once")
        XCTAssertEqual(r["old_case_after_merge"] as? Int, 1, "a 2013-dated row outlives OPTIMIZE FINAL under retention_days=90: retention keys on push time")
        let counts = Set((results["eventCounts"] ?? "").split(separator: "\n").map { String($0.split(separator: "\t").last ?? "") })
        XCTAssertEqual(counts, ["33", "32"], results["eventCounts"] ?? "")
        XCTAssertEqual(results["pushedSources"], "", "no sources row was written")
        XCTAssertEqual(results["mutationsLeft"], "0\n")
        XCTAssertTrue((r["explain_conn"] as? String ?? "").contains("idx_conn"), "the connection key's bloom filter is used: \(r["explain_conn"] ?? "")")
    }
}
