import XCTest
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `tracejoin view` on a dataset of the 2-shard 18.16 cluster: every endpoint answers, byte for byte, what the view of
/// the SQLite store the push copied answers — pages by position, a time, a content filter, the histogram, a
/// connection, the clocks, the findings, the sources.
final class ViewOnClickHouseTests: XCTestCase {
    typealias T = PushEndToEndTests

    /// A running `tracejoin view --port 0` and the address it printed.
    final class Served {
        let process: Process
        let url: URL
        init(_ store: String) throws {
            process = Process()
            process.executableURL = T.binary
            process.arguments = ["view", "--store", store, "--port", "0"]
            process.currentDirectoryURL = T.root
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Its first line names the address (read to the newline; bounded by the process ending).
            var line = Data()
            while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data([0x0A]) { line += byte }
            let text = String(decoding: line, as: UTF8.self)
            guard let r = text.range(of: "http://[^ ]+", options: .regularExpression), let url = URL(string: String(text[r])) else {
                process.terminate()
                throw XCTSkip("tracejoin view printed no address: \(text)")
            }
            self.url = url
        }
        deinit { process.terminate(); process.waitUntilExit() }

        func get(_ path: String) throws -> (status: Int, body: String) {
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var result: (Int, String) = (0, "")
            URLSession.shared.dataTask(with: URL(string: path, relativeTo: url)!) { data, response, error in
                result = ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(error.map { "\($0)".utf8 } ?? "".utf8), as: UTF8.self))
                done.signal()
            }.resume()
            guard done.wait(timeout: .now() + 60) == .success else { throw XCTSkip("no answer to \(path) within 60 s") }
            return result
        }
    }

    func testViewAnswersAsOnTheStore() throws {
        let c = try T.cluster()
        let store = try T.store("nat-two-points", in: self)
        let url = c.url + "&dataset=" + T.dataset("view")
        XCTAssertEqual(try T.tracejoin(["push", "--store", store, "--to", url]).status, 0)
        let sqlite = try Served(store), dataset = try Served(url)

        // The refused connection to port 9: its Community ID, as the store names it.
        let conn = try XCTUnwrap(try T.tracejoin(["connections", "--store", store, "--json"]).out
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { ($0["endpoints"] as? [String])?.contains("10.97.2.1:9") == true }?["community_id"] as? String)
        let third = try JSONSerialization.jsonObject(with: Data(try sqlite.get("/api/timeline?offset=20&limit=1").body.utf8)) as? [String: Any]
        let at = try XCTUnwrap(((third?["events"] as? [[String: Any]])?.first?["ts_ns"] as? Int).map { "ns:\($0)" })
        for path in ["/api/sources", "/api/timeline?limit=2000", "/api/timeline?offset=10&limit=5", "/api/timeline?offset=64&limit=5",
                     "/api/timeline?at=\(at)&limit=3", "/api/timeline?host=server&offset=3&limit=4", "/api/timeline?kind=packet&grep=FIN&limit=20",
                     "/api/timeline?conn=10.97.2.1:9", "/api/histogram?buckets=20", "/api/conn/\(conn.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)",
                     "/api/clocks", "/api/findings", "/api/timeline?kind=nothing"] {
            let a = try sqlite.get(path), b = try dataset.get(path)
            XCTAssertEqual(b.status, a.status, path)
            XCTAssertEqual(b.body, a.body, "\(path) differs between SQLite and ClickHouse")
        }
        // What a reader of the captures can check: 65 events, 32 of them the server's; its third page of 4 from the 4th.
        let all = try JSONSerialization.jsonObject(with: Data(try dataset.get("/api/timeline?limit=2000").body.utf8)) as? [String: Any]
        XCTAssertEqual(all?["total"] as? Int, 65)
        let server = try JSONSerialization.jsonObject(with: Data(try dataset.get("/api/timeline?host=server&limit=100").body.utf8)) as? [String: Any]
        XCTAssertEqual(server?["total"] as? Int, 32)
    }
}
