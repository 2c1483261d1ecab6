import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// corpus/sip-pjsua: PJSIP 2.15.1's own log (pjsua2, level 5) of one UDP and one TCP call to SIPp's UAS, and
/// tshark's reading of the capture of the same calls (sip-tshark.tsv) as the truth.
final class PJSIPLogTests: XCTestCase {
    func attrs(_ r: EventRecord) -> [String: Any] {
        (r.attrs.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }) ?? [:]
    }

    func sip(_ p: Parsed) -> [EventRecord] { p.records.filter { $0.label == "SIP" } }

    /// The start line (the message's lines end in CRLF).
    func start(_ p: Parsed, _ r: EventRecord) -> String { p.summary(r).replacingOccurrences(of: "\r", with: "") }

    /// 22:28:03.550 on no day (the log writes no date).
    func tod(_ h: Int64, _ m: Int64, _ s: Int64, _ ms: Int64) -> Int64 { ((h * 60 + m) * 60 + s) * CivilTime.nsPerSecond + ms * 1_000_000 }

    func testThePJSIPLogsArePJSIPsAndTheirNeighboursAreNot() throws {
        for (file, id) in [("sip-pjsua/pjsua-udp.log", "pjsip_log"), ("sip-pjsua/pjsua-tcp.log", "pjsip_log"), ("sip-sipp/uac-udp.log", "sip_dump_text"),
                           ("lync-federation/client-uccapi.log", "lync_client_log"), ("lync-edge/edge-sipstack.txt", "sipstack_text")] {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)))
            XCTAssertEqual(Registry.detect(SniffHead(bytes: bytes))?.parser.id, id, file)
        }
        // A line with a time of day but no pjlib sender is not enough.
        XCTAssertEqual(PJSIPLog.sniff(SniffHead(lines: ["22:17:58.108 hello world", "22:17:58.109 and more"])), 0)
    }

    func testTheUDPCallIsSixMessagesEachAtItsTXorRXLine() throws {
        let p = try parseFile(PJSIPLog.self, "sip-pjsua/pjsua-udp.log")
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.records.count, 202)
        let m = sip(p)
        XCTAssertEqual(m.map(\.line), [59, 109, 128, 181, 240, 256])
        XCTAssertEqual(m.map { start(p, $0) }, ["INVITE sip:service@10.85.0.2:5060 SIP/2.0", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK",
                                                  "ACK sip:10.85.0.2:5060;transport=UDP SIP/2.0", "BYE sip:10.85.0.2:5060;transport=UDP SIP/2.0", "SIP/2.0 200 OK"])
        XCTAssertEqual(m.map { attrs($0)["direction"] as? String }, ["sent", "received", "received", "sent", "sent", "received"])
        XCTAssertTrue(m.allSatisfy { attrs($0)["call_id"] as? String == "TAjRmNSGoPdmoBg6LS5p9MN-O4YHhPrb" })
        XCTAssertTrue(m.allSatisfy { attrs($0)["truncated"] == nil }, "every message is whole (Content-Length)")
        XCTAssertEqual(p.facts.timeBasis, .timeOfDay)
        XCTAssertEqual(p.structureLines.count, 6, "each message's --end msg--")

        // `22:28:03.550 pjsua_core.c ....TX 1198 bytes Request msg INVITE/cseq=9578 (tdta0x55be7f4c5da8) to UDP 10.85.0.2:5060:`
        let invite = m[0]
        XCTAssertEqual(invite.ts, tod(22, 28, 3, 550))
        XCTAssertEqual(invite.dstEndpoint?.text, "10.85.0.2:5060", "sent to the peer the TX line names")
        XCTAssertNil(invite.src, "the log does not name its own end")
        XCTAssertEqual(invite.proto, 0)
        let a = attrs(invite)
        XCTAssertEqual(a["bytes"] as? Int, 1198)
        XCTAssertEqual(a["transport"] as? String, "UDP")
        XCTAssertEqual(a["pjsip_object"] as? String, "tdta0x55be7f4c5da8")
        XCTAssertEqual(a["cseq"] as? Int, 9578); XCTAssertEqual(a["cseq_method"] as? String, "INVITE")
        XCTAssertEqual(a["via"] as? String, "10.85.0.1:5070")
        XCTAssertEqual(a["content_length"] as? Int, 619)
        let offer = try XCTUnwrap(a["sdp_media"] as? [[String: Any]])
        XCTAssertEqual(offer.count, 1)
        XCTAssertEqual(offer[0]["media"] as? String, "audio"); XCTAssertEqual(offer[0]["port"] as? Int, 4000); XCTAssertEqual(offer[0]["address"] as? String, "10.85.0.1")
        // The record's text: the TX line, the message's 14 header lines, the blank line and 27 lines of SDP.
        XCTAssertEqual(p.raw(invite).split(separator: "\n", omittingEmptySubsequences: false).count, 43)
        XCTAssertTrue(p.raw(invite).hasSuffix("a=ssrc:290818431 cname:3fdde1013bbe2ce9"))

        // `.RX 507 bytes Response msg 200/INVITE/cseq=9578 (rdata0x7faa64001958) from UDP 10.85.0.2:5060:`
        let ok = m[2]
        XCTAssertEqual(ok.ts, tod(22, 28, 3, 552))
        XCTAssertEqual(ok.srcEndpoint?.text, "10.85.0.2:5060", "received from the peer")
        let b = attrs(ok)
        XCTAssertEqual(b["status"] as? Int, 200); XCTAssertEqual(b["bytes"] as? Int, 507); XCTAssertEqual(b["to_tag"] as? String, "10176SIPpTag011")
        let answer = try XCTUnwrap(b["sdp_media"] as? [[String: Any]])
        XCTAssertEqual(answer[0]["port"] as? Int, 6000); XCTAssertEqual(answer[0]["address"] as? String, "10.85.0.2")
    }

    func testEveryMessageIsWhereAndWhenTheCaptureSawIt() throws {
        // sip-tshark.tsv: frame, epoch, ip.proto, src, udp/tcp sport, dst, udp/tcp dport, Call-ID, CSeq, request/status line.
        let rows = try String(contentsOf: corpus.appendingPathComponent("sip-pjsua/sip-tshark.tsv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.count, 16)
        var pool = rows
        var matched = 0
        for (file, transport) in [("pjsua-udp.log", "UDP"), ("pjsua-tcp.log", "TCP"), ("pjsua-register.log", "UDP")] {
            let p = try parseFile(PJSIPLog.self, "sip-pjsua/" + file)
            for r in sip(p) {
                let a = attrs(r)
                XCTAssertEqual(a["transport"] as? String, transport)
                let line = start(p, r)
                let cseq = "\(a["cseq"] as? Int ?? 0) \(a["cseq_method"] as? String ?? "")"
                // The k-th copy of a message (the REGISTER resent) is the k-th such frame.
                guard let k = pool.firstIndex(where: { $0[9] == a["call_id"] as? String && $0[10] == cseq && ($0[11] == line || $0[12] == line) }) else {
                    XCTFail("\(file):\(r.line) \(line) not in the capture"); continue
                }
                let row = pool.remove(at: k)
                matched += 1
                // The peer the log names is the frame's far end: its destination when sent, its source when received.
                let sent = a["direction"] as? String == "sent"
                let peer = sent ? "\(row[6]):\(row[7] + row[8])" : "\(row[3]):\(row[4] + row[5])"
                XCTAssertEqual(a["peer"] as? String, peer, "\(file):\(r.line)")
                // The log writes milliseconds of the same clock (UTC here): within 2 ms of the frame.
                let epoch = Double(row[1])!
                let frameTOD = Int64((epoch.truncatingRemainder(dividingBy: 86400)) * 1e9)
                XCTAssertLessThan(abs(r.ts - frameTOD), 2_000_000, "\(file):\(r.line) \(line)")
            }
        }
        XCTAssertEqual(matched, 16)
    }

    func testTheUnansweredREGISTERIsSentFourTimes() throws {
        // pjsua-register.log: SIPp's UAS, expecting an INVITE, never answers; PJSIP resends after 0.5, 1 and 2 s
        // (RFC 3261 timer E) and gives up when its account is destroyed (line 135: `SIP registration failed, status=503`).
        let p = try parseFile(PJSIPLog.self, "sip-pjsua/pjsua-register.log")
        XCTAssertEqual(p.unparsed.count, 0)
        let m = sip(p)
        XCTAssertEqual(m.map(\.line), [42, 62, 82, 109])
        XCTAssertEqual(m.map(\.ts), [tod(22, 28, 16, 920), tod(22, 28, 17, 422), tod(22, 28, 18, 422), tod(22, 28, 20, 422)])
        XCTAssertTrue(m.allSatisfy { attrs($0)["method"] as? String == "REGISTER" && attrs($0)["pjsip_object"] as? String == "tdta0x564535b37b88" })
        XCTAssertTrue(m.allSatisfy { $0.dstEndpoint?.text == "10.85.0.2:5060" })
        XCTAssertEqual(p.records.first { $0.line == 135 }.map { p.summary($0) }, "SIP registration failed, status=503 (Service Unavailable)")
    }

    func testTheMediaStatisticsStayInTheLineThatWroteThem() throws {
        let p = try parseFile(PJSIPLog.self, "sip-pjsua/pjsua-udp.log")
        // Line 207 `22:28:04.599          pjsua_media.c  ...` and, without times, the 17 lines of the call's statistics.
        let r = try XCTUnwrap(p.records.first { $0.line == 207 })
        XCTAssertEqual(r.label, "PJSIP")
        XCTAssertEqual(attrs(r)["sender"] as? String, "pjsua_media.c")
        XCTAssertEqual(attrs(r)["depth"] as? Int, 3)
        let lines = p.raw(r).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 18)
        XCTAssertTrue(lines[1].hasPrefix("  [CONFIRMED] To: sip:service@10.85.0.2;tag=10176SIPpTag011"))
        XCTAssertTrue(lines[17].hasPrefix("       RTT msec"))
    }

    func testACutMessageAndStrayLinesAreToldWithTheirLines() throws {
        // The UDP log cut inside the INVITE's headers (after line 66, its Call-ID), then garbage, a stray
        // `--end msg--` and a later stamped line.
        // (Split as bytes: in a String "\r\n" is one Character, and the message's lines end in CRLF.)
        let all = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("sip-pjsua/pjsua-udp.log")))
            .split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let text = all[0..<66].joined(separator: "\n") + "\n\u{01}\u{02}garbage\n--end msg--\n" + all[104] + "\n"
        let p = parse(PJSIPLog.self, bytes: Array(text.utf8))
        let m = sip(p)
        XCTAssertEqual(m.count, 1)
        XCTAssertEqual(m[0].line, 59)
        XCTAssertEqual(attrs(m[0])["truncated"] as? Bool, true)
        XCTAssertEqual(attrs(m[0])["call_id"] as? String, "TAjRmNSGoPdmoBg6LS5p9MN-O4YHhPrb", "what was read is kept")
        XCTAssertEqual(p.unparsed.map(\.line), [67, 68])
        XCTAssertEqual(p.unparsed[0].reason, "binary bytes in a PJSIP log")
        XCTAssertEqual(p.records.last?.line, 69)
        // Binary garbage in place of an SDP line of the INVITE (line 90, `a=fmtp:99 mode=30`, as many bytes): kept
        // in the message's text and told with its line; the message is still whole.
        var garbled = all
        garbled[89] = String(repeating: "\u{07}", count: all[89].utf8.count - 1) + "\r"
        let g = parse(PJSIPLog.self, bytes: Array(garbled.joined(separator: "\n").utf8))
        XCTAssertEqual(g.unparsed.map(\.line), [90])
        XCTAssertEqual(g.unparsed.first?.reason, "binary bytes inside the SIP message of line 59 (kept in its text)")
        XCTAssertEqual(sip(g).count, 6)
        XCTAssertNil(attrs(sip(g)[0])["truncated"])
        // A log that starts inside a message (its first 60 lines lost): the headers and SDP before the first
        // stamped line are reported, every later line read as before.
        let late = parse(PJSIPLog.self, bytes: Array(all[60...].joined(separator: "\n").utf8))
        XCTAssertEqual(late.unparsed.count, 41, "the INVITE's headers and SDP (file lines 61–73, 75–101) and its --end msg--")
        XCTAssertEqual(late.unparsed.last?.reason, "PJSIP's --end msg-- without a message before it")
        XCTAssertEqual(sip(late).count, 5)
        // A TX line with nothing after it (the file ends there) stays a log line, marked truncated.
        let cut = parse(PJSIPLog.self, bytes: Array((all[58] + "\n").utf8))
        XCTAssertEqual(cut.records.count, 1)
        XCTAssertEqual(cut.records[0].label, "PJSIP")
        XCTAssertEqual(attrs(cut.records[0])["truncated"] as? Bool, true)
    }
}
