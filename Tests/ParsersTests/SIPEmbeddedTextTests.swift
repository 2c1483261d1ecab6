import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// SIP messages inside logs that are not SIP dumps: SIPp's error logs (`-trace_err`), where SIPp writes the
/// message that made it abort a call at the end of its time-stamped line — a response in corpus/sip-sipp (the 486
/// its built-in UAC did not expect), a request in corpus/sip-pjsua (pjsua's REGISTER, which the UAS's scenario
/// did not expect).
final class SIPEmbeddedTextTests: XCTestCase {
    func attrs(_ r: EventRecord) -> [String: Any] {
        (r.attrs.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }) ?? [:]
    }

    func testSIPpErrorLogsAreEmbeddedSIPAndNoSpecificFormatsFileIs() throws {
        for (file, id) in [("sip-sipp/uac-busy-errors.txt", "sip_embedded_text"), ("sip-pjsua/uas-register-errors.txt", "sip_embedded_text"),
                           ("sip-pjsua/pjsua-udp.log", "pjsip_log"), ("sip-sipp/uac-busy.log", "sip_dump_text"),
                           ("lync-federation/client-uccapi.log", "lync_client_log"), ("lync-edge/edge-sipstack.txt", "sipstack_text")] {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)))
            XCTAssertEqual(Registry.detect(SniffHead(bytes: bytes))?.parser.id, id, file)
        }
        // Neither a time-stamped log without SIP, nor SIP without a time, is this format.
        XCTAssertEqual(SIPEmbeddedText.sniff(SniffHead(lines: ["2026-11-27 21:41:53.875 started", "2026-11-27 21:41:54.000 done"])), 0)
        XCTAssertEqual(SIPEmbeddedText.sniff(SniffHead(lines: ["INVITE sip:a@10.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 10.0.0.2:5060"])), 0)
    }

    func testThe486SIPpDidNotExpect() throws {
        // `2026-11-27<TAB>21:41:53.875245<TAB>1795815713.875245: Aborting call on unexpected message for Call-Id
        // '1-23259@10.94.0.1': while expecting '100' (index 1), received 'SIP/2.0 486 Busy Here`, its headers, `'`.
        let p = try parseFile(SIPEmbeddedText.self, "sip-sipp/uac-busy-errors.txt")
        XCTAssertEqual(p.records.count, 1)
        XCTAssertEqual(p.unparsed.map(\.line), [1], "`The following events occurred:` comes before any time")
        let r = p.records[0]
        XCTAssertEqual(r.line, 2)
        XCTAssertEqual(iso(r.ts, 6), "2026-11-27T21:41:53.875245Z")
        XCTAssertEqual(p.summary(r).replacingOccurrences(of: "\r", with: ""), "SIP/2.0 486 Busy Here")
        let a = attrs(r)
        XCTAssertEqual(a["status"] as? Int, 486)
        XCTAssertEqual(a["call_id"] as? String, "1-23259@10.94.0.1")
        XCTAssertEqual(a["cseq_method"] as? String, "INVITE")
        XCTAssertEqual(a["server"] as? String, "tracejoin-corpus-busy")
        XCTAssertEqual(a["direction"] as? String, "received", "`received '` before it")
        XCTAssertNil(a["truncated"])
        XCTAssertTrue((a["cue"] as? String ?? "").hasPrefix("1795815713.875245: Aborting call on unexpected message"))
        XCTAssertNil(r.src, "SIPp names no peer here")
        // Its text runs to SIPp's closing quote (line 13).
        XCTAssertTrue(p.raw(r).hasSuffix("Content-Length: 0\n\n'"))
        XCTAssertEqual(p.facts.timeBasis, .absolute)
        XCTAssertEqual(p.facts.timeDigits, 6)
    }

    func testTheREGISTERtheUASDidNotExpectIsTheOnePJSIPSent() throws {
        let p = try parseFile(SIPEmbeddedText.self, "sip-pjsua/uas-register-errors.txt")
        XCTAssertEqual(p.records.count, 1)
        let a = attrs(p.records[0])
        // `… while expecting 'INVITE' (index 0), received 'REGISTER sip:10.85.0.2:5060 SIP/2.0`
        XCTAssertEqual(a["method"] as? String, "REGISTER")
        XCTAssertEqual(a["request_uri"] as? String, "sip:10.85.0.2:5060")
        XCTAssertEqual(p.summary(p.records[0]).replacingOccurrences(of: "\r", with: ""), "REGISTER sip:10.85.0.2:5060 SIP/2.0")
        XCTAssertEqual(iso(p.records[0].ts, 6), "2026-11-27T22:28:16.920417Z")
        // The same REGISTER as the first PJSIP sent (pjsua-register.log line 42, 22:28:16.920): Call-ID, CSeq, branch.
        let pj = try parseFile(PJSIPLog.self, "sip-pjsua/pjsua-register.log").records.first { $0.line == 42 }.map(attrs)
        for k in ["call_id", "cseq", "via_branch", "from_tag"] { XCTAssertEqual(a[k] as? AnyHashable, pj?[k] as? AnyHashable, k) }
    }

    func testAMessageOnItsOwnLinesTakesTheStampedLineBeforeIt() throws {
        // pjsua-udp.log's INVITE with PJSIP's decoration taken off its TX line (time and text kept): a log of
        // another shape that writes the message under a line naming the peer.
        let all = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("sip-pjsua/pjsua-udp.log")))
            .split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertTrue(all[58].hasPrefix("22:28:03.550           pjsua_core.c  ....TX 1198 bytes"))
        let cue = "2026-11-27 22:28:03.550 " + all[58].split(separator: ".", maxSplits: 1)[1].drop { $0 == "." || $0 == " " || !$0.isUppercase }
        XCTAssertTrue(cue.hasPrefix("2026-11-27 22:28:03.550 TX 1198 bytes Request msg INVITE"), cue)
        let text = ([cue] + all[59..<101] + ["2026-11-27 22:28:03.550 next"]).joined(separator: "\n") + "\n"
        let p = parse(SIPEmbeddedText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.records.count, 2)
        let r = p.records[0]
        XCTAssertEqual(r.line, 1)
        XCTAssertEqual(iso(r.ts), "2026-11-27T22:28:03.550Z")
        let a = attrs(r)
        XCTAssertEqual(a["direction"] as? String, "sent"); XCTAssertEqual(a["transport"] as? String, "UDP"); XCTAssertEqual(a["bytes"] as? Int, 1198)
        XCTAssertEqual(r.dstEndpoint?.text, "10.85.0.2:5060")
        XCTAssertEqual(a["method"] as? String, "INVITE")
        XCTAssertEqual((a["sdp_media"] as? [[String: Any]])?.first?["port"] as? Int, 4000)
        XCTAssertNil(a["truncated"])
        XCTAssertEqual(p.records[1].line, 44)
    }
}
