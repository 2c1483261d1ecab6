import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// SIP read from captures (UDP datagrams, TCP segments reassembled), held to tshark's own reading of the same
/// captures (`sip-tshark.tsv` beside each: frame, Call-ID, CSeq, start line of every SIP message).
final class CaptureSIPTests: XCTestCase {
    struct Truth { var frame: Int64; var callID: String; var cseq: String; var startLine: String }

    func truth(_ dir: String) throws -> [Truth] {
        let text = try String(contentsOf: corpus.appendingPathComponent(dir + "/sip-tshark.tsv"), encoding: .utf8)
        var rows = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.removeFirst()[9], "sip.Call-ID")
        return rows.map { c in Truth(frame: Int64(c[0])!, callID: c[9], cseq: c[10], startLine: c[11].isEmpty ? c[12] : c[11]) }
    }

    func attrs(_ r: EventRecord) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((r.attrs ?? "{}").utf8)) as? [String: Any])
    }

    /// Every frame tshark calls SIP is a SIP event with its Call-ID, CSeq and start line; no other frame is.
    func check(_ dir: String, _ file: String, messages: Int, chunk: Int = 4096) throws {
        let t = try truth(dir)
        XCTAssertEqual(t.count, messages, dir)
        let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(dir + "/" + file)))
        let (sink, _) = readCapture(Pcap.self, bytes, chunk: chunk)
        let sip = sink.records.filter { $0.label == "SIP" }
        XCTAssertEqual(sip.map(\.ordinal), t.map(\.frame), "\(dir): the frames tshark shows as SIP")
        for (r, m) in zip(sip, t) {
            let a = try attrs(r)
            XCTAssertEqual(a["call_id"] as? String, m.callID, "\(dir) frame \(m.frame)")
            XCTAssertEqual("\(a["cseq"] ?? "") \(a["cseq_method"] ?? "")", m.cseq, "\(dir) frame \(m.frame)")
            XCTAssertEqual(a["start_line"] as? String, m.startLine, "\(dir) frame \(m.frame)")
            XCTAssertEqual(a["transport"] as? String, r.proto == IPProto.udp ? "UDP" : "TCP")
        }
    }

    func testSIPpCallsOverUDPAndTCPAreTheMessagesTsharkSees() throws {
        try check("sip-sipp", "sip.pcap", messages: 33)
    }

    func testPJSUACallsAndRegistrationsAreTheMessagesTsharkSees() throws {
        try check("sip-pjsua", "sip.pcap", messages: try truth("sip-pjsua").count)
    }

    /// MSS 360: the INVITE, 200 OK, ACK and BYE are each two segments; the message is the event of the second,
    /// and the first stays a TCP segment. Fed in 7-byte chunks too: reassembly does not depend on reads.
    func testMessagesCutIntoTwoSegmentsAreReassembled() throws {
        for chunk in [4096, 7] { try check("sip-segmented", "sip.pcap", messages: 12, chunk: chunk) }
        let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("sip-segmented/sip.pcap")))
        let (sink, _) = readCapture(Pcap.self, bytes, chunk: 4096)
        // Frame 4: the INVITE's first 348 bytes; frame 5: its last 158, and the INVITE with its SDP.
        let f4 = try XCTUnwrap(sink.records.first { $0.ordinal == 4 }), f5 = try XCTUnwrap(sink.records.first { $0.ordinal == 5 })
        XCTAssertEqual(f4.label, "TCP")
        XCTAssertEqual(f4.len, 348)
        XCTAssertEqual(f5.label, "SIP")
        XCTAssertEqual(f5.len, 158)
        let media = try XCTUnwrap(try attrs(f5)["sdp_media"] as? [[String: Any]])
        XCTAssertEqual(media.first?["media"] as? String, "audio")
        XCTAssertEqual(media.first?["port"] as? Int, 6000)
    }
}
