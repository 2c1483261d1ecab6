import XCTest
import Foundation
@testable import ClickHouse

/// The whole read side on the current engine: `push` and the views through tracejoin's own HTTP client, to ClickHouse
/// 26.9 in process behind `scripts/chdb-http-shim.py` (chDB; Debian's real server is 18.16). The same comparisons as
/// ReadEndToEndTests: every view prints on the dataset what it prints on the store.
final class CurrentEngineReadTests: XCTestCase {
    typealias T = PushEndToEndTests

    func shim() throws -> (url: String, explain: String) { try Self.shim(in: self) }

    /// Starts the shim on a free loopback port for the length of `test`; returns the base URL and the EXPLAIN log it writes.
    static func shim(in test: XCTestCase) throws -> (url: String, explain: String) {
        let python = try CurrentEngineTests.python()
        let dir = NSTemporaryDirectory() + "tj-shim-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for port in (0..<20).map({ _ in Int.random(in: 20_000..<30_000) }) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [T.root.appendingPathComponent("scripts/chdb-http-shim.py").path, dir, String(port), "--explain", dir + "/explain.jsonl"]
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            // Its first line says it listens; nothing (it exits) when the port was taken.
            let first = String(decoding: out.fileHandleForReading.availableDataOrLine(), as: UTF8.self)
            if first.contains("on 127.0.0.1:\(port)") {
                test.addTeardownBlock { p.terminate(); p.waitUntilExit(); try? FileManager.default.removeItem(atPath: dir) }
                return ("clickhouse+http://127.0.0.1:\(port)/tj", dir + "/explain.jsonl")
            }
            p.waitUntilExit()
            let why = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if p.terminationStatus == 2 { throw XCTSkip(why) }
        }
        throw XCTSkip("no free port for the chDB shim")
    }

    func testViewsReadTheSameFromClickHouse26() throws {
        let (base, explain) = try shim()
        for (scenario, commands) in [
            ("nat-two-points", [["timeline", "--json"], ["timeline", "--from", "2026-11-27T19:54:22.3", "--to", "2026-11-27T19:54:23.01", "--json"],
                                ["timeline", "--grep", "FIN", "--kind", "packet", "--json"], ["timeline", "--conn", "10.97.2.1:9", "--json"],
                                ["clocks", "--json"], ["sources", "--json"], ["connections", "--json"],
                                ["conn", "10.97.1.1:43642", "10.97.2.1:7000", "--json"], ["conn", "10.97.1.1:43642", "10.97.2.1:7000"]]),
            ("lync-edge", [["timeline", "--json"], ["timeline", "--conn", "192.168.1.1:50357", "--json"], ["clocks", "--json"], ["connections", "--json"]]),
        ] {
            let store = try T.store(scenario, in: self)
            let url = base + "?dataset=" + scenario
            let p = try T.tracejoin(["push", "--store", store, "--to", url, "--json"])
            XCTAssertEqual(p.status, 0, p.err)
            XCTAssertTrue(p.err.contains("current schema"), "26.9 gets the current schema: \(p.err)")
            try ReadEndToEndTests.assertSame(store, url, commands)
        }
        // A connection's events were read as a range of the primary key, its bloom filter consulted.
        let log = (try? String(contentsOfFile: explain, encoding: .utf8)) ?? ""
        let conn = log.split(separator: "\n").filter { $0.contains("conn_key = {key:UInt64}") && $0.contains("FROM tj.events") }
        XCTAssertFalse(conn.isEmpty, "conn read the events of one connection: \(log.prefix(400))")
    }
}

extension FileHandle {
    /// What the process wrote first (its first line), or nothing once it closed its output.
    func availableDataOrLine() -> Data {
        var data = Data()
        while true {
            let d = availableData
            if d.isEmpty { return data }
            data += d
            if d.contains(0x0A) { return data }
        }
    }
}
