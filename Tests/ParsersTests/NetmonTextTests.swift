import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// Network Monitor text exports of ETL traces (corpus/lync-edge, seed lines verbatim).
final class NetmonTextTests: XCTestCase {
    func testEdgeTraceFramesAndStackEvents() throws {
        let p = try parseFile(NetmonText.self, "lync-edge/edge-etl.txt")
        XCTAssertEqual(p.records.count, 44)
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.facts.timeBasis, .relative)
        XCTAssertEqual(p.facts.timeDigits, 7, "seconds since the capture began, to 100 ns")
        // Three captured SYNs from 192.168.1.1:50357 to 5061, the same ISN, the later two marked resends.
        let syns = p.records.filter { $0.kind == .packet }
        XCTAssertEqual(syns.map(\.ordinal), [106631, 106984, 107347])
        for s in syns {
            XCTAssertEqual(s.flags, TCPFlags.syn.rawValue)
            XCTAssertEqual(s.seqRaw, 2232090326)
            XCTAssertEqual(s.src, Address(ip: "192.168.1.1")); XCTAssertEqual(s.srcPort, 50357)
            XCTAssertEqual(s.dst, Address(ip: "192.168.3.10")); XCTAssertEqual(s.dstPort, 5061)
        }
        XCTAssertEqual(syns.map { TCPExpert(rawValue: $0.expert).contains(.synRetransmit) }, [false, true, true])
        // 713.5078058 s after the capture began; the first SYN's process.
        XCTAssertEqual(syns[0].ts, 713_507_805_800)
        XCTAssertTrue(syns[0].attrs?.contains("\"process\":\"RTCSrv.exe\",\"pid\":1504") == true, syns[0].attrs ?? "")
        // Stack events: the retransmission timers, the ISN, the failure, each bound to the tuple it names.
        let timers = p.records.compactMap { rec -> Int? in
            guard let a = rec.attrs, let r = a.range(of: "\"timer_ms\":") else { return nil }
            return Int(a[r.upperBound...].prefix { $0.isNumber })
        }
        XCTAssertEqual(timers, [3000, 6000, 12000])
        XCTAssertTrue(p.records.contains { $0.attrs?.contains("\"isn\":2232090326") == true })
        let failed = try XCTUnwrap(p.records.first { p.raw($0).contains("connect attempt failed") })
        XCTAssertTrue(failed.attrs?.contains("\"status\":\"0xC00000B5 - STATUS_IO_TIMEOUT\"") == true, failed.attrs ?? "")
        XCTAssertEqual(failed.srcPort, 50357)
        XCTAssertEqual(failed.dst, Address(ip: "192.168.3.10"))
        XCTAssertTrue(failed.attrs?.contains("\"pointer\":\"0x000000000829C860\"") == true)
        // The wall clock (to the second) and the seconds column pin the capture's start within a second.
        let (at, u) = try XCTUnwrap(p.facts.anchor)
        let first = CivilTime.days(year: 2013, month: 1, day: 8) * CivilTime.nsPerDay + (11 * 3600 + 18 * 60 + 57) * CivilTime.nsPerSecond
        XCTAssertLessThanOrEqual(u, 500_000_000)
        XCTAssertLessThanOrEqual(abs((at + 713_507_805_800) - (first + 500_000_000)), 500_000_000, "frame 106631 at 11:18:57.x")
    }

    func testGluedAddressesAndStateTransitions() throws {
        let p = try parseFile(NetmonText.self, "lync-edge/frontend-etl.txt")
        XCTAssertEqual(p.records.count, 23)
        XCTAssertEqual(p.unparsed.count, 0)
        // `192.168.3.10 192.168.1.1TCP` and `192.168.1.1192.168.3.10 TCP` (seed lines 798, 800).
        let synack = try XCTUnwrap(p.records.first { $0.ordinal == 612953 })
        XCTAssertEqual(synack.src, Address(ip: "192.168.3.10")); XCTAssertEqual(synack.dst, Address(ip: "192.168.1.1"))
        XCTAssertEqual(synack.flags, TCPFlags.syn.rawValue | TCPFlags.ack.rawValue)
        XCTAssertTrue(TCPExpert(rawValue: synack.expert).contains(.checksumIncorrect))
        let rst = try XCTUnwrap(p.records.first { $0.ordinal == 612967 })
        XCTAssertEqual(rst.src, Address(ip: "192.168.1.1")); XCTAssertEqual(rst.dst, Address(ip: "192.168.3.10"))
        XCTAssertEqual(rst.flags, TCPFlags.rst.rawValue | TCPFlags.ack.rawValue)
        // A SYN's acknowledgment field is junk on this trace (Ack=2948578651): not kept.
        XCTAssertEqual(p.records.first { $0.ordinal == 606227 }?.ackRaw, EventRecord.none)
        let closed = p.records.filter { $0.attrs?.contains("\"state_to\":\"ClosedState\"") == true }
        XCTAssertEqual(closed.map(\.ordinal), [612970, 624008])
        XCTAssertTrue(closed.allSatisfy { $0.attrs?.contains("\"state_from\":\"SynRcvdState\"") == true })
    }
}

