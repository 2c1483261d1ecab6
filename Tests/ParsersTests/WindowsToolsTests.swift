import XCTest
import Foundation
@testable import Parsers
import TraceModel

final class ProcessCollector: RecordSink {
    var records: [EventRecord] = []
    var processes: [(Int64, String, String?)] = []
    func emit(_ record: EventRecord) { records.append(record) }
    func unparsed(_ line: UnparsedLine) {}
    func process(pid: Int64, image: String, services: String?, line: Int) { processes.append((pid, image, services)) }
}

/// tracerpt rows and tasklist output (corpus/exchange-udp, seed lines verbatim).
final class WindowsToolsTests: XCTestCase {
    func testTracerptRowsRunTogether() throws {
        let p = try parseFile(TracerptCSV.self, "exchange-udp/dumpfile.txt")
        XCTAssertEqual(p.records.count, 4, "four complete UdpIp rows; the line ends in `...`")
        XCTAssertEqual(p.unparsed.count, 0)
        let r = p.records[0]
        XCTAssertEqual(r.proto, IPProto.udp)
        XCTAssertEqual(r.src, Address(ip: "172.16.57.15")); XCTAssertEqual(r.srcPort, 36003)
        XCTAssertEqual(r.dst, Address(ip: "172.16.1.1")); XCTAssertEqual(r.dstPort, 2762)
        XCTAssertEqual(r.len, 8)
        XCTAssertTrue(r.attrs?.contains("\"pid\":2136") == true)
        // FILETIME 129079416141424158 = 2010-01-14 11:20:14.1424158 UTC.
        XCTAssertEqual(r.ts, (CivilTime.days(year: 2010, month: 1, day: 14) * 86400 + 11 * 3600 + 20 * 60 + 14) * CivilTime.nsPerSecond + 142_415_800)
        XCTAssertEqual(p.records.map(\.dstPort), [2762, 6004, 2344, 1116])
    }

    func tasklist(_ text: String) -> [(Int64, String, String?)] {
        var parser = TasklistText(context: ParseContext(path: "t"))
        let sink = ProcessCollector()
        var splitter = LineSplitter()
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { splitter.feed($0) { parser.consume($0, into: sink) } }
        splitter.finish { parser.consume($0, into: sink) }
        _ = parser.finish(into: sink)
        return sink.processes
    }

    func testFlattenedTasklistNamesPID2136() throws {
        let text = try String(contentsOf: corpus.appendingPathComponent("exchange-udp/tasklist.txt"), encoding: .utf8)
        let procs = tasklist(text)
        XCTAssertEqual(procs.count, 13)
        XCTAssertEqual(procs.first { $0.0 == 2136 }?.1, "store.exe")
        XCTAssertEqual(procs.first?.1, "cqmghost.exe", "the leading `...` of the excerpt is not part of the name")
        XCTAssertEqual(procs.first { $0.0 == 10092 }?.1, "AntigenStore.exe", "the glued K removed once")
    }

    func testTasklistAsWindowsPrintsIt() {
        // tasklist's own layout, and /svc with a service list continued on the next line.
        let plain = """

        Image Name                     PID Session Name        Session#    Mem Usage
        ========================= ======== ================ =========== ============
        System Idle Process              0 Services                   0          8 K
        KeyIso.exe                     620 Services                   0      1,960 K
        store.exe                     2136 Console                    0  1,040,592 K
        """
        let a = tasklist(plain)
        XCTAssertEqual(a.map(\.0), [0, 620, 2136])
        XCTAssertEqual(a.map(\.1), ["System Idle Process", "KeyIso.exe", "store.exe"])
        let svc = """
        Image Name                     PID Services
        ========================= ======== ============================================
        svchost.exe                    868 DcomLaunch, PlugPlay, Power
        svchost.exe                   1952 CryptSvc, Dnscache, LanmanWorkstation,
                                           NlaSvc, TermService
        store.exe                     2136 N/A
        """
        let b = tasklist(svc)
        XCTAssertEqual(b.map(\.0), [868, 1952, 2136])
        XCTAssertEqual(b[1].2, "CryptSvc, Dnscache, LanmanWorkstation, NlaSvc, TermService")
        XCTAssertNil(b[2].2)
    }
}

extension WindowsToolsTests {
    func testEventViewerEntryWithItsMessage() throws {
        // corpus/rdp-reset/ts-server-eventlog.txt (seed lines 344-345): the entry the post matches to the reset.
        let p = try parseFile(EventlogText.self, "rdp-reset/ts-server-eventlog.txt")
        XCTAssertEqual(p.records.count, 1)
        XCTAssertEqual(p.unparsed.count, 0)
        let e = p.records[0]
        XCTAssertEqual(e.kind, .log)
        XCTAssertEqual(e.ts, (CivilTime.days(year: 2013, month: 1, day: 6) * 86400 + 8 * 3600 + 54 * 60 + 40) * CivilTime.nsPerSecond)
        XCTAssertEqual(e.attrs, "{\"level\":\"Error\",\"provider\":\"Service Control Manager\",\"event_id\":7034,\"category\":\"None\"}")
        XCTAssertEqual(p.summary(e), "The Remote Desktop Services service terminated unexpectedly. It has done this 3 time(s).")
    }

    func testEventViewerTextExportWithTabsAndSeveralEntries() {
        // Event Viewer's "Save All Events As… Text": tab-separated columns, PM times, a two-word level.
        let text = "Information\t1/6/2013 1:02:03 PM\tService Control Manager\t7036\tNone\tThe Remote Desktop Services service entered the running state.\n"
            + "Audit Failure\t1/6/2013 1:05:00 PM\tMicrosoft-Windows-Security-Auditing\t4625\tLogon\tAn account failed to log on.\n"
        let p = parse(EventlogText.self, bytes: Array(text.utf8))
        XCTAssertEqual(p.records.count, 2)
        XCTAssertEqual(p.records[1].ts - p.records[0].ts, 177 * CivilTime.nsPerSecond)
        XCTAssertEqual(p.records[0].ts % CivilTime.nsPerDay, (13 * 3600 + 2 * 60 + 3) * CivilTime.nsPerSecond)
        XCTAssertTrue(p.records[1].attrs?.contains("\"level\":\"Audit Failure\"") == true)
        XCTAssertTrue(p.records[1].attrs?.contains("\"event_id\":4625") == true)
        XCTAssertTrue(p.records[0].attrs?.contains("\"category\":\"None\"}") == true, p.records[0].attrs ?? "")
        XCTAssertEqual(p.summary(p.records[0]), "The Remote Desktop Services service entered the running state.")
    }
}
