import XCTest
import Foundation
import TraceModel
import Parsers
import EventStore
import Timeline

/// corpus/tuple-reuse (scripts/make-reuse-corpus.sh): the client binds 10.96.0.1:45000 three times and
/// connects to 10.96.0.2:7000 — "one" and "two" echoed then aborted with an RST, "three" echoed then closed
/// with FINs. tshark marks the second and third SYNs "[TCP Port numbers reused]"; each has its own ISN.
final class TupleReuseTests: XCTestCase {
    func instances(_ files: [String], host: String? = nil) throws -> [Lifecycle] {
        let store = try Store(path: ":memory:")
        let paths = files.map { JoinerTests.corpus.appendingPathComponent("tuple-reuse/" + $0).path }
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand(paths), options: IngestOptions(host: host))
        try ClockPass.run(store)
        try LifecyclePass.run(store)
        let conn = try XCTUnwrap(try store.connections(address: "10.96.0.1", port: 45000).first)
        XCTAssertEqual(try store.connections(address: "10.96.0.1", port: 45000).count, 1, "one tuple")
        return try store.instances(key: conn.key)
    }

    func check(_ lives: [Lifecycle], _ label: String) {
        XCTAssertEqual(lives.count, 3, label)
        guard lives.count == 3 else { return }
        XCTAssertEqual(lives.map(\.connState), ["RSTO", "RSTO", "SF"], label)
        XCTAssertEqual(lives.map(\.end), ["rst", "rst", "fin"], label)
        XCTAssertEqual(lives.map(\.orig.bytes), [3, 3, 5], "\(label): one, two, three")
        XCTAssertEqual(lives.map(\.resp.bytes), [3, 3, 5], "\(label): echoed")
        XCTAssertTrue(lives.allSatisfy { $0.originator == "10.96.0.1:45000" && $0.handshakeCompleted }, label)
        // About a second apart, as the client slept.
        XCTAssertEqual(Double(lives[1].first - lives[0].first) / 1e9, 1.0, accuracy: 0.05, label)
        XCTAssertEqual(Double(lives[2].first - lives[1].first) / 1e9, 1.0, accuracy: 0.05, label)
    }

    func testEachNewISNOnTheTupleIsANewConnection() throws {
        check(try instances(["client.pcap"]), "capture (raw numbers)")
        // tshark's text export shows relative numbers only: a SYN after the last connection ended starts the next.
        check(try instances(["client.txt"]), "text export")
        // Both in one store: the same three connections, not six.
        check(try instances(["client.pcap", "client.txt"], host: "client"), "capture and export together")
    }

    func testResentSYNsWithOneISNStayOneAttempt() throws {
        // The Lync Front End receives the Edge's SYN three times (one ISN) and answers each with a new SYN/ACK.
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([JoinerTests.corpus.appendingPathComponent("lync-edge").path]), options: IngestOptions())
        try ClockPass.run(store)
        try LifecyclePass.run(store)
        let conn = try XCTUnwrap(try store.connections(address: "192.168.1.1", port: 50357).first)
        XCTAssertEqual(try store.instances(key: conn.key).count, 0)
        XCTAssertEqual(conn.lifecycle?.synRetransmissions, 2)
    }
}
