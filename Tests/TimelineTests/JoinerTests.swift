import XCTest
import Foundation
import TraceModel
import Parsers
import EventStore
@testable import Timeline

/// The same connections seen on both sides of a NAT: recognised under both tuples, clocks solved through
/// them, and the packet lost on the way found.
final class JoinerTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("corpus")

    func load(_ dir: String) throws -> Store {
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([JoinerTests.corpus.appendingPathComponent(dir).path]), options: IngestOptions())
        try ClockPass.run(store)
        return store
    }

    func testRealNATCapturesJoinedAndAligned() throws {
        // scripts/make-nat-corpus.sh: the server's capture is 3.25 s slow (editcap -t -3.25).
        let store = try load("nat-two-points")
        let sources = try store.sources()
        let server = try XCTUnwrap(sources.first { $0.path.hasSuffix("server.shifted.pcapng") })
        let u = try XCTUnwrap(server.uncertaintyNS)
        XCTAssertLessThanOrEqual(abs(server.offsetNS - 3_250_000_000), u, "offset \(server.offsetNS) ± \(u)")
        XCTAssertLessThanOrEqual(u, 30_000_000, "no wider than the round trip (15 ms each way)")

        // Four connections, each under the client's tuple and the router's.
        var groups: [Int64: [String]] = [:]
        for c in try store.allConnections() {
            for a in try store.aliases(of: c.key) where a.key == c.key { groups[a.group, default: []].append("\(c.a):\(c.aport) \(c.b):\(c.bport)") }
        }
        XCTAssertEqual(groups.count, 4)
        for (_, tuples) in groups {
            XCTAssertEqual(tuples.count, 2)
            XCTAssertEqual(tuples.filter { $0.contains("10.97.1.1:") }.count, 1, "\(tuples)")
            XCTAssertEqual(tuples.filter { $0.contains("10.97.2.254:") }.count, 1, "\(tuples)")
            // Same ports on both sides: MASQUERADE kept them.
            let ports = tuples.map { t in Set(t.split(separator: " ").map { $0.split(separator: ":").last! }) }
            XCTAssertEqual(ports[0], ports[1])
        }

        // The one segment the bridge dropped, by its IP id, is the only packet lost between the points.
        let log = try JSONSerialization.jsonObject(with: Data(contentsOf: JoinerTests.corpus.appendingPathComponent("nat-two-points/wanbridge-log.json"))) as! [String: Any]
        let dropped = (log["dropped"] as! [[String: Any]]).map { Int64($0["ip_id"] as! Int) }
        let (_, rows) = try store.query("SELECT e.ipid, t.verdict FROM packet_twin t JOIN event e ON e.rowid = t.event WHERE t.verdict != 'seen'")
        XCTAssertEqual(rows.map { Int64.fromDatabaseValue($0[0]) }, dropped.map { Optional($0) })
        XCTAssertEqual(rows.map { String.fromDatabaseValue($0[1]) }, ["lost"])
    }

    func testSQLSeedAcrossNAT() throws {
        // The SQL-over-WAN seed: 192.168.1.66:46739 ⇄ 10.1.1.7:1433 at the client is 172.16.5.14:63584 ⇄
        // 192.168.200.148:1433 at the server; the SYN's TSV=11322755 is on both sides.
        let store = try load("sql-wan-nat")
        let client = try XCTUnwrap(try store.connections(address: "192.168.1.66", port: 46739).first)
        let aliases = try store.aliases(of: client.key)
        XCTAssertEqual(aliases.count, 2)
        let other = try XCTUnwrap(try store.connection(key: aliases.first { $0.key != client.key }!.key))
        XCTAssertEqual(Set([other.a, other.b]), ["172.16.5.14", "192.168.200.148"])
        XCTAssertTrue(aliases.allSatisfy { $0.evidence == "tsval=11322755/win=5840" })
        // About 89 ms between a packet and its answer on each side: the WAN's round trip bounds the offset
        // to within half of it.
        let server = try XCTUnwrap(try store.sources().first { $0.path.hasSuffix("sql-server.txt") })
        let u = try XCTUnwrap(server.uncertaintyNS)
        XCTAssertGreaterThan(u, 40_000_000)
        XCTAssertLessThanOrEqual(u, 45_000_000)
        // On the aligned clock the server sees the client's SYN after the client sent it, and the client
        // gets the SYN/ACK after the server sent it.
        var events = try store.events(conn: client.key) + store.events(conn: other.key)
        events.sort { $0.ts < $1.ts }
        let syns = events.filter { $0.flags == TCPFlags.syn.rawValue }
        XCTAssertNotEqual(syns.first?.source, server.id, "the client's SYN comes first")
        let synacks = events.filter { $0.flags == (TCPFlags.syn.rawValue | TCPFlags.ack.rawValue) }
        XCTAssertEqual(synacks.first?.source, server.id, "the server's SYN/ACK comes before the client receives it")
    }

    func testSCCMClientFramesThatNeverReachedTheServer() throws {
        // The SCCM seed: the client's HTTP continuation (frame 1921) and its five resends never reached the
        // server; the segment after it (1922) did — the server marks it "previous segment lost" and
        // acknowledges 282 with a SACK of 1742-2328. The HTTP rows show no TCP numbers: paired by their text.
        let store = try load("sccm-packet-drop")
        let (_, rows) = try store.query("""
            SELECT e.ordinal, t.verdict FROM packet_twin t JOIN event e ON e.rowid = t.event JOIN source s ON s.id = e.source
            WHERE s.host = 'sccm-client' ORDER BY e.ordinal
            """)
        let verdicts = Dictionary(uniqueKeysWithValues: rows.map { (Int64.fromDatabaseValue($0[0])!, String.fromDatabaseValue($0[1])!) })
        XCTAssertEqual(verdicts.filter { $0.value == "lost" }.keys.sorted(), [1921, 1975, 2071, 2264, 2651, 3475])
        XCTAssertEqual(verdicts.count, 13, "every client frame judged")
        XCTAssertEqual(Set(verdicts.filter { $0.value != "lost" }.values), ["seen"])

        // Each capture point's own account: both saw the server's RST (RSTR), only the client saw resends
        // (Zeek's T in the history).
        try LifecyclePass.run(store)
        let conn = try XCTUnwrap(try store.connections(address: "10.1.1.1", port: 1098).first)
        let views = try store.captureViews(key: conn.key)
        XCTAssertEqual(views.map(\.connState), ["RSTR", "RSTR"])
        XCTAssertTrue(views[0].history.contains("T"), views[0].history)
        XCTAssertFalse(views[1].history.contains("T"), views[1].history)
        XCTAssertEqual(views.map(\.packets), [13, 7])
    }
}

