import XCTest
import Foundation
import TraceModel
import Parsers
import EventStore
@testable import Timeline

/// Findings from SiteMinder logs, on the published excerpts in corpus/siteminder-handshake.
final class SiteMinderFindingTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("corpus")

    func ingest(_ store: Store, _ paths: [String]) throws {
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand(paths), options: IngestOptions())
        try ClockPass.run(store)
        try LifecyclePass.run(store)
    }

    func testRefusedHandshakeAndAgentAPIFailuresFromTheLogsAlone() throws {
        let store = try Store(path: ":memory:")
        try ingest(store, [SiteMinderFindingTests.corpus.appendingPathComponent("siteminder-handshake").path])
        let findings = try Findings.run(store)
        let refused = try XCTUnwrap(findings.first { $0.kind == "siteminder_handshake_failed" })
        XCTAssertEqual(refused.explanation, "the Policy Server (smps-handshake-failed) refused the handshake of the agent at 155.35.245.129:49184: "
                       + "Shared secret incorrect for this client; no capture in the store has that connection")
        XCTAssertEqual(refused.evidence.map(\.line), [1, 2], "the reason (line 1) and the failure (line 2)")
        XCTAssertEqual(refused.severity, .critical)
        let api = try XCTUnwrap(findings.first { $0.kind == "siteminder_agent_api_failed" })
        // 12:58:21 to 13:17:10: 18 min 49 s.
        XCTAssertEqual(api.numbers["failures"], 3)
        XCTAssertEqual(api.explanation, "the Web Agent's calls to its Policy Servers failed 3 times in 1129.0 s: Sm_AgentApi_IsProtectedEx returned -2 (timeout), "
                       + "Sm_AgentApi_LoginEx returned -1 (failure) ×2; components then reported a fatal error: Low Level Agent, Protection Manager, Authentication Manager")
        XCTAssertEqual(api.evidence.map(\.line), [1, 2, 3, 4, 5, 6, 7])
    }

    func testRefusedHandshakeNamesTheAgentsConnectionTo44443() throws {
        // Constructed packets (no capture of KB000021905's case is published): a connection from the agent's
        // 155.35.245.129:49184 to a Policy Server's 44443, reset by the server, at the smps.log's time.
        let store = try Store(path: ":memory:")
        let capture = NSTemporaryDirectory() + "tj-sm-\(UUID().uuidString)-agent.txt"
        try """
        1 2016-07-18 13:59:03.100 155.35.245.129 192.0.2.44 TCP 66 49184 > 44443 [SYN] Seq=0 Win=8192 Len=0
        2 2016-07-18 13:59:03.101 192.0.2.44 155.35.245.129 TCP 66 44443 > 49184 [SYN, ACK] Seq=0 Ack=1 Win=8192 Len=0
        3 2016-07-18 13:59:03.102 155.35.245.129 192.0.2.44 TCP 54 49184 > 44443 [ACK] Seq=1 Ack=1 Win=8192 Len=0
        4 2016-07-18 13:59:03.300 192.0.2.44 155.35.245.129 TCP 54 44443 > 49184 [RST, ACK] Seq=1 Ack=1 Win=0 Len=0
        """.write(toFile: capture, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: capture) }
        try ingest(store, [capture, SiteMinderFindingTests.corpus.appendingPathComponent("siteminder-handshake/smps-handshake-failed.log").path])
        let refused = try XCTUnwrap(try Findings.run(store).first { $0.kind == "siteminder_handshake_failed" })
        XCTAssertEqual(refused.connection, "tcp 155.35.245.129:49184 → 192.0.2.44:44443")
        XCTAssertTrue(refused.explanation.hasSuffix("; its connection 155.35.245.129:49184 → 192.0.2.44:44443 (RSTR, 4 packets)"), refused.explanation)
        XCTAssertEqual(refused.evidence.count, 2 + 4)
        // `conn` of that connection lists the Policy Server's line among its packets.
        let conn = try XCTUnwrap(try store.connections(address: "155.35.245.129", port: 49184).first)
        XCTAssertEqual(try store.events(conn: conn.key).filter { $0.label == "SiteMinder" }.map(\.line), [2])
    }
}
