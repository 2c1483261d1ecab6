import XCTest
import Foundation
@testable import ClickHouse

/// The views on `--store clickhouse+http://…` after a push, against the real 2-shard ClickHouse 18.16 cluster: they
/// print what they print on the SQLite store the push copied, byte for byte.
final class ReadEndToEndTests: XCTestCase {
    typealias T = PushEndToEndTests

    func run(_ args: [String]) throws -> T.Run { try T.tracejoin(args) }

    /// Pushes a scenario's store into a dataset of its own; returns the store and the dataset's URL.
    func pushed(_ scenario: String) throws -> (store: String, url: String) {
        let c = try T.cluster()
        let store = try T.store(scenario, in: self)
        let url = c.url + "&dataset=" + T.dataset(scenario)
        let p = try run(["push", "--store", store, "--to", url])
        XCTAssertEqual(p.status, 0, p.err)
        return (store, url)
    }

    /// Each command's output on both stores; they must be equal. Returns the ClickHouse side's, by command.
    @discardableResult
    func assertSame(_ store: String, _ url: String, _ commands: [[String]]) throws -> [String: String] {
        try Self.assertSame(store, url, commands)
    }

    @discardableResult
    static func assertSame(_ store: String, _ url: String, _ commands: [[String]]) throws -> [String: String] {
        var out: [String: String] = [:]
        for args in commands {
            let a = try T.tracejoin(args + ["--store", store]), b = try T.tracejoin(args + ["--store", url])
            XCTAssertEqual(b.status, 0, "\(args): \(b.err)")
            XCTAssertEqual(a.out, b.out, "\(args.joined(separator: " ")) differs between SQLite and ClickHouse")
            XCTAssertFalse(b.out.isEmpty, "\(args) printed nothing")
            out[args.joined(separator: " ")] = b.out
        }
        return out
    }

