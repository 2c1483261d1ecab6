import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// SIPp's message traces of real calls (corpus/sip-sipp, scripts/make-sip-corpus.sh): the UAC 10.94.0.1 and
/// the UAS 10.94.0.2, three calls over UDP, two over TCP, one answered 486; and tshark's reading of the
/// capture of the same traffic (sip-tshark.tsv) as the truth each message is held to.
final class SIPDumpTextTests: XCTestCase {
    static let dumps = ["uac-udp.log", "uas-udp.log", "uac-tcp.log", "uas-tcp.log", "uac-busy.log", "uas-busy.log"]

    func attrs(_ r: EventRecord) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data((r.attrs ?? "").utf8)) as! [String: Any]
    }

    func dump(_ name: String, chunk: Int? = nil) throws -> Parsed { try parseFile(SIPDumpText.self, "sip-sipp/" + name, chunk: chunk) }

    /// One SIP message as tshark dissected it from the capture.
    struct Frame {
        var number: Int, ns: Int64, proto: UInt8, src: String, dst: String, callID: String, cseq: String, startLine: String
    }

    func frames() throws -> [Frame] {
        let text = try String(contentsOf: corpus.appendingPathComponent("sip-sipp/sip-tshark.tsv"), encoding: .utf8)
        var rows = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.removeFirst().first, "frame.number")
        return rows.map { c in
            // frame.number, time_epoch, ip.proto, ip.src, udp.srcport, tcp.srcport, ip.dst, udp.dstport, tcp.dstport, Call-ID, CSeq, Request-Line, Status-Line
            let t = c[1].split(separator: ".")
            let ns = Int64(t[0])! * CivilTime.nsPerSecond + Int64(t[1].prefix(9).padding(toLength: 9, withPad: "0", startingAt: 0))!
            return Frame(number: Int(c[0])!, ns: ns, proto: UInt8(c[2])!, src: c[3] + ":" + c[4] + c[5], dst: c[6] + ":" + c[7] + c[8],
                         callID: c[9], cseq: c[10], startLine: c[11].isEmpty ? c[12] : c[11])
        }
    }

    func testTheDumpsAreSIPpsAndTheirNeighboursAreNot() throws {
        for file in SIPDumpTextTests.dumps {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("sip-sipp/" + file)))
            XCTAssertEqual(Registry.detect(SniffHead(bytes: bytes))?.parser.id, "sip_dump_text", file)
        }
        // SIPp's -trace_err file quotes the 486 but has no banners (it is sip_embedded_text's); the SIPStack log
        // has SIP messages too.
        for (file, id) in [("sip-sipp/uac-busy-errors.txt", "sip_embedded_text"), ("lync-edge/edge-sipstack.txt", "sipstack_text")] as [(String, String?)] {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)))
            XCTAssertEqual(Registry.detect(SniffHead(bytes: bytes))?.parser.id, id, file)
        }
        XCTAssertEqual(SIPDumpText.sniff(SniffHead(lines: ["-----------------------------------------------", "UDP message sent (509 bytes):"])), 0,
                       "a banner needs its time")
    }

    func testThreeUDPCallsEachInvite180200AckBye200() throws {
        for (file, sent) in [("uac-udp.log", [true, false, false, true, true, false]), ("uas-udp.log", [false, true, true, false, false, true])] {
            let p = try dump(file)
            XCTAssertEqual(p.records.count, 18, file)
            XCTAssertEqual(p.unparsed.count, 0, file)
            XCTAssertFalse(p.facts.zoneKnown, "SIPp writes local time without saying which zone")
            XCTAssertEqual(p.facts.timeDigits, 6)
            let a = try p.records.map(attrs)
            for call in 0..<3 {
                let msgs = a[call * 6..<call * 6 + 6]
                XCTAssertEqual(msgs.map { $0["start_line"] as? String },
                               ["INVITE sip:service@10.94.0.2:5060 SIP/2.0", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK",
                                "ACK sip:service@10.94.0.2:5060 SIP/2.0", "BYE sip:service@10.94.0.2:5060 SIP/2.0", "SIP/2.0 200 OK"], "\(file) call \(call + 1)")
                XCTAssertEqual(Set(msgs.map { $0["call_id"] as? String }), ["\(call + 1)-22891@10.94.0.1"])
                XCTAssertEqual(msgs.map { $0["cseq"] as? Int }, [1, 1, 1, 1, 2, 2])
                XCTAssertEqual(msgs.map { $0["cseq_method"] as? String }, ["INVITE", "INVITE", "INVITE", "ACK", "BYE", "BYE"])
                XCTAssertEqual(msgs.map { $0["direction"] as? String }, sent.map { $0 ? "sent" : "received" }, file)
                XCTAssertEqual(Set(msgs.map { $0["transport"] as? String }), ["UDP"])
            }
            XCTAssertEqual(p.records.map { p.summary($0).replacingOccurrences(of: "\r", with: "") }, a.map { $0["start_line"] as! String })
        }
    }

    func testTheFirstInviteFieldByField() throws {
        let p = try dump("uac-udp.log")
        let r = p.records[0]
        XCTAssertEqual(r.line, 1)
        XCTAssertEqual(iso(r.ts, 6), "2026-11-27T21:41:40.802587Z", "the banner's time, as written (this host's zone is UTC)")
        XCTAssertEqual(r.label, "SIP")
        XCTAssertEqual(r.kind, .log)
        XCTAssertEqual(r.srcEndpoint?.text, "10.94.0.1:5060", "the Via's sent-by")
        XCTAssertEqual(r.dstEndpoint?.text, "10.94.0.2:5060", "the Request-URI's IP and port, no Route")
        XCTAssertEqual(r.proto, 17)
        XCTAssertNotNil(r.connection)
        XCTAssertTrue(p.raw(r).hasPrefix("----------------------------------------------- 2026-11-27 21:41:40.802587\nUDP message sent (509 bytes):\n\nINVITE"))
        XCTAssertTrue(p.raw(r).hasSuffix("a=rtpmap:0 PCMU/8000"), "the record's text ends with the body's last line")
        let a = try attrs(r)
        XCTAssertEqual(a["direction"] as? String, "sent")
        XCTAssertEqual(a["transport"] as? String, "UDP")
        XCTAssertEqual(a["bytes"] as? Int, 509)
        XCTAssertEqual(a["message_type"] as? String, "request")
        XCTAssertEqual(a["method"] as? String, "INVITE")
        XCTAssertEqual(a["request_uri"] as? String, "sip:service@10.94.0.2:5060")
        XCTAssertEqual(a["call_id"] as? String, "1-22891@10.94.0.1")
        XCTAssertEqual(a["from"] as? String, "sip:sipp@10.94.0.1:5060")
        XCTAssertEqual(a["from_tag"] as? String, "22891SIPpTag001")
        XCTAssertNil(a["to_tag"], "an INVITE's To has no tag yet")
        XCTAssertEqual(a["to"] as? String, "sip:service@10.94.0.2:5060")
        XCTAssertEqual(a["via"] as? String, "10.94.0.1:5060")
        XCTAssertEqual(a["via_transport"] as? String, "UDP")
        XCTAssertEqual(a["via_branch"] as? String, "z9hG4bK-22891-1-0")
        XCTAssertEqual(a["contact"] as? String, "sip:sipp@10.94.0.1:5060")
        XCTAssertEqual(a["content_type"] as? String, "application/sdp")
        XCTAssertEqual(a["content_length"] as? Int, 129)
        XCTAssertEqual(a["sdp_connection"] as? String, "10.94.0.1")
        let media = try XCTUnwrap(a["sdp_media"] as? [[String: Any]])
        XCTAssertEqual(media.count, 1)
        XCTAssertEqual(media[0]["media"] as? String, "audio")
        XCTAssertEqual(media[0]["port"] as? Int, 6000)
        XCTAssertEqual(media[0]["proto"] as? String, "RTP/AVP")
        XCTAssertEqual(media[0]["address"] as? String, "10.94.0.1")
        XCTAssertEqual(a["src_from"] as? String, "via")
        XCTAssertEqual(a["dst_from"] as? String, "request-uri")
        XCTAssertNil(a["truncated"])
        XCTAssertNil(a["unexpected"])
    }

    func testThe200OKComesFromWhereTheInviteWentWithTheUASsMedia() throws {
        let p = try dump("uac-udp.log")
        let r = p.records[2]
        XCTAssertEqual(p.summary(r).replacingOccurrences(of: "\r", with: ""), "SIP/2.0 200 OK")
        XCTAssertEqual(r.srcEndpoint?.text, "10.94.0.2:5060", "its transaction's INVITE went there")
        XCTAssertEqual(r.dstEndpoint?.text, "10.94.0.1:5060", "the Via it echoes")
        XCTAssertEqual(r.connection, p.records[0].connection, "the INVITE's flow")
        let a = try attrs(r)
        XCTAssertEqual(a["status"] as? Int, 200)
        XCTAssertEqual(a["reason"] as? String, "OK")
        XCTAssertEqual(a["to_tag"] as? String, "22853SIPpTag011")
        XCTAssertEqual(a["contact"] as? String, "sip:10.94.0.2:5060;transport=UDP")
        XCTAssertEqual(a["src_from"] as? String, "request")
        XCTAssertEqual(a["dst_from"] as? String, "via")
        XCTAssertEqual((a["sdp_media"] as? [[String: Any]])?.first?["port"] as? Int, 6000)
        XCTAssertEqual(a["sdp_connection"] as? String, "10.94.0.2")
    }

    /// Every message of every dump is in the capture (Call-ID, CSeq and start line), on the same tuple and
    /// transport, and the dump's time lies within 2 ms of the capture's (one clock: the namespaces share it).
    func testEveryDumpedMessageIsInTheCaptureOnItsFlow() throws {
        let frames = try frames()
        XCTAssertEqual(frames.count, 33, "3 × 6 + 2 × 6 + 3")
        var seenAtUAC = Set<Int>(), seenAtUAS = Set<Int>()
        var worst: Int64 = 0
        for file in SIPDumpTextTests.dumps {
            let p = try dump(file)
            for r in p.records {
                let a = try attrs(r)
                let cseq = "\(a["cseq"] as! Int) \(a["cseq_method"] as! String)"
                let matches = frames.filter { $0.callID == a["call_id"] as? String && $0.cseq == cseq && $0.startLine == a["start_line"] as? String }
                XCTAssertEqual(matches.count, 1, "\(file):\(r.line)")
                guard let f = matches.first else { continue }
                XCTAssertEqual(r.proto, f.proto, "\(file):\(r.line)")
                XCTAssertEqual(r.srcEndpoint?.text, f.src, "\(file):\(r.line) frame \(f.number)")
                XCTAssertEqual(r.dstEndpoint?.text, f.dst, "\(file):\(r.line) frame \(f.number)")
                worst = max(worst, abs(r.ts - f.ns))
                if file.hasPrefix("uac") { seenAtUAC.insert(f.number) } else { seenAtUAS.insert(f.number) }
            }
        }
        XCTAssertLessThan(worst, 2_000_000, "dump and capture times of the same message")
        XCTAssertEqual(seenAtUAC.count, 33, "each end logged every message of the capture once")
        XCTAssertEqual(seenAtUAS, seenAtUAC)
    }

    func testTwoTCPCallsOnOneConnectionFromPort5060() throws {
        let p = try dump("uac-tcp.log")
        XCTAssertEqual(p.records.count, 12)
        // SIPp's own notes on its non-blocking connect, written into the trace without a banner or a time.
        XCTAssertEqual(p.unparsed.map(\.line), [1, 2])
        XCTAssertEqual(p.unparsed.map { $0.raw.trimmingCharacters(in: .whitespaces) }, ["Problem EAGAIN on socket  6 and poll_idx  is 1", "Exit problem event on socket 6"])
        XCTAssertEqual(p.records.first?.line, 3)
        let a = try p.records.map(attrs)
        XCTAssertEqual(Set(a.map { $0["transport"] as? String }), ["TCP"])
        XCTAssertEqual(Set(a.map { $0["call_id"] as? String }), ["1-23167@10.94.0.1", "2-23167@10.94.0.1"])
        XCTAssertEqual(a.filter { $0["method"] as? String == "INVITE" }.count, 2)
        // SIPp binds its TCP connection to its -p port: the Via's port is the connection's (frames 19–44).
        XCTAssertEqual(Set(p.records.map { $0.connection }), [ConnectionKey(proto: 6, src: Endpoint(userText: "10.94.0.1:5060")!, dst: Endpoint(userText: "10.94.0.2:5060")!)])
        XCTAssertEqual(a[1]["bytes"] as? Int, 309, "`TCP message received [309] bytes :`")
        XCTAssertEqual(a[1]["direction"] as? String, "received")
    }

    func testThe486IsMarkedUnexpectedAndItsRepeatIsNoMessage() throws {
        let p = try dump("uac-busy.log")
        // Four banners: INVITE, 486, SIPp's `Unexpected UDP message received:` repeat of the 486 (line 38), ACK.
        XCTAssertEqual(p.records.map { p.summary($0).replacingOccurrences(of: "\r", with: "") },
                       ["INVITE sip:service@10.94.0.2:5060 SIP/2.0", "SIP/2.0 486 Busy Here", "ACK sip:service@10.94.0.2:5060 SIP/2.0"])
        XCTAssertEqual(p.records.map(\.line), [1, 24, 52])
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.structureLines, Array(38...51), "the repeat's banner, its title, the 486's 9 lines again, and blank lines")
        let a = try p.records.map(attrs)
        XCTAssertEqual(a[1]["unexpected"] as? Bool, true)
        XCTAssertEqual(a[1]["status"] as? Int, 486)
        XCTAssertEqual(a[1]["reason"] as? String, "Busy Here")
        XCTAssertEqual(a[1]["server"] as? String, "tracejoin-corpus-busy")
        XCTAssertNil(a[0]["unexpected"]); XCTAssertNil(a[2]["unexpected"])
        XCTAssertEqual(a[2]["via_branch"] as? String, a[0]["via_branch"] as? String, "the ACK of a non-2xx answer is in the INVITE's transaction")
        let uas = try dump("uas-busy.log")
        XCTAssertEqual(uas.records.count, 3)
        XCTAssertEqual(try uas.records.map { try attrs($0)["direction"] as? String }, ["received", "sent", "received"])
        XCTAssertNil(try attrs(uas.records[1])["unexpected"], "the UAS meant to send it")
    }

    func testSameRecordsHoweverTheBytesAreCut() throws {
        for file in ["uac-busy.log", "uas-tcp.log"] {
            let whole = try dump(file)
            for chunk in [1, 2, 7, 64] {
                let cut = try dump(file, chunk: chunk)
                XCTAssertEqual(cut.records.map { "\($0.line) \($0.ts) \($0.rawAt) \($0.rawLen) \($0.summaryAt) \($0.attrs ?? "")" },
                               whole.records.map { "\($0.line) \($0.ts) \($0.rawAt) \($0.rawLen) \($0.summaryAt) \($0.attrs ?? "")" }, "\(file) in \(chunk)-byte chunks")
                XCTAssertEqual(cut.structureLines, whole.structureLines)
            }
        }
    }

    func testADumpCutMidMessageKeepsWhatItRead() throws {
        let text = try String(contentsOf: corpus.appendingPathComponent("sip-sipp/uac-udp.log"), encoding: .utf8)
        // Inside the first 200 OK's SDP (its `m=audio 6000` line): the body is shorter than its Content-Length.
        let inBody = text.range(of: "m=audio 6000", range: text.range(of: "SIP/2.0 200 OK")!.upperBound..<text.endIndex)!.lowerBound
        let p = parse(SIPDumpText.self, bytes: Array(text[..<inBody].utf8))
        XCTAssertEqual(p.records.count, 3)
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(try attrs(p.records[2])["truncated"] as? Bool, true)
        XCTAssertEqual(try attrs(p.records[2])["sdp_connection"] as? String, "10.94.0.2", "the c= line before the cut is read")
        XCTAssertNil(try attrs(p.records[1])["truncated"], "the 180 before it is whole")
        // Inside a header of the 180: no blank line ended its headers.
        let inHeader = text.range(of: "To: service <sip:service@10.94.0.2:5060>;tag=")!.upperBound
        let h = parse(SIPDumpText.self, bytes: Array(text[..<inHeader].utf8))
        XCTAssertEqual(h.records.count, 2)
        XCTAssertEqual(try attrs(h.records[1])["truncated"] as? Bool, true)
        XCTAssertEqual(try attrs(h.records[1])["call_id"] as? String, nil, "Call-ID comes after To in SIPp's 180")
        // Right after a banner: a banner with no message is reported with its line (25: the 200 OK's).
        let banner = text.range(of: "----------------------------------------------- 2026-11-27 21:41:40.803705\n")!.upperBound
        let b = parse(SIPDumpText.self, bytes: Array(text[..<banner].utf8))
        XCTAssertEqual(b.records.count, 2)
        XCTAssertEqual(b.unparsed.map(\.line), [37])
        XCTAssertEqual(b.unparsed.first?.reason, "SIPp banner without a message under it")
    }

    func testADumpStartingMidMessageAndGarbageAreReportedWithTheirLines() throws {
        let file = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("sip-sipp/uac-busy.log")))
        var lines = file.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        // Start at line 9 (the INVITE's `CSeq: 1 INVITE`), and put garbage inside the 486's headers (after its
        // `Via:`, line 28 of the file: line 20 + 1 of the cut one).
        lines.insert([0x00, 0x13, 0xFF, 0xFE, 0x41, 0x07], at: 28)
        lines.insert(Array("random words, no header".utf8), at: 29)
        let cut = Array(lines[8...].joined(separator: [0x0A]))
        let p = parse(SIPDumpText.self, bytes: cut)
        XCTAssertEqual(p.records.count, 2, "the 486 and the ACK")
        // Lines 1–14: the rest of the INVITE (its non-blank lines); 21 and 22: the garbage inside the 486.
        XCTAssertEqual(p.unparsed.map(\.line), [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 21, 22])
        XCTAssertTrue(p.unparsed[0].raw.hasPrefix("CSeq: 1 INVITE"))
        XCTAssertEqual(p.unparsed[0].reason, "not inside a SIPp message block")
        XCTAssertTrue(p.unparsed[13].reason.hasPrefix("binary bytes inside the SIP message of line 16"))
        XCTAssertTrue(p.unparsed[14].reason.hasPrefix("not a SIP start line or header inside the message of line 16"))
        let a = try attrs(p.records[0])
        XCTAssertEqual(a["call_id"] as? String, "1-23259@10.94.0.1", "headers after the garbage are still read")
        XCTAssertEqual(a["unexpected"] as? Bool, true)
        XCTAssertEqual(p.records[0].dstEndpoint?.text, "10.94.0.1:5060")
        XCTAssertNil(p.records[0].src, "its INVITE is not in the file: the sender is not known")
        XCTAssertEqual(p.records[0].proto, 0)
    }
}
