import XCTest
import Foundation
import TraceModel
import Parsers
import EventStore
@testable import Timeline

/// Clock alignment from packets two capture points share (corpus/tshark-netns: client.pcap and the
/// server's capture of the same traffic, its clock shifted by a known amount).
final class ClockTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("corpus/tshark-netns")

    func load(_ files: [String]) throws -> Store {
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand(files.map { ClockTests.corpus.appendingPathComponent($0).path }), options: IngestOptions())
        return store
    }

    func testShiftedCaptureIsPutBackWithinItsUncertainty() throws {
        // server.shifted.pcapng = editcap -t 7200.5 of the server's capture; both ran on one machine.
        let store = try load(["client.pcap", "server.shifted.pcapng"])
        let report = try ClockPass.run(store)
        let sources = try store.sources()
        let client = sources.first { $0.path.hasSuffix("client.pcap") }!, server = sources.first { $0.path.hasSuffix("server.shifted.pcapng") }!
        XCTAssertEqual(report.reference, client.id)
        let truth: Int64 = -7_200_500_000_000
        let u = try XCTUnwrap(server.uncertaintyNS)
        XCTAssertLessThanOrEqual(abs(server.offsetNS - truth), u, "offset \(server.offsetNS) ± \(u)")
        // Honest: no wider than the 20 ms round trip between the two capture points (10 ms each way).
        XCTAssertLessThanOrEqual(u, 20_000_000)
        XCTAssertGreaterThan(u, 0)
        XCTAssertGreaterThanOrEqual(server.clockMatched ?? 0, 30, "TCP packets of five connections seen at both ends")
        XCTAssertEqual(server.clockPeer, client.id)

        // On the aligned clock every packet the client sent reaches the server after it left the client.
        for conn in try store.allConnections() where conn.proto == 6 {
            let events = try store.events(conn: conn.key)
            let sent = events.filter { $0.source == client.id && $0.flags == TCPFlags.syn.rawValue }
            let seen = events.filter { $0.source == server.id && $0.flags == TCPFlags.syn.rawValue }
            if let s = sent.first, let r = seen.first { XCTAssertLessThan(s.ts, r.ts, "SYN of \(conn.text)") }
        }
    }

    func testSourcesThatShareNoPacketsStayAsWritten() throws {
        // The RDP seed's export shares no connection with the netns capture: it keeps its own clock.
        let store = try load(["client.pcap", "../rdp-reset/ts-server.txt"])
        let report = try ClockPass.run(store)
        XCTAssertEqual(report.placements.count, 1, "only the reference is placed")
        for s in try store.sources() {
            XCTAssertEqual(s.offsetNS, 0, s.path)
            XCTAssertNil(s.uncertaintyNS, s.path)
        }
    }

    func testRelativeAndTimeOfDayExportsPlacedByAnAbsoluteCapture() throws {
        // The client's tshark exports with relative (-t r), delta (-t d) and time-of-day (-t a) times, placed
        // by the server's capture: their first frame (17:43:59.389452 in client.t-ad.txt) lands there.
        let store = try load(["server.pcap", "client.default.txt", "client.t-d.txt", "client.t-a.txt"])
        let report = try ClockPass.run(store)
        let sources = try store.sources()
        XCTAssertEqual(report.reference, sources.first { $0.path.hasSuffix("server.pcap") }?.id)
        let firstFrame = CivilTime.days(year: 2026, month: 11, day: 27) * CivilTime.nsPerDay + ((17 * 3600 + 43 * 60 + 59) * 1_000_000_000 + 389_452_000)
        for name in ["client.default.txt", "client.t-d.txt", "client.t-a.txt"] {
            let s = try XCTUnwrap(sources.first { $0.path.hasSuffix(name) })
            let u = try XCTUnwrap(s.uncertaintyNS, name)
            XCTAssertLessThanOrEqual(u, 20_000_000, name)
            XCTAssertLessThanOrEqual(abs((s.firstTS ?? 0) + s.offsetNS - firstFrame), u, name)
        }
    }

    func testDriftingClockSolvedWithItsRate() throws {
        // corpus/clock-drift (scripts/make-drift-corpus.sh): two minutes of traffic, the server capture
        // retimed t' = t + 1.5 s + 250 ppm × (t − t_first) by scripts/retime-pcap.py. Its true times come
        // back from that: t = t_first + (t' − t'_first) / 1.00025.
        let store = try Store(path: ":memory:")
        let dir = ClockTests.corpus.deletingLastPathComponent().appendingPathComponent("clock-drift")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([dir.path]), options: IngestOptions())
        try ClockPass.run(store)
        let server = try XCTUnwrap(try store.sources().first { $0.path.hasSuffix("server.drift.pcap") })
        XCTAssertEqual(Double(server.driftPPB) / 1e3, 250, accuracy: 10)
        let u = try XCTUnwrap(server.uncertaintyNS)
        XCTAssertLessThanOrEqual(u, 4_000_000, "no wider than the 4 ms round trip")
        let (_, rows) = try store.query("SELECT ts FROM event WHERE source = \(server.id) ORDER BY ts")
        let written = rows.compactMap { Int64.fromDatabaseValue($0[0]) }
        let firstWritten = written[0], firstTrue = written[0] - 1_500_000_000
        var worst: Int64 = 0
        for t in written {
            let truth = firstTrue + Int64((Double(t - firstWritten) / 1.00025).rounded())
            worst = max(worst, abs(server.clock.aligned(t) - truth))
        }
        XCTAssertLessThanOrEqual(worst, u, "every packet's aligned time within the stated uncertainty of its true time")
        XCTAssertEqual(written.count, 841)
    }

    func testASourceSharingNoPacketsFollowsItsNamedHost() throws {
        // The NAT scenario's server capture (3.25 s slow) and the RDP seed's export, both said to come from
        // host "srv": the export shares no packet with anything, so it takes the server capture's clock.
        let store = try Store(path: ":memory:")
        let corpus = ClockTests.corpus.deletingLastPathComponent()
        let ingest = Ingestor(store: store)
        _ = try ingest.ingest(try InputDiscovery.expand([corpus.appendingPathComponent("nat-two-points/client.pcap").path]), options: IngestOptions())
        _ = try ingest.ingest(try InputDiscovery.expand([corpus.appendingPathComponent("nat-two-points/server.shifted.pcapng").path,
                                                         corpus.appendingPathComponent("rdp-reset/ts-server.txt").path]), options: IngestOptions(host: "srv"))
        try ClockPass.run(store)
        let sources = try store.sources()
        let capture = try XCTUnwrap(sources.first { $0.path.hasSuffix("server.shifted.pcapng") })
        let log = try XCTUnwrap(sources.first { $0.path.hasSuffix("ts-server.txt") })
        XCTAssertEqual(log.clock, capture.clock)
        XCTAssertEqual(log.clockMatched, 0)
        XCTAssertEqual(log.clockPeer, capture.id)
        // Without --host the export would be left as written.
        let other = try Store(path: ":memory:")
        _ = try Ingestor(store: other).ingest(try InputDiscovery.expand([corpus.appendingPathComponent("nat-two-points").path,
                                                                         corpus.appendingPathComponent("rdp-reset/ts-server.txt").path]), options: IngestOptions())
        try ClockPass.run(other)
        XCTAssertEqual(try other.sources().first { $0.path.hasSuffix("ts-server.txt") }?.offsetNS, 0)
    }

    func testBoundsFromBothDirections() {
        // θ = 5 s; packets a→b take 3-9 ms, b→a 4-6 ms: θ lies in [5 s - 4 ms, 5 s + 3 ms].
        var b = ClockBounds(a: 1, b: 2)
        let theta: Int64 = 5_000_000_000
        b.add([[theta + 3_000_000, theta + 9_000_000], [theta - 4_000_000, theta - 6_000_000]])
        let e = b.estimate!
        XCTAssertTrue(e.consistent)
        XCTAssertEqual(e.lower, theta - 4_000_000 - 1)
        XCTAssertEqual(e.upper, theta + 3_000_000 + 1)
        XCTAssertLessThanOrEqual(abs(e.offset - theta), e.uncertainty)
        // One direction only bounds nothing.
        var one = ClockBounds(a: 1, b: 2)
        one.add([[theta + 3_000_000], []])
        XCTAssertNil(one.estimate)
        XCTAssertEqual(one.matched, 1)
    }
}
