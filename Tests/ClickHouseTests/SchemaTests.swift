import XCTest
@testable import ClickHouse
@testable import EventStore

final class SchemaTests: XCTestCase {
    /// When a position query may divide instead of search: times (all but the last) on an even grid, or within a quarter
    /// step of one (a drifting clock's view of even aligned times).
    func testEvenTimesAreRecognised() {
        XCTAssertEqual(ReadQueries.evenStep([100, 110, 120, 130, 999]), 10)
        XCTAssertEqual(ReadQueries.evenStep([100, 110, 121, 130, 131]), 10, "one ns off a 10 ns grid: still even")
        XCTAssertNil(ReadQueries.evenStep([100, 110, 125, 130, 140]), "half a step off")
        XCTAssertNil(ReadQueries.evenStep([100, 100, 100]), "no spacing")
        XCTAssertNil(ReadQueries.evenStep([100, 200]), "two times: nothing to divide")
    }

    func testDialectFromVersion() {
        XCTAssertEqual(ServerVersion("18.16.1")?.dialect, .compat, "Debian bookworm's server")
        XCTAssertEqual(ServerVersion("21.8.15.7")?.dialect, .compat)
        XCTAssertEqual(ServerVersion("22.3.2.1")?.dialect, .current)
        XCTAssertEqual(ServerVersion("26.9.2.1\n")?.dialect, .current, "chDB 26.9's answer, newline and all")
        XCTAssertNil(ServerVersion("1.1.54394")?.dialect, "older than 18.16: refused")
        XCTAssertNil(ServerVersion("18.14.19")?.dialect)
        XCTAssertNil(ServerVersion("not a version"))
        XCTAssertNil(ServerVersion(""))
        XCTAssertTrue(ServerVersion(18, 16) < ServerVersion(18, 16, 1))
    }

    func testCompatDDLHasOnlyWhat1816Understands() {
        let ddl = ClickHouseSchema(database: "tj", dialect: .compat).ddl().joined(separator: "\n")
        // 18.16 answers "Unknown data type family" or a syntax error to each of these (SCALEOUT.md §3.3).
        for feature in ["DateTime64", "IPv6", "LowCardinality", "CODEC", "INDEX", "TTL", "Map(", "SETTINGS"] {
            XCTAssertFalse(ddl.contains(feature), "compat DDL uses \(feature)")
        }
        XCTAssertTrue(ddl.contains("ts_src Int64"))
        XCTAssertTrue(ddl.contains("src_ip FixedString(16)"))
        XCTAssertTrue(ddl.contains("PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts_src, 1000000000)))"))
        XCTAssertTrue(ddl.contains("ORDER BY (dataset, host, ts_src, source_id, ordinal)"))
        XCTAssertTrue(ddl.contains("summary String ALIAS if(summary_text != '', summary_text, splitByChar('\\n', substring(raw, summary_at + 1))[1])"))
        XCTAssertFalse(ClickHouseSchema.events.insertColumns.contains("summary"), "an ALIAS column is not inserted")
        XCTAssertFalse(ddl.contains("Distributed"), "a single server gets no Distributed tables")
        XCTAssertTrue(ddl.contains("CREATE TABLE IF NOT EXISTS tj.events\n"))
    }

    func testCurrentDDL() {
        let ddl = ClickHouseSchema(database: "tj", dialect: .current, retentionDays: 90).ddl().joined(separator: "\n")
        XCTAssertTrue(ddl.contains("ts_src DateTime64(9, 'UTC')"))
        XCTAssertTrue(ddl.contains("src_ip IPv6"))
        XCTAssertTrue(ddl.contains("INDEX idx_conn conn_key TYPE bloom_filter"))
        XCTAssertTrue(ddl.contains("PARTITION BY toYYYYMMDD(ts_src)"))
        // Retention on push time, never on the event's own time.
        XCTAssertTrue(ddl.contains("TTL ingested_at + INTERVAL 90 DAY"))
        XCTAssertFalse(ddl.contains("TTL ts_src"))
        XCTAssertFalse(ClickHouseSchema(database: "tj", dialect: .current).ddl().joined().contains("TTL"), "no retention unless asked")
    }

