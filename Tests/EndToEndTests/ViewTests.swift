import XCTest
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `tracejoin view` as a user starts it: the built binary serving a store on a free port, asked over HTTP.
/// Each endpoint is checked against what the CLI's `--json` prints for the same store.
enum ViewHarness {
    final class Served {
        let process: Process
        let url: URL
        init(process: Process, url: URL) { self.process = process; self.url = url }
        deinit { process.terminate(); process.waitUntilExit() }
    }

    static func newStore() -> String { NSTemporaryDirectory() + "tj-view-\(UUID().uuidString).db" }
    static func remove(_ store: String) { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + s) } }

    /// Starts `tracejoin view --port 0` and waits (at most 60 s) for the line with its address.
    static func serve(_ store: String) throws -> Served {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["view", "--store", store, "--port", "0"]
        p.currentDirectoryURL = CorpusTests.root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let got = DispatchSemaphore(value: 0)
        let box = LineBox()
        out.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if box.append(d) { got.signal() }
            if d.isEmpty { h.readabilityHandler = nil }
        }
        try p.run()
        guard got.wait(timeout: .now() + 60) == .success, let line = box.firstLine,
              let range = line.range(of: "http://[^ ]+", options: .regularExpression), let url = URL(string: String(line[range])) else {
            p.terminate()
            throw XCTSkip("tracejoin view did not print its address within 60 s")
        }
        return Served(process: p, url: url)
    }

    final class LineBox: @unchecked Sendable {
        private var data = Data()
        private let lock = NSLock()
        private(set) var firstLine: String?
        /// True once the first line is complete.
        func append(_ d: Data) -> Bool {
            lock.lock(); defer { lock.unlock() }
            if firstLine != nil { return false }
            data.append(d)
            guard let nl = data.firstIndex(of: 0x0A) else { return false }
            firstLine = String(decoding: data[..<nl], as: UTF8.self)
            return true
        }
    }

    static func get(_ served: Served, _ path: String) throws -> (status: Int, body: Data) {
        let url = URL(string: path, relativeTo: served.url)!
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, Data)?
        nonisolated(unsafe) var failure: Error?
        URLSession.shared.dataTask(with: url) { data, response, error in
            if let error { failure = error } else { result = ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()) }
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + 60) == .success else { throw XCTSkip("no answer to \(path) within 60 s") }
        if let failure { throw failure }
        return result!
    }

    static func json(_ served: Served, _ path: String, status: Int = 200, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        let (code, body) = try get(served, path)
        XCTAssertEqual(code, status, "\(path): \(String(decoding: body, as: UTF8.self))", file: file, line: line)
        return try JSONSerialization.jsonObject(with: body)
    }

    static func lines(_ text: String) throws -> [NSDictionary] {
        try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! NSDictionary }
    }

    /// Reads a server-sent-event stream and keeps the ids of the events in its `events` messages.
    final class SSEReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        private var buffer = ""
        private var got: [NSDictionary] = []
        private let lock = NSLock()
        private var session: URLSession!

        init(_ url: URL) {
            super.init()
            session = URLSession(configuration: .default, delegate: self, delegateQueue: nil)
            session.dataTask(with: url).resume()
            // Connected before anything is appended: the stream starts with a retry line.
            let deadline = Date().addingTimeInterval(10)
            while !connected() && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        }

        private var opened = false
        func connected() -> Bool { lock.lock(); defer { lock.unlock() }; return opened }
        func ids() -> [Int64] { events().compactMap { $0["id"] as? Int64 } }
        func events() -> [NSDictionary] { lock.lock(); defer { lock.unlock() }; return got }
        func stop() { session.invalidateAndCancel() }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            lock.lock(); defer { lock.unlock() }
            opened = true
            buffer += String(decoding: data, as: UTF8.self)
            while let end = buffer.range(of: "\n\n") {
                let message = buffer[..<end.lowerBound]
                buffer.removeSubrange(..<end.upperBound)
                guard message.contains("event: events") else { continue }
                for line in message.split(separator: "\n") where line.hasPrefix("data: ") {
                    let events = (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))) as? [NSDictionary] ?? []
                    got += events
                }
            }
        }
    }
}

