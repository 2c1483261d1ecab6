import XCTest
@testable import Parsers
import TraceModel

/// The other packet-list layouts the seeds show, each excerpt quoted from
/// shared/seeds/nettracer-blog-collection.txt (line numbers in the comments).
final class SeedLayoutTests: XCTestCase {
    func testAckNumberColumnWithSynWithoutIt() {
        // N 1402-1405 (IIS client certificate): `Ack number` column, empty on the SYN.
        let text = """
        No. Time Delta Source Destination Protocol Ack number Info
        68 2013-12-26 13:03:51.654 0.000 10.10.10.16 10.10.10.15 TCP 49685 > 443 [SYN] Seq=923564226 Win=8192 Len=0 MSS=1460 WS=4 SACK_PERM=1
        69 2013-12-26 13:03:51.654 0.000 10.10.10.15 10.10.10.16 TCP 923564227 443 > 49685 [SYN, ACK] Seq=4236088449 Ack=923564227 Win=8192 Len=0 MSS=1460 WS=256 SACK_PERM=1
        72 2013-12-26 13:03:51.657 0.000 10.10.10.16 10.10.10.15 TLSv1 4236088450 Client Hello
        """
        let p = parse(WiresharkText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.records.count, 3)
        XCTAssertEqual(p.records[0].seq, 923564226)
        XCTAssertEqual(p.records[0].ack, EventRecord.none)
        XCTAssertEqual(p.records[1].ack, 923564227)
        XCTAssertEqual(p.summary(p.records[1]), "443 > 49685 [SYN, ACK] Seq=4236088449 Ack=923564227 Win=8192 Len=0 MSS=1460 WS=256 SACK_PERM=1")
        // The TLS row's only TCP field is its Ack number column; its ports come from the conversation.
        XCTAssertEqual(p.records[2].ack, 4236088450)
        XCTAssertEqual(p.records[2].srcPort, 49685)
        XCTAssertEqual(p.summary(p.records[2]), "Client Hello")
    }

    func testNoHeaderWithLengthColumnAndMicroseconds() {
        // N 351-353 (delayed ACK + Nagle): date, time, delta, length; no header.
        let text = """
        3562 2012-12-12 18:19:53.258784 0.000000 10.15.28.40 10.95.2.40 TCP 377 51122 > 7890 [PSH, ACK] Seq=2654579738 Ack=1586267028 Win=253 Len=323
        3563 2012-12-12 18:19:53.359881 0.101097 10.95.2.40 10.15.28.40 TCP 60 7890 > 51122 [ACK] Seq=1586267028 Ack=2654580061 Win=49640 Len=0
        """
        let p = parse(WiresharkText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.records.map { $0.frameLen }, [377, 60])
        XCTAssertEqual(p.records.map { $0.len }, [323, 0])
        XCTAssertEqual(p.facts.timeDigits, 6)
        XCTAssertEqual(iso(p.records[1].ts, 6), "2012-12-12T18:19:53.359881Z")
        XCTAssertEqual(p.records[1].ts - p.records[0].ts, 101_097_000)
    }

    func testARPRowsKeepTheirMACNames() {
        // N 1088-1090: delta-only, vendor MAC names, ARP then a TCP handshake to wsdapi.
        let text = """
        62994 2.518411 HewlettP_10:11:91 Broadcast ARP Who has 10.0.80.202? Tell 10.0.80.1
        62996 0.000000 HewlettP_11:21:6b HewlettP_10:11:91 ARP 10.0.80.202 is at 00:23:7d:13:2f:6b
        62997 0.000000 10.0.80.1 10.0.80.202 TCP 59327 > wsdapi [SYN] Seq=0 Win=8192 Len=0 MSS=1460 WS=2
        63133 0.046800 10.0.80.202 10.0.80.1 TCP wsdapi > 59327 [ACK] Seq=1 Ack=882 Win=65536 Len=1460
        """
        let p = parse(WiresharkText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.records.count, 4)
        XCTAssertEqual(p.records[0].src, .name("HewlettP_10:11:91"))
        XCTAssertEqual(p.records[0].dst, .name("Broadcast"))
        XCTAssertNil(p.records[0].connection)
        XCTAssertEqual(p.summary(p.records[0]), "Who has 10.0.80.202? Tell 10.0.80.1")
        XCTAssertEqual(p.records[2].dstPort, 5357) // wsdapi
        // 2.518411 then deltas 0, 0, 0.046800.
        XCTAssertEqual(p.records.map { $0.ts }, [2_518_411_000, 2_518_411_000, 2_518_411_000, 2_565_211_000])
    }

