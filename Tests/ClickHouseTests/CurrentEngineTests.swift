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
    func python() throws -> String { try Self.python() }

    static func python() throws -> String {
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
        var rows = EventRows(dataset: "nat", communityIDs: Dictionary(uniqueKeysWithValues: try store.connectionRecords().map { ($0.key, $0.communityID) }),
                             addresses: try store.addressTexts())
        var w = RowBinaryWriter()
        var ids: [UInt64] = []
        for s in sources {
            let id = try XCTUnwrap(hashes[s.id].flatMap { sourceID(contentHash: $0) })
            ids.append(id)
            var after: (ts: Int64, id: Int64)?
            while true {
                let page = try store.pushPage(source: s, after: after, limit: 10)
                try rows.write(page.events, host: s.host, sourceID: id, path: s.path, into: &w)
                after = page.last
                if page.events.count < 10 { break }
            }
        }
        try Data(w.bytes).write(to: URL(fileURLWithPath: dir + "/events.rowbinary"))

        let schema = ClickHouseSchema(database: "tj", dialect: .current, retentionDays: 90)
        try schema.ddl().joined(separator: "\n;\n").write(toFile: dir + "/ddl.sql", atomically: true, encoding: .utf8)
        let insert: [String: Any] = ["table": schema.name(ClickHouseSchema.events), "columns": EventRows.columns,
                                     "token": "tj:nat:0", "file": "events.rowbinary",
                                     "settings": ["deduplicate_blocks_in_dependent_materialized_views": "1"]]
        try JSONSerialization.data(withJSONObject: insert).write(to: URL(fileURLWithPath: dir + "/insert.json"))
        let ds: [String: Param] = ["dataset": .string("nat")]
        let queries: [(String, String, [String: Param])] = [
            ("eventCounts", PushQueries.eventCounts(schema), ["dataset": .string("nat"), "ids": .uint64s(ids)]),
            ("pushedSources", PushQueries.pushedSources(schema), ds),
            ("aliases", ReadQueries.aliases(schema), ds),
            ("mutationsLeft", PushQueries.mutationsLeft, ["db": .string("tj"), "table": .string("events")]),
            ("readSources", ReadQueries.sources(schema), ds),
            ("readClocks", ReadQueries.clocks(schema), ds),
            ("readConnections", ReadQueries.connections(schema, byKeys: true), ["dataset": .string("nat"), "keys": .uint64s([1, 2])]),
            ("readConnectionsByEndpoint", ReadQueries.connections(schema, address: true, port: true),
             ["dataset": .string("nat"), "address": .string("10.97.2.1"), "port": .int64(9)]),
        ]
        // Pages of the client capture (33 packets, ids 1–33) as the reader asks for them on this engine: times as
        // Int64 nanoseconds compared with the DateTime64 column.
        let client = try XCTUnwrap(sources.first { $0.host == "client" })
        let clientEvents = try store.eventPage(source: client, filter: EventFilter(), after: nil, limit: 100).events
        XCTAssertEqual(clientEvents.count, 33)
        let cid = try XCTUnwrap(hashes[client.id].flatMap { sourceID(contentHash: $0) })
        func page(_ name: String, from: Int64? = nil, after: (ts: Int64, id: Int64)? = nil, conns: [Int64]? = nil, kinds: [String] = [],
                  grep: String? = nil, limit: Int = 100) -> (String, String, [String: Param]) {
            let q = ReadQueries.eventPage(schema, dataset: "nat", host: "client", source: cid, from: from, to: nil, after: after,
                                          conns: conns, kinds: kinds, grep: grep, limit: limit)
            return (name, q.sql, q.params)
        }
        let rst = try XCTUnwrap(clientEvents.first { $0.summary.contains("RST") })
        let pages = [
            page("pageFirst5", limit: 5),
            page("pageAfter", after: (clientEvents[9].tsSource, clientEvents[9].id), limit: 3),
            page("pageFrom", from: clientEvents[30].tsSource),
            page("pageGrep", grep: "rst"),
            page("pageConn", conns: [rst.conn!]),
            page("pageKind", kinds: ["log"]),
        ]
        // The refused connection's place in `conns` (filled by its materialized view) and its events read through it.
        let rstEvents = clientEvents.filter { $0.conn == rst.conn }
        let place = ("connPlace", ReadQueries.connPlace(schema), ["dataset": Param.string("nat"), "key": .uint64(UInt64(bitPattern: rst.conn!))])
        let connEvents = ReadQueries.connectionEvents(schema, dataset: "nat", key: rst.conn!, first: rstEvents.first!.tsSource,
                                                      last: rstEvents.last!.tsSource, hosts: ["client"])
        let lookups: [(String, String, [String: Param])] = [place, ("connEvents", connEvents.sql, connEvents.params),
            ("connCount", "SELECT countMerge(events) FROM \(schema.name(ClickHouseSchema.conns)) WHERE dataset = 'nat' AND conn_key = {key:UInt64}",
             ["key": .uint64(UInt64(bitPattern: rst.conn!))])]
        let explain = ("connEventsExplain", connEvents.sql, connEvents.params)
        var qjson = (queries + pages + lookups).map { ["name": $0.0, "sql": $0.1, "params": $0.2.mapValues { $0.paramValue }] as [String: Any] }
        qjson.append(["name": explain.0, "sql": explain.1, "params": explain.2.mapValues { $0.paramValue }, "explain": true])
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
        // The pages: event ids (first column) and source times (fourth) as the SQLite store has them.
        func idsOf(_ name: String) -> [String] { (results[name] ?? "").split(separator: "\n").map { String($0.split(separator: "\t")[0]) } }
        XCTAssertEqual(idsOf("pageFirst5"), ["1", "2", "3", "4", "5"])
        XCTAssertEqual((results["pageFirst5"] ?? "").split(separator: "\n").first.map { String($0.split(separator: "\t")[3]) },
                       String(clientEvents[0].tsSource), "times come back as the nanoseconds stored")
        XCTAssertEqual(idsOf("pageAfter"), ["11", "12", "13"], "the page after event 10")
        XCTAssertEqual(idsOf("pageFrom"), ["31", "32", "33"], "from the 31st packet's time on")
        XCTAssertEqual(idsOf("pageGrep"), [String(rst.id)], "one RST in the client capture, found case-insensitively")
        XCTAssertEqual(idsOf("pageConn"), clientEvents.filter { $0.conn == rst.conn }.map { String($0.id) }, "the refused connection's SYN and RST")
        XCTAssertEqual(results["pageKind"], "", "a capture holds no log lines")
        // conns: the SYN and the RST, at the client, counted once though the batch was sent twice.
        XCTAssertEqual(results["connPlace"], "\(rstEvents.first!.tsSource)\t\(rstEvents.last!.tsSource)\t['client']\n")
        XCTAssertEqual(results["connCount"], "2\n", "the batch sent twice counts once in conns too")
        // Its rows: source_id first, then the event columns (event_id first).
        let connRows = (results["connEvents"] ?? "").split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(connRows.map { $0[1] }, rstEvents.map { String($0.id) }, "the SYN and the RST")
        XCTAssertEqual(Set(connRows.map { $0[0] }), [String(cid)], "both from the client capture")
        let explained = results["connEventsExplain"] ?? ""
        if ProcessInfo.processInfo.environment["TJ_SHOW_EXPLAIN"] != nil { print(explained) }
        XCTAssertTrue(explained.contains("PrimaryKey") && explained.contains("idx_conn"), "the primary key and the connection key's bloom filter: \(explained)")
        for name in ["readSources", "readClocks", "readConnections", "readConnectionsByEndpoint"] {
            XCTAssertEqual(results[name], "", "\(name) runs on 26.9 (no rows of those tables were inserted here)")
        }
        XCTAssertTrue((r["explain_conn"] as? String ?? "").contains("idx_conn"), "the connection key's bloom filter is used: \(r["explain_conn"] ?? "")")
    }
}