/// The view's server, over HTTP.
extension CLITests {
    func testTimelinePagesAreTheCLIsEventsInOrder() throws {
        let storePath = ViewHarness.newStore()
        defer { ViewHarness.remove(storePath) }
        try run(["ingest", "--store", storePath, "corpus/rdp-reset"])
        let expected = try ViewHarness.lines(try run(["timeline", "--store", storePath, "--json"]))
        let served = try ViewHarness.serve(storePath)
        let all = try XCTUnwrap(try ViewHarness.json(served, "/api/timeline?limit=2000") as? NSDictionary)
        XCTAssertEqual(all["total"] as? Int, expected.count)
        XCTAssertEqual(all["events"] as? [NSDictionary], expected)
        // Any window of it by position.
        let page = try XCTUnwrap(try ViewHarness.json(served, "/api/timeline?offset=10&limit=5") as? NSDictionary)
        XCTAssertEqual(page["events"] as? [NSDictionary], Array(expected[10..<15]))
        XCTAssertEqual((try ViewHarness.json(served, "/api/timeline?offset=47&limit=5") as? NSDictionary)?["events"] as? [NSDictionary], [expected[47]])
        XCTAssertEqual(((try ViewHarness.json(served, "/api/timeline?offset=48") as? NSDictionary)?["events"] as? [Any])?.count, 0)
        // `at` a time: the page starts at the first event at or after it.
        let t = try XCTUnwrap(expected[20]["ts_ns"] as? Int64)
        let earlier = expected.filter { ($0["ts_ns"] as! Int64) < t }.count
        let at = try XCTUnwrap(try ViewHarness.json(served, "/api/timeline?at=ns:\(t)&limit=3") as? NSDictionary)
        XCTAssertEqual(at["offset"] as? Int, earlier)
        XCTAssertEqual((at["events"] as? [NSDictionary])?.first, expected[earlier])
    }

    func testFiltersAndBadParameters() throws {
        let storePath = ViewHarness.newStore()
        defer { ViewHarness.remove(storePath) }
        try run(["ingest", "--store", storePath, "corpus/rdp-reset"])
        let served = try ViewHarness.serve(storePath)
        // The client-side Wireshark export holds 26 packets (README of corpus/rdp-reset).
        let host = try XCTUnwrap(try ViewHarness.json(served, "/api/timeline?host=ts-server&limit=100") as? NSDictionary)
        XCTAssertEqual(host["total"] as? Int, 26)
        XCTAssertEqual(Set((host["events"] as! [NSDictionary]).map { $0["host"] as! String }), ["ts-server"])
        // A content filter pages the same way: the refused connection (the ETL trace's SYN to 3389 and its RST).
        let expected = try ViewHarness.lines(try run(["timeline", "--store", storePath, "--json", "--conn", "10.0.107.58:59210,10.7.3.187:3389"]))
        let cid = try XCTUnwrap(expected.first?["community_id"] as? String)
        let byConn = try XCTUnwrap(try ViewHarness.json(served, "/api/timeline?conn=" + cid.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!) as? NSDictionary)
        XCTAssertEqual(byConn["events"] as? [NSDictionary], expected)
        XCTAssertTrue((byConn["events"] as! [NSDictionary]).contains { ($0["flags"] as? String)?.contains("RST") == true && ($0["src"] as? String) == "10.7.3.187:3389" })
        let rst = try XCTUnwrap(try ViewHarness.json(served, "/api/timeline?grep=RST&kind=packet&limit=2000") as? NSDictionary)
        let cliRST = try ViewHarness.lines(try run(["timeline", "--store", storePath, "--json", "--grep", "RST", "--kind", "packet"]))
        XCTAssertEqual(rst["events"] as? [NSDictionary], cliRST)
        XCTAssertGreaterThan(cliRST.count, 0)
        // Bad parameters: 400 with a sentence; unknown connection: 404.
        for (path, says) in [("/api/timeline?limit=0", "limit must be"), ("/api/timeline?kind=bogus", "unknown kind bogus"),
                             ("/api/timeline?colour=red", "unknown parameter colour"), ("/api/timeline?from=yesterday", "from: cannot read"),
                             ("/api/timeline?offset=-3", "offset must be"), ("/api/histogram?buckets=99999", "buckets must be"),
                             ("/api/live", "live wants after=")] {
            let o = try XCTUnwrap(try ViewHarness.json(served, path, status: 400) as? NSDictionary)
            XCTAssertTrue((o["error"] as? String ?? "").contains(says), "\(path): \(o)")
        }
        XCTAssertNotNil((try ViewHarness.json(served, "/api/conn/nope", status: 404) as? NSDictionary)?["error"])
        // The server still answers after all that.
        XCTAssertEqual((try ViewHarness.json(served, "/api/timeline?limit=1") as? NSDictionary)?["total"] as? Int, 48)
    }