    func testPacketDetailsFillAPacketWithoutAddresses() {
        // The RPC seed's details block shape (N 1347-1348) after a MAC-only summary row.
        let text = """
        32046 12.000100 Vmware_01:02:03 Vmware_04:05:06 DCERPC Map request
        Internet Protocol Version 4, Src: 10.1.1.1 (10.1.1.1), Dst: 10.11.2.2(10.11.2.2)
        Transmission Control Protocol, Src Port: 33654 (33654), Dst Port: 135 (135), Seq: 2005198912, Ack: 3769475906, Len: 156
        """
        let p = parse(WiresharkText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.records.count, 1)
        let r = p.records[0]
        XCTAssertEqual(r.src?.text, "10.1.1.1")
        XCTAssertEqual(r.dst?.text, "10.11.2.2")
        XCTAssertEqual(r.srcPort, 33654)
        XCTAssertEqual(r.dstPort, 135)
        XCTAssertEqual(r.len, 156)
        XCTAssertEqual(r.seq, 2005198912)
        XCTAssertEqual(p.raw(r).split(separator: "\n").count, 3)
        XCTAssertTrue(p.unparsed.isEmpty)
    }

    func testLyncFederationRefusalsAreThreeSYNsEachReset() throws {
        // N 1203-1208: the Edge's SYN to 1.1.1.1:50704 is reset three times.
        let text = """
        1299 2012-12-10 10:43:59.456 0.000 10.3.0.40 1.1.1.1 TCP 66 58138 > 50704 [SYN] Seq=3074395695 Win=8192 Len=0 MSS=1460 WS=256 SACK_PERM=1
        1300 2012-12-10 10:43:59.499 0.042 1.1.1.1 10.3.0.40 TCP 60 50704 > 58138 [RST, ACK] Seq=0 Ack=3074395696 Win=0 Len=0
        1353 2012-12-10 10:44:00.002 0.503 10.3.0.40 1.1.1.1 TCP 66 58138 > 50704 [SYN] Seq=3074395695 Win=8192 Len=0 MSS=1460 WS=256 SACK_PERM=1
        1356 2012-12-10 10:44:00.044 0.042 1.1.1.1 10.3.0.40 TCP 60 50704 > 58138 [RST, ACK] Seq=0 Ack=3074395696 Win=0 Len=0
        """
        let p = parse(WiresharkText.self, bytes: Array(text.utf8))
        let rsts = p.records.filter { TCPFlags(rawValue: $0.flags).contains(.rst) }
        XCTAssertEqual(rsts.map { $0.ordinal }, [1300, 1356])
        XCTAssertEqual(Set(p.records.compactMap { $0.connection?.key }).count, 1)
    }

    func testSiteMinderSeedGivesTraceColumnsNotLogLines() throws {
        // seeds/siteminder-webagent-handshake.txt lines 164-170: the post's advice and the trace configuration.
        // It names the columns of smtracedefault.log; it is no log, and no parser takes it.
        let text = """
        smtracedefault.log ==> minimum you will need the following 3 lines.

        components: AgentFunc/Init, AgentFunc/UnInit, AgentFunc/Tunnel, AgentFunc/GetConfig, AgentFunc/DoManagement, Server/Connection_Management, Server/Policy_Server_General, Tunnel_Service

        data: Date, PreciseTime, Pid, Tid, SrcFile, Function, IPAddr, IPPort, Message, ClusterID, Throughput

        version: 1.1
        """
        XCTAssertNil(Registry.detect(SniffHead(bytes: Array(text.utf8))))
        let (columns, _) = try XCTUnwrap(SiteMinderTrace.readConfig(text))
        XCTAssertEqual(columns.count, 11)
        XCTAssertEqual(columns[6...7], ["IPAddr", "IPPort"])
    }
}