/// The Lync Edge seed: two ETL text exports of the same failed connection attempts (corpus/lync-edge).
final class LyncEdgeTests: XCTestCase {
    func testFrontEndClockAheadAndItsRSTsNeverSentByTheEdge() throws {
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([JoinerTests.corpus.appendingPathComponent("lync-edge").path]), options: IngestOptions())
        try ClockPass.run(store)
        let sources = try store.sources()
        let edge = try XCTUnwrap(sources.first { $0.path.hasSuffix("edge-etl.txt") })
        let fe = try XCTUnwrap(sources.first { $0.path.hasSuffix("frontend-etl.txt") })
        // The Edge sends at 11:18:57, 11:19:00, 11:19:06 by its clock; the Front End sees the same SYNs at
        // 11:19:07, 11:19:10, 11:19:16 by its own: its clock runs about 10 s ahead. Its own wall-clock start
        // (from its lines) minus where the SYNs place it is that lead.
        XCTAssertEqual(fe.clockPeer, edge.id)
        XCTAssertEqual(fe.clockMatched, 3)
        let notes = try XCTUnwrap(fe.notes)
        let wallStart = try XCTUnwrap(notes.range(of: "\"wall_clock_start\":\"").map { r in String(notes[r.upperBound...].prefix { $0 != "\"" }) })
        let wall = try XCTUnwrap(TimeISO.parse(wallStart))
        XCTAssertEqual(Double(wall - fe.offsetNS) / 1e9, 10, accuracy: 1.0)

        // What the Front End received from "the Edge": its three SYNs were sent (seen at both), its three RSTs
        // never passed the Edge's capture; the Front End's SYN/ACKs never reached the Edge.
        let (_, rows) = try store.query("""
            SELECT e.flags, t.verdict FROM packet_twin t JOIN event e ON e.rowid = t.event WHERE e.source = \(fe.id) ORDER BY e.ordinal
            """)
        let verdicts = rows.map { "\(Int.fromDatabaseValue($0[0])!):\(String.fromDatabaseValue($0[1])!)" }
        XCTAssertEqual(verdicts, ["2:seen", "18:lost", "20:injected", "2:seen", "18:lost", "20:injected", "2:seen", "18:lost", "20:injected"])

        // No data crossed: the Front End answered each resent SYN with a SYN/ACK of its own new number,
        // which is not a byte count.
        try LifecyclePass.run(store)
        let life = try XCTUnwrap(try store.connections(address: "192.168.1.1", port: 50357).first?.lifecycle)
        XCTAssertEqual(life.orig.bytes, 0)
        XCTAssertEqual(life.resp.bytes, 0)
    }
}