    func testConnectionClocksFindingsAndHistogramAnswerAsTheCLI() throws {
        let storePath = ViewHarness.newStore()
        defer { ViewHarness.remove(storePath) }
        try run(["ingest", "--store", storePath, "corpus/lync-edge"])
        let served = try ViewHarness.serve(storePath)
        // The Edge ↔ Front End connection of the sign-in failure.
        let cliConn = try ViewHarness.lines(try run(["conn", "--store", storePath, "--json", "192.168.1.1:50357", "192.168.3.10:5061"]))
        let cid = try XCTUnwrap((cliConn.first?["connection"] as? NSDictionary)?["community_id"] as? String)
        let conn = try ViewHarness.json(served, "/api/conn/" + cid.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!) as? NSDictionary
        XCTAssertEqual(conn, cliConn.first)
        let key = try XCTUnwrap(((cliConn.first?["connection"] as? NSDictionary)?["key"] as? NSNumber)?.int64Value)
        XCTAssertEqual(try ViewHarness.json(served, "/api/conn/\(key)") as? NSDictionary, cliConn.first)
        XCTAssertEqual(try ViewHarness.json(served, "/api/findings") as? [NSDictionary], try ViewHarness.lines(try run(["findings", "--store", storePath, "--json"])))
        XCTAssertEqual(try ViewHarness.json(served, "/api/clocks") as? [NSDictionary], try ViewHarness.lines(try run(["clocks", "--store", storePath, "--json"])))
        // The histogram counts every event once, per host.
        let h = try XCTUnwrap(try ViewHarness.json(served, "/api/histogram?buckets=50") as? NSDictionary)
        let counted = (h["hosts"] as! [NSDictionary]).reduce(0) { $0 + ($1["counts"] as! [Int]).reduce(0, +) }
        XCTAssertEqual(counted, (try ViewHarness.json(served, "/api/timeline?limit=1") as? NSDictionary)?["total"] as? Int)
        XCTAssertEqual((h["hosts"] as! [NSDictionary]).first?["counts"].map { ($0 as! [Int]).count }, 50)
    }

