import XCTest
import Foundation

/// The command line as users run it: the built `tracejoin` binary on corpus scenarios.
final class CLITests: XCTestCase {
    static let binary: URL = {
        // The test bundle sits in the build products folder, beside the executable.
        // (On Linux the bundle URL is that folder; on macOS it is the .xctest inside it.)
        var products = Bundle(for: CLITests.self).bundleURL
        if products.pathExtension == "xctest" { products.deleteLastPathComponent() }
        return products.appendingPathComponent("tracejoin")
    }()

    @discardableResult
    func run(_ args: [String], status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = args
        p.currentDirectoryURL = CorpusTests.root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, status, "tracejoin \(args.joined(separator: " "))", file: file, line: line)
        return String(decoding: data, as: UTF8.self)
    }

    func testREADMEMainCommand() throws {
        let out = try run(["analyze", "--store", ":memory:", "corpus/rdp-reset"])
        XCTAssertTrue(out.contains("ts-server.txt: wireshark_text, host ts-server, 26 events, 0 lines not understood"))
        XCTAssertTrue(out.contains("tcp 10.0.107.58:59193 → 10.7.3.187:3389"))
        XCTAssertTrue(out.contains("rst by 10.7.3.187:3389"))
    }

    func testParseOnlyCountsWithoutStoring() throws {
        // `ingest --parse-only` measures the parser: ts-server.txt lists 26 packets; it says so, stores none, and
        // succeeds (the benchmarks time it).
        let store = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        let out = try run(["ingest", "--parse-only", "--store", store, "corpus/rdp-reset/ts-server.txt"])
        XCTAssertTrue(out.contains("ts-server.txt: wireshark_text, 26 events parsed (--parse-only: nothing stored)"), out)
        let count = try run(["sql", "--store", store, "SELECT count(*) AS n FROM event"])
        XCTAssertEqual(count.split(separator: "\n").last?.trimmingCharacters(in: .whitespaces), "0", count)
    }

    func testFirstPassesSayWhatTheyDoOnATerminalOnly() throws {
        // On a terminal (here a pty from util-linux `script`) the clock and lifecycle passes say what they do on
        // one status line and clear it before the table; through a pipe they say nothing.
        let store = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store, "corpus/lync-edge"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-q", "-e", "-c", "\(CLITests.binary.path) connections --store \(store)", "/dev/null"]
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let tty = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, tty)
        let clear = "\r\u{1B}[2K"
        XCTAssertTrue(tty.contains(clear + "clocks: binding stack events to their connections"), tty)
        XCTAssertTrue(tty.contains(clear + "lifecycles: indexing events by connection"), tty)
        // The status line is cleared before the table's header, and the table's lines carry no control codes.
        let lines = tty.components(separatedBy: "\r\n")
        XCTAssertTrue(lines[0].components(separatedBy: clear).last?.hasPrefix("connection ") == true, tty.debugDescription)
        XCTAssertTrue(lines.contains { $0.hasPrefix("tcp 192.168.1.1:50357 → 192.168.3.10:5061") }, tty)
        XCTAssertFalse(lines.dropFirst().contains { $0.contains("\u{1B}") }, tty.debugDescription)
        // Through a pipe: the same table, no status line (the passes ran above, so mark them to run again).
        try run(["ingest", "--store", store, "corpus/rdp-reset"])
        let e = Process()
        e.executableURL = CLITests.binary
        e.arguments = ["connections", "--store", store]
        let err = Pipe()
        e.standardError = err
        e.standardOutput = Pipe()
        try e.run()
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        e.waitUntilExit()
        XCTAssertFalse(said.contains("clocks:"), said)
    }

    func testConnSaysNothingListensWhereTheSYNWasRefused() throws {
        // The RDP seed: the ETL trace shows a later SYN to 3389 reset at once; the server's own netstat table
        // (no time in it) has no socket listening on 3389, while it owns 10.7.3.187 (its port-80 connection).
        let store = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store, "corpus/rdp-reset"])
        let out = try run(["conn", "--store", store, "10.0.107.58:59210", "10.7.3.187:3389"])
        XCTAssertTrue(out.contains("refused: RST from 10.7.3.187:3389 answered the SYN"), out)
        XCTAssertTrue(out.contains("no socket listens on 10.7.3.187:3389 in ts-server-netstat.txt"), out)
        // And on the namespace-made tables: the server's socket of connection B stayed in CLOSE-WAIT.
        try run(["ingest", "--store", store, "corpus/sockets-netns"])
        // Connection B is the client socket ss shows in FIN-WAIT-2 (its port changes each time the corpus is made).
        let q = try run(["sql", "--store", store, "SELECT sport FROM events WHERE kind = 'socket_snapshot' AND raw LIKE 'FIN-WAIT-2%' LIMIT 1"])
        let port = try XCTUnwrap(q.split(separator: "\n").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) })
        let b = try run(["conn", "--store", store, "10.95.0.1:\(port)", "10.95.0.2:8000"])
        XCTAssertTrue(b.contains("socket 10.95.0.2:8000 at ss-server (ss-server.txt, 3 snapshots): CLOSE-WAIT at"), b)
        XCTAssertTrue(b.contains("socket 10.95.0.1:\(port) at ss-client (ss-client.txt, 3 snapshots): FIN-WAIT-2 at"), b)
        XCTAssertTrue(b.contains("ss-server.txt shows 10.95.0.2:8000 listening"), b)
    }

    func testSocketsShowCloseWaitPilingUp() throws {
        // corpus/sockets-netns: the server never closes what the client half-closes, one more a second.
        let store = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store, "corpus/sockets-netns"])
        let out = try run(["sockets", "--store", store, "--host", "ss-server", "--state", "CLOSE_WAIT", "--by", "process", "--json"])
        let rows = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.count, 3, out)
        XCTAssertTrue(rows[0].contains("\"process\":\"python3\",\"sockets\":3"), rows[0])
        XCTAssertTrue(rows[1].contains("\"sockets\":4,\"change\":1"), rows[1])
        XCTAssertTrue(rows[2].contains("\"sockets\":5,\"change\":1"), rows[2])
    }

    /// The `date` lines of a collection loop's file, as ISO times.
    func dateLines(_ file: String) throws -> [String] {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE MMM d HH:mm:ss 'UTC' yyyy"
        let iso = ISO8601DateFormatter()
        return try String(contentsOf: CorpusTests.corpus.appendingPathComponent(file), encoding: .utf8).split(separator: "\n")
            .compactMap { f.date(from: String($0)) }.map { iso.string(from: $0) }
    }

    func testSocketsLivesOverTheSnapshotsAgreeWithTheCapture() throws {
        // corpus/sockets-netns, port 8001: the server closes F 3 s after it opened (FIN-WAIT-2 there, CLOSE-WAIT
        // at the client), the client closes it at 4 s (TIME-WAIT at the server, gone at the client); the client
        // resets G at 3 s (gone at both). Snapshots come about 2.5, 3.5 and 4.5 s after the client started.
        let store = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store, "corpus/sockets-netns"])
        let server = try String(contentsOf: CorpusTests.corpus.appendingPathComponent("sockets-netns/ss-server.txt"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let peer = { (row: [String]) in row[4].split(separator: ":")[1] }
        let f = try XCTUnwrap(server.first { $0.first == "FIN-WAIT-2" && $0[3].hasSuffix(":8001") }.map(peer))
        let g = try XCTUnwrap(server.first { $0.first == "ESTAB" && $0[3].hasSuffix(":8001") && peer($0) != f }.map(peer))
        let t = try dateLines("sockets-netns/ss-client.txt")
        XCTAssertEqual(t.count, 3)
        func sockets(_ port: Substring) throws -> ([String: [String: Any]], [[String: Any]]) {
            let out = try run(["conn", "--store", store, "--json", "10.95.0.1:\(port)", "10.95.0.2:8001"])
            let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
            let list = obj["sockets"] as! [[String: Any]]
            return (Dictionary(list.map { ($0["host"] as! String, $0) }, uniquingKeysWith: { a, _ in a }), obj["events"] as! [[String: Any]])
        }
        let states = { (s: [String: Any]?) in (s?["states"] as? [[String: Any]])?.map { $0["state"] as! String } ?? [] }
        let (fs, _) = try sockets(f)
        for host in ["ss-server", "netstat-server", "netstat-server-de"] {
            XCTAssertEqual(states(fs[host]), ["ESTAB", "FIN-WAIT-2", "TIME-WAIT"], host)
            XCTAssertNil(fs[host]?["gone_by"], host)
        }
        for host in ["ss-client", "netstat-client", "netstat-client-cs"] {
            XCTAssertEqual(states(fs[host]), ["ESTAB", "CLOSE-WAIT"], host)
            XCTAssertEqual(fs[host]?["last_seen"] as? String, t[1], host)
            XCTAssertEqual(fs[host]?["gone_by"] as? String, t[2], host)
        }
        let (gs, events) = try sockets(g)
        for host in ["ss-client", "ss-server"] {
            XCTAssertEqual(states(gs[host]), ["ESTAB"], host)
            XCTAssertEqual(gs[host]?["last_seen"] as? String, t[0], host)
            XCTAssertEqual(gs[host]?["gone_by"] as? String, t[1], host)
        }
        // The capture's RST ending G lies between the last table that listed G and the first that did not
        // (the date lines are whole seconds, so up to a second after the second one's).
        let rst = try XCTUnwrap(events.first { ($0["flags"] as? String)?.contains("RST") == true }?["ts"] as? String)
        XCTAssertGreaterThanOrEqual(rst, t[0])
        XCTAssertLessThan(rst, String(t[1].dropLast(1)) + ".999999999Z")
    }

    func testSnapshotTimeFromAtOrTheFileModificationTime() throws {
        // The RDP seed's table has no date line. Copied with the time it was taken as its modification time,
        // the table sits at that time; --at places it the same way and wins over the file's time.
        let dir = NSTemporaryDirectory() + "tj-at-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = dir + "/ts-server-netstat.txt"
        try FileManager.default.copyItem(atPath: CorpusTests.corpus.appendingPathComponent("rdp-reset/ts-server-netstat.txt").path, toPath: table)
        let taken = ISO8601DateFormatter().date(from: "2013-01-06T09:55:00Z")!
        try FileManager.default.setAttributes([.modificationDate: taken], ofItemAtPath: table)
        let store = dir + "/s.db"
        let out = try run(["ingest", "--store", store, "--host", "ts-server", table, "corpus/rdp-reset/ts-server.txt"])
        XCTAssertTrue(out.contains("2013-01-06T09:55:00Z … 2013-01-06T09:55:00Z"), out)
        XCTAssertTrue(out.contains("timed by the file's modification time, 2013-01-06T09:55:00Z"), out)
        let json = try run(["sources", "--store", store, "--json"])
        XCTAssertTrue(json.contains("\"snapshot time\":\"the file's modification time (no date line, no --at)\""), json)
        // Taken 80 s after the reset: near enough to say nothing listens, and no caution about its time.
        let conn = try run(["conn", "--store", store, "10.0.107.58:59193", "10.7.3.187:3389"])
        XCTAssertTrue(conn.contains("no socket listens on 10.7.3.187:3389 in ts-server-netstat.txt (snapshot at 2013-01-06T09:55:00Z)"), conn)
        XCTAssertFalse(conn.contains("modification time"), conn)
        let store2 = dir + "/s2.db"
        let out2 = try run(["ingest", "--store", store2, "--at", "2013-01-06T09:53:41", table])
        XCTAssertTrue(out2.contains("2013-01-06T09:53:41Z … 2013-01-06T09:53:41Z"), out2)
        XCTAssertFalse(out2.contains("modification time"), out2)
        _ = try run(["ingest", "--store", store2, "--at", "yesterday", table], status: 64)
    }

    func testHandshakesOfTheTivoliProxies() throws {
        // corpus/tivoli-proxy: the child (gwp.log) received WHO at 17:38:06 and the parent (epp.log) its reply at
        // 17:53:34; the parent received TELL [l=ascotti_gwp1] at 17:51:27 and the child its reply at 17:40:16;
        // both logs say "cannot open connection (-1)" at 17:43:07. Five routed-session failures for nti281-gwp.
        let store = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store, "corpus/tivoli-proxy"])
        let rows = try run(["handshakes", "--store", store, "--json"]).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.count, 2)
        let pair = rows[0]
        XCTAssertEqual(pair["label"] as? String, "ascotti_gwp1")
        XCTAssertEqual(pair["parent"] as? String, "corpus/tivoli-proxy/epp.log")
        XCTAssertEqual(pair["child"] as? String, "corpus/tivoli-proxy/gwp.log")
        XCTAssertEqual(pair["who_received"] as? String, "2001-12-18T17:38:06Z")
        XCTAssertEqual(pair["who_reply_received"] as? String, "2001-12-18T17:53:34Z")
        XCTAssertEqual(pair["tell_received"] as? String, "2001-12-18T17:51:27Z")
        XCTAssertEqual(pair["tell_reply_received"] as? String, "2001-12-18T17:40:16Z")
        XCTAssertEqual(pair["who_completed"] as? Bool, true); XCTAssertEqual(pair["tell_completed"] as? Bool, true)
        XCTAssertEqual((pair["failures_between"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual(rows[1]["target"] as? String, "nti281-gwp")
        XCTAssertEqual(rows[1]["failures"] as? Int, 5)
        XCTAssertEqual(rows[1]["gateways"] as? [Int], [8, 9, 11])
        // Without the parent's log the child's steps are shown but no pair can be told.
        let alone = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: alone + s) } }
        try run(["ingest", "--store", alone, "corpus/tivoli-proxy/gwp.log"])
        XCTAssertTrue(try run(["handshakes", "--store", alone]).contains("handshake steps without a parent's label"))
    }

    func testFormatFilesFromTheCommandLine() throws {
        // The shipped format files load; a folder given with --parsers adds its own and reports its bad one.
        let list = try run(["formats"])
        XCTAssertTrue(list.contains("syslog_rfc5424") && list.contains("parsers/nginx_error.json"), list)
        let dir = NSTemporaryDirectory() + "tj-fmt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"name":"broken","patterns":["("],"time":{"group":"t","formats":["epoch"]}}"#.write(toFile: dir + "/broken.json", atomically: true, encoding: .utf8)
        try #"{"name":"stamped","patterns":["^(?<t>\\d{10}) (?<m>.*)$"],"time":{"group":"t","formats":["epoch"]},"fields":{"message":"m"}}"#
            .write(toFile: dir + "/stamped.json", atomically: true, encoding: .utf8)
        try "1795812789 backup started\n1795812850 backup done\n".write(toFile: dir + "/app.log", atomically: true, encoding: .utf8)
        let test = try run(["formats", "test", "--parsers", dir, dir + "/app.log"])
        XCTAssertTrue(test.contains("app.log: stamped (detected)"), test)
        XCTAssertTrue(test.contains("1: 2026-11-27T20:53:09.000000Z") && test.contains("“backup started”"), test)
        // Ingest with the folder: two events at their epoch times, the bad file reported and skipped.
        let store = dir + "/s.db"
        let out = try run(["ingest", "--store", store, "--parsers", dir, dir + "/app.log"])
        XCTAssertTrue(out.contains("app.log: stamped, host app, 2 events, 0 lines not understood, 2026-11-27T20:53:09Z … 2026-11-27T20:54:10Z"), out)
        // The nginx corpus through the shipped files: line 8 is the refused upstream connection.
        try run(["ingest", "--store", store + "2", "corpus/declarative/nginx-error.log"])
        let tl = try run(["timeline", "--store", store + "2", "--grep", "upstream"])
        XCTAssertTrue(tl.contains("nginx-error.log:8") && tl.contains("connect() failed (111: Connection refused)"), tl)
    }

    func testASolvedOffsetOfWholeQuarterHoursIsTheSourcesZone() throws {
        // server.shifted.pcapng = editcap -t 7200.5 of the server's capture: read like a machine two hours east
        // of UTC whose clock is also half a second fast.
        let store = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store, "corpus/tshark-netns/client.pcap", "corpus/tshark-netns/server.shifted.pcapng"])
        let rows = try run(["clocks", "--store", store, "--json"]).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let server = try XCTUnwrap(rows.first { ($0["source"] as? String)?.hasSuffix("server.shifted.pcapng") == true })
        XCTAssertEqual(server["zone"] as? String, "+02:00")
        XCTAssertEqual(server["zone_solved"] as? Bool, true)
        XCTAssertEqual(try XCTUnwrap(server["skew_s"] as? Double), -0.5, accuracy: 0.011)
        XCTAssertTrue(try run(["clocks", "--store", store]).contains("written in +02:00 (solved), skew -0.49"))
    }

    func testZeekConnLogReadByPythonsCSVWithZeeksHeaderRules() throws {
        // corpus/tuple-reuse: three connections on 10.96.0.1:45000 → 10.96.0.2:7000 ("one", "two" reset by the
        // client; "three" closed with FINs), read back by a reader we did not write.
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("no python3 to read the conn.log with")
        }
        let dir = NSTemporaryDirectory() + "tj-zeek-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["ingest", "--store", dir + "/s.db", "corpus/tuple-reuse/client.pcap"])
        try run(["export", "--store", dir + "/s.db", "--format", "zeek-conn", "--out", dir + "/conn.log"])
        let reader = """
        import csv, json, sys
        fields, rows = None, []
        with open(sys.argv[1], newline="") as f:
            for line in f:
                line = line.rstrip("\\n")
                if line.startswith("#fields\\t"): fields = line.split("\\t")[1:]
                elif line.startswith("#"): continue
                else: rows.append(dict(zip(fields, next(csv.reader([line], delimiter="\\t")))))
        print(json.dumps(rows))
        """
        try reader.write(toFile: dir + "/read.py", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [dir + "/read.py", dir + "/conn.log"]
        let pipe = Pipe(); p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: String]])
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows.map { $0["conn_state"] }, ["RSTO", "RSTO", "SF"])
        XCTAssertEqual(rows.map { $0["orig_bytes"] }, ["3", "3", "5"])
        XCTAssertTrue(rows.allSatisfy { $0["id.orig_h"] == "10.96.0.1" && $0["id.orig_p"] == "45000" && $0["id.resp_p"] == "7000" && $0["proto"] == "tcp" })
        XCTAssertEqual(Set(rows.compactMap { $0["uid"] }).count, 3, "one uid per connection")
        XCTAssertTrue(rows.allSatisfy { $0["community_id"]?.hasPrefix("1:") == true })
        // NDJSON: one object per event, 26 packets.
        let nd = try run(["export", "--store", dir + "/s.db", "--format", "ndjson"]).split(separator: "\n")
        XCTAssertEqual(nd.count, 26)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(nd[0].utf8)))
    }

    func testPcapngExportMergesCapturePointsOnTheAlignedClock() throws {
        // tshark-netns: client.pcap and the server's capture shifted +7200.5 s. Merged on the aligned clock, the
        // server's copy of the client's first SYN comes 10 ms (the bridge's one-way delay) after the client's.
        let dir = NSTemporaryDirectory() + "tj-pcapng-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["ingest", "--store", dir + "/s.db", "corpus/tshark-netns/client.pcap", "corpus/tshark-netns/server.shifted.pcapng"])
        try run(["export", "--store", dir + "/s.db", "--format", "pcapng", "--out", dir + "/merged.pcapng"])
        _ = try run(["export", "--store", dir + "/s.db", "--format", "pcapng"], status: 64)
        // Read back by tracejoin's own pcapng reader: every packet of both captures, in time order.
        try run(["ingest", "--store", dir + "/m.db", dir + "/merged.pcapng"])
        let q = try run(["sql", "--store", dir + "/m.db", "SELECT ts FROM events WHERE kind = 'packet' AND flags = 2 AND sport = 41001 ORDER BY rowid"])
        let ts = q.split(separator: "\n").dropFirst().compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        XCTAssertEqual(ts.count, 2, q)
        if ts.count == 2 { XCTAssertEqual(Double(ts[1] - ts[0]) / 1e6, 10, accuracy: 2, "ms from the client's SYN to the server's copy") }
        let n = try run(["sql", "--store", dir + "/m.db", "SELECT count(*) FROM events WHERE kind = 'packet'"])
        XCTAssertTrue(n.contains("105"), n)
        // tshark reads it too, with one interface per capture point.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") {
            let p = Process(); p.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
            p.arguments = ["-r", dir + "/merged.pcapng", "-T", "fields", "-e", "frame.interface_name"]
            let pipe = Pipe(); p.standardOutput = pipe; p.standardError = Pipe()
            try p.run(); let data = pipe.fileHandleForReading.readDataToEndOfFile(); p.waitUntilExit()
            let names = String(decoding: data, as: UTF8.self).split(separator: "\n")
            XCTAssertEqual(names.count, 105)
            XCTAssertEqual(Set(names), ["client (client.pcap)", "server (server.shifted.pcapng)"])
        }
    }

    func testSIPLadderOfOneDialog() throws {
        // corpus/sip-sipp, the busy call seen by both SIPp ends: INVITE, 486 Busy Here, ACK, each logged twice.
        let store = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store, "corpus/sip-sipp/uac-busy.log", "corpus/sip-sipp/uas-busy.log"])
        let list = try run(["sip", "--store", store, "--json"]).split(separator: "\n")
        let callID = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(list[0].utf8)) as? [String: Any])?["call_id"] as? String)
        let ladder = try run(["sip", "--store", store, callID])
        XCTAssertTrue(ladder.split(separator: "\n")[0].contains("10.94.0.1:5060") && ladder.split(separator: "\n")[0].contains("10.94.0.2:5060"), ladder)
        XCTAssertEqual(ladder.components(separatedBy: "|-INVITE-").count - 1, 2, ladder)
        XCTAssertEqual(ladder.components(separatedBy: "|<486 Busy Here").count - 1, 2, ladder)
        XCTAssertEqual(ladder.components(separatedBy: "! client error").count - 1, 2, ladder)
        let rows = try run(["sip", "--store", store, "--json", callID]).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.map { $0["message"] as? String }, ["INVITE", "486 Busy Here", "INVITE", "486 Busy Here", "ACK", "ACK"])
        XCTAssertTrue(rows.filter { $0["message"] as? String == "486 Busy Here" }.allSatisfy { ($0["after_request_ms"] as? Double ?? 99) < 5 })
        // The Lync Edge REGISTER never got its final response in the log.
        let lync = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: lync + s) } }
        try run(["ingest", "--store", lync, "corpus/lync-edge/edge-sipstack.txt"])
        XCTAssertTrue(try run(["sip", "--store", lync, "20d82282a7d94f4fb66a0a6df0c0377f"]).contains("! no final response"))
        _ = try run(["sip", "--store", lync, "no-such-call"], status: 1)
    }

    func testConnJSONHasTheConnectionItsEventsAndItsLifecycle() throws {
        let store = NSTemporaryDirectory() + "tj-cli-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store, "corpus/sccm-packet-drop/sccm-client.txt", "corpus/sccm-packet-drop/sccm-server.txt"])
        // Either order of the endpoints names the same connection.
        let out = try run(["conn", "--store", store, "--json", "172.16.1.1:80", "10.1.1.1:1098"])
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        let conn = obj["connection"] as! [String: Any]
        XCTAssertEqual(conn["endpoints"] as? [String], ["10.1.1.1:1098", "172.16.1.1:80"])
        XCTAssertEqual((conn["community_id"] as? String)?.hasPrefix("1:"), true)
        let events = obj["events"] as! [[String: Any]]
        XCTAssertEqual(events.count, 20) // 13 client side + 7 server side
        for e in events {
            for key in ["ts", "host", "source", "kind", "summary", "src", "dst", "flags", "seq", "ack", "len"] {
                XCTAssertTrue(e.keys.contains(key), "event lacks \(key)")
            }
        }
        let life = obj["lifecycle"] as! [String: Any]
        XCTAssertEqual(life["end"] as? String, "rst")
        XCTAssertEqual(life["end_by"] as? String, "172.16.1.1:80")
        XCTAssertEqual((life["orig"] as? [String: Any])?["retransmissions"] as? Int, 5)
        // Running ingest again on the same files adds nothing.
        let again = try run(["ingest", "--store", store, "corpus/sccm-packet-drop/sccm-client.txt"])
        XCTAssertTrue(again.contains("already in the store"))
        let csv = try run(["timeline", "--store", store, "--csv", "--host", "sccm-server"])
        let lines = csv.split(separator: "\n")
        XCTAssertEqual(lines.first.map(String.init), "ts,host,source,line,kind,proto,src,dst,conn,flags,seq,ack,len,summary")
        XCTAssertEqual(lines.count, 1 + 7)
        let sql = try run(["sql", "--store", store, "--json", "SELECT host, count(*) AS n FROM events GROUP BY host ORDER BY host"])
        XCTAssertEqual(sql, "{\"host\":\"sccm-client\",\"n\":13}\n{\"host\":\"sccm-server\",\"n\":7}\n")
        try run(["sql", "--store", store, "DELETE FROM event"], status: 1)
    }

    func testBadInputsSayWhereAndExitPartial() throws {
        let dir = NSTemporaryDirectory() + "tj-cli-bad-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bin = dir + "/capture.bin"
        try Data([0, 1, 2, 3, 0, 0, 0xFF]).write(to: URL(fileURLWithPath: bin))
        let out = try run(["ingest", "--store", ":memory:", bin, "corpus/tso-bogus-length/web-server.txt"], status: 2)
        XCTAssertTrue(out.contains("capture.bin: unknown format, not loaded"))
        XCTAssertTrue(out.contains("web-server.txt:1: prose before the packet list header"))
        try run(["ingest", "--store", ":memory:", dir + "/missing.txt"], status: 1)
    }

    func testSIPListsTheEdgesRegisterWithoutAFinalResponseAndThe504Apart() throws {
        let store = NSTemporaryDirectory() + "tj-cli-sip-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store, "corpus/lync-edge/edge-sipstack.txt"])
        let lines = try run(["sip", "--store", store]).split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        XCTAssertEqual(lines.count, 3, lines.joined(separator: "\n"))
        XCTAssertEqual(lines[1], "20d82282a7d94f4fb66a0a6df0c0377f REGISTER 2013-01-08T09:18:57.600Z none - 1 edge-sipstack.txt:1")
        XCTAssertEqual(lines[2], "(no Call-ID) - 2013-01-08T09:19:18.613Z 504 Server time-out - 1 edge-sipstack.txt:32")
        let json = try run(["sip", "--store", store, "--json"]).split(separator: "\n")
        XCTAssertEqual(json.first, #"{"call_id":"20d82282a7d94f4fb66a0a6df0c0377f","method":"REGISTER","at":"2013-01-08T09:18:57.600Z","where":"edge-sipstack.txt:1","messages":1}"#)
    }

    func testSIPListsTheSIPpCallsWithTheirOutcome() throws {
        // corpus/sip-sipp: the UAC's and the UAS's traces, 3 UDP calls, 2 TCP calls, 1 answered 486; each
        // message is in both traces, so each dialog has 12 messages (the failing one 6).
        let store = NSTemporaryDirectory() + "tj-cli-sipp-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }
        try run(["ingest", "--store", store] + ["uac-udp", "uas-udp", "uac-tcp", "uas-tcp", "uac-busy", "uas-busy"].map { "corpus/sip-sipp/\($0).log" }, status: 2)
        let json = try run(["sip", "--store", store, "--json"]).split(separator: "\n")
        let rows = try json.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.map { $0["call_id"] as? String }, ["1-22891@10.94.0.1", "2-22891@10.94.0.1", "3-22891@10.94.0.1",
                                                               "1-23167@10.94.0.1", "2-23167@10.94.0.1", "1-23259@10.94.0.1"])
        XCTAssertEqual(Set(rows.map { $0["method"] as? String }), ["INVITE"])
        XCTAssertEqual(rows.map { $0["status"] as? Int }, [200, 200, 200, 200, 200, 486])
        XCTAssertEqual(rows.last?["reason"] as? String, "Busy Here")
        XCTAssertEqual(rows.map { $0["messages"] as? Int }, [12, 12, 12, 12, 12, 6])
        // The INVITE's first trace (either end: SIPp logs a send after it) to its final answer, on one clock.
        for r in rows { XCTAssertLessThan(r["after_s"] as? Double ?? 1, 0.01, "\(r)") }
        XCTAssertEqual(rows.first?["at"] as? String, "2026-11-27T21:41:40.802380Z", "the UAS's trace of receiving it")
        XCTAssertEqual(rows.first?["where"] as? String, "uas-udp.log:1")
    }

    func testHelpListsTheCommands() throws {
        let out = try run(["--help"])
        for c in ["analyze", "ingest", "timeline", "conn", "connections", "sources", "formats", "sql", "sip", "findings", "export", "handshakes", "sockets", "clocks", "push"] {
            XCTAssertTrue(out.contains("  \(c)"), "help lacks \(c)")
        }
        XCTAssertTrue(try run(["formats"]).contains("wireshark_csv"))
    }
}
