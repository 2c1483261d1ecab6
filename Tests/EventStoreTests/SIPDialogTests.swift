import XCTest
import Foundation
import TraceModel
import Parsers
@testable import EventStore

/// `sip`'s dialogs, read from the store with SQLite's json_extract over the attrs sipstack_text writes.
final class SIPDialogTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("corpus")

    func ingest(_ paths: [String]) throws -> Store {
        let store = try Store(path: ":memory:")
        let reports = try Ingestor(store: store).ingest(try InputDiscovery.expand(paths), options: IngestOptions())
        XCTAssertEqual(reports.map(\.status), paths.map { _ in .loaded })
        return store
    }

    func record(_ time: String, _ dir: String, _ fields: String) -> String {
        "TL_INFO(TF_PROTOCOL) [0]05E0.0AAC::02/03/2014-\(time).00000001 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\n"
            + "Direction: \(dir)\n\(fields)\nMessage-Body:\n$$end_record\n"
    }

    func testEachCallIDsFirstRequestAndItsFinalResponse() throws {
        let text = [
            record("10:00:00.000", "incoming", "Message-Type: request\nStart-Line: INVITE sip:bob@contoso.com SIP/2.0\nCall-ID: c1\nCSeq: 1 INVITE"),
            record("10:00:00.010", "outgoing", "Message-Type: response\nStart-Line: SIP/2.0 100 Trying\nCall-ID: c1\nCSeq: 1 INVITE"),
            record("10:00:02.500", "outgoing", "Message-Type: response\nStart-Line: SIP/2.0 200 OK\nCall-ID: c1\nCSeq: 1 INVITE"),
            record("10:00:02.600", "incoming", "Message-Type: request\nStart-Line: ACK sip:bob@contoso.com SIP/2.0\nCall-ID: c1\nCSeq: 1 ACK"),
            record("10:00:05.000", "outgoing", "Message-Type: request\nStart-Line: OPTIONS sip:fe.contoso.com SIP/2.0\nCall-ID: c2\nCSeq: 5 OPTIONS"),
            // A diagnostic record names c2's message; it is not a message of its own.
            "TL_ERROR(TF_DIAG) [0]05E0.0AAC::02/03/2014-10:00:05.001.00000002 (SIPStack,SIPAdminLog::TraceDiagRecord:SIPAdminLog.cpp(143))$$begin_record\n"
                + "LogType: diagnostic\nSeverity: error\nText: Message was not sent\nSIP-Start-Line: OPTIONS sip:fe.contoso.com SIP/2.0\nSIP-Call-ID: c2\nSIP-CSeq: 5 OPTIONS\n$$end_record\n",
            record("10:00:06.000", "incoming", "Message-Type: request\nStart-Line: REGISTER sip:contoso.com SIP/2.0\nCall-ID: c3\nCSeq: 1 REGISTER"),
            record("10:00:06.100", "incoming", "Message-Type: request\nStart-Line: REGISTER sip:contoso.com SIP/2.0\nCall-ID: c3\nCSeq: 2 REGISTER"),
            record("10:00:06.150", "outgoing", "Message-Type: response\nStart-Line: SIP/2.0 200 OK\nCall-ID: c3\nCSeq: 2 REGISTER"),
            record("10:00:06.020", "outgoing", "Message-Type: response\nStart-Line: SIP/2.0 401 Unauthorized\nCall-ID: c3\nCSeq: 1 REGISTER"),
        ].joined()
        let path = NSTemporaryDirectory() + "tj-sip-\(UUID().uuidString).txt"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (dialogs, orphans) = try ingest([path]).sipDialogs()
        XCTAssertEqual(dialogs.map(\.callID), ["c1", "c2", "c3"])
        XCTAssertEqual(dialogs.map(\.messages), [4, 1, 4])
        XCTAssertEqual(dialogs.map { $0.request.method }, ["INVITE", "OPTIONS", "REGISTER"])
        XCTAssertEqual(dialogs[0].final?.status, 200, "100 Trying is not final")
        XCTAssertEqual(dialogs[0].responseTime, 2_500_000_000)
        XCTAssertNil(dialogs[1].final)
        XCTAssertEqual(dialogs[2].final?.status, 401, "the first REGISTER's answer (CSeq 1), logged out of order; not CSeq 2's 200")
        XCTAssertEqual(dialogs[2].final?.reason, "Unauthorized")
        XCTAssertEqual(dialogs[2].responseTime, 20_000_000)
        XCTAssertEqual(orphans, [])
    }

    func testTheEdgesRegisterAndThe504ThatKeptNoCallID() throws {
        let (dialogs, orphans) = try ingest([SIPDialogTests.corpus.appendingPathComponent("lync-edge/edge-sipstack.txt").path]).sipDialogs()
        XCTAssertEqual(dialogs.count, 1)
        XCTAssertEqual(dialogs[0].callID, "20d82282a7d94f4fb66a0a6df0c0377f")
        XCTAssertEqual(dialogs[0].request.method, "REGISTER")
        XCTAssertEqual(dialogs[0].request.line, 1)
        XCTAssertEqual(CivilTime.iso8601(dialogs[0].request.ts, digits: 3), "2013-01-08T09:18:57.600Z")
        XCTAssertNil(dialogs[0].final, "the post copied the 504's record without its Call-ID and CSeq")
        XCTAssertEqual(dialogs[0].messages, 1, "the diagnostic record is not a message")
        XCTAssertEqual(orphans.map(\.status), [504])
        XCTAssertEqual(orphans.map(\.line), [32])
        XCTAssertEqual(orphans.first.map { $0.ts - dialogs[0].request.ts }, 21_013_000_000)
    }

    /// A capture and the SIP traces of both ends of the same calls join by Call-ID: the first call of
    /// corpus/sip-segmented is six messages, each on the wire and at both ends, sent before it is received.
    func testACaptureAndBothEndsTracesGiveOneDialog() throws {
        let dir = SIPDialogTests.corpus.appendingPathComponent("sip-segmented").path
        let store = try Store(path: ":memory:")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([dir]), options: IngestOptions())
        let ladder = try store.sipMessages(callID: "1-6779@10.94.0.1")
        let byHost = Dictionary(grouping: ladder, by: \.host)
        XCTAssertEqual(Set(byHost.keys), ["sip", "uac-tcp", "uas-tcp"])
        let names = ["INVITE", "180", "200", "ACK", "BYE", "200"]
        for (host, messages) in byHost {
            XCTAssertEqual(messages.map { $0.message.method ?? "\($0.message.status ?? 0)" }, names, host)
        }
        // On the wire every message goes between the UAC's and the UAS's 5060.
        XCTAssertTrue(byHost["sip"]!.allSatisfy { Set([$0.from, $0.to]) == ["10.94.0.1:5060", "10.94.0.2:5060"] })
        let dialogs = try store.sipDialogs().dialogs.filter { $0.callID == "1-6779@10.94.0.1" }
        XCTAssertEqual(dialogs.first?.final?.status, 200)
        XCTAssertEqual(dialogs.first?.messages, 18)
    }
}