    func testPageAndAssetsCarryAPolicyThatForbidsInlineScript() throws {
        let storePath = ViewHarness.newStore()
        defer { ViewHarness.remove(storePath) }
        try run(["ingest", "--store", storePath, "corpus/rdp-reset"])
        let served = try ViewHarness.serve(storePath)
        for path in ["/", "/view.js", "/view.css", "/conn/1:abc", "/api/sources"] {
            let url = URL(string: path, relativeTo: served.url)!
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var headers: [AnyHashable: Any] = [:]
            URLSession.shared.dataTask(with: url) { _, r, _ in headers = (r as? HTTPURLResponse)?.allHeaderFields ?? [:]; done.signal() }.resume()
            _ = done.wait(timeout: .now() + 30)
            let csp = headers.first { ($0.key as? String)?.lowercased() == "content-security-policy" }?.value as? String ?? ""
            XCTAssertTrue(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"), "\(path): \(csp)")
        }
        let page = String(decoding: try ViewHarness.get(served, "/").body, as: UTF8.self)
        XCTAssertFalse(page.contains("<script>"), "no inline script in the page")
        XCTAssertFalse(page.contains("http://") || page.contains("https://"), "nothing remote")
    }

    /// The live feed: events another ingest adds reach an open stream, each once, in the order stored.
    func testLiveFeedDeliversEventsAnotherIngestAdds() throws {
        let storePath = ViewHarness.newStore()
        defer { ViewHarness.remove(storePath) }
        try run(["ingest", "--store", storePath, "corpus/rdp-reset"])
        let served = try ViewHarness.serve(storePath)
        let last = try XCTUnwrap((try ViewHarness.json(served, "/api/sources") as? NSDictionary)?["last_id"] as? Int64)
        let feed = ViewHarness.SSEReader(URL(string: "/api/live?after=\(last)", relativeTo: served.url)!)
        defer { feed.stop() }
        try run(["ingest", "--store", storePath, "corpus/tcp-analysis"])
        let added = try XCTUnwrap((try ViewHarness.json(served, "/api/sources") as? NSDictionary)?["last_id"] as? Int64) - last
        XCTAssertGreaterThan(added, 0)
        // Every added event within a few seconds (the feed looks every 250 ms).
        let deadline = Date().addingTimeInterval(20)
        while feed.ids().count < added && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let ids = feed.ids()
        XCTAssertEqual(ids.count, Int(added))
        XCTAssertEqual(ids, Array(last + 1 ... last + added))
    }
}

/// Live: `ingest --follow` in another process, the view open on the same store.
extension CLITests {
    /// A tshark export grows in three appends and is rotated (renamed `.1`, a new file started under its
    /// name): the open feed gets each of its 53 packet lines once, in the order written, and the
    /// connection's ladder gains the followed capture point without restarting the view.
    func testFollowedFileGrowingAndRotatedReachesTheOpenViewLineByLine() throws {
        let dir = NSTemporaryDirectory() + "tj-view-follow-\(UUID().uuidString)/"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let storePath = dir + "case.db"
        // The server's export of the same packets, loaded first: the connection has one capture point.
        try run(["ingest", "--store", storePath, "corpus/tshark-netns/server.t-ad.txt"])
        let served = try ViewHarness.serve(storePath)
        let last = try XCTUnwrap((try ViewHarness.json(served, "/api/sources") as? NSDictionary)?["last_id"] as? Int64)
        let feed = ViewHarness.SSEReader(URL(string: "/api/live?after=\(last)", relativeTo: served.url)!)
        defer { feed.stop() }

        let text = try String(contentsOf: CorpusTests.root.appendingPathComponent("corpus/tshark-netns/client.t-ad.txt"), encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0 + "\n" }
        XCTAssertEqual(lines.count, 53)
        // Each line's own time of day in µs, as a person reads it in the file ("17:43:59.389452"; one day).
        let micros = lines.map { l -> Int64 in
            let hms = l.split(separator: " ", omittingEmptySubsequences: true)[2].split(separator: ":")
            let sec = hms[2].split(separator: ".")
            return ((Int64(hms[0])! * 60 + Int64(hms[1])!) * 60 + Int64(sec[0])!) * 1_000_000 + Int64(sec[1])!
        }
        let live = dir + "live.txt"
        try lines[0..<20].joined().write(toFile: live, atomically: false, encoding: .utf8)
        let follower = Process()
        follower.executableURL = CLITests.binary
        follower.arguments = ["ingest", "--store", storePath, "--follow", live]
        follower.standardOutput = FileHandle.nullDevice
        FileManager.default.createFile(atPath: dir + "follow.err", contents: nil)
        follower.standardError = FileHandle(forWritingAtPath: dir + "follow.err")
        try follower.run()
        defer { if follower.isRunning { follower.terminate() }; follower.waitUntilExit() }

        func waitFor(_ n: Int, _ what: String) {
            let deadline = Date().addingTimeInterval(20)
            while feed.events().count < n && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            XCTAssertEqual(feed.events().count, n, what)
        }
        waitFor(20, "the first 20 lines")
        // Paged by position while the file grows: the followed source's times are held sorted by the view
        // (its rows are not in time order), and the lines appended later must join them.
        func livePage() throws -> (total: Int, ts: [Int64]) {
            let page = try XCTUnwrap(try ViewHarness.json(served, "/api/timeline?host=live&limit=200") as? NSDictionary)
            let events = (page["events"] as? [NSDictionary]) ?? []
            return (page["total"] as? Int ?? -1, events.compactMap { $0["ts_ns"] as? Int64 })
        }
        XCTAssertEqual(try livePage().total, 20)
        func append(_ r: Range<Int>, to path: String) throws {
            let h = try XCTUnwrap(FileHandle(forWritingAtPath: path))
            h.seekToEndOfFile()
            h.write(Data(lines[r].joined().utf8))
            h.closeFile()
        }
        try append(20..<27, to: live)
        try append(27..<30, to: live)
        waitFor(30, "after two appends")
        // Rotation as logrotate does it: the old file renamed, a last line into it, a new file started.
        try FileManager.default.moveItem(atPath: live, toPath: live + ".1")
        try append(30..<31, to: live + ".1")
        try lines[31..<45].joined().write(toFile: live, atomically: false, encoding: .utf8)
        try append(45..<53, to: live)
        waitFor(53, "after the rotation")

        let got = feed.events()
        // The source's own times (the view's `ts` may already be shifted by the clock solution).
        let own = got.compactMap { ($0["ts_source_ns"] ?? $0["ts_ns"]) as? Int64 }
        XCTAssertEqual(own.map { ($0 - own[0]) / 1000 }, micros.map { $0 - micros[0] }, "every line once, in the order written")
        XCTAssertEqual(got.compactMap { $0["id"] as? Int64 }, Array(last + 1 ... last + 53))
        let paged = try livePage()
        XCTAssertEqual(paged.total, 53)
        XCTAssertEqual(paged.ts, paged.ts.sorted(), "the page in aligned time order")
        XCTAssertEqual(paged.ts.count, 53)
        // Lines 1–31 from the rotated file, 32–53 as lines 1–22 of the new one.
        XCTAssertEqual(got.compactMap { $0["line"] as? Int }, Array(1...31) + Array(1...22))

        // The debounce recomputes the lifecycles: the connection 41001 → 8080 gains the client's capture
        // point (the followed file) beside the server's, while the view stays open.
        let cid = try XCTUnwrap(got.first { ($0["summary"] as? String)?.contains("41001 → 8080 [SYN]") == true }?["community_id"] as? String)
        let deadline = Date().addingTimeInterval(20)
        var points: [String] = []
        while Date() < deadline {
            let conn = try ViewHarness.json(served, "/api/conn/" + cid.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!) as? NSDictionary
            let views = ((conn?["connection"] as? NSDictionary)?["by_capture_point"] as? [NSDictionary]) ?? []
            points = views.compactMap { $0["source"] as? String }.map { ($0 as NSString).lastPathComponent }
            if points.count >= 2 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(points.contains("server.t-ad.txt") && points.contains { $0.hasPrefix("live.txt") },
                      "capture points: \(points); ingest --follow said: \((try? String(contentsOfFile: dir + "follow.err", encoding: .utf8)) ?? "")")
        follower.interrupt()
    }
}

/// The view in a real headless Chromium (scripts/check-view.py: Debian's chromium and chromium-driver, PyPI
/// selenium), checked by what the page shows.
extension CLITests {
    func viewInBrowser(_ served: ViewHarness.Served, shots: String, connPort: String) throws -> [String: Any] {
        try inBrowser("scripts/check-view.py", [served.url.absoluteString, shots, connPort])
    }