extension LyncEdgeTests {
    func testEdgeConnectionListsItsSocketCallsTimersAndFailureInOrder() throws {
        // The expected `conn 192.168.1.1:50357 192.168.3.10:5061` on the Edge trace: socket → bind
        // (port 50357) → connect → SYN with ISN 2232090326 → timers of 3000, 6000 and 12000 ms → the SYN
        // resends → terminating on retransmission timeout → STATUS_IO_TIMEOUT → closesocket.
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([JoinerTests.corpus.appendingPathComponent("lync-edge/edge-etl.txt").path]), options: IngestOptions())
        try ClockPass.run(store)
        let conn = try XCTUnwrap(try store.connections(address: "192.168.1.1", port: 50357).first)
        let ordinals = try store.events(conn: conn.key).map(\.ordinal)
        let story: [Int64] = [106612, 106620, 106622, 106627, 106630, 106631, 106983, 106984, 107346, 107347, 107781, 107784, 107791]
        XCTAssertEqual(ordinals.filter { story.contains($0) }, story, "in this order, all of them")
        XCTAssertGreaterThanOrEqual(ordinals.count, 40, "nearly every line of the trace is about this connection")
    }
}

extension LyncEdgeTests {
    func testAReusedPointerDoesNotLendItsFirstLifesTuple() throws {
        // The Edge trace, then the same Tcb pointer 0x000000000829C860 used again a minute later for a
        // connection whose tuple lines the trace does not have (its SYN state change, a timer, its port
        // release, taken from the first life's lines with frame numbers +5000 and times +60 s).
        let text = try String(contentsOf: JoinerTests.corpus.appendingPathComponent("lync-edge/edge-etl.txt"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var again: [String] = []
        for frame in ["106623", "106630", "107785"] {
            var t = try XCTUnwrap(lines.first { $0.hasPrefix(frame + " ") }).split(separator: " ", maxSplits: 5).map(String.init)
            t[0] = String(Int(t[0])! + 5000)
            let hms = t[1].split(separator: ":").map { Int($0)! }
            t[1] = String(format: "%d:%02d:%02d", hms[0], hms[1] + 1, hms[2])
            t[4] = String(format: "%.7f", Double(t[4])! + 60)
            again.append(t.joined(separator: " "))
        }
        let path = NSTemporaryDirectory() + "tj-reuse-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try (text.hasSuffix("\n") ? text : text + "\n").appending(again.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([path]), options: IngestOptions())
        try ClockPass.run(store)
        let conn = try XCTUnwrap(try store.connections(address: "192.168.1.1", port: 50357).first)
        let ordinals = try store.events(conn: conn.key).map(\.ordinal)
        // The first life is still all there …
        for o: Int64 in [106623, 106630, 107785] { XCTAssertTrue(ordinals.contains(o), "\(o)") }
        // … and nothing of the second joined it.
        XCTAssertEqual(ordinals.filter { $0 > 110000 }, [])
    }
}

extension LyncEdgeTests {
    func testTheSIPStackFailureRecordPutsTheEdgeTraceOnUTC() throws {
        // The Edge's SIPStack log (UTC) records "Failed to complete outbound connection" to 192.168.3.10:5061
        // (WSAETIMEDOUT) at 09:19:18.611; its ETL trace (local time) has the connect fail with STATUS_IO_TIMEOUT
        // at 11:19:18.507 by its wall clock. Same machine (--host edge): the record joins that connection, and
        // the ETL reads as written in +02:00, about a tenth of a second apart from the SIP log.
        let store = try Store(path: ":memory:")
        let dir = JoinerTests.corpus.appendingPathComponent("lync-edge")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand(["edge-etl.txt", "edge-sipstack-connection.txt"].map { dir.appendingPathComponent($0).path }),
                                              options: IngestOptions(host: "edge"))
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([dir.appendingPathComponent("frontend-etl.txt").path]), options: IngestOptions())
        try ClockPass.run(store)
        let sources = try store.sources()
        let etl = try XCTUnwrap(sources.first { $0.path.hasSuffix("edge-etl.txt") })
        let sip = try XCTUnwrap(sources.first { $0.path.hasSuffix("edge-sipstack-connection.txt") })
        XCTAssertEqual(etl.clockMethod, SolvedClock.eventMethod)
        XCTAssertEqual(etl.clockPeer, sip.id)
        // The failure's time on the ETL, aligned, is the record's within the tolerance.
        let conn = try XCTUnwrap(try store.connections(address: "192.168.1.1", port: 50357).first)
        let events = try store.events(conn: conn.key)
        let record = try XCTUnwrap(events.first { $0.source == sip.id }, "the SIP record joined the connection")
        let failure = try XCTUnwrap(events.first { $0.source == etl.id && ($0.attrs ?? "").contains("STATUS_IO_TIMEOUT") && $0.sport != nil })
        XCTAssertEqual(Double(failure.ts - record.ts) / 1e9, 0, accuracy: 1.0)
        // Its wall-clock start minus where it now starts is the zone: two hours, and 0.104 s of difference.
        let notes = try XCTUnwrap(etl.notes)
        let wallStart = try XCTUnwrap(notes.range(of: "\"wall_clock_start\":\"").map { r in String(notes[r.upperBound...].prefix { $0 != "\"" }) })
        let ahead = Double(try XCTUnwrap(TimeISO.parse(wallStart)) - etl.offsetNS) / 1e9
        XCTAssertEqual(ahead, 7200 - 0.104, accuracy: 0.01)
        // The Front End follows through the SYNs it shares with the Edge.
        let fe = try XCTUnwrap(sources.first { $0.path.hasSuffix("frontend-etl.txt") })
        XCTAssertEqual(fe.clockPeer, etl.id)
    }
}

