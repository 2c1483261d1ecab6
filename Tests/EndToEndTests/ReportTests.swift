import XCTest
import Foundation

/// `tracejoin report --html` opened in a real headless Chromium (scripts/check-report.py: Debian's chromium and
/// chromium-driver, PyPI selenium), checked by what the page shows.
extension CLITests {
    func reportInBrowser(_ html: String, screenshot: String? = nil) throws -> [String: Any] {
        try inBrowser("scripts/check-report.py", [html] + (screenshot.map { [$0] } ?? []))
    }

    /// Runs one of the scripts that drive Debian's headless chromium through chromedriver (PyPI selenium)
    /// and returns the JSON it prints of what the page showed; skips where those are not installed.
    func inBrowser(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") else {
            throw XCTSkip("no chromium and chromium-driver here")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", CorpusTests.root.appendingPathComponent(script).path] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if errors.contains("No module named 'selenium'") { throw XCTSkip("no selenium for python3") }
        XCTAssertEqual(p.terminationStatus, 0, errors)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], errors)
    }

    func testReportLyncEdgeShowsFindingsTimelineAndLadders() throws {
        let dir = NSTemporaryDirectory() + "tj-report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["ingest", "--store", dir + "/s.db", "corpus/lync-edge"])
        try run(["report", "--store", dir + "/s.db", "--html", dir + "/r.html"])
        let page = try reportInBrowser(dir + "/r.html", screenshot: dir + "/r.png")
        // The four findings of the scenario (see FindingsTests), most severe first.
        XCTAssertEqual(page["finding_kinds"] as? [String], ["syn_unanswered", "rst_injected", "sip_no_final_response", "segments_lost"])
        XCTAssertEqual(page["timeline_count"] as? String, "91 events")
        XCTAssertGreaterThan(page["timeline_rows_drawn"] as? Int ?? 0, 10)
        // The Edge ↔ Front End ladder: the three SYNs seen at both points, the three RSTs and three SYN/ACKs at one only.
        XCTAssertGreaterThanOrEqual(page["ladder_lines_seen"] as? Int ?? 0, 3)
        XCTAssertGreaterThanOrEqual(page["ladder_lines_one_side"] as? Int ?? 0, 6)
        // Filtering the timeline for "RST" leaves the lines that say it: the Edge's RST to the client (client.txt)
        // and the Front End's two "connection terminated: received RST" (Network Monitor writes the RST flag as .R.).
        XCTAssertEqual(page["filtered_count"] as? String, "3 of 91")
        XCTAssertEqual(page["fetched"] as? [String], [], "the page fetches nothing")
        XCTAssertLessThan(page["ready_s"] as? Double ?? 99, 5)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/r.png"))
    }

    func testReportInputsCannotInjectMarkup() throws {
        let dir = NSTemporaryDirectory() + "tj-report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A syslog line whose message is markup, and a host name that closes the data block.
        let evil = "<13>Nov 27 21:00:00 </script><img/src=x/onerror=window.__pwned=true> app[1]: <script>window.__pwned=true</script><img src=y onerror=window.__pwned=true>\n"
        try evil.write(toFile: dir + "/evil.log", atomically: true, encoding: .utf8)
        try run(["ingest", "--store", dir + "/s.db", "--host", "<b>host</b>", dir + "/evil.log"])
        try run(["report", "--store", dir + "/s.db", "--html", dir + "/r.html"])
        let page = try reportInBrowser(dir + "/r.html")
        XCTAssertEqual(page["scripts_injected"] as? Int, 2, "only the report's own data and script elements")
        XCTAssertEqual(page["images"] as? Int, 0)
        XCTAssertEqual(page["alerts"] as? Bool, false)
        XCTAssertEqual(page["timeline_count"] as? String, "1 events")
    }
}
