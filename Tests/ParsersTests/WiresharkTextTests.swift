import XCTest
@testable import Parsers
import TraceModel

final class WiresharkTextTests: XCTestCase {
    func testSniffsPacketListsAndRejectsProse() {
        let rows = try! String(contentsOf: corpus.appendingPathComponent("rdp-reset/ts-server.txt"), encoding: .utf8)
        XCTAssertGreaterThan(WiresharkText.sniff(SniffHead(lines: rows.components(separatedBy: "\n"))), 0.5)
        let prose = ["The RDP server resets the existing RDP session.", "Hope this helps you when dealing with similar problems."]
        XCTAssertEqual(WiresharkText.sniff(SniffHead(lines: prose)), 0)
        XCTAssertEqual(WiresharkCSV.sniff(SniffHead(lines: rows.components(separatedBy: "\n"))), 0)
    }

    func testRDPServerSideHeaderWithDateTimeDeltaAndLength() throws {
        let p = try parseFile(WiresharkText.self, "rdp-reset/ts-server.txt")
        // 27 lines: the header and 26 packets.
        XCTAssertEqual(p.records.count, 26)
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.facts.timeBasis, .absolute)
        XCTAssertEqual(p.facts.timeDigits, 3)
        let syn = p.records[0]
        XCTAssertEqual(syn.ordinal, 5781)
        XCTAssertEqual(iso(syn.ts), "2013-01-06T09:52:15.407Z")
        XCTAssertEqual(syn.src?.text, "10.0.107.58")
        XCTAssertEqual(syn.srcPort, 59193)
        XCTAssertEqual(syn.dstPort, 3389)
        XCTAssertEqual(syn.proto, IPProto.tcp)
        XCTAssertEqual(syn.flags, TCPFlags.syn.rawValue)
        XCTAssertEqual(syn.seq, 3976196062)
        XCTAssertEqual(syn.win, 8192)
        XCTAssertEqual(syn.len, 0)
        XCTAssertEqual(syn.mss, 1380)
        XCTAssertEqual(syn.frameLen, 66)
        XCTAssertEqual(p.summary(syn), "59193 > 3389 [SYN] Seq=3976196062 Win=8192 Len=0 MSS=1380 WS=256")
        let rst = p.records.last!
        XCTAssertEqual(rst.ordinal, 10717)
        XCTAssertEqual(iso(rst.ts), "2013-01-06T09:53:40.765Z")
        XCTAssertEqual(rst.flags, TCPFlags([.rst, .ack]).rawValue)
        XCTAssertEqual(rst.src?.text, "10.7.3.187")
        // TPKT rows show no ports: they belong to the one conversation between these hosts.
        XCTAssertEqual(p.records[3].label, "TPKT")
        XCTAssertEqual(p.records[3].dstPort, 3389)
        XCTAssertEqual(p.records[3].attrs, "{\"ports\":\"inferred\"}")
    }

    func testZoneGivenByTheUserShiftsToUTC() throws {
        let p = try parseFile(WiresharkText.self, "rdp-reset/ts-server.txt", zone: 3600)
        XCTAssertEqual(iso(p.records[0].ts), "2013-01-06T08:52:15.407Z")
    }

    func testServiceNamesAndRelativeSeconds() throws {
        let p = try parseFile(WiresharkText.self, "sccm-packet-drop/sccm-client.txt")
        XCTAssertEqual(p.records.count, 13)
        XCTAssertEqual(p.facts.timeBasis, .relative)
        let syn = p.records[0]
        // rmiactivation is 1098/tcp, http 80.
        XCTAssertEqual(syn.srcPort, 1098)
        XCTAssertEqual(syn.dstPort, 80)
        XCTAssertEqual(syn.ts, 104_968_750_000)
        // Five retransmissions of frame 1921, each marked by Wireshark.
        let retrans = p.records.filter { TCPExpert(rawValue: $0.expert).contains(.retransmission) }
        XCTAssertEqual(retrans.map { $0.ordinal }, [1975, 2071, 2264, 2651, 3475])
        XCTAssertTrue(retrans.allSatisfy { $0.srcPort == 1098 && $0.dstPort == 80 })
        XCTAssertTrue(TCPExpert(rawValue: p.records[2].expert).contains(.checksumIncorrect))
        // Frame 1925: the server ACKs 282 and SACKs 1742–2328, so 282–1742 went missing.
        XCTAssertEqual(p.records[6].ordinal, 1925)
        XCTAssertEqual(p.records[6].attrs, "{\"sack\":[[1742,2328]]}")
    }

    func testDeltaTimesAreAccumulated() throws {
        // Server side: 100.765625 then deltas 0, 0.03125, 0.03125, 0.078125, 0, 129.8125.
        let p = try parseFile(WiresharkText.self, "sccm-packet-drop/sccm-server.txt")
        XCTAssertEqual(p.records.count, 7)
        XCTAssertEqual(p.records.map { $0.ts }, [100_765_625_000, 100_765_625_000, 100_796_875_000, 100_828_125_000,
                                                 100_906_250_000, 100_906_250_000, 230_718_750_000])
        XCTAssertEqual(p.facts.notes["time column"]?.hasPrefix("delta"), true)
    }

    func testPacketsRunTogetherOnOneLineAreSplit() throws {
        // Five lines holding 18 packets behind repeated headers.
        let p = try parseFile(WiresharkText.self, "smtp-mss/smtp-sender.txt")
        XCTAssertEqual(p.records.map { $0.ordinal }, Array(1...18).map(Int64.init))
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.records[1].mss, 512)
        XCTAssertEqual(p.records[13].expert & TCPExpert.dupAck.rawValue, TCPExpert.dupAck.rawValue)
        XCTAssertEqual(p.records[13].srcPort, 28474)
        // SMTP rows carry no ports in Info; they are the 28474 ⇄ 25 conversation.
        XCTAssertEqual(p.records[10].srcPort, 28474)
        XCTAssertEqual(p.summary(p.records[10]), "C: Message Body, 536 bytes")
        // Delta layout: RST 9.600550 s after the last retransmission.
        XCTAssertEqual(p.records[17].ts - p.records[16].ts, 9_600_550_000)
    }

    func testDestinationGluedToProtocol() throws {
        let p = try parseFile(WiresharkText.self, "sql-wan-nat/sql-server.txt")
        XCTAssertEqual(p.records.count, 52)
        let synAck = p.records[1]
        XCTAssertEqual(synAck.ordinal, 45)
        XCTAssertEqual(synAck.src?.text, "192.168.200.148")
        XCTAssertEqual(synAck.dst?.text, "172.16.5.14")
        XCTAssertEqual(synAck.label, "TCP")
        XCTAssertEqual(synAck.tsval, 359429749)
        XCTAssertEqual(synAck.tsecr, 11322755)
        XCTAssertEqual(synAck.flags, TCPFlags([.syn, .ack]).rawValue)
    }

    func testCustomColumnsWithAnEmptyTCPAck() {
        // DirectAccess IPHTTPS excerpt: the SYN has no TCP Ack value, the data rows have all columns.
        let text = """
        No. Time Time since Delta Source Destination Protocol Identification S-Port D-Port Sequence TCP Len TCP Ack TCP Win Info
        2086 15:13:43.443150 463.088673 0.000000 192.168.99.5 1.1.1.2 TCP 0x58ba (22714) 57134 443 1683802426 0 8192 57134 > 443 [SYN] Seq=1683802426 Win=8192 [TCP CHECKSUM INCORRECT] Len=0 MSS=1460 WS=256 SACK_PERM=1
        2089 15:13:43.491000 463.136523 0.011644 192.168.99.5 1.1.1.2 TLSv1 0x58bc (22716) 57134 443 1683802427 119 536292142 65536 Client Hello
        """
        let p = parse(WiresharkText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.records.count, 2)
        XCTAssertEqual(p.facts.timeBasis, .timeOfDay)
        XCTAssertEqual(p.facts.timeDigits, 6)
        XCTAssertEqual(p.records[0].ipID, 22714)
        XCTAssertEqual(p.records[0].seq, 1683802426)
        XCTAssertEqual(p.records[0].ack, EventRecord.none)
        let hello = p.records[1]
        XCTAssertEqual(hello.ipID, 22716)
        XCTAssertEqual(hello.srcPort, 57134)
        XCTAssertEqual(hello.dstPort, 443)
        XCTAssertEqual(hello.seq, 1683802427)
        XCTAssertEqual(hello.len, 119)
        XCTAssertEqual(hello.ack, 536292142)
        XCTAssertEqual(hello.win, 65536)
        XCTAssertEqual(p.summary(hello), "Client Hello")
        XCTAssertEqual(hello.ts, (15 * 3600 + 13 * 60 + 43) * 1_000_000_000 + 491_000_000)
    }

    func testProseAroundTheTableIsKeptAsUnparsedAndDetailsJoinTheirFrame() throws {
        let p = try parseFile(WiresharkText.self, "tso-bogus-length/web-server.txt")
        // Line 1 holds prose, a header and 11 packets; frame 8852 is the MAC-only "Bogus IP length" row.
        let bogus = p.records.first { $0.ordinal == 8852 && $0.label == "IP" }
        XCTAssertEqual(bogus?.src?.text, "HewlettP_12:34:56")
        XCTAssertNil(bogus?.connection)
        // Its details (Frame 8852 …, hex dump) follow on their own lines and join its raw text.
        XCTAssertTrue(bogus.map { p.raw($0).contains("0010 00 00 57 d0 40 00 80 06") } ?? false)
        XCTAssertTrue(p.unparsed.contains { $0.line == 1 && $0.reason.contains("prose") })
        XCTAssertTrue(p.unparsed.contains { $0.raw.hasPrefix("Even though the total length field") })
        XCTAssertEqual(p.records.filter { $0.ordinal >= 8771 && $0.ordinal <= 8860 && $0.label == "TCP" }.count, 11 + 11 + 12)
    }

    func testSameRecordsHoweverTheInputIsCut() throws {
        for file in ["rdp-reset/ts-server.txt", "smtp-mss/smtp-sender.txt", "tso-bogus-length/web-server.txt", "sql-wan-nat/sql-server.txt"] {
            let whole = try parseFile(WiresharkText.self, file)
            for chunk in [1, 7, 4096] {
                let cut = try parseFile(WiresharkText.self, file, chunk: chunk)
                XCTAssertEqual(cut.records.map { "\($0.ordinal) \($0.ts) \(cut.raw($0))" }, whole.records.map { "\($0.ordinal) \($0.ts) \(whole.raw($0))" }, "\(file) in \(chunk)-byte chunks")
                XCTAssertEqual(cut.unparsed.count, whole.unparsed.count)
            }
        }
    }

    func testCRLFAndUTF16WithBOM() {
        let text = "No. Time Source Destination Protocol Info\r\n1 0.000000 10.1.1.1 10.1.1.5 TCP 28474 > 25 [SYN] Seq=0 Win=8192 Len=0\r\n"
        let crlf = parse(WiresharkText.self, bytes: Array(text.utf8))
        XCTAssertEqual(crlf.records.count, 1)
        XCTAssertEqual(crlf.summary(crlf.records[0]), "28474 > 25 [SYN] Seq=0 Win=8192 Len=0")
        var utf16: [UInt8] = [0xFF, 0xFE]
        for u in text.utf16 { utf16 += [UInt8(u & 0xff), UInt8(u >> 8)] }
        let wide = parse(WiresharkText.self, bytes: utf16, chunk: 5)
        XCTAssertEqual(wide.records.map { wide.raw($0) }, crlf.records.map { crlf.raw($0) })
    }

    func testCutShortLineIsKeptNotDropped() {
        let text = "No. Time Source Destination Protocol Info\n1 0.000000 10.1.1.1 10.1.1.5 TCP 28474 > 25 [SYN] Seq=0\n2 0.022001 10.1"
        let p = parse(WiresharkText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.records.count, 1)
        XCTAssertEqual(p.unparsed.map { $0.line }, [3])
    }
}