    func testViewInBrowserShowsTimelineLadderAndHostileTextAsText() throws {
        let dir = NSTemporaryDirectory() + "tj-view-browser-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A log whose lines try to become markup (written here: the point is what they say, not their format).
        let hostile = dir + "/app.log"
        try """
        Nov 27 10:00:00 web1 app[42]: user agent <img src=x onerror="window.__pwned=true"> asked /
        Nov 27 10:00:01 web1 app[42]: path </script><script>window.__pwned=true</script> onerror done

        """.write(toFile: hostile, atomically: true, encoding: .utf8)
        let store = dir + "/s.db"
        try run(["ingest", "--store", store, "corpus/rdp-reset", hostile])
        let served = try ViewHarness.serve(store)
        // Screenshots stay with the build (test artifacts), not in the repository.
        let shots = CorpusTests.root.appendingPathComponent(".build/test-artifacts/view").path
        let page = try viewInBrowser(served, shots: shots, connPort: "59193")
        // The first rows are the scenario's first events on the aligned clock: the ETL trace's SYN from
        // 10.0.107.58:59210 to 3389 at 08:53:53.4999750, then times that never go back.
        let rows = try XCTUnwrap(page["first_rows"] as? [[String]])
        XCTAssertGreaterThan(rows.count, 8)
        XCTAssertEqual(rows.first?.first, "2013-01-06T08:53:53.4999750Z")
        XCTAssertTrue(rows.first?.last?.contains("SrcPort=59210") == true, "\(rows.first ?? [])")
        let times = rows.map { $0[0] }
        XCTAssertEqual(times, times.sorted(), "aligned order")
        XCTAssertEqual(page["count"] as? String, "50 events · row 1")
        XCTAssertGreaterThan(page["histogram_bars"] as? Int ?? 0, 0)
        XCTAssertTrue((page["findings"] as? [String] ?? []).contains("connection_refused"))
        // The RDP session the server reset: its ladder has the RST, sent by 10.7.3.187.
        XCTAssertTrue((page["conn_path"] as? String ?? "").hasPrefix("/conn/1%3A"), "the connection is in the address")
        let title = page["conn_title"] as? String ?? ""
        XCTAssertTrue(title.contains("10.0.107.58:59193") && title.contains("10.7.3.187:3389"), title)
        XCTAssertTrue((page["ladder_rst_from"] as? [String] ?? []).contains("10.7.3.187:3389"), "\(page)")
        XCTAssertGreaterThanOrEqual(page["ladder_packets"] as? Int ?? 0, 20)
        // Hostile lines show as text and run nothing.
        let shown = (page["hostile_rows"] as? [String] ?? []).joined(separator: "\n")
        XCTAssertTrue(shown.contains("<img src=x onerror=\"window.__pwned=true\">"), shown)
        XCTAssertTrue(shown.contains("</script><script>window.__pwned=true</script>"), shown)
        XCTAssertEqual(page["images"] as? Int, 0)
        XCTAssertEqual(page["scripts"] as? Int, 1, "only the page's own view.js")
        XCTAssertEqual(page["pwned"] as? Bool, false)
        XCTAssertTrue((page["url_after_search"] as? String ?? "").contains("grep=onerror"), "the filter is in the address")
        XCTAssertEqual(page["console_errors"] as? [String], [])
    }
}