    func testClusterLayout() {
        let s = ClickHouseSchema(database: "tj", dialect: .compat, cluster: "tj2")
        let ddl = s.ddl()
        XCTAssertTrue(ddl.contains { $0.hasPrefix("CREATE TABLE IF NOT EXISTS tj.events_local\n") })
        XCTAssertTrue(ddl.contains("CREATE TABLE IF NOT EXISTS tj.events AS tj.events_local ENGINE = Distributed(tj2, tj, events_local, if(conn_key = 0, cityHash64(source_id, ordinal), conn_key))"),
                      "events sharded by connection key")
        XCTAssertEqual(s.name(ClickHouseSchema.events), "tj.events")
        XCTAssertEqual(s.localName(ClickHouseSchema.events), "tj.events_local")
        XCTAssertFalse(ddl.joined().contains("ON CLUSTER"))
        XCTAssertTrue(s.ddl(onCluster: true).allSatisfy { $0.contains("ON CLUSTER tj2") })
    }

    func testParametersOrLiterals() throws {
        // 18.16 has no query parameters: values become quoted literals, quotes and backslashes escaped.
        let sql = try Param.substitute("SELECT 1 WHERE d = {d:String} AND has({ids:Array(UInt64)}, s)",
                                       ["d": .string("it's a \\ test"), "ids": .uint64s([1, 2])])
        XCTAssertEqual(sql, "SELECT 1 WHERE d = 'it\\'s a \\\\ test' AND has([1,2], s)")
        XCTAssertThrowsError(try Param.substitute("SELECT {x:String}", [:]))
        XCTAssertEqual(Param.string("a\tb").paramValue, "a\\tb")
    }

    func testBatchPlanIsDeterministicAndSplitsSources() {
        func src(_ id: Int64, _ n: Int) -> SourceInfo {
            SourceInfo(id: id, path: "s\(id)", format: "f", host: "h", bytes: 0, lines: 0, events: n, unparsed: 0, zoneOffset: 0,
                       zoneGiven: false, timeBasis: .absolute, timeDigits: 6, firstTS: nil, lastTS: nil, offsetNS: 0, clockMethod: nil,
                       notes: nil, firstRow: nil, lastRow: nil, tsSorted: true)
        }
        let plan = Pusher.plan([src(1, 5), src(2, 0), src(3, 7)], batchRows: 4)
        XCTAssertEqual(plan.map { $0.map { "\($0.source.id):\($0.skip)+\($0.count)" } },
                       [["1:0+4"], ["1:4+1", "3:0+3"], ["3:3+4"]])
        let hashes: [Int64: String] = [1: "a", 3: "b"]
        XCTAssertEqual(Pusher.token(dataset: "d", batch: plan[1], hashes: hashes), Pusher.token(dataset: "d", batch: plan[1], hashes: hashes))
        XCTAssertNotEqual(Pusher.token(dataset: "d", batch: plan[0], hashes: hashes), Pusher.token(dataset: "d", batch: plan[1], hashes: hashes))
        XCTAssertNotEqual(Pusher.token(dataset: "d", batch: plan[0], hashes: hashes), Pusher.token(dataset: "e", batch: plan[0], hashes: hashes))
    }

    func testServerErrorsReadAsTheUserNeeds() {
        let wrong = ClickHouseError.fromServer(status: 401, body: "Code: 193, e.displayText() = DB::Exception: Wrong password for user tj, e.what() = DB::Exception\n",
                                               host: "h:1", user: "tj")
        XCTAssertEqual(wrong, .refused(host: "h:1", user: "tj", code: 193, message: "Wrong password for user tj"))
        let modern = ClickHouseError.fromServer(status: 516, body: "Code: 516. DB::Exception: tj: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) (version 24.3.1)",
                                                host: "h:1", user: "tj")
        if case .refused(_, _, let code, _) = modern { XCTAssertEqual(code, 516) } else { XCTFail("\(modern)") }
        let other = ClickHouseError.fromServer(status: 500, body: "Code: 60, e.displayText() = DB::Exception: Table tj.x doesn't exist., e.what() = DB::Exception",
                                               host: "h:1", user: "tj")
        XCTAssertEqual(other.description, "ClickHouse at h:1 answered code 60: Table tj.x doesn't exist.")
    }
}