extension NetmonTextTests {
    func testDirectAccessIPv6EndpointsWithTheirPortAppended() throws {
        // corpus/directaccess-outlook: times of day to 100 ns, no date; IPv6 endpoints written with the port
        // as a ninth group (`2001:0:0A0B:86E8:388E:FCB:4337:1876:61581 (0xF08D)`).
        let p = try parseFile(NetmonText.self, "directaccess-outlook/outlook-etl.txt")
        XCTAssertEqual(p.records.count, 27)
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.facts.timeBasis, .timeOfDay)
        XCTAssertEqual(p.facts.timeDigits, 7)
        let tcb = try XCTUnwrap(p.records.first { $0.ordinal == 31519 })
        XCTAssertEqual(tcb.src, Address(ip: "2001:0:0A0B:86E8:388E:FCB:4337:1876")); XCTAssertEqual(tcb.srcPort, 61581)
        XCTAssertEqual(tcb.dst, Address(ip: "2002:0A01:86E8:8001:0:0:A0B:0202")); XCTAssertEqual(tcb.dstPort, 135)
        XCTAssertEqual(tcb.ts, (15 * 3600 + 37 * 60 + 26) * CivilTime.nsPerSecond + 964_819_100)
        XCTAssertTrue(p.records.first { $0.ordinal == 31541 }?.attrs?.contains("\"state_to\":\"EstablishedState\"") == true)
    }

    func testCaptureWithEuropeanDatesHostNamesAndFrameDetails() throws {
        // corpus/sccm-client-push: a Network Monitor capture (no process column), `05.09.2012`, a host name
        // for the client, conversation ids after MSRPC/DCOM summaries, frame 5885 with its details.
        let p = try parseFile(NetmonText.self, "sccm-client-push/sccm-server-netmon.txt")
        XCTAssertEqual(p.records.count, 10)
        XCTAssertEqual(p.unparsed.count, 0)
        let syn = try XCTUnwrap(p.records.first { $0.ordinal == 5851 })
        XCTAssertEqual(syn.dst, .name("CLIENTNAME.company.com"))
        XCTAssertEqual(syn.dstPort, 135, "DCE endpoint resolution(135)")
        XCTAssertEqual(syn.seqRaw, 2250995253)
        XCTAssertEqual(syn.ts, 34_033_729_600)
        let dcom = try XCTUnwrap(p.records.first { $0.ordinal == 5885 })
        XCTAssertEqual(dcom.label, "DCOM")
        XCTAssertTrue(dcom.attrs?.contains("\"conversation\":\"MSRPC:865, TCP:861, IPv4:843\"") == true, dcom.attrs ?? "")
        XCTAssertTrue(dcom.attrs?.contains("\"src_mac\":\"00-22-64-08-91-A6\"") == true, dcom.attrs ?? "")
        XCTAssertTrue(p.raw(dcom).contains("InstantiatedObjectClsId"), "the frame's details stay with it")
        // The wall clock reads 14:42:47 on 5 September 2012 for every frame, 34.03…34.08 s into the capture.
        let (at, u) = try XCTUnwrap(p.facts.anchor)
        let wall = CivilTime.days(year: 2012, month: 9, day: 5) * CivilTime.nsPerDay + (14 * 3600 + 42 * 60 + 47) * CivilTime.nsPerSecond
        XCTAssertLessThanOrEqual(u, 500_000_000)
        XCTAssertTrue((wall...(wall + CivilTime.nsPerSecond)).contains(at + 34_033_729_600))
    }
}

extension NetmonTextTests {
    func testNetworkMonitorsOwnEncodingUTF16WithBOMAndCRLF() throws {
        // Network Monitor saves text as UTF-16LE with a BOM and CRLF line ends: the same frames come out.
        let utf8 = try String(contentsOf: corpus.appendingPathComponent("lync-edge/frontend-etl.txt"), encoding: .utf8)
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in utf8.replacingOccurrences(of: "\n", with: "\r\n").utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        let wide = parse(NetmonText.self, bytes: bytes, chunk: 333)
        let plain = try parseFile(NetmonText.self, "lync-edge/frontend-etl.txt")
        XCTAssertEqual(wide.records.count, plain.records.count)
        XCTAssertEqual(wide.unparsed.count, 0)
        for (a, b) in zip(wide.records, plain.records) {
            XCTAssertEqual(a.ordinal, b.ordinal); XCTAssertEqual(a.ts, b.ts); XCTAssertEqual(a.flags, b.flags)
            XCTAssertEqual(a.seqRaw, b.seqRaw); XCTAssertEqual(a.attrs, b.attrs)
        }
    }

    func testLatin1ProcessNameAndUnknownEventTextKeepTheirLines() throws {
        // A process name in Latin-1 (`Zürich.exe` written as one byte 0xFC) and an event text no rule knows:
        // both lines stay events, nothing is lost.
        var bytes = Array("900 10:00:01 AM 1/8/2013 1.0000000 Z".utf8) + [0xFC] + Array("rich.exe (77) TCPIP_MicrosoftWindowsTCPIP TCPIP_MicrosoftWindowsTCPIP:TCP: something new happened.\n".utf8)
        bytes += Array("901 10:00:02 AM 1/8/2013 2.0000000 Idle (0) SomeProvider_MicrosoftWindowsFoo SomeProvider_MicrosoftWindowsFoo:Bar: baz\n".utf8)
        let p = parse(NetmonText.self, bytes: bytes)
        XCTAssertEqual(p.records.map(\.ordinal), [900, 901])
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.records[0].kind, .log)
        XCTAssertTrue(p.records[0].attrs?.contains("\"pid\":77") == true)
        XCTAssertEqual(p.records[1].label, "SomeProvider_MicrosoftWindowsFoo")
    }
}
