import XCTest
import Foundation
@testable import ClickHouse

/// `tracejoin push` against the real 2-shard ClickHouse 18.16 cluster of `scripts/clickhouse-test-env.sh up`.
///
/// The cluster comes from TRACEJOIN_CLICKHOUSE_URL and TRACEJOIN_CLICKHOUSE_SHARDS (set by `.ci/run`, or read from
/// the `.build-ch/env` the script writes). Without them the tests skip and say why — except under CI=true, where a
/// missing cluster fails, unless `.ci/run` said why it could not have one (TRACEJOIN_CLICKHOUSE_SKIP).
final class PushEndToEndTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let binary: URL = {
        var products = Bundle(for: PushEndToEndTests.self).bundleURL
        if products.pathExtension == "xctest" { products.deleteLastPathComponent() }
        return products.appendingPathComponent("tracejoin")
    }()

    struct Cluster {
        var url: String        // the cluster, as the script printed it
        var shards: [String]   // each shard's own HTTP address
        var password: String   // user tj's
    }

    func cluster() throws -> Cluster { try Self.cluster() }

    static func cluster() throws -> Cluster {
        var env = ProcessInfo.processInfo.environment
        if env["TRACEJOIN_CLICKHOUSE_URL"] == nil,
           let text = try? String(contentsOf: Self.root.appendingPathComponent(".build-ch/env"), encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("export ") {
                let kv = line.dropFirst(7).split(separator: "=", maxSplits: 1)
                if kv.count == 2 { env[String(kv[0])] = String(kv[1]).trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
            }
        }
        if let why = env["TRACEJOIN_CLICKHOUSE_SKIP"] { throw XCTSkip("no ClickHouse cluster: \(why)") }
        guard let url = env["TRACEJOIN_CLICKHOUSE_URL"], let shards = env["TRACEJOIN_CLICKHOUSE_SHARDS"] else {
            let why = "TRACEJOIN_CLICKHOUSE_URL is not set: run scripts/clickhouse-test-env.sh up (and source .build-ch/env)"
            if env["CI"] == "true" { XCTFail(why); throw why.asError }
            throw XCTSkip(why)
        }
        return Cluster(url: url, shards: shards.split(separator: ",").map(String.init), password: env["TRACEJOIN_CLICKHOUSE_TEST_PASSWORD"] ?? "")
    }

    struct Run { var status: Int32; var out: String; var err: String }

    @discardableResult
    func tracejoin(_ args: [String], env extra: [String: String] = [:]) throws -> Run { try Self.tracejoin(args, env: extra) }

    static func tracejoin(_ args: [String], env extra: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        p.currentDirectoryURL = Self.root
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: ClickHouseURL.passwordVariable)
        for (k, v) in extra { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes while it runs, so a full pipe never blocks it.
        final class Box: @unchecked Sendable { var data = Data() }
        let errData = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: outData, as: UTF8.self), err: String(decoding: errData.data, as: UTF8.self))
    }

    /// A store of a corpus scenario, analyzed (clocks solved, aliases found), in a temporary file.
    func store(_ scenario: String) throws -> String { try Self.store(scenario, in: self) }

    static func store(_ scenario: String, in test: XCTestCase) throws -> String {
        let path = NSTemporaryDirectory() + "tj-ch-\(UUID().uuidString).db"
        test.addTeardownBlock { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let r = try tracejoin(["analyze", "--store", path, "corpus/\(scenario)"])
        XCTAssertEqual(r.status, 0, r.err)
        return path
    }

    func sql(_ store: String, _ query: String) throws -> String {
        try tracejoin(["sql", "--store", store, "--json", query]).out
    }

    func json(_ text: String) throws -> [String: Any] {
        let line = text.split(separator: "\n").last.map(String.init) ?? ""
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], text)
    }

    /// A dataset of its own per test run, so runs never see each other's rows.
    func dataset(_ name: String) -> String { Self.dataset(name) }
    static func dataset(_ name: String) -> String { "\(name)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// One query on one shard by itself (its local tables), TabSeparated lines.
    func onShard(_ shard: String, _ query: String, _ params: [String: Param]) async throws -> [String] {
        try await Self.onShard(shard, query, params)
    }

    static func onShard(_ shard: String, _ query: String, _ params: [String: Param], format: Bool = true) async throws -> [String] {
        let client = ClickHouseClient(url: try ClickHouseURL("clickhouse+" + shard + "/tj"))
        defer { Task { await client.shutdown() } }
        try await client.connect()
        return try await client.query(query + (format ? " FORMAT TabSeparated" : ""), params).split(separator: "\n").map(String.init)
    }

    // MARK: -

    func testHelpScreen() throws {
        let r = try tracejoin(["push", "--help"])
        XCTAssertEqual(r.status, 0)
        for line in ["USAGE: tracejoin push [--store <path>] --to <url> [--user <name>] [--json] [--batch-rows <n>]",
                     "--to <url>", "The ClickHouse database to copy into", "--user <name>", "TRACEJOIN_CLICKHOUSE_PASSWORD"] {
            XCTAssertTrue(r.out.contains(line), "help lacks \(line):\n\(r.out)")
        }
        XCTAssertFalse(r.out.contains("stop-after-batches"), "the test switch stays hidden")
    }

    func testBadURLIsAUsageError() throws {
        let r = try tracejoin(["push", "--store", "x.db", "--to", "clickhouse+http://h/tj?dataset=a'b"])
        XCTAssertEqual(r.status, 64, "a usage error, before anything is opened")
        XCTAssertTrue(r.err.contains("dataset \"a'b\" wants 1–128 letters"), r.err)
    }

    /// nat-two-points: a client and a server capture across a NAT, the server's clock 3.25 s slow.
    func testPushIsCompleteThenInsertsNothing() async throws {
        let c = try cluster()
        let store = try store("nat-two-points")
        let ds = dataset("nat")
        let first = try tracejoin(["push", "--store", store, "--to", c.url + "&dataset=" + ds, "--json"])
        XCTAssertEqual(first.status, 0, first.err)
        let a = try json(first.out)
        XCTAssertEqual(a["events_in_store"] as? Int, 65, "33 client packets + 32 server packets")
        XCTAssertEqual(a["rows"] as? Int, 65, "every event is in ClickHouse")
        // 65 events + 2 sources + 1 clock (the server's; the client is the reference, with no clock row)
        // + 8 aliases (4 connections, each under a client and a server tuple) + those 8 tuples' connection rows
        // + 65 packet twins (each packet's fate at the other capture point) + the row naming their generation
        // + 2 findings (the refused connection to port 9, proved by its SYN and RST; the client's segment lost before
        // the server, by that segment) with their 3 pieces of evidence and the 2 rows naming their generations.
        XCTAssertEqual(a["rows_inserted"] as? Int, 65 + 2 + 1 + 8 + 8 + 65 + 1 + 2 + 3 + 2)
        XCTAssertTrue(first.err.contains("push: 65 of 65 events (100%)"), first.err)

        let second = try tracejoin(["push", "--store", store, "--to", c.url + "&dataset=" + ds, "--json"])
        XCTAssertEqual(second.status, 0, second.err)
        let b = try json(second.out)
        XCTAssertEqual(b["rows_inserted"] as? Int, 0)
        XCTAssertEqual(b["rows"] as? Int, 65)
        XCTAssertEqual(b["sources_skipped"] as? Int, 2)
        XCTAssertTrue(second.err.contains("nothing to insert"), second.err)

        // What ClickHouse holds, read back through the cluster: the server's solved clock and the NAT aliases.
        let client = ClickHouseClient(url: try ClickHouseURL(c.url + "&dataset=" + ds))
        try await client.connect()
        let clocks = try await client.query("""
            SELECT source_id, offset_ns, uncertainty_ns FROM tj.clocks WHERE dataset = {d:String} AND method = 'packets' FORMAT TabSeparated
            """, ["d": .string(ds)])
        let f = clocks.split(separator: "\n").first.map { $0.split(separator: "\t").map(String.init) } ?? []
        XCTAssertEqual(f.count, 3, clocks)
        let path = try await client.query("SELECT path FROM tj.sources WHERE dataset = {d:String} AND source_id = {id:UInt64} FORMAT TabSeparated",
                                          ["d": .string(ds), "id": .uint64(UInt64(f.first ?? "") ?? 0)])
        XCTAssertEqual(path.trimmingCharacters(in: .whitespacesAndNewlines), "corpus/nat-two-points/server.shifted.pcapng", "the solved clock is the server's")
        if f.count == 3, let off = Double(f[1]), let unc = Double(f[2]) {
            XCTAssertLessThanOrEqual(abs(off / 1e9 - 3.25), unc / 1e9, "the known 3.25 s shift lies within the stated uncertainty")
        }
        // The summary, kept as an offset into raw, reads back as the store reads it.
        let summaries = try await client.query("SELECT ordinal, summary FROM tj.events WHERE dataset = {d:String} AND host = 'client' ORDER BY ordinal",
                                               ["d": .string(ds)])
        let stored = try sql(store, "SELECT ordinal, summary FROM events WHERE host = 'client' ORDER BY ordinal").split(separator: "\n").map { line -> String in
            let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
            return "\(o["ordinal"] ?? "")\t\(o["summary"] ?? "")"
        }
        XCTAssertEqual(stored.count, 33)
        XCTAssertEqual(summaries.split(separator: "\n").map(String.init), stored)
        let aliases = try await client.query("SELECT count(), uniqExact(grp) FROM tj.conn_aliases WHERE dataset = {d:String} FORMAT TabSeparated", ["d": .string(ds)])
        XCTAssertEqual(aliases.trimmingCharacters(in: .whitespacesAndNewlines), "8\t4", "4 connections, each under 2 tuples")
        await client.shutdown()
        // Another store into the same dataset: refused (the dataset's numbering and clocks are the first store's).
        let other = try tracejoin(["push", "--store", try self.store("rdp-reset"), "--to", c.url + "&dataset=" + ds, "--no-findings"])
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.err.contains("already holds 2 sources that are not in this store"), other.err)
    }

    /// A store grown file by file and pushed after each: its connection views change every time, and only the newest
    /// two generations stay (the one readers read, and the one before it for readers that started earlier).
    func testOnlyTheLastTwoGenerationsOfADerivedTableStay() async throws {
        let c = try cluster()
        let path = NSTemporaryDirectory() + "tj-ch-\(UUID().uuidString).db"
        addTeardownBlock { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let ds = dataset("grow")
        // Each case a connection seen at two capture points: each push adds views of a connection.
        for folder in ["ackloss", "bulk", "zerowindow"] {
            let files = ["client.pcap", "server.pcap"].map { "corpus/tcp-analysis/\(folder)/" + $0 }
            XCTAssertEqual(try tracejoin(["ingest", "--store", path] + files).status, 0)
            let p = try tracejoin(["push", "--store", path, "--to", c.url + "&dataset=" + ds, "--no-findings"])
            XCTAssertEqual(p.status, 0, p.err)
        }
        var generations: Set<String> = []
        for shard in c.shards {
            // 18.16 deletes in the background: wait for it (bounded).
            for _ in 0..<100 {
                let left = try await onShard(shard, "SELECT count() FROM system.mutations WHERE database = 'tj' AND table = 'connection_views_local' AND is_done = 0", [:])
                if left == ["0"] { break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            generations.formUnion(try await onShard(shard, "SELECT DISTINCT generation FROM tj.connection_views_local WHERE dataset = {d:String}", ["d": .string(ds)]))
        }
        let pushed = try await onShard(c.shards[0], "SELECT generation FROM tj.derived WHERE dataset = {d:String} AND tbl = 'connection_views' ORDER BY generation",
                                       ["d": .string(ds)])
        XCTAssertEqual(pushed.count, 3, "three pushes, three different sets of connection views")
        XCTAssertEqual(generations, Set(pushed.suffix(2)))
        XCTAssertEqual(try tracejoin(["connections", "--store", c.url + "&dataset=" + ds, "--json"]).out,
                       try tracejoin(["connections", "--store", path, "--json"]).out)
    }

    /// compression=gzip: the real server reads the gzip bodies; every event lands.
    func testGzipBodiesLandWhole() throws {
        let c = try cluster()
        let store = try store("tcp-analysis")
        let url = c.url + "&dataset=" + dataset("gzip") + "&compression=gzip"
        let p = try tracejoin(["push", "--store", store, "--to", url, "--json", "--no-findings"])
        XCTAssertEqual(p.status, 0, p.err)
        let o = try json(p.out)
        XCTAssertEqual(o["rows"] as? Int, o["events_in_store"] as? Int)
        XCTAssertEqual(try tracejoin(["timeline", "--json", "--store", url]).out, try tracejoin(["timeline", "--json", "--store", store]).out)
    }

    /// clock-drift: the same connections captured at both ends (same tuples): each connection's events from both
    /// capture points must sit on one shard.
    func testEveryConnectionOnOneShard() async throws {
        let c = try cluster()
        XCTAssertEqual(c.shards.count, 2)
        let store = try store("clock-drift")
        let ds = dataset("drift")
        let r = try tracejoin(["push", "--store", store, "--to", c.url + "&dataset=" + ds, "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try json(r.out)["rows"] as? Int, 1682)

        var counts: [Int] = []
        var keys: [Set<String>] = []
        var bothHosts = 0
        for shard in c.shards {
            let n = try await onShard(shard, "SELECT count() FROM tj.events_local WHERE dataset = {d:String}", ["d": .string(ds)])
            counts.append(Int(n.first ?? "") ?? -1)
            let k = try await onShard(shard, "SELECT conn_key, uniqExact(host) FROM tj.events_local WHERE dataset = {d:String} AND conn_key != 0 GROUP BY conn_key",
                                      ["d": .string(ds)])
            keys.append(Set(k.map { String($0.split(separator: "\t")[0]) }))
            bothHosts += k.filter { $0.hasSuffix("\t2") }.count
        }
        XCTAssertTrue(counts.allSatisfy { $0 > 0 }, "both shards hold rows: \(counts)")
        XCTAssertEqual(counts.reduce(0, +), 1682, "the shards together hold every event once")
        XCTAssertEqual(keys[0].intersection(keys[1]), [], "no connection key on both shards")
        XCTAssertGreaterThan(bothHosts, 0, "connections seen at both capture points exist, each on one shard")
    }

    func testWrongPasswordIsRefusedWithoutShowingIt() throws {
        let c = try cluster()
        let store = try store("nat-two-points")
        let secret = "not-the-password-7f3a"
        let url = c.url.replacingOccurrences(of: "clickhouse+http://", with: "clickhouse+http://tj@") + "&dataset=" + dataset("pw")
        let r = try tracejoin(["push", "--store", store, "--to", url], env: [ClickHouseURL.passwordVariable: secret])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("refused user tj (code 193: Wrong password for user tj)"), r.err)
        XCTAssertFalse((r.err + r.out).contains(secret), "the password is never printed")
        // The same password in the URL: refused, and not printed either.
        let inURL = url.replacingOccurrences(of: "tj@", with: "tj:\(secret)@")
        let r2 = try tracejoin(["push", "--store", store, "--to", inURL])
        XCTAssertEqual(r2.status, 1)
        XCTAssertFalse((r2.err + r2.out).contains(secret), r2.err)
        // The right one works.
        let ok = try tracejoin(["push", "--store", store, "--to", url, "--json"], env: [ClickHouseURL.passwordVariable: c.password])
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertEqual(try json(ok.out)["rows"] as? Int, 65)
    }

    func testUnreachableServerSaysSo() throws {
        let store = try store("nat-two-points")
        // Port 9 (discard) on loopback: nothing listens there in the test environment.
        let r = try tracejoin(["push", "--store", store, "--to", "clickhouse+http://127.0.0.1:9/tj?dataset=x"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("ClickHouse at 127.0.0.1:9 cannot be reached: connection refused"), r.err)
    }

    /// A push cut off after its first batch leaves rows but no source counted as pushed; the next push deletes
    /// those rows and writes the sources whole.
    func testCutOffPushIsNeverCountedAndARepushCompletesIt() async throws {
        let c = try cluster()
        let store = try store("clock-drift")
        let ds = dataset("cut")
        let to = c.url + "&dataset=" + ds
        // Batches of 1000 events: the first holds client.pcap's 841 and 159 of the server's.
        let cut = try tracejoin(["push", "--store", store, "--to", to, "--batch-rows", "1000", "--stop-after-batches", "1"])
        XCTAssertEqual(cut.status, 1)
        XCTAssertTrue(cut.err.contains("push stopped after 1 batches"), cut.err)
        let client = ClickHouseClient(url: try ClickHouseURL(to))
        try await client.connect()
        let rows = try await client.query("SELECT count() FROM tj.events WHERE dataset = {d:String}", ["d": .string(ds)])
        XCTAssertEqual(rows.trimmingCharacters(in: .whitespacesAndNewlines), "1000", "the first batch landed")
        let sources = try await client.query("SELECT count() FROM tj.sources WHERE dataset = {d:String}", ["d": .string(ds)])
        XCTAssertEqual(sources.trimmingCharacters(in: .whitespacesAndNewlines), "0", "no source counted as pushed")
        await client.shutdown()

        let again = try tracejoin(["push", "--store", store, "--to", to, "--batch-rows", "1000", "--json"])
        XCTAssertEqual(again.status, 0, again.err)
        let j = try json(again.out)
        XCTAssertEqual(j["sources_replaced"] as? Int, 2, "both sources had rows from the cut-off push")
        XCTAssertEqual(j["events_inserted"] as? Int, 1682)
        XCTAssertEqual(j["rows"] as? Int, 1682, "every event once: the cut-off push's rows were replaced, not added to")
    }
}

extension PushEndToEndTests {
    /// A shard's server killed (SIGKILL) between two batches: the push fails and says so, no source counts as
    /// pushed, and once the server is back a re-push completes the data.
    func testServerKilledMidPushThenRepushCompletes() async throws {
        let c = try cluster()
        let store = try store("clock-drift")
        let ds = dataset("kill")
        let to = c.url + "&dataset=" + ds
        // Whatever happens below, the cluster is up again for the next test.
        addTeardownBlock { _ = try? self.script("up") }

        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["push", "--store", store, "--to", to, "--batch-rows", "200", "--pause-after-batches", "2"]
        p.currentDirectoryURL = Self.root
        let input = Pipe(), err = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        var text = ""
        while !text.contains("paused after 2 batches") {
            let d = err.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        XCTAssertTrue(text.contains("push: 200 of 1682 events"), text)

        // Kill the second shard's server itself (the pid file holds the `timeout` that runs it).
        let pidText = try String(contentsOf: Self.root.appendingPathComponent(".build-ch/ch2/pid"), encoding: .utf8)
        let parent = pidText.trimmingCharacters(in: .whitespacesAndNewlines)
        let children = try String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8)
        let server = try XCTUnwrap(children.split(separator: " ").first.flatMap { Int32($0) }, "no server under pid \(parent)")
        XCTAssertEqual(kill(server, SIGKILL), 0)
        while kill(server, 0) == 0 { usleep(20_000) }

        input.fileHandleForWriting.write(Data("\n".utf8))
        try input.fileHandleForWriting.close()
        let rest = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        text += String(decoding: rest, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 1, text)
        // 18.16 says code 210 … Connection refused (127.0.0.1:19001) for a batch sent after the kill, and other words
        // for the batch it was forwarding when the shard died (two inserts are in flight): the server that answered.
        XCTAssertTrue(text.contains("Error: ClickHouse at 127.0.0.1:18123 answered code "), "the error names the server that answered: \(text)")
        XCTAssertFalse(text.contains("push: 1682 of 1682"), "the push did not get through: \(text)")

        let back = try script("up")
        XCTAssertEqual(back.status, 0, back.err)
        let client = ClickHouseClient(url: try ClickHouseURL(to))
        try await client.connect()
        let counted = try await client.query("SELECT count() FROM tj.sources WHERE dataset = {d:String}", ["d": .string(ds)])
        XCTAssertEqual(counted.trimmingCharacters(in: .whitespacesAndNewlines), "0", "no source counted as pushed")
        await client.shutdown()

        let again = try tracejoin(["push", "--store", store, "--to", to, "--json"])
        XCTAssertEqual(again.status, 0, again.err)
        let j = try json(again.out)
        XCTAssertEqual(j["rows"] as? Int, 1682, "every event once")
        XCTAssertGreaterThan(j["sources_replaced"] as? Int ?? 0, 0, "the half-written source's rows were replaced")
    }

    /// Runs `scripts/clickhouse-test-env.sh ARG`. Its exit status comes through a file, not `waitUntilExit`: the
    /// script leaves a server running, and Foundation's wait for it was seen to hang here (the shell a zombie, never
    /// reaped) after a test killed a server.
    func script(_ arg: String) throws -> Run {
        let dir = NSTemporaryDirectory() + "tj-ch-script-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "scripts/clickhouse-test-env.sh \(arg) > \(dir)/out 2> \(dir)/err; echo $? > \(dir)/rc.tmp; mv \(dir)/rc.tmp \(dir)/rc"]
        p.currentDirectoryURL = Self.root
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: dir + "/rc") {
            if Date() > deadline { return Run(status: -1, out: "", err: "clickhouse-test-env.sh \(arg) did not finish in 120 s") }
            usleep(50_000)
        }
        let read = { (f: String) in (try? String(contentsOfFile: dir + "/" + f, encoding: .utf8)) ?? "" }
        return Run(status: Int32(read("rc").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, out: read("out"), err: read("err"))
    }
}

extension String {
    var asError: some Error { ClickHouseError.incomplete(self) }
}
