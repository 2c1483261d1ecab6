import XCTest
import Foundation
import TraceModel
import Parsers
import EventStore
@testable import Timeline

final class TimelineTests: XCTestCase {
    func ingest(_ store: Store, _ name: String, _ text: String, host: String, tz: Int? = nil) throws {
        let p = NSTemporaryDirectory() + "tj-\(UUID().uuidString)-\(name)"
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: p) }
        _ = try Ingestor(store: store).ingest([InputFile(path: p, container: .plain)], options: IngestOptions(host: host, zoneOffset: tz))
    }

    func testMergedTimelineInterleavesSourcesInTimeOrder() throws {
        let store = try Store(path: ":memory:")
        // Client writes UTC+1 local time; the server writes UTC. Each SYN is 1 ms before the SYN/ACK.
        try ingest(store, "client.txt", """
        1 2013-01-06 10:00:00.000 10.0.0.1 10.0.0.2 TCP 60 5000 > 80 [SYN] Seq=0 Win=8192 Len=0
        3 2013-01-06 10:00:00.004 10.0.0.1 10.0.0.2 TCP 60 5000 > 80 [ACK] Seq=1 Ack=1 Win=8192 Len=0
        """, host: "client", tz: 3600)
        try ingest(store, "server.txt", """
        7 2013-01-06 09:00:00.001 10.0.0.1 10.0.0.2 TCP 60 5000 > 80 [SYN] Seq=0 Win=8192 Len=0
        8 2013-01-06 09:00:00.002 10.0.0.2 10.0.0.1 TCP 60 80 > 5000 [SYN, ACK] Seq=0 Ack=1 Win=8192 Len=0
        """, host: "server")
        let merged = Array(try TimelineMerge(store: store, filter: EventFilter(), pageSize: 1))
        XCTAssertEqual(merged.map { $0.ordinal }, [1, 7, 8, 3])
        var f = EventFilter()
        f.hosts = ["server"]
        XCTAssertEqual(Array(try TimelineMerge(store: store, filter: f)).map { $0.ordinal }, [7, 8])
        f = EventFilter()
        f.from = CivilTime.days(year: 2013, month: 1, day: 6) * CivilTime.nsPerDay + 9 * 3600 * CivilTime.nsPerSecond + 1_500_000
        XCTAssertEqual(Array(try TimelineMerge(store: store, filter: f)).map { $0.ordinal }, [8, 3])
    }

    func testRefusedConnectionIsRejected() throws {
        let store = try Store(path: ":memory:")
        // Lync federation excerpt: the SYN is answered by RST,ACK.
        try ingest(store, "edge.txt", """
        1299 2012-12-10 10:43:59.456 0.000 10.3.0.40 1.1.1.1 TCP 66 58138 > 50704 [SYN] Seq=3074395695 Win=8192 Len=0 MSS=1460 WS=256 SACK_PERM=1
        1300 2012-12-10 10:43:59.499 0.042 1.1.1.1 10.3.0.40 TCP 60 50704 > 58138 [RST, ACK] Seq=0 Ack=3074395696 Win=0 Len=0
        """, host: "edge")
        try LifecyclePass.run(store)
        let c = try store.allConnections()
        XCTAssertEqual(c.count, 1)
        let l = try XCTUnwrap(c[0].lifecycle)
        XCTAssertEqual(l.connState, "REJ")
        XCTAssertEqual(l.end, "refused")
        XCTAssertEqual(l.endBy, "1.1.1.1:50704")
        XCTAssertFalse(l.handshakeCompleted)
    }

    /// A packet list sorted by another column (its times jump back and forth: 2, 1, 3 s), and one in order
    /// (1.5, 2.5 s).
    func ingestOneSourceOutOfOrder(_ store: Store) throws {
        try ingest(store, "sorted-by-source.txt", """
        No. Time Source Destination Protocol Info
        2 2013-01-06 10:00:02.000 10.0.0.2 10.0.0.1 TCP 80 > 5000 [SYN, ACK] Seq=0 Ack=1 Win=8192 Len=0
        1 2013-01-06 10:00:01.000 10.0.0.1 10.0.0.2 TCP 5000 > 80 [SYN] Seq=0 Win=8192 Len=0
        3 2013-01-06 10:00:03.000 10.0.0.1 10.0.0.2 TCP 5000 > 80 [ACK] Seq=1 Ack=1 Win=8192 Len=0
        """, host: "a")
        try ingest(store, "in-order.txt", """
        No. Time Source Destination Protocol Info
        7 2013-01-06 10:00:01.500 10.0.0.1 10.0.0.2 TCP 5000 > 80 [SYN] Seq=0 Win=8192 Len=0
        8 2013-01-06 10:00:02.500 10.0.0.2 10.0.0.1 TCP 80 > 5000 [SYN, ACK] Seq=0 Ack=1 Win=8192 Len=0
        """, host: "b")
    }

    func testRowsOutOfTimeOrderStillComeOutInTimeOrder() throws {
        // A packet list sorted by another column: its times jump back and forth.
        let store = try Store(path: ":memory:")
        try ingestOneSourceOutOfOrder(store)
        let sources = try store.sources()
        XCTAssertEqual(sources.map { $0.tsSorted }, [false, true])
        XCTAssertEqual(Array(try TimelineMerge(store: store, filter: EventFilter(), pageSize: 1)).map { $0.ordinal }, [1, 7, 2, 8, 3])
        var f = EventFilter()
        let day = CivilTime.days(year: 2013, month: 1, day: 6) * CivilTime.nsPerDay + 10 * 3600 * CivilTime.nsPerSecond
        f.from = day + 1_500_000_000
        f.to = day + 2_500_000_000
        XCTAssertEqual(Array(try TimelineMerge(store: store, filter: f, pageSize: 1)).map { $0.ordinal }, [7, 2, 8])
        f.from = day + 2_600_000_000
        f.to = nil
        XCTAssertEqual(Array(try TimelineMerge(store: store, filter: f)).map { $0.ordinal }, [3])
    }

    /// The view's random access (`TimelineWindow`) over a source whose rows are out of time order: each
    /// position holds the event the merged order puts there, and a time's position counts the events before it.
    func testPositionsInATimelineWithASourceOutOfTimeOrder() throws {
        let store = try Store(path: ":memory:")
        try ingestOneSourceOutOfOrder(store)
        let day = CivilTime.days(year: 2013, month: 1, day: 6) * CivilTime.nsPerDay + 10 * 3600 * CivilTime.nsPerSecond
        var w = try TimelineWindow(store: store, filter: EventFilter())
        XCTAssertEqual(try w.total(), 5)
        XCTAssertEqual(try (0..<5).map { try w.page(offset: $0, limit: 1).first?.ordinal }, [1, 7, 2, 8, 3])
        XCTAssertEqual(try w.position(of: day + 2_000_000_000), 2, "10:00:01.000 and 10:00:01.500 come before 10:00:02")
        // A later source out of order too: the window sees it beside the first.
        try ingest(store, "late.txt", """
        No. Time Source Destination Protocol Info
        12 2013-01-06 10:00:02.750 10.0.0.1 10.0.0.2 TCP 5000 > 80 [FIN, ACK] Seq=1 Ack=1 Win=8192 Len=0
        11 2013-01-06 10:00:00.500 10.0.0.1 10.0.0.2 TCP 5000 > 80 [SYN] Seq=0 Win=8192 Len=0
        """, host: "c")
        w = try TimelineWindow(store: store, filter: EventFilter())
        XCTAssertEqual(try w.total(), 7)
        XCTAssertEqual(try (0..<7).map { try w.page(offset: $0, limit: 1).first?.ordinal }, [11, 1, 7, 2, 8, 12, 3])
    }

    func testAnchoredRelativeAndTimeOfDayExportsLandOnTheAbsoluteClock() throws {
        // Three tshark layouts of one real capture (corpus/tshark-netns): -t ad (date and time),
        // -t a (time of day) and the default (seconds since the first packet, 2026-11-27 17:43:59.389452).
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("corpus/tshark-netns")
        let store = try Store(path: ":memory:")
        let ingestor = Ingestor(store: store)
        for (file, host) in [("client.t-ad.txt", "ad"), ("client.t-a.txt", "a"), ("client.default.txt", "r")] {
            _ = try ingestor.ingest([InputFile(path: dir.appendingPathComponent(file).path)], options: IngestOptions(host: host))
        }
        let day = CivilTime.days(year: 2026, month: 11, day: 27) * CivilTime.nsPerDay
        XCTAssertTrue(try store.anchor(source: 2, at: day))
        XCTAssertTrue(try store.anchor(source: 3, at: day + (17 * 3600 + 43 * 60 + 59) * CivilTime.nsPerSecond + 389_452_000))
        XCTAssertFalse(try store.anchor(source: 1, at: day))
        func times(_ host: String) throws -> [Int64] {
            var f = EventFilter()
            f.hosts = [host]
            return Array(try TimelineMerge(store: store, filter: f)).map { $0.ts }
        }
        let reference = try times("ad")
        XCTAssertEqual(reference.count, 53)
        XCTAssertEqual(try times("a"), reference)
        XCTAssertEqual(try times("r"), reference)
    }
}
