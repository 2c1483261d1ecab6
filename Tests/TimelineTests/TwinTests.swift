import XCTest
import Foundation
import TraceModel
import Parsers
import EventStore
@testable import Timeline

/// Packets seen at one capture point only: lost between two points, or missed by one capture. Checked
/// against what the WAN bridge between the points says it dropped (its log lists each frame's IP id).
final class TwinTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("corpus")

    /// Ingests two captures, solves the clocks, and returns each source's packets that have no twin, by
    /// verdict: host → verdict → IP ids.
    func unpaired(_ files: [String]) throws -> [String: [String: [Int64]]] {
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand(files.map { TwinTests.corpus.appendingPathComponent($0).path }), options: IngestOptions())
        try ClockPass.run(store)
        let (_, rows) = try store.query("""
            SELECT s.host, t.verdict, e.ipid FROM packet_twin t JOIN event e ON e.rowid = t.event JOIN source s ON s.id = e.source
            WHERE t.verdict != 'seen' ORDER BY e.ipid
            """)
        var out: [String: [String: [Int64]]] = [:]
        for r in rows {
            out[String.fromDatabaseValue(r[0])!, default: [:]][String.fromDatabaseValue(r[1])!, default: []].append(Int64.fromDatabaseValue(r[2])!)
        }
        return out
    }

    func dropped(_ log: String) throws -> [Int64] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: TwinTests.corpus.appendingPathComponent(log))) as! [String: Any]
        return (json["dropped"] as! [[String: Any]]).map { Int64($0["ip_id"] as! Int) }.sorted()
    }

    func testTheSegmentTheBridgeDroppedIsLostAndItsResendIsNot() throws {
        // tshark-netns: the bridge dropped one client segment (IP id 28226); its resend reached the server.
        let u = try unpaired(["tshark-netns/client.pcap", "tshark-netns/server.pcap"])
        XCTAssertEqual(try dropped("tshark-netns/wanbridge-log.json"), [28226])
        XCTAssertEqual(u["client"]?["lost"], [28226])
        XCTAssertEqual(u.values.flatMap { $0.values }.flatMap { $0 }.count, 1, "every other packet was seen at both ends: \(u)")
    }

    func testLostACKsAndSegmentsTheServersCaptureMissed() throws {
        // ackloss: the bridge dropped 29 of the server's ACKs on their way to the client; the server's
        // capture filter skipped client data segments whose IP id ends in 010001 (ip[4:2] & 63 = 17), which
        // the server still received and acknowledged.
        let u = try unpaired(["tcp-analysis/ackloss/client.pcap", "tcp-analysis/ackloss/server.pcap"])
        XCTAssertEqual(u["server"]?["lost"], try dropped("tcp-analysis/ackloss/wanbridge-log.json"))
        XCTAssertEqual(u["server"]?["lost"]?.count, 29)
        let missed = (u["client"]?["uncaptured"] ?? []) + (u["client"]?["outside"] ?? [])
        XCTAssertFalse(missed.isEmpty)
        for id in missed { XCTAssertEqual(id & 63, 17, "IP id \(id)") }
        // Only the last of them, sent as the server's capture was ending, is not judged.
        XCTAssertGreaterThanOrEqual(u["client"]?["uncaptured"]?.count ?? 0, 10)
        XCTAssertNil(u["client"]?["lost"], "nothing the client sent was lost on the way")
    }
}
