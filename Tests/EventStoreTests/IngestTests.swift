import XCTest
import GRDB
import Foundation
import TraceModel
import Parsers
@testable import EventStore

final class IngestTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tracejoin-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) throws -> String {
        let p = dir.appendingPathComponent(name).path
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    static let rows = """
    No. Time Source Destination Protocol Info
    1 0.000000 10.1.1.1 10.1.1.5 TCP 28474 > 25 [SYN] Seq=0 Win=8192 Len=0 MSS=1460 WS=8
    2 0.022001 10.1.1.5 10.1.1.1 TCP 25 > 28474 [SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0 MSS=512
    this line is prose, not a packet
    3 0.022001 10.1.1.1 10.1.1.5 TCP 28474 > 25 [ACK] Seq=1 Ack=1 Win=65392 Len=0

    """

    func testSameContentTwiceAddsNothing() throws {
        for path in [":memory:", dir.appendingPathComponent("s.db").path] {
            let store = try Store(path: path)
            let a = try write("a.txt", IngestTests.rows)
            let b = try write("copy-of-a.txt", IngestTests.rows)
            let ing = Ingestor(store: store)
            let first = try ing.ingest([InputFile(path: a, container: .plain)], options: IngestOptions())
            XCTAssertEqual(first[0].events, 3)
            XCTAssertEqual(first[0].unparsed, 1)
            let again = try ing.ingest([InputFile(path: b, container: .plain)], options: IngestOptions())
            XCTAssertEqual(again[0].status, IngestReport.Status.duplicate(of: a))
            XCTAssertEqual(try store.eventCount(), 3, path)
            let kept = try store.unparsed(source: 1, limit: 10)
            XCTAssertEqual(kept.map { $0.line }, [4])
            XCTAssertEqual(kept.first?.raw, "this line is prose, not a packet")
        }
    }

    func testBadInputsSayWhatAndKeepTheStore() throws {
        let store = try Store(path: ":memory:")
        let ing = Ingestor(store: store)
        let good = try write("good.txt", IngestTests.rows)
        let empty = try write("empty.txt", "")
        let prose = try write("notes.txt", "We restarted the server at noon.\nThen it worked.\n")
        let bin = dir.appendingPathComponent("blob.bin").path
        try Data([0x00, 0x01, 0x02, 0xFF, 0x00, 0x10, 0x00]).write(to: URL(fileURLWithPath: bin))
        let reports = try ing.ingest([good, empty, prose, bin].map { InputFile(path: $0, container: .plain) }, options: IngestOptions())
        XCTAssertEqual(reports.map { $0.status }, [IngestReport.Status.loaded, .empty, .unknownFormat, .unknownFormat])
        XCTAssertTrue(reports[0].isPartial) // one prose line
        XCTAssertEqual(try store.eventCount(), 3)
    }

