import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// corpus/lync-federation/client-uccapi.log: the seed's Lync client log of the federated desktop-sharing INVITE
/// and its 200 OK (lines verbatim; the post shortened both messages).
final class LyncClientLogTests: XCTestCase {
    func attrs(_ r: EventRecord) -> [String: Any] {
        (r.attrs.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }) ?? [:]
    }

    func testTheINVITEAndIts200OKWithBothAddressesAndTheirMedia() throws {
        let p = try parseFile(LyncClientLog.self, "lync-federation/client-uccapi.log")
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.records.count, 2)
        let invite = p.records[0], ok = p.records[1]
        // `12/10/2012|10:43:06.703 24F8:2648 INFO :: Sending Packet - 10.10.10.1:5061 (From Local Address: 10.98.2.1:51647) 2520 bytes:`
        XCTAssertEqual(iso(invite.ts), "2012-12-10T10:43:06.703Z")
        XCTAssertEqual(invite.src, Address(ip: "10.98.2.1")); XCTAssertEqual(invite.srcPort, 51647)
        XCTAssertEqual(invite.dst, Address(ip: "10.10.10.1")); XCTAssertEqual(invite.dstPort, 5061)
        XCTAssertEqual(invite.proto, IPProto.tcp, "Via SIP/2.0/TLS")
        let a = attrs(invite)
        XCTAssertEqual(a["method"] as? String, "INVITE"); XCTAssertEqual(a["call_id"] as? String, "a622d7b9f6464be3a455e6d98ec700b3")
        XCTAssertEqual(a["bytes"] as? Int, 2520); XCTAssertEqual(a["direction"] as? String, "sent")
        let media = try XCTUnwrap(a["sdp_media"] as? [[String: Any]])
        XCTAssertEqual(media.first?["media"] as? String, "applicationsharing")
        XCTAssertEqual(media.first?["address"] as? String, "2.2.2.2"); XCTAssertEqual(media.first?["port"] as? Int, 58138)
        XCTAssertEqual(p.summary(invite), "INVITE sip:user2@fabrikam.com SIP/2.0")
        XCTAssertEqual(p.raw(invite).split(separator: "\n").count, 33, "the banner, the start line and the 31 lines of the message")
        // `… Data Received - 10.10.10.1:5061 (To Local Address: 10.98.2.1:51647) 4311 bytes:` then `SIP/2.0 200 OK`.
        XCTAssertEqual(iso(ok.ts), "2012-12-10T10:43:10.418Z")
        XCTAssertEqual(ok.src, Address(ip: "10.10.10.1")); XCTAssertEqual(ok.dst, Address(ip: "10.98.2.1")); XCTAssertEqual(ok.dstPort, 51647)
        let b = attrs(ok)
        XCTAssertEqual(b["status"] as? Int, 200); XCTAssertEqual(b["direction"] as? String, "received"); XCTAssertEqual(b["to_tag"] as? String, "fef0c3e438")
        let answer = try XCTUnwrap(b["sdp_media"] as? [[String: Any]])
        XCTAssertEqual(answer.first?["address"] as? String, "1.1.1.1"); XCTAssertEqual(answer.first?["port"] as? Int, 50704)
        // Line 37, the 200 OK's Via: `ms-received-cid=657300`, kept as written and as the connection id SIPStack uses.
        XCTAssertEqual(b["ms_received_cid"] as? String, "657300"); XCTAssertEqual(b["cid"] as? String, "657300")
    }

    func testOtherLinesAreLogEventsAndStrayLinesAreReported() throws {
        let text = """
        12/10/2012|10:43:06.100 24F8:2648 INFO :: UCCP-API: sign-in started
        this line belongs to nothing
        12/10/2012|10:43:06.703 24F8:2648 INFO :: Sending Packet - 10.10.10.1:5061 (From Local Address: 10.98.2.1:51647) 120 bytes:
        12/10/2012|10:43:06.800 24F8:2648 ERROR :: SIP/2.0 send failed
        """
        let p = parse(LyncClientLog.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.unparsed.map(\.line), [2])
        // A banner with no SIP start line after it stays a log event, marked.
        XCTAssertEqual(p.records.count, 3)
        XCTAssertEqual(p.records.map { attrs($0)["truncated"] as? Bool }, [nil, true, nil])
        XCTAssertEqual(attrs(p.records[2])["level"] as? String, "ERROR")
    }
}
