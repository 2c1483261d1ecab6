import XCTest
import Foundation
@testable import ClickHouse
import Timeline

/// `clocks --solve` on a dataset: the engine pairs the packets two capture points share and returns them reduced
/// (`ClockQueries.pairBuckets`); the bounds, the placement and the rows written come from those rows alone.
final class EngineClockTests: XCTestCase {
    typealias T = PushEndToEndTests

    func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func pushed(_ scenario: String, to base: String) throws -> (store: String, url: String) {
        let store = try T.store(scenario, in: self)
        let url = base + (base.contains("?") ? "&" : "?") + "dataset=" + T.dataset(scenario)
        let p = try T.tracejoin(["push", "--store", store, "--to", url, "--no-findings"])
        XCTAssertEqual(p.status, 0, p.err)
        return (store, url)
    }

    /// nat-two-points on the 2-shard 18.16 cluster: the server's clock is 3.25 s behind, the client's packets reach it
    /// through a NAT (another tuple, another shard), and 32 of its 33 packets are the server's too.
    func testNATCaseSolvedInTheEngine() async throws {
        let (store, url) = try pushed("nat-two-points", to: try T.cluster().url)
        // The dataset without its aliases, as a dataset no store's pass filled would be: the engine finds them again.
        let client = ClickHouseClient(url: try ClickHouseURL(url))
        try await client.connect()
        let schema = ClickHouseSchema(database: "tj", dialect: client.dialect, cluster: client.url.cluster)
        let ds: [String: Param] = ["dataset": .string(client.url.dataset)]
        let aliases = try await client.rows(ReadQueries.aliases(schema), ds, AliasRows.read)
        XCTAssertEqual(aliases.count, 8, "4 connections, each under the client's and the server's tuple")
        var w = RowBinaryWriter()
        for a in aliases { AliasRows.write(AliasRows.none(a.key), dataset: client.url.dataset, version: UInt64(Date().timeIntervalSince1970 * 1e9), into: &w) }
        try await client.insertRows(ClickHouseSchema.connAliases, schema, w, count: aliases.count)
        let cleared = try await client.rows(ReadQueries.aliases(schema), ds, AliasRows.read)
        await client.shutdown()
        XCTAssertEqual(cleared.count, 0)
        let conn = ["conn", "10.97.1.1:43642", "10.97.2.1:7000", "--json"]
        XCTAssertFalse(try T.tracejoin(conn + ["--store", url]).out.contains("isn=703484624"))

        let result = try await EngineClockPass.run(url: try ClickHouseURL(url))
        XCTAssertEqual(result.aliasesWritten, 8, "the server's tuples found by their SYNs' sequence numbers")
        XCTAssertEqual(try T.tracejoin(conn + ["--store", url]).out, try T.tracejoin(conn + ["--store", store]).out)
        let pair = try XCTUnwrap(result.report.pairs.first)
        XCTAssertEqual(result.report.pairs.count, 1)
        XCTAssertEqual(pair.matched, 32, "every server packet is one the client saw, under the NAT's tuple")
        let e = try XCTUnwrap(pair.estimate)
        // θ is the server's clock minus the client's.
        XCTAssertLessThanOrEqual(abs(Double(e.offset) / 1e9 + 3.25), Double(e.uncertainty) / 1e9, "the known shift within the stated bounds")
        XCTAssertLessThanOrEqual(result.reducedRows, 32, "no more rows than matched packets came back")

        // The rows it wrote are what every view reads: the same as the SQLite store's own pass.
        let sqlite = try T.tracejoin(["clocks", "--store", store, "--json"])
        let solved = try T.tracejoin(["clocks", "--store", url, "--solve", "--json"])
        XCTAssertEqual(solved.status, 0, solved.err)
        XCTAssertEqual(solved.out, sqlite.out)
        // Against the server instead: the client is then 3.25 s ahead, and a later pass brings the first back.
        let flipped = lines(try T.tracejoin(["clocks", "--store", url, "--solve", "--reference", "server.shifted.pcapng", "--json"]).out)
        let clientClock = try XCTUnwrap(flipped.first { $0["host"] as? String == "client" })
        XCTAssertEqual(clientClock["reference"] as? String, "corpus/nat-two-points/server.shifted.pcapng")
        XCTAssertLessThanOrEqual(abs((clientClock["offset_s"] as? Double ?? 0) + 3.25), clientClock["uncertainty_s"] as? Double ?? 0)
        XCTAssertEqual(lines(try T.tracejoin(["timeline", "--store", url, "--json"]).out).filter { $0["host"] as? String == "client" }
                        .map { ($0["ts_ns"] as? Int ?? 0) - ($0["ts_source_ns"] as? Int ?? 0) }.allSatisfy { abs(Double($0) / 1e9 + 3.25) < 0.02 },
                       true, "the timeline reads the client on the server's clock now")
        XCTAssertEqual(try T.tracejoin(["clocks", "--store", url, "--solve", "--json"]).out, sqlite.out)
    }

    /// clock-drift: the server's clock starts 1.5 s ahead and gains 250 ppm over two minutes (corpus README). The drift
    /// is fitted from the engine's per-bucket extremes, not from every packet.
    func testDriftSolvedFromReducedRows() async throws {
        let (_, url) = try pushed("clock-drift", to: try T.cluster().url)
        let result = try await EngineClockPass.run(url: try ClickHouseURL(url))
        let pair = try XCTUnwrap(result.report.pairs.first)
        let e = try XCTUnwrap(pair.estimate)
        XCTAssertEqual(Double(e.driftPPB) / 1e3, 250, accuracy: 2)
        XCTAssertEqual(Double(e.offset) / 1e9, 1.5, accuracy: Double(e.uncertainty) / 1e9, "θ at the server's first packet")
        XCTAssertLessThan(result.reducedRows, pair.matched, "the engine returned fewer rows than the \(pair.matched) packets matched")
        XCTAssertTrue(result.byShard, "the URL lists both shards of tj2: each reduced its own connections")
        // In parts of at most 600 packets (each connection whole in one part): the same bounds and drift.
        let parts = try await EngineClockPass.run(url: try ClickHouseURL(url), unitPackets: 600)
        XCTAssertGreaterThanOrEqual(parts.units, 3)
        let p = try XCTUnwrap(parts.report.pairs.first?.estimate)
        XCTAssertEqual([p.offset, p.uncertainty, p.driftPPB, p.origin], [e.offset, e.uncertainty, e.driftPPB, e.origin])
        XCTAssertEqual(parts.report.pairs.first?.matched, pair.matched)
    }

    /// The same pass on ClickHouse 26.9 (chDB behind the shim): the current schema's DateTime64 times and IPv6 addresses.
    func testNATCaseSolvedOnClickHouse26() throws {
        let (store, url) = try pushed("nat-two-points", to: try CurrentEngineReadTests.shim(in: self).url)
        let solved = try T.tracejoin(["clocks", "--store", url, "--solve", "--json"])
        XCTAssertEqual(solved.status, 0, solved.err)
        XCTAssertEqual(solved.out, try T.tracejoin(["clocks", "--store", store, "--json"]).out)
    }
}
