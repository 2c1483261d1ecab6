import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// The Edge's SIPStack records of the failed sign-in (corpus/lync-edge/edge-sipstack.txt, seed lines 655–695
/// verbatim), and the seed's connection record (lines 753–763), read as a person reads them.
final class SIPStackTextTests: XCTestCase {
    /// The seed's TF_CONNECTION record, verbatim: `$$begin_record` on its own line, closed by `$$end_record`.
    static let connectionRecord = """
        TL_ERROR(TF_CONNECTION) [0]05E0.0AAC::01/08/2013-09:19:18.611.02e77050 (SIPStack,SIPAdminLog::TraceConnectionRecord:SIPAdminLog.cpp(160))
        $$begin_record
        LogType: connection
        Text: Failed to complete outbound connection
        Peer-IP: 192.168.3.10:5061
        Peer-FQDN: fepool01.contoso.com
        Connection-ID: 0x2E6603
        Transport: TLS
        Result-Code: 0x8007274c WSAETIMEDOUT
        Data: fqdn=" fepool01.contoso.com ";peer-type="InternalServer";winsock-code="10060"
        $$end_record

        """

    func attrs(_ r: EventRecord) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data((r.attrs ?? "").utf8)) as! [String: Any]
    }

    func at(_ h: Int, _ m: Int, _ s: Int, _ ms: Int64) -> Int64 {
        (CivilTime.days(year: 2013, month: 1, day: 8) * 86400 + Int64(h * 3600 + m * 60 + s)) * CivilTime.nsPerSecond + ms * 1_000_000
    }

    func testTheEdgeFileIsSIPStackAndItsNeighboursAreNot() throws {
        for (file, id) in [("lync-edge/edge-sipstack.txt", "sipstack_text"), ("lync-edge/edge-etl.txt", "netmon_text"), ("lync-edge/client.txt", "wireshark_text")] {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)))
            XCTAssertEqual(Registry.detect(SniffHead(bytes: bytes))?.parser.id, id, file)
        }
        XCTAssertEqual(SIPStackText.sniff(SniffHead(lines: ["TL_INFO(TF_PROTOCOL) is how SIPStack lines start"])), 0, "a header needs its ids and time")
    }

    func testThreeRecordsEveryLineTheirs() throws {
        let p = try parseFile(SIPStackText.self, "lync-edge/edge-sipstack.txt")
        XCTAssertEqual(p.records.count, 3)
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.records.map(\.line), [1, 24, 32])
        // Each record's text is its lines: 23, 8 and 9 of them.
        XCTAssertEqual(p.records.map { p.raw($0).split(separator: "\n", omittingEmptySubsequences: false).count }, [23, 8, 9])
        XCTAssertTrue(p.raw(p.records[0]).hasSuffix("Content-Length: 0\nMessage-Body:"))
        XCTAssertEqual(p.records.map { $0.label }, ["SIP", "SIP", "SIP"])
        XCTAssertTrue(p.facts.zoneKnown, "SIPStack writes UTC")
        XCTAssertEqual(p.facts.timeDigits, 3)
    }

    func testTheRegisterArrivesFromTheClientAt0918_57_600() throws {
        let p = try parseFile(SIPStackText.self, "lync-edge/edge-sipstack.txt")
        let r = p.records[0]
        XCTAssertEqual(iso(r.ts), "2013-01-08T09:18:57.600Z", "the time, not the .02e733e9 after it")
        XCTAssertEqual(r.ts, at(9, 18, 57, 600))
        XCTAssertEqual(p.summary(r), "REGISTER sip:contoso.com SIP/2.0")
        XCTAssertEqual(r.srcEndpoint?.text, "10.1.1.1:62973", "incoming from its Peer")
        XCTAssertNil(r.dst, "the Edge's own end is not in the record")
        XCTAssertEqual(r.proto, 0)
        XCTAssertNil(r.connection)
        let a = try attrs(r)
        XCTAssertEqual(a["level"] as? String, "TL_INFO")
        XCTAssertEqual(a["flag"] as? String, "TF_PROTOCOL")
        XCTAssertEqual(a["record_type"] as? String, "protocol")
        XCTAssertEqual(a["component"] as? String, "SIPStack")
        XCTAssertEqual(a["function"] as? String, "SIPAdminLog::TraceProtocolRecord")
        XCTAssertEqual(a["location"] as? String, "SIPAdminLog.cpp(125)")
        XCTAssertEqual(a["pid"] as? Int, 1504, "0x05E0: the RTCSrv.exe (1504) of the Edge's ETL trace")
        XCTAssertEqual(a["tid"] as? Int, 0x0AAC)
        XCTAssertEqual(a["counter"] as? String, "02e733e9")
        XCTAssertEqual(a["direction"] as? String, "incoming")
        XCTAssertEqual(a["direction_source"] as? String, "external edge")
        XCTAssertEqual(a["direction_destination"] as? String, "internal edge")
        XCTAssertEqual(a["peer"] as? String, "10.1.1.1:62973")
        XCTAssertEqual(a["message_type"] as? String, "request")
        XCTAssertEqual(a["method"] as? String, "REGISTER")
        XCTAssertEqual(a["request_uri"] as? String, "sip:contoso.com")
        XCTAssertEqual(a["call_id"] as? String, "20d82282a7d94f4fb66a0a6df0c0377f")
        XCTAssertEqual(a["cseq"] as? Int, 1)
        XCTAssertEqual(a["cseq_method"] as? String, "REGISTER")
        XCTAssertEqual(a["from"] as? String, "sip:username@contoso.com")
        XCTAssertEqual(a["from_tag"] as? String, "eee093290f")
        XCTAssertNil(a["to_tag"], "a REGISTER's To has no tag yet")
        XCTAssertEqual(a["via"] as? String, "192.168.2.98:62973")
        XCTAssertEqual(a["via_transport"] as? String, "TLS")
        XCTAssertEqual(a["trace_correlation_id"] as? String, "3490147474")
        XCTAssertEqual(a["instance_id"] as? String, "000AE0DB")
        XCTAssertEqual(a["user_agent"] as? String, "UCCAPI/4.0.7577.4356 OC/4.0.7577.4356 (Microsoft Lync 2010)")
        XCTAssertNil(a["truncated"], "the next record's header ends it")
    }

    func testTheDiagnosticSaysTheMessageWasNotSentToTheFrontEnd() throws {
        let p = try parseFile(SIPStackText.self, "lync-edge/edge-sipstack.txt")
        let r = p.records[1]
        XCTAssertEqual(iso(r.ts), "2013-01-08T09:19:18.612Z")
        XCTAssertEqual(p.summary(r), "Message was not sent because the connection was closed")
        XCTAssertNil(r.src); XCTAssertNil(r.dst)
        let a = try attrs(r)
        XCTAssertEqual(a["level"] as? String, "TL_ERROR")
        XCTAssertEqual(a["flag"] as? String, "TF_DIAG")
        XCTAssertEqual(a["record_type"] as? String, "diag")
        XCTAssertEqual(a["log_type"] as? String, "diagnostic")
        XCTAssertEqual(a["severity"] as? String, "error")
        XCTAssertEqual(a["peer"] as? String, "fepool1.contoso.com:5061", "a name stays a name")
        XCTAssertEqual(a["call_id"] as? String, "20d82282a7d94f4fb66a0a6df0c0377f", "the REGISTER's")
        XCTAssertEqual(a["method"] as? String, "REGISTER")
        XCTAssertEqual(a["cseq"] as? Int, 1)
        XCTAssertNil(a["message_type"])
    }

    func testThe504GoesBackToTheClient21sAfterTheRegister() throws {
        let p = try parseFile(SIPStackText.self, "lync-edge/edge-sipstack.txt")
        let r = p.records[2]
        XCTAssertEqual(iso(r.ts), "2013-01-08T09:19:18.613Z")
        XCTAssertEqual(r.ts - p.records[0].ts, 21_013_000_000)
        XCTAssertEqual(p.summary(r), "SIP/2.0 504 Server time-out")
        XCTAssertEqual(r.dstEndpoint?.text, "10.1.1.1:62973", "a response goes where its Via was received from")
        XCTAssertNil(r.src)
        let a = try attrs(r)
        XCTAssertEqual(a["level"] as? String, "TL_INFO")
        XCTAssertEqual(a["flag"] as? String, "TF_PROTOCOL")
        XCTAssertEqual(a["record_type"] as? String, "protocol")
        XCTAssertEqual(a["direction"] as? String, "outgoing")
        XCTAssertEqual(a["direction_source"] as? String, "local")
        XCTAssertEqual(a["direction_destination"] as? String, "external edge")
        XCTAssertEqual(a["message_type"] as? String, "response")
        XCTAssertEqual(a["status"] as? Int, 504)
        XCTAssertEqual(a["reason"] as? String, "Server time-out")
        XCTAssertEqual(a["to_tag"] as? String, "586991893A5520DA53F83BE6C4EBF4F9")
        XCTAssertEqual(a["received"] as? String, "10.1.1.1")
        XCTAssertEqual(a["ms_received_port"] as? String, "62973")
        XCTAssertEqual(a["ms_received_cid"] as? String, "2E6400")
        XCTAssertEqual(a["server"] as? String, "RTC/4.0")
        XCTAssertNil(a["call_id"], "the post copied no Call-ID for the 504")
        XCTAssertEqual(a["truncated"] as? Bool, true, "the file ends inside it: no Message-Body, no $$end_record")
    }

    func testTheConnectionRecordNamesTheFrontEndItFailedToReach() throws {
        let p = parse(SIPStackText.self, bytes: Array(SIPStackTextTests.connectionRecord.utf8))
        XCTAssertEqual(p.records.count, 1)
        XCTAssertEqual(p.unparsed.count, 0)
        let r = p.records[0]
        XCTAssertEqual(iso(r.ts), "2013-01-08T09:19:18.611Z")
        XCTAssertEqual(p.summary(r), "Failed to complete outbound connection")
        XCTAssertEqual(r.dstEndpoint?.text, "192.168.3.10:5061", "outbound: the peer was dialled")
        XCTAssertNil(r.src)
        XCTAssertTrue(p.raw(r).hasPrefix("TL_ERROR(TF_CONNECTION)"))
        XCTAssertTrue(p.raw(r).hasSuffix("winsock-code=\"10060\"\n$$end_record"))
        let a = try attrs(r)
        XCTAssertEqual(a["flag"] as? String, "TF_CONNECTION")
        XCTAssertEqual(a["record_type"] as? String, "connection")
        XCTAssertEqual(a["log_type"] as? String, "connection")
        XCTAssertEqual(a["peer"] as? String, "192.168.3.10:5061")
        XCTAssertEqual(a["peer_fqdn"] as? String, "fepool01.contoso.com")
        XCTAssertEqual(a["connection_id"] as? String, "0x2E6603")
        XCTAssertEqual(a["transport"] as? String, "TLS")
        XCTAssertEqual(a["result_code"] as? String, "0x8007274c WSAETIMEDOUT")
        XCTAssertNil(a["truncated"], "$$end_record closes it")
    }

    func testConnectionIDsAreOneSpellingInRecordsAndMessages() throws {
        // Seed line 759, the connection record: `Connection-ID: 0x2E6603`; seed line 694, the 504's Via:
        // `ms-received-cid=2E6400`. Both read as hex without 0x, upper case, no leading zeros.
        let record = parse(SIPStackText.self, bytes: Array(SIPStackTextTests.connectionRecord.utf8)).records[0]
        XCTAssertEqual(try attrs(record)["connection_id"] as? String, "0x2E6603", "the value as written stays")
        XCTAssertEqual(try attrs(record)["cid"] as? String, "2E6603")
        let p = try parseFile(SIPStackText.self, "lync-edge/edge-sipstack.txt")
        XCTAssertEqual(try attrs(p.records[2])["cid"] as? String, "2E6400")
        XCTAssertNil(try attrs(p.records[0])["cid"], "the REGISTER's Via has no ms-received-cid")
        // They are two connections, and stay apart: 2E6603 is the Edge's outbound connection to the Front End
        // (192.168.3.10:5061) that failed, 2E6400 the client's connection the 504 went back on (10.1.1.1:62973).
        XCTAssertNotEqual(try attrs(record)["cid"] as? String, try attrs(p.records[2])["cid"] as? String)
        XCTAssertEqual(SIPText.connectionID("0x002e6400"), "2E6400")
        XCTAssertEqual(SIPText.connectionID("2E6603"), SIPText.connectionID("0x2E6603"))
        XCTAssertEqual(SIPText.connectionID("0x0"), "0")
        XCTAssertNil(SIPText.connectionID("fepool01"))
        XCTAssertNil(SIPText.connectionID("0x"))
    }

    func testAProtocolRecordsSDPGivesItsMedia() throws {
        // No SIPStack record in the seed or the corpus carries a body (the REGISTER's `Message-Body:` is empty,
        // the 504 was copied without one). Composed for this test, and only for it: the seed's protocol record
        // header (line 655) over the federated INVITE's start line, Call-ID and SDP lines as the Lync client
        // logged them (seed lines 1130–1157: corpus/lync-federation/client-uccapi.log lines 2, 6, 20–26).
        let text = """
            TL_INFO(TF_PROTOCOL) [0]05E0.0AAC::01/08/2013-09:18:57.600.02e733e9 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record
            Direction: outgoing;source="local";destination="external edge"
            Start-Line: INVITE sip:user2@fabrikam.com SIP/2.0
            Call-ID: a622d7b9f6464be3a455e6d98ec700b3
            Message-Body: v=0
            o=- 0 0 IN IP4 2.2.2.2
            s=session
            c=IN IP4 2.2.2.2
            b=CT:99980
            t=0 0
            m=applicationsharing 58138 TCP/RTP/AVP 127
            a=candidate:3 1 TCP-PASS 6556159 2.2.2.2 58138 typ relay raddr 10.98.2.1 rport 13211
            $$end_record

            """
        let p = parse(SIPStackText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.records.count, 1)
        XCTAssertEqual(p.unparsed.count, 0)
        let a = try attrs(p.records[0])
        XCTAssertEqual(a["sdp_connection"] as? String, "2.2.2.2")
        let media = try XCTUnwrap(a["sdp_media"] as? [[String: Any]])
        XCTAssertEqual(media.count, 1)
        XCTAssertEqual(media[0]["media"] as? String, "applicationsharing")
        XCTAssertEqual(media[0]["port"] as? Int, 58138)
        XCTAssertEqual(media[0]["address"] as? String, "2.2.2.2", "the session's c= for a media without its own")
        XCTAssertNil(a["o"], "body lines are not fields")
        // The same body starting on the line after `Message-Body:`.
        let own = parse(SIPStackText.self, bytes: Array(text.replacingOccurrences(of: "Message-Body: v=0", with: "Message-Body:\nv=0").utf8))
        XCTAssertEqual(try attrs(own.records[0])["sdp_media"] as? [[String: AnyHashable]], media as? [[String: AnyHashable]])
        // The seed's own records have no media.
        XCTAssertTrue(try parseFile(SIPStackText.self, "lync-edge/edge-sipstack.txt").records.allSatisfy { try attrs($0)["sdp_media"] == nil })
    }

    func testSameRecordsHoweverTheBytesAreCut() throws {
        let file = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("lync-edge/edge-sipstack.txt")))
        let both = Array(SIPStackTextTests.connectionRecord.utf8) + file
        let whole = parse(SIPStackText.self, bytes: both)
        XCTAssertEqual(whole.records.count, 4)
        for chunk in [1, 2, 7, 64] {
            let cut = parse(SIPStackText.self, bytes: both, chunk: chunk)
            XCTAssertEqual(cut.records.map { "\($0.line) \($0.ts) \($0.rawAt) \($0.rawLen) \($0.summaryAt) \($0.attrs ?? "")" },
                           whole.records.map { "\($0.line) \($0.ts) \($0.rawAt) \($0.rawLen) \($0.summaryAt) \($0.attrs ?? "")" }, "\(chunk)-byte chunks")
        }
    }

    func testCRLFSummariesStartAtTheirValue() throws {
        let text = try String(contentsOf: corpus.appendingPathComponent("lync-edge/edge-sipstack.txt"), encoding: .utf8)
        let p = parse(SIPStackText.self, bytes: Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        // (the stored text keeps each CR; what shows a summary drops it)
        XCTAssertEqual(p.records.map { p.summary($0).replacingOccurrences(of: "\r", with: "") },
                       ["REGISTER sip:contoso.com SIP/2.0", "Message was not sent because the connection was closed", "SIP/2.0 504 Server time-out"])
    }

    func testABodyIsTheRecordsAndItsLinesAreNotHeaders() {
        // A protocol record with an SDP body, closed by $$end_record; a line of the body looks like a header.
        let text = """
            TL_INFO(TF_PROTOCOL) [1]0A10.0B20::02/03/2014-10:00:00.125.00000001 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record
            Direction: outgoing;source="local";destination="internal edge"
            Peer: 192.168.3.10:5061
            Message-Type: request
            Start-Line: INVITE sip:bob@contoso.com SIP/2.0
            Call-ID: abc123
            CSeq: 7 INVITE
            Via: SIP/2.0/TLS 192.168.1.1:50400;branch=z9hG4bK1234
            Message-Body:
            v=0
            c=IN IP4 192.168.1.1

            Call-ID: not-a-header
            $$end_record
            stray text after the record

            """
        let p = parse(SIPStackText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.records.count, 1)
        let r = p.records[0]
        XCTAssertEqual(iso(r.ts), "2014-02-03T10:00:00.125Z")
        XCTAssertEqual(r.dstEndpoint?.text, "192.168.3.10:5061")
        XCTAssertNil(r.src, "the Via is the Edge's own, without received=")
        XCTAssertTrue(p.raw(r).hasSuffix("c=IN IP4 192.168.1.1\n\nCall-ID: not-a-header\n$$end_record"))
        XCTAssertTrue(r.attrs!.contains("\"call_id\":\"abc123\""))
        XCTAssertTrue(r.attrs!.contains("\"via_branch\":\"z9hG4bK1234\""))
        XCTAssertTrue(r.attrs!.contains("\"cseq\":7,\"cseq_method\":\"INVITE\""))
        XCTAssertTrue(r.attrs!.contains("\"cpu\":1,\"pid\":2576,\"tid\":2848"))
        XCTAssertEqual(p.unparsed.map(\.line), [15], "after $$end_record a line is no record's")
    }

    func testARecordCutOffAtTheEndIsStillAnEvent() throws {
        let file = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("lync-edge/edge-sipstack.txt")))
        // Cut in the middle of line 11 (`Call-ID: 20d8…`), as a copy that stopped there would be.
        let text = String(decoding: file, as: UTF8.self)
        let cut = text.range(of: "Call-ID: 20d82")!.upperBound
        let p = parse(SIPStackText.self, bytes: Array(text[..<cut].utf8))
        XCTAssertEqual(p.records.count, 1)
        XCTAssertEqual(p.unparsed.count, 0)
        let a = try attrs(p.records[0])
        XCTAssertEqual(a["truncated"] as? Bool, true)
        XCTAssertEqual(a["call_id"] as? String, "20d82", "what was read is kept")
        XCTAssertEqual(p.summary(p.records[0]), "REGISTER sip:contoso.com SIP/2.0")
        // Cut inside the header line itself: no time, so no record; the line is reported.
        let head = parse(SIPStackText.self, bytes: Array("TL_INFO(TF_PROTOCOL) [0]05E0.0AAC::01/08/20".utf8))
        XCTAssertEqual(head.records.count, 0)
        XCTAssertEqual(head.unparsed.map(\.line), [1])
    }

    func testGarbageIsReportedWithItsLineAndNeverStopsTheRest() throws {
        let file = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("lync-edge/edge-sipstack.txt")))
        let garbage: [UInt8] = [0x00, 0x13, 0xFF, 0xFE, 0x41, 0x07, 0x0A]
        // Garbage before the first record (line 1) and inside the REGISTER's record (after its line 5: line 7 then).
        var lines = file.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        lines.insert(Array(garbage.dropLast()), at: 5)
        let bytes = garbage + lines.joined(separator: [0x0A])
        let p = parse(SIPStackText.self, bytes: bytes)
        XCTAssertEqual(p.records.count, 3)
        XCTAssertEqual(p.unparsed.map(\.line), [1, 7])
        XCTAssertEqual(p.records[0].line, 2)
        XCTAssertEqual(p.records[0].srcEndpoint?.text, "10.1.1.1:62973", "fields after the garbage are still read")
        XCTAssertTrue(try attrs(p.records[0])["call_id"] as? String == "20d82282a7d94f4fb66a0a6df0c0377f")
        // Noise of every byte, with and without record headers among it: no crash, every line accounted for.
        var seed: UInt64 = 0x9E3779B97F4A7C15
        var noise: [UInt8] = []
        for i in 0..<20_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            noise.append(UInt8(truncatingIfNeeded: seed >> 33))
            if i % 5000 == 0 { noise += [0x0A] + file }
        }
        let n = parse(SIPStackText.self, bytes: noise, chunk: 333)
        XCTAssertEqual(n.records.count, 4 * 3)
        XCTAssertGreaterThan(n.unparsed.count, 0)
    }
}