    func testASummaryBelowItsEntryLineStartsAtItsFirstCharacterInCRLFFiles() throws {
        // The RDP seed's event-log entry saved with Windows line ends: the message line under the entry is the
        // event's summary, and it starts with "The", CRs or not.
        let seed = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("corpus/rdp-reset/ts-server-eventlog.txt"), encoding: .utf8)
        let crlf = try write("eventlog-crlf.txt", seed.split(separator: "\n").joined(separator: "\r\n") + "\r\n")
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([crlf]), options: IngestOptions())
        let events = try store.eventPage(source: try store.sources()[0], filter: EventFilter(), after: nil, limit: 10).events
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events.first?.summary, "The Remote Desktop Services service terminated unexpectedly. It has done this 3 time(s).")
        XCTAssertFalse(events.first?.raw.contains("\r") ?? true)
    }

    func testGzipAndZipMembersAreRead() throws {
        let plain = try write("client.txt", IngestTests.rows)
        let gz = dir.appendingPathComponent("client2.txt.gz").path
        let zip = dir.appendingPathComponent("bundle.zip").path
        // Real archives made with the system's gzip and zip-compatible python.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import gzip, zipfile, sys
            data = open(sys.argv[1], 'rb').read().replace(b'28474', b'28475')
            gzip.open(sys.argv[2], 'wb').write(data)
            with zipfile.ZipFile(sys.argv[3], 'w', zipfile.ZIP_DEFLATED) as z:
                z.writestr('server/trace.txt', data.replace(b'28475', b'28476'))
            """, plain, gz, zip]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let inputs = try InputDiscovery.expand([gz, zip])
        XCTAssertEqual(inputs.map { $0.displayName }, [gz, zip + "!/server/trace.txt"])
        let store = try Store(path: ":memory:")
        let reports = try Ingestor(store: store).ingest(inputs, options: IngestOptions())
        XCTAssertEqual(reports.map { $0.events }, [3, 3])
        XCTAssertEqual(reports.map { $0.host }, ["client2", "trace"])
        XCTAssertEqual(try store.connections(address: "10.1.1.1", port: 28476).count, 1)
    }

    func testEveryEventGetsItsOwnTextBackAcrossStoragePieces() throws {
        // 2000 rows of ~100 bytes: many rows straddle the 32 KiB pieces the text is stored in.
        var lines = ["No. Time Source Destination Protocol Info"]
        for i in 1...2000 {
            lines.append("\(i) \(i).000100 10.1.1.1 10.1.1.5 TCP \(1000 + i) > 25 [PSH, ACK] Seq=\(i * 7) Ack=1 Win=8192 Len=7 [row \(i) ünïcode]")
        }
        let path = try write("many.txt", lines.joined(separator: "\r\n") + "\r\n")
        let store = try Store(path: dir.appendingPathComponent("t.db").path)
        _ = try Ingestor(store: store).ingest([InputFile(path: path)], options: IngestOptions())
        var all: [StoredEvent] = []
        var after: (ts: Int64, id: Int64)? = nil
        while true {
            let page = try store.eventPage(source: try store.sources()[0], filter: EventFilter(), after: after, limit: 333)
            all += page.events
            after = page.last
            if page.exhausted { break }
        }
        XCTAssertEqual(all.count, 2000)
        for (i, e) in all.enumerated() {
            XCTAssertEqual(e.raw, lines[i + 1])
            XCTAssertEqual(e.summary, "\(1001 + i) > 25 [PSH, ACK] Seq=\((i + 1) * 7) Ack=1 Win=8192 Len=7 [row \(i + 1) ünïcode]")
        }
        var f = EventFilter()
        f.grep = "ROW 1999 Ü"
        XCTAssertEqual(try store.eventPage(source: try store.sources()[0], filter: f, after: nil, limit: 10).events.map { $0.ordinal }, [1999])
        // The SQL view cuts the same text from the stored pieces.
        let (_, rows) = try store.query("SELECT raw, summary FROM events WHERE ordinal = 1234")
        XCTAssertEqual(String.fromDatabaseValue(rows[0][0]), lines[1234])
        XCTAssertEqual(String.fromDatabaseValue(rows[0][1]), "2234 > 25 [PSH, ACK] Seq=8638 Ack=1 Win=8192 Len=7 [row 1234 ünïcode]")
    }

    func testAGzipCutShortLoadsWhatItHoldsAndSaysWhereItEnds() throws {
        // An interrupted copy: a gzip cut in the middle of its deflate stream. What it holds is loaded,
        // the cut is reported with its line, and the file counts as partly read.
        let store = try Store(path: dir.appendingPathComponent("cut.db").path)
        var big = ["No. Time Source Destination Protocol Info"]
        for i in 1...50_000 { big.append("\(i) \(i).000100 10.1.1.\(i % 200) 10.1.2.\(i % 100) TCP \(1000 + i % 5000) > 25 [ACK] Seq=\(i * 13) Ack=1 Win=8192 Len=0") }
        let plain = try write("big.txt", big.joined(separator: "\n"))
        let gz = dir.appendingPathComponent("big.txt.gz").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import gzip,sys; d=gzip.compress(open(sys.argv[1],'rb').read()); open(sys.argv[2],'wb').write(d[:len(d)//2])", plain, gz]
        try p.run()
        p.waitUntilExit()
        let r = try Ingestor(store: store).ingest(try InputDiscovery.expand([gz]), options: IngestOptions())[0]
        XCTAssertEqual(r.status, IngestReport.Status.loaded)
        XCTAssertTrue(r.isPartial)
        XCTAssertGreaterThan(r.events, 1000)
        XCTAssertLessThan(r.events, 50_000)
        XCTAssertTrue(r.unparsedSamples.contains { $0.reason.contains("cut short") && $0.reason.contains("gzip") }, "\(r.unparsedSamples)")
        XCTAssertEqual(try store.eventCount(), r.events)
    }
}
