import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// The format files shipped in parsers/ on real lines (corpus/declarative, scripts/make-declarative-corpus.sh:
/// logger's RFC 3164 and 5424 messages, nginx's access and error logs), and what a bad format file gets.
final class DeclarativeFormatTests: XCTestCase {
    static let shipped = corpus.deletingLastPathComponent().appendingPathComponent("parsers").path

    func format(_ id: String) throws -> DeclarativeFormat {
        let r = FormatLoader.load(folders: [DeclarativeFormatTests.shipped])
        XCTAssertEqual(r.errors, [])
        return try XCTUnwrap(r.formats.first { $0.id == id }, id)
    }

    /// Parses a corpus file with a format, as written on 2026-11-27 (the files' year for layouts without one).
    func read(_ id: String, _ file: String) throws -> (Parsed, [[String: Any]]) {
        let f = try format(id)
        let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("declarative/" + file)))
        var parser = f.parser(context: ParseContext(path: file, modified: CivilTime.days(year: 2026, month: 11, day: 27) * CivilTime.nsPerDay + 22 * 3600 * CivilTime.nsPerSecond))
        let sink = CollectingSink()
        var splitter = LineSplitter()
        bytes.withUnsafeBufferPointer { b in splitter.feed(b) { parser.consume($0, into: sink) } }
        splitter.finish { parser.consume($0, into: sink) }
        let facts = parser.finish(into: sink)
        let attrs = sink.records.map { r in (r.attrs.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }) ?? [:] }
        return (Parsed(records: sink.records, unparsed: sink.unparsedLines, facts: facts, stream: bytes), attrs)
    }

    func testEachShippedFormatClaimsItsFileAndNoOther() throws {
        let saved = Registry.declarative
        defer { Registry.declarative = saved }
        Registry.declarative = FormatLoader.load(folders: [DeclarativeFormatTests.shipped]).formats
        let expected = ["syslog-rfc3164.log": "syslog_rfc3164", "syslog-rfc5424.log": "syslog_rfc5424",
                        "nginx-access.log": "http_access_combined", "nginx-error.log": "nginx_error",
                        "apache-access.log": "http_access_combined", "apache-error.log": "apache_error"]
        for (file, id) in expected {
            let head = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("declarative/" + file)))
            XCTAssertEqual(Registry.detect(bytes: head)?.id, id, file)
        }
        // The seed files keep their built-in parsers.
        for (file, id) in ["rdp-reset/ts-server.txt": "wireshark_text", "tivoli-proxy/epp-routed.log": "tivoli_proxy_log",
                           "sockets-netns/ss-server.txt": "ss_text", "lync-edge/edge-sipstack.txt": "sipstack_text"] {
            let head = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)).prefix(65536))
            XCTAssertEqual(Registry.detect(bytes: head)?.id, id, file)
        }
    }

    func testSyslogBothRFCs() throws {
        let (old, a) = try read("syslog_rfc3164", "syslog-rfc3164.log")
        XCTAssertEqual(old.unparsed.count, 0); XCTAssertEqual(old.records.count, 5)
        // <131>Nov 27 21:28:47 vm myapp[9639]: connect to 10.20.0.9:5432 failed: Connection timed out
        XCTAssertEqual(iso(old.records[2].ts, 0), "2026-11-27T21:28:47Z", "the year from the file's time")
        XCTAssertEqual(a[2]["process"] as? String, "myapp"); XCTAssertEqual(a[2]["pid"] as? Int, 9639)
        XCTAssertEqual(a[2]["pri"] as? Int, 131); XCTAssertEqual(a[2]["host"] as? String, "vm")
        XCTAssertEqual(old.summary(old.records[2]), "connect to 10.20.0.9:5432 failed: Connection timed out")
        XCTAssertNil(a[1]["pid"], "the kernel line has no [pid]")
        XCTAssertFalse(old.facts.zoneKnown, "RFC 3164 times carry no zone")
        let (new, b) = try read("syslog_rfc5424", "syslog-rfc5424.log")
        XCTAssertEqual(new.unparsed.count, 0); XCTAssertEqual(new.records.count, 5)
        XCTAssertEqual(iso(new.records[0].ts, 6), "2026-11-27T21:28:52.234205Z")
        XCTAssertEqual(b[0]["process"] as? String, "sshd"); XCTAssertEqual(b[0]["pid"] as? Int, 9698)
        XCTAssertEqual(new.summary(new.records[0]), "Accepted publickey for deploy from 10.20.0.7 port 51522 ssh2")
        XCTAssertTrue(new.facts.zoneKnown)
    }

    func testNginxAccessAndErrorLogs() throws {
        let (acc, a) = try read("http_access_combined", "nginx-access.log")
        XCTAssertEqual(acc.unparsed.count, 0)
        XCTAssertEqual(a.compactMap { $0["status"] as? Int }, [200, 200, 404, 502, 200])
        XCTAssertEqual(a[3]["path"] as? String, "/api/orders?id=42")
        XCTAssertEqual(acc.records[0].src, Address(ip: "127.0.0.1"))
        XCTAssertEqual(iso(acc.records[0].ts, 0), "2026-11-27T21:28:57Z", "+0000 in the line")
        let (err, e) = try read("nginx_error", "nginx-error.log")
        XCTAssertEqual(err.unparsed.count, 0); XCTAssertEqual(err.records.count, 15)
        // line 8: *4 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, … upstream: "http://127.0.0.1:9/…"
        let refused = try XCTUnwrap(err.records.first { $0.line == 8 })
        XCTAssertEqual(refused.src, Address(ip: "127.0.0.1"))
        XCTAssertEqual(refused.dst, Address(ip: "127.0.0.1")); XCTAssertEqual(refused.dstPort, 9)
        XCTAssertEqual(e[7]["level"] as? String, "error"); XCTAssertEqual(e[7]["conn"] as? Int, 4)
        XCTAssertEqual(e[7]["request"] as? String, "GET /api/orders?id=42 HTTP/1.1")
    }

    func testApacheErrorLog() throws {
        let (log, a) = try read("apache_error", "apache-error.log")
        XCTAssertEqual(log.unparsed.count, 0); XCTAssertEqual(log.records.count, 5)
        XCTAssertEqual(a.compactMap { $0["level"] as? String }, ["notice", "notice", "error", "error", "notice"])
        XCTAssertEqual(a.compactMap { $0["module"] as? String }, ["mpm_event", "core", "proxy", "proxy_http", "mpm_event"])
        // [Fri Nov 27 21:32:02.377358 2026] [proxy_http:error] [pid 14090:tid 14107] [client 127.0.0.1:60166] AH01114: …
        XCTAssertEqual(iso(log.records[3].ts, 6), "2026-11-27T21:32:02.377358Z")
        XCTAssertEqual(log.records[3].src, Address(ip: "127.0.0.1")); XCTAssertEqual(log.records[3].srcPort, 60166)
        XCTAssertEqual(a[3]["pid"] as? Int, 14090)
        XCTAssertEqual(log.summary(log.records[2]), "(111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:9 (127.0.0.1:9) failed")
        let (acc, b) = try read("http_access_combined", "apache-access.log")
        XCTAssertEqual(acc.unparsed.count, 0)
        XCTAssertEqual(b.compactMap { $0["status"] as? Int }, [200, 404, 503])
    }

    func testBadFormatFilesAreReportedWithTheirFieldAndTheRestLoad() throws {
        let dir = NSTemporaryDirectory() + "tj-formats-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = [
            "a.json": #"{"name":"bad_regex","patterns":["(unclosed"],"time":{"group":"t","formats":["epoch"]}}"#,
            "b.json": #"{"name":"bad_group","patterns":["^(?<t>\\d+) (?<m>.*)$"],"time":{"group":"t","formats":["epoch"]},"fields":{"pid":"p"}}"#,
            "c.json": #"{"name":"bad_time","patterns":["^(?<t>\\S+) (?<m>.*)$"],"time":{"group":"t","formats":["yyyy-MM-dd Q"]}}"#,
            "d.json": #"{"patterns":[]}"#,
            "e.json": "not json",
            "f.json": #"{"name":"good","patterns":["^(?<t>\\d+) (?<m>.*)$"],"time":{"group":"t","formats":["epoch"]},"fields":{"message":"m"}}"#,
        ]
        for (n, t) in files { try t.write(toFile: dir + "/" + n, atomically: true, encoding: .utf8) }
        let r = FormatLoader.load(folders: [dir])
        XCTAssertEqual(r.formats.map(\.id), ["good"])
        XCTAssertEqual(r.errors.count, 5)
        for (file, field) in [("a.json", "patterns[0]"), ("b.json", "fields.pid"), ("c.json", "time.formats[0]"), ("d.json", "name"), ("e.json", "-")] {
            XCTAssertTrue(r.errors.contains { $0.hasPrefix(dir + "/" + file + ": " + field + ":") }, "\(file) \(field): \(r.errors)")
        }
    }

    func testContinuationLinesJoinTheirRecordAndOthersAreReported() throws {
        let spec = DeclarativeFormat.Spec(name: "app", patterns: [#"^(?<t>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) (?<level>[A-Z]+) (?<m>.*)$"#],
                                          time: .init(group: "t", formats: ["yyyy-MM-dd HH:mm:ss,SSS"], zone: "+02:00"), continuation: #"^\s+at "#,
                                          fields: .init(message: "m", level: "level"))
        let f = try DeclarativeFormat(spec: spec, origin: "test")
        let text = "2026-11-27 10:00:00,250 ERROR request failed\n\tat com.example.Db.connect(Db.java:42)\n\tat com.example.Main.run(Main.java:7)\nnot a record\n2026-11-27 10:00:01,000 INFO retried\n"
        var parser = f.parser(context: ParseContext(path: "t"))
        let sink = CollectingSink()
        var splitter = LineSplitter()
        Array(text.utf8).withUnsafeBufferPointer { b in splitter.feed(b) { parser.consume($0, into: sink) } }
        splitter.finish { parser.consume($0, into: sink) }
        _ = parser.finish(into: sink)
        XCTAssertEqual(sink.records.count, 2)
        XCTAssertEqual(iso(sink.records[0].ts, 3), "2026-11-27T08:00:00.250Z", "+02:00 local time")
        XCTAssertEqual(sink.records[0].rawLen, text.split(separator: "\n")[0...2].joined(separator: "\n").utf8.count, "the stack lines are the record's")
        XCTAssertEqual(sink.unparsedLines.map(\.line), [4])
    }

    func testTimeLayouts() throws {
        func t(_ layout: String, _ text: String, year: Int = 2026) throws -> String? {
            let f = try TimeFormat(layout)
            return Array(text.utf8).withUnsafeBufferPointer { f.parse($0, year: year) }.map { iso($0.ns, $0.digits) }
        }
        XCTAssertEqual(try t("dd/MMM/yyyy:HH:mm:ss Z", "10/Oct/2000:13:55:36 -0700"), "2000-10-10T20:55:36Z")
        XCTAssertEqual(try t("MMM d HH:mm:ss", "Nov  3 04:05:06"), "2026-11-03T04:05:06Z")
        XCTAssertEqual(try t("M/d/yyyy h:mm:ss a", "1/6/2013 8:54:40 PM"), "2013-01-06T20:54:40Z")
        XCTAssertEqual(try t("epoch_ms", "1795812789123"), "2026-11-27T20:53:09.123Z")
        XCTAssertNil(try t("yyyy-MM-dd", "2026-13-01"), "no 13th month")
        XCTAssertThrowsError(try TimeFormat("yyyy-MM-dd Q"))
    }
}