    func lines(_ text: String?) -> [[String: Any]] {
        (text ?? "").split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// nat-two-points: a client and a server capture across a NAT, the server's clock 3.25 s slow.
    func testNATCaseReadsTheSameFromClickHouse() throws {
        let (store, url) = try pushed("nat-two-points")
        let out = try assertSame(store, url, [
            ["timeline", "--json"], ["timeline"], ["timeline", "--csv"], ["timeline", "--own-time", "--limit", "5"],
            ["timeline", "--host", "server", "--json"],
            ["timeline", "--from", "2026-11-27T19:54:22.3", "--to", "2026-11-27T19:54:23.01", "--json"],
            ["timeline", "--grep", "FIN", "--json"],
            ["timeline", "--conn", "10.97.2.1:9", "--json"],
            ["timeline", "--conn", "10.97.2.254:43642,10.97.2.1:7000", "--kind", "packet"],
            ["clocks", "--json"], ["clocks"], ["sources", "--json"], ["sources"],
            ["connections", "--json"], ["connections"], ["connections", "--host", "server"], ["findings", "--json"], ["findings"],
            ["conn", "10.97.1.1:43642", "10.97.2.1:7000", "--json"], ["conn", "10.97.1.1:43642", "10.97.2.1:7000"], ["conn", "10.97.2.1"],
        ])
        // What a reader of the captures can check: 33 client and 32 server packets, the server's read 3.25 s later
        // than it wrote them, the refused connection to port 9 a SYN and a RST at each capture point.
        let events = lines(out["timeline --json"])
        XCTAssertEqual(events.count, 65)
        XCTAssertEqual(events.filter { $0["host"] as? String == "server" }.count, 32)
        for e in events where e["host"] as? String == "server" {
            let shift = Double((e["ts_ns"] as? Int ?? 0) - (e["ts_source_ns"] as? Int ?? 0)) / 1e9
            XCTAssertEqual(shift, 3.25, accuracy: 0.001, "the server's times are moved by the solved offset")
        }
        XCTAssertEqual(lines(out["timeline --conn 10.97.2.1:9 --json"]).compactMap { $0["flags"] as? String }, ["SYN", "SYN", "RST, ACK", "RST, ACK"])
        XCTAssertEqual(lines(out["connections --json"]).count, 8, "4 connections, each under the client's and the server's tuple")
        // The connection from port 43642: its first data segment never reached the server, and was sent again.
        let conn = try XCTUnwrap(lines(out["conn 10.97.1.1:43642 10.97.2.1:7000 --json"]).first)
        XCTAssertEqual((conn["aliases"] as? [[String: Any]])?.first?["evidence"] as? String, "isn=703484624", "the server's tuple, by the same SYN")
        let evs = conn["events"] as? [[String: Any]] ?? []
        XCTAssertTrue(evs.contains { e in (e["elsewhere"] as? [[String: Any]])?.contains { $0["verdict"] as? String == "lost" } == true },
                      "a client packet lost before the server")
        // report: the same page but for the line saying when it was made.
        let pages = try [store, url].map { st -> String in
            let html = NSTemporaryDirectory() + "tj-report-\(UUID().uuidString).html"
            defer { try? FileManager.default.removeItem(atPath: html) }
            XCTAssertEqual(try run(["report", "--store", st, "--html", html]).status, 0)
            return try String(contentsOfFile: html, encoding: .utf8).replacingOccurrences(of: #"<p class=meta>[^·]*·"#, with: "", options: .regularExpression)
        }
        XCTAssertEqual(pages[0], pages[1], "report differs between SQLite and ClickHouse")
        XCTAssertTrue(pages[1].contains("connection_refused"), "its findings")
        XCTAssertEqual(lines(out["findings --json"]).compactMap { $0["kind"] as? String }, ["connection_refused", "segments_lost"],
                       "the refused connection to port 9 and the segment lost between the capture points, as the push computed them")
        let server = try XCTUnwrap(lines(out["clocks --json"]).first { $0["host"] as? String == "server" })
        let offset = try XCTUnwrap(server["offset_s"] as? Double), unc = try XCTUnwrap(server["uncertainty_s"] as? Double)
        XCTAssertLessThanOrEqual(abs(offset - 3.25), unc, "the known 3.25 s shift lies within the stated uncertainty")
    }

    /// lync-edge: logs and ETL exports of several machines, relative and zone-less times, one clock solved one way.
    func testLogCaseReadsTheSameFromClickHouse() throws {
        let (store, url) = try pushed("lync-edge")
        let out = try assertSame(store, url, [
            ["timeline", "--json"], ["timeline"], ["timeline", "--kind", "log", "--json"], ["timeline", "--grep", "TIME-OUT", "--json"],
            ["timeline", "--conn", "192.168.1.1:50357", "--json"], ["clocks", "--json"], ["clocks"], ["sources", "--json"],
        ])
        XCTAssertEqual(lines(out["sources --json"]).count, 5, "client, edge ETL, two edge SIP stack logs, front end ETL")
        XCTAssertEqual(lines(out["timeline --grep TIME-OUT --json"]).compactMap { $0["summary"] as? String }, ["SIP/2.0 504 Server time-out"])
        // The edge's outbound connection to the front end (port 5061): its packets and the ETL lines bound to it
        // through the TCB pointer they name.
        let conn = lines(out["timeline --conn 192.168.1.1:50357 --json"])
        XCTAssertTrue(conn.contains { $0["kind"] as? String == "packet" })
        XCTAssertTrue(conn.contains { ($0["summary"] as? String ?? "").contains("Tcb 0x000000000829C860") }, "ETL lines bound through the pointer")
    }

    /// tuple-reuse: one tuple carried three connections in turn; sockets-netns: netstat and ss tables of both ends.
    func testReusedTuplesAndSocketTablesReadTheSameFromClickHouse() throws {
        let (reuse, reuseURL) = try pushed("tuple-reuse")
        let r = try assertSame(reuse, reuseURL, [["connections", "--json"], ["conn", "10.96.0.1:45000", "10.96.0.2:7000", "--json"],
                                                 ["conn", "10.96.0.1:45000", "10.96.0.2:7000"]])
        XCTAssertEqual(lines(r["connections --json"]).count, 3, "three connections on one tuple, a row each")
        let (sockets, socketsURL) = try pushed("sockets-netns")
        let o = try assertSame(sockets, socketsURL, [["conn", "10.95.0.1:35116", "10.95.0.2:8001", "--json"], ["conn", "10.95.0.1:35116", "10.95.0.2:8001"]])
        let c = try XCTUnwrap(lines(o["conn 10.95.0.1:35116 10.95.0.2:8001 --json"]).first)
        let states = ((c["sockets"] as? [[String: Any]])?.first?["states"] as? [[String: Any]])?.compactMap { $0["state"] as? String }
        XCTAssertEqual(states, ["ESTAB", "CLOSE-WAIT"], "the client's socket, as its netstat snapshots listed it")
        XCTAssertEqual((c["listeners"] as? [[String: Any]])?.count, 3, "the server's port 8001 listening in netstat, netstat -ano and ss")
    }

    /// `ingest --store clickhouse+…`: the files go in through a staging store that is gone afterwards, and the dataset
    /// reads as the store an ingest of the same files makes.
    func testIngestStraightIntoClickHouse() throws {
        let c = try T.cluster()
        let url = c.url + "&dataset=" + T.dataset("ingest")
        let staging = { (try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()))?.filter { $0.hasPrefix("tracejoin-stage-") } ?? [] }
        let before = staging()
        let i = try run(["ingest", "--store", url, "corpus/nat-two-points"])
        XCTAssertEqual(i.status, 0, i.err)
        XCTAssertTrue(i.out.contains("client.pcap: pcap, host client, 33 events"), i.out)
        XCTAssertTrue(i.err.contains("65 of 65 events of the store are in"), i.err)
        XCTAssertEqual(staging(), before, "the staging store is removed")
        // analyze: the same report whether the case goes into a SQLite store or into a dataset (read back from it).
        let db = NSTemporaryDirectory() + "tj-an-\(UUID().uuidString).db"
        addTeardownBlock { for x in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + x) } }
        let a = try run(["analyze", "--store", db, "corpus/rdp-reset"]), b = try run(["analyze", "--store", c.url + "&dataset=" + T.dataset("an"), "corpus/rdp-reset"])
        XCTAssertEqual(a.status, b.status)
        XCTAssertEqual(a.out, b.out, "analyze differs between SQLite and ClickHouse")
        XCTAssertTrue(b.out.contains("connection_refused  tcp 10.0.107.58:59210 → 10.7.3.187:3389"), "the refused RDP connection, found on the way in: \(b.out)")
        let store = try T.store("nat-two-points", in: self)
        try assertSame(store, url, [["timeline", "--json"], ["clocks", "--json"], ["connections", "--json"]])
        // Files of another case into the same dataset: refused, its clocks would be solved without the others.
        let other = try run(["ingest", "--store", url, "corpus/rdp-reset/ts-server.txt"])
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.err.contains("already holds 2 sources that are not in this store"), other.err)
        let again = try run(["ingest", "--store", url, "corpus/nat-two-points"])
        XCTAssertEqual(again.status, 0, "the same files again: nothing to add")
        XCTAssertTrue(again.err.contains("nothing to insert"), again.err)
    }

    /// `sql` on a dataset: ClickHouse's SQL, printed as on SQLite, and nothing that writes.
    func testSQLReadsButNeverWrites() throws {
        let (_, url) = try pushed("nat-two-points")
        let ds = String(url[url.range(of: "dataset=")!.upperBound...])
        let r = try run(["sql", "--store", url, "--json", "SELECT host, count() AS n FROM tj.events WHERE dataset = '\(ds)' GROUP BY host ORDER BY host"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "{\"host\":\"client\",\"n\":33}\n{\"host\":\"server\",\"n\":32}\n", "33 client and 32 server packets")
        let drop = try run(["sql", "--store", url, "ALTER TABLE tj.events_local DELETE WHERE dataset = '\(ds)'"])
        XCTAssertEqual(drop.status, 1)
        XCTAssertTrue(drop.err.contains("readonly"), drop.err)
        XCTAssertTrue(try run(["timeline", "--store", url, "--json"]).out.split(separator: "\n").count == 65, "the dataset is whole")
    }

    func testDatasetWithNothingPushedSaysSo() throws {
        let c = try T.cluster()
        // Another dataset's push makes sure the tables exist.
        _ = try pushed("nat-two-points")
        let empty = T.dataset("never-pushed")
        let r = try run(["timeline", "--store", c.url + "&dataset=" + empty])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("holds no sources of dataset \(empty)"), r.err)
        XCTAssertTrue(r.err.contains("tracejoin push --store CASE.db --to"), "says how to fill it: \(r.err)")
    }

    func testCommandsThatNeedTheSQLiteStoreSaySo() throws {
        let c = try T.cluster()
        let r = try run(["sockets", "--store", c.url + "&dataset=x"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("this command reads a SQLite store"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: T.root.appendingPathComponent(c.url).path), "no SQLite file named after the URL")
        let offset = try run(["clocks", "--store", c.url + "&dataset=x", "--offset", "server=1"])
        XCTAssertEqual(offset.status, 1)
        XCTAssertTrue(offset.err.contains("set --offset or --tz on the SQLite store, then push it again"), offset.err)
    }

    /// A database whose tables are of another layout is refused by push and by the views, and left untouched.
    func testOtherSchemaVersionIsRefusedAndLeftAlone() async throws {
        let c = try T.cluster()
        let db = "tjv\(UUID().uuidString.prefix(8).lowercased())"
        let url = c.url.replacingOccurrences(of: "/tj?", with: "/\(db)?")
        XCTAssertNotEqual(url, c.url)
        for shard in c.shards {
            let client = ClickHouseClient(url: try ClickHouseURL("clickhouse+" + shard + "/" + db))
            try await client.connect()
            try await client.query("CREATE DATABASE \(db)")
            try await client.query("CREATE TABLE \(db).schema_version (version UInt32, written DateTime DEFAULT now()) ENGINE = TinyLog")
            try await client.query("INSERT INTO \(db).schema_version (version) VALUES (1)")
            await client.shutdown()
        }
        let store = try T.store("nat-two-points", in: self)
        let push = try run(["push", "--store", store, "--to", url + "&dataset=v"])
        XCTAssertEqual(push.status, 1)
        XCTAssertTrue(push.err.contains("holds tracejoin's tables of schema version 1; this tracejoin reads and writes version 2"), push.err)
        XCTAssertTrue(push.err.contains("DROP DATABASE \(db)"), push.err)
        let read = try run(["timeline", "--store", url + "&dataset=v"])
        XCTAssertEqual(read.status, 1)
        XCTAssertTrue(read.err.contains("schema version 1"), read.err)
        for shard in c.shards {
            let tables = try await T.onShard(shard, "SELECT name FROM system.tables WHERE database = {db:String}", ["db": .string(db)])
            XCTAssertEqual(tables, ["schema_version"], "nothing was created beside the old table on \(shard)")
            _ = try await T.onShard(shard, "DROP DATABASE IF EXISTS \(db)", [:], format: false)
        }
    }
}
