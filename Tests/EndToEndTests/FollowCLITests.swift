import XCTest
import Foundation
import EventStore

/// `tracejoin ingest --follow` as users run it: the built binary, stopped by Ctrl-C or `--follow-for`.
final class FollowCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tj-follow-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func start(_ args: [String]) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = args
        p.currentDirectoryURL = CorpusTests.root
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    /// Waits for the process (at most `limit` seconds) and returns its status, stdout and stderr.
    func finish(_ run: (Process, Pipe, Pipe), limit: Double = 30) -> (Int32, String, String) {
        let (p, out, err) = run
        let deadline = Date().addingTimeInterval(limit)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.isRunning {
            XCTFail("tracejoin did not stop within \(limit) s")
            p.terminate()
            p.waitUntilExit()
        }
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (p.terminationStatus, o, e)
    }

    func testCtrlCCommitsWhatWasReadAndPrintsTheSource() throws {
        let live = dir.appendingPathComponent("client.txt").path
        try FileManager.default.copyItem(atPath: CorpusTests.root.appendingPathComponent("corpus/tshark-netns/client.t-ad.txt").path, toPath: live)
        let store = dir.appendingPathComponent("s.db").path
        let run = try start(["ingest", "--store", store, "--follow", live])
        // All 53 packet lines in the store (read-only, as a view reads it) before Ctrl-C.
        let deadline = Date().addingTimeInterval(20)
        var seen = 0
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: store), let s = try? Store(path: store, readOnly: true), let n = try? s.eventCount() { seen = n }
            if seen == 53 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(seen, 53)
        run.0.interrupt()
        let (status, out, err) = finish(run)
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(out.contains("client.txt: wireshark_text, host client, 53 events, 0 lines not understood, 2026-11-27T17:43:59.389452Z … 2026-11-27T17:44:04.667948Z"), out)
        XCTAssertTrue(err.contains("client.txt: following as wireshark_text, host client"), err)
    }

    func testFollowForStopsByItselfAndAFolderOrACaptureIsRefused() throws {
        let live = dir.appendingPathComponent("app.log").path
        try "".write(toFile: live, atomically: false, encoding: .utf8)
        let store = dir.appendingPathComponent("s.db").path
        let started = Date()
        let (status, out, _) = finish(try start(["ingest", "--store", store, "--follow", "--follow-for", "0.5", live]))
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertEqual(status, 1, "nothing could be read")
        XCTAssertTrue(out.contains("app.log: empty, nothing to load"), out)

        let folder = finish(try start(["ingest", "--store", store, "--follow", "corpus/declarative"]))
        XCTAssertEqual(folder.0, 64)
        XCTAssertTrue(folder.2.contains("--follow follows files, and corpus/declarative is a folder: name the files in it"), folder.2)
        let lonely = finish(try start(["ingest", "--store", store, "--follow-for", "2", "corpus/declarative"]))
        XCTAssertEqual(lonely.0, 64)
        XCTAssertTrue(lonely.2.contains("--follow-for goes with --follow"), lonely.2)
        let capture = finish(try start(["ingest", "--store", store, "--follow", "--follow-for", "0.5", "corpus/tshark-netns/client.pcap"]))
        XCTAssertEqual(capture.0, 1)
        XCTAssertTrue(capture.1.contains("client.pcap: failed, nothing of it stored: pcap is a capture, read by blocks, not lines"), capture.1)
    }
}