extension LyncEdgeTests {
    func testSIPMessagesJoinTheTLSConnectionTheyCameIn() throws {
        // The Edge's SIPStack log names the peer of the REGISTER (10.1.1.1:62973) and sends the 504 back to it
        // (Via received=10.1.1.1;ms-received-port=62973): the client's capture has exactly one connection with that end.
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([JoinerTests.corpus.appendingPathComponent("lync-edge").path]), options: IngestOptions())
        try ClockPass.run(store)
        let conn = try XCTUnwrap(try store.connections(address: "10.1.1.1", port: 62973).first)
        let sip = try store.events(conn: conn.key).filter { $0.label == "SIP" }.map(\.summary)
        XCTAssertEqual(sip, ["REGISTER sip:contoso.com SIP/2.0", "SIP/2.0 504 Server time-out"])
    }

    /// The SIP messages of the Edge seed, edited (the seed shares no connection id between records): the
    /// REGISTER's Via carries the `ms-received-cid=2E6400` the Edge gave the connection it came in on, and
    /// the 504's Via keeps only that id (no `received=`/`ms-received-port=`), so only the id ties the 504
    /// to the REGISTER's connection. With another id the 504 stays unbound.
    func testASIPMessageWithOnlyTheServersConnectionIDJoinsThatConnection() throws {
        let seed = try String(contentsOf: JoinerTests.corpus.appendingPathComponent("lync-edge/edge-sipstack.txt"), encoding: .utf8)
        let original = "Via: SIP/2.0/TLS 192.168.2.98:62973;received=10.1.1.1;ms-received-port=62973;ms-received-cid=2E6400"
        XCTAssertTrue(seed.contains(original))
        func sip(_ responseCID: String) throws -> [String] {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tj-cid-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let edited = seed
                .replacingOccurrences(of: "Via: SIP/2.0/TLS 192.168.2.98:62973\r\n", with: "Via: SIP/2.0/TLS 192.168.2.98:62973;ms-received-cid=2E6400\r\n")
                .replacingOccurrences(of: "Via: SIP/2.0/TLS 192.168.2.98:62973\n", with: "Via: SIP/2.0/TLS 192.168.2.98:62973;ms-received-cid=2E6400\n")
                .replacingOccurrences(of: original, with: "Via: SIP/2.0/TLS 192.168.2.98:62973;ms-received-cid=\(responseCID)")
            try edited.write(to: dir.appendingPathComponent("edge-sipstack.txt"), atomically: true, encoding: .utf8)
            try FileManager.default.copyItem(at: JoinerTests.corpus.appendingPathComponent("lync-edge/client.txt"), to: dir.appendingPathComponent("client.txt"))
            let store = try Store(path: ":memory:")
            _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([dir.path]), options: IngestOptions())
            try ClockPass.run(store)
            let conn = try XCTUnwrap(try store.connections(address: "10.1.1.1", port: 62973).first)
            return try store.events(conn: conn.key).filter { $0.label == "SIP" }.map(\.summary)
        }
        XCTAssertEqual(try sip("2E6400"), ["REGISTER sip:contoso.com SIP/2.0", "SIP/2.0 504 Server time-out"])
        XCTAssertEqual(try sip("2E6401"), ["REGISTER sip:contoso.com SIP/2.0"])
    }
}

/// ISO 8601 as the notes write it (`2013-01-08T11:07:00.0009182Z`), to nanoseconds.
enum TimeISO {
    static func parse(_ s: String) -> Int64? {
        let p = s.split(whereSeparator: { "-T:Z".contains($0) })
        guard p.count >= 6, let y = Int(p[0]), let mo = Int(p[1]), let d = Int(p[2]), let h = Int64(p[3]), let mi = Int64(p[4]) else { return nil }
        let secParts = p[5].split(separator: ".")
        guard let sec = Int64(secParts[0]) else { return nil }
        var frac: Int64 = 0
        if secParts.count > 1 { frac = Int64((String(secParts[1]) + "000000000").prefix(9))! }
        return CivilTime.days(year: y, month: mo, day: d) * CivilTime.nsPerDay + (h * 3600 + mi * 60 + sec) * CivilTime.nsPerSecond + frac
    }
}
