import XCTest
import GRDB
import Foundation
import TraceModel
import Parsers
@testable import EventStore

/// `ingest --follow` on a real tshark export (corpus/tshark-netns/client.t-ad.txt: 53 packets, one line
/// each, `-t ad` times) written into a growing file the way a live `tshark -l -t ad > client.txt` would:
/// in chunks, one ending mid-line, then rotated.
final class FollowTests: XCTestCase {
    var dir: URL!

    static let corpusLines: [String] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("corpus/tshark-netns/client.t-ad.txt")
        let text = try! String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }()

    /// An event's raw text is its line without the blanks around it (tshark right-aligns the frame number).
    static func trimmed<S: Sequence>(_ lines: S) -> [String] where S.Element == String {
        lines.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    override func setUpWithError() throws {
        XCTAssertEqual(FollowTests.corpusLines.count, 53, "the fixture is the 53-packet export")
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tracejoin-follow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Runs a follower on its own thread until `stop` is set; `wait()` returns its reports (bounded).
    final class Running: @unchecked Sendable {
        let stop = StopFlag()
        private let done = DispatchSemaphore(value: 0)
        private var result: Result<[IngestReport], Error> = .success([])

        init(store: Store, paths: [String], tuning: FollowOptions = FollowOptions()) {
            let thread = Thread { [self] in
                result = Result { try Follower(store: store, options: IngestOptions(), tuning: tuning).run(paths: paths, stop: stop) }
                done.signal()
            }
            thread.start()
        }

        func finish(timeout: Double = 20) throws -> [IngestReport] {
            stop.stop()
            guard done.wait(timeout: .now() + timeout) == .success else {
                XCTFail("the follower did not stop within \(timeout) s")
                return []
            }
            return try result.get()
        }
    }

    func append(_ path: String, _ text: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
        try h.close()
    }

    /// Seconds until `count()` reaches `n` (at most `limit`; nil if it never did).
    func secondsUntil(_ n: Int, limit: Double = 10, _ count: () throws -> Int) rethrows -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < limit {
            if try count() >= n { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return nil
    }

    /// The lines of a source's events in rowid (insertion) order, and their raw text.
    func stored(_ store: Store, source: Int64) throws -> [(line: Int, raw: String)] {
        let info = try XCTUnwrap(try store.sources().first { $0.id == source })
        let page = try store.eventPage(source: info, filter: EventFilter(), after: nil, limit: 1000).events
        let rowidOrder = try store.db.read { try Int.fetchAll($0, sql: "SELECT line FROM event WHERE source = ? ORDER BY rowid", arguments: [source]) }
        XCTAssertEqual(page.map { $0.line }, rowidOrder, "time order is line order in this export")
        return page.map { ($0.line, $0.raw) }
    }

    func testChunksAMidLineCutAndARotationGiveEveryLineOnceInOrder() throws {
        let lines = FollowTests.corpusLines
        let path = dir.appendingPathComponent("client.txt").path
        let dbPath = dir.appendingPathComponent("s.db").path
        let store = try Store(path: dbPath)
        let reader = try Store(path: dbPath, readOnly: true)
        func readerCount() throws -> Int { try reader.eventCount() }

        try (lines[0..<10].joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        let running = Running(store: store, paths: [path])

        // Chunk 1: lines 1–10, whole.
        var latency = try secondsUntil(10, readerCount)
        XCTAssertNotNil(latency, "lines 1–10 reach the reader")
        // Chunk 2: lines 11–20 and the first 25 bytes of line 21, without its line feed.
        try append(path, lines[10..<20].joined(separator: "\n") + "\n" + lines[20].prefix(25))
        latency = try secondsUntil(20, readerCount)
        XCTAssertLessThan(try XCTUnwrap(latency, "lines 11–20 reach the reader"), 1.0, "a reader sees appended lines within a second")
        Thread.sleep(forTimeInterval: 0.4) // two commit intervals: the half line must still not be there
        XCTAssertEqual(try readerCount(), 20, "half of line 21 is not an event")
        // Chunk 3: the rest of line 21, and lines 22–35.
        try append(path, lines[20].dropFirst(25) + "\n" + lines[21..<35].joined(separator: "\n") + "\n")
        XCTAssertNotNil(try secondsUntil(35, readerCount), "line 21 completed and lines 22–35 reach the reader")

        // Rotation: the file is renamed, its writer still appends lines 36–40 to it, then a new file with the
        // name starts with lines 41–53.
        let rotated = path + ".1"
        try FileManager.default.moveItem(atPath: path, toPath: rotated)
        try append(rotated, lines[35..<40].joined(separator: "\n") + "\n")
        try (lines[40..<53].joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertNotNil(try secondsUntil(53, readerCount), "every line reaches the reader")
        // The old file is ended once quiet for the grace period (1 s) and takes its new name.
        XCTAssertNotNil(try secondsUntil(1, { try reader.sources().filter { $0.path == rotated }.count }), "the old source takes its new name")
        let reports = try running.finish()

        let sources = try store.sources()
        XCTAssertEqual(sources.map { $0.path }, [rotated, path])
        XCTAssertEqual(sources.map { $0.format }, ["wireshark_text", "wireshark_text"])
        XCTAssertEqual(reports.map { $0.events }, [40, 13])
        XCTAssertEqual(reports.map { $0.status }, [.loaded, .loaded])

        // The old file: its lines 1–40, each once, in order, each event's text its line's.
        let old = try stored(store, source: sources[0].id)
        XCTAssertEqual(old.map { $0.line }, Array(1...40))
        XCTAssertEqual(old.map { $0.raw }, FollowTests.trimmed(lines[0..<40]))
        XCTAssertEqual(sources[0].lines, 40)
        // The new file is a new source: its own lines 1–13, holding lines 41–53 of the export.
        let new = try stored(store, source: sources[1].id)
        XCTAssertEqual(new.map { $0.line }, Array(1...13))
        XCTAssertEqual(new.map { $0.raw }, FollowTests.trimmed(lines[40..<53]))
        // Line 21, written in two pieces, is one packet: frame 21, 10.99.0.1:41003's ACK Seq=19 Ack=19.
        let frame21 = try store.db.read {
            try String.fetchOne($0, sql: "SELECT ordinal || ' ' || sport || ' ' || seq || ' ' || ack FROM event WHERE source = ? AND line = 21", arguments: [sources[0].id])
        }
        XCTAssertEqual(frame21, "21 41003 19 19")

        // Views recompute connections and clocks: the follow marked them stale as a plain ingest does.
        XCTAssertTrue(try store.isStale("lifecycle"))
        XCTAssertTrue(try store.isStale("clocks"))
        // The bytes stored are the file's: a plain ingest of the rotated file adds nothing.
        let again = try Ingestor(store: store).ingest([InputFile(path: rotated)], options: IngestOptions())
        XCTAssertEqual(again.first?.status, .duplicate(of: rotated))
    }

    func testStoppedMidLineThenRunAgainContinuesTheSourceWithoutReadingALineTwice() throws {
        let lines = FollowTests.corpusLines
        let path = dir.appendingPathComponent("client.txt").path
        let store = try Store(path: dir.appendingPathComponent("s.db").path)
        try (lines[0..<30].joined(separator: "\n") + "\n" + lines[30].prefix(17)).write(toFile: path, atomically: false, encoding: .utf8)
        var tuning = FollowOptions()
        tuning.duration = 0.5
        let first = try Follower(store: store, options: IngestOptions(), tuning: tuning).run(paths: [path], stop: StopFlag())
        XCTAssertEqual(first.map { $0.events }, [30])
        XCTAssertEqual(first.first?.lines, 30)
        XCTAssertTrue(first.first?.facts.warnings.contains { $0.hasPrefix("stopped with an unfinished last line: its 17 bytes after line 30") } ?? false)

        try append(path, lines[30].dropFirst(17) + "\n" + lines[31...].joined(separator: "\n") + "\n")
        let second = try Follower(store: store, options: IngestOptions(), tuning: tuning).run(paths: [path], stop: StopFlag())
        XCTAssertEqual(second.first?.sourceID, first.first?.sourceID, "the same source, continued")
        XCTAssertEqual(second.first?.events, 53)
        let sources = try store.sources()
        XCTAssertEqual(sources.count, 1)
        XCTAssertEqual(sources[0].lines, 53)
        let events = try stored(store, source: sources[0].id)
        XCTAssertEqual(events.map { $0.line }, Array(1...53))
        XCTAssertEqual(events.map { $0.raw }, FollowTests.trimmed(lines))
    }

    func testTruncatedInPlaceIsReadAgainAsANewSource() throws {
        let lines = FollowTests.corpusLines
        let path = dir.appendingPathComponent("client.txt").path
        let store = try Store(path: dir.appendingPathComponent("s.db").path)
        try (lines[0..<20].joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        let running = Running(store: store, paths: [path])
        XCTAssertNotNil(try secondsUntil(20) { try store.eventCount() })
        // logrotate's copytruncate: same file, emptied, then written again from its start.
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: 0)
        try h.write(contentsOf: Data((lines[20..<25].joined(separator: "\n") + "\n").utf8))
        try h.close()
        XCTAssertNotNil(try secondsUntil(25) { try store.eventCount() })
        let reports = try running.finish()
        XCTAssertEqual(reports.map { $0.events }, [20, 5])
        let sources = try store.sources()
        XCTAssertEqual(try stored(store, source: sources[1].id).map { $0.raw }, FollowTests.trimmed(lines[20..<25]))
    }

    func testATimeOfDayExportReadsAsSuchWhileFollowed() throws {
        // tcpdump -nn writes times of day without a date (17:43:59.389452): while followed, before it ends,
        // the source must already say so, or every view would place its packets on 1970-01-01.
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("corpus/tshark-netns/client.tcpdump-nn.txt")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        let path = dir.appendingPathComponent("live.txt").path
        try (lines[0..<12].joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        let store = try Store(path: dir.appendingPathComponent("s.db").path)
        let running = Running(store: store, paths: [path])
        XCTAssertNotNil(try secondsUntil(12) { try store.eventCount() })
        let source = try XCTUnwrap(try store.sources().first)
        XCTAssertEqual(source.timeBasis, .timeOfDay)
        XCTAssertEqual(source.timeDigits, 6)
        XCTAssertEqual(source.format, "tcpdump_text")
        _ = try running.finish()
    }

    func testACaptureIsRefusedAndSaysWhy() throws {
        let pcap = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("corpus/tshark-netns/client.pcap").path
        let store = try Store(path: ":memory:")
        var tuning = FollowOptions()
        tuning.duration = 0.3
        let r = try Follower(store: store, options: IngestOptions(), tuning: tuning).run(paths: [pcap], stop: StopFlag())
        guard case .failed(let why)? = r.first?.status else { return XCTFail("a capture is not followed: \(r)") }
        XCTAssertTrue(why.hasPrefix("pcap is a capture, read by blocks, not lines: --follow reads line-based text only"), why)
        XCTAssertEqual(try store.eventCount(), 0)
    }

    func testAPassThatRanWhileEventsArrivedStaysStale() throws {
        let store = try Store(path: ":memory:")
        try store.setStale("lifecycle", true)
        let mark = try store.staleMark("lifecycle")
        try store.setStale("lifecycle", true) // a follow commit while the pass runs
        try store.setFresh("lifecycle", ifStill: mark)
        XCTAssertTrue(try store.isStale("lifecycle"))
        try store.setFresh("lifecycle", ifStill: try store.staleMark("lifecycle"))
        XCTAssertFalse(try store.isStale("lifecycle"))
    }
}
