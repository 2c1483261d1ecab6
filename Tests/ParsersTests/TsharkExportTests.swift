import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// Every tshark 4.0 text layout of real captures made here (corpus/tshark-netns, README there), read
/// and compared packet by packet with tshark's own dissection of the same capture (`X.truth.tsv`).
final class TsharkExportTests: XCTestCase {
    struct Truth {
        var rows: [[String: String]] = []
        init(_ path: String) throws {
            let lines = try String(contentsOf: corpus.appendingPathComponent(path), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
            let header = lines[0].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            for l in lines.dropFirst() {
                let f = l.split(separator: "\t", omittingEmptySubsequences: false).map { String($0) }
                var row: [String: String] = [:]
                // ICMP errors carry two values (outer, quoted); the outer header is the packet's.
                for (k, v) in zip(header, f) where !v.isEmpty { row[k] = String(v.split(separator: ",")[0]) }
                rows.append(row)
            }
        }
    }

    static func ns(_ decimal: String) -> Int64 {
        let parts = decimal.split(separator: ".")
        var frac = parts.count > 1 ? String(parts[1]) : ""
        frac = String((frac + "000000000").prefix(9))
        return Int64(parts[0])! * 1_000_000_000 + Int64(frac)!
    }

    enum Clock { case epoch, relative, timeOfDay }

    func check<P: LineParser>(_ type: P.Type, _ file: String, truth: Truth, clock: Clock, digits: Int, filteredTCP: Bool = false) throws {
        let p = try parseFile(type, "tshark-netns/" + file)
        let rows = filteredTCP ? truth.rows.filter { $0["tcp.srcport"] != nil } : truth.rows
        XCTAssertEqual(p.records.count, rows.count, "\(file): packets")
        XCTAssertEqual(p.unparsed.count, 0, "\(file): \(p.unparsed.first?.reason ?? "")")
        XCTAssertEqual(p.facts.timeDigits, digits, "\(file): precision")
        var compared = 0
        for (r, t) in zip(p.records, rows) {
            let at = "\(file) frame \(r.ordinal)"
            XCTAssertEqual(r.ordinal, Int64(t["frame.number"]!), at)
            switch clock {
            case .epoch: XCTAssertEqual(r.ts, Self.ns(t["frame.time_epoch"]!), at)
            case .relative: XCTAssertEqual(r.ts, Self.ns(t["frame.time_relative"]!), at)
            case .timeOfDay: XCTAssertEqual(r.ts, Self.ns(t["frame.time_epoch"]!) % CivilTime.nsPerDay, at)
            }
            if let src = t["ip.src"] ?? t["ipv6.src"] {
                XCTAssertEqual(r.src, Address(ip: src), at)
                XCTAssertEqual(r.dst, Address(ip: (t["ip.dst"] ?? t["ipv6.dst"])!), at)
            }
            guard let sport = t["tcp.srcport"] else { continue }
            // Every TCP row gets its ports, also HTTP rows whose Info shows none.
            XCTAssertEqual(r.srcPort, Int32(sport), at)
            XCTAssertEqual(r.dstPort, Int32(t["tcp.dstport"]!), at)
            XCTAssertEqual(r.proto, IPProto.tcp, at)
            // Flags, Seq, Ack, Len, Win, TSval wherever the summary shows them (TCP rows, not HTTP ones).
            if r.flags >= 0 { XCTAssertEqual(r.flags, Int(t["tcp.flags"]!.dropFirst(2), radix: 16), at); compared += 1 }
            if r.seq != EventRecord.none { XCTAssertEqual(r.seq, Int64(t["tcp.seq"]!), at) }
            if r.ack != EventRecord.none { XCTAssertEqual(r.ack, Int64(t["tcp.ack"]!), at) }
            if r.len != EventRecord.none { XCTAssertEqual(r.len, Int64(t["tcp.len"]!), at) }
            if r.win != EventRecord.none {
                // Info shows the scaled window; the truth column is the raw header value.
                let rawWin = Int64(t["tcp.window_size_value"]!)!
                let factor = rawWin == 0 ? 1 : r.win / rawWin
                XCTAssertTrue(r.win == rawWin * factor && factor > 0 && factor & (factor - 1) == 0, "\(at): Win=\(r.win) raw \(rawWin)")
            }
            if r.tsval != EventRecord.none { XCTAssertEqual(r.tsval, Int64(t["tcp.options.timestamp.tsval"]!), at) }
            if r.mss != EventRecord.none { XCTAssertEqual(r.mss, Int64(t["tcp.options.mss_val"]!), at) }
            if r.ipID != EventRecord.none, let id = t["ip.id"] { XCTAssertEqual(r.ipID, Int64(id.dropFirst(2), radix: 16), at) }
            XCTAssertEqual(TCPExpert(rawValue: r.expert).contains(.retransmission), t["tcp.analysis.retransmission"] != nil, at)
        }
        XCTAssertGreaterThan(compared, 20, "\(file): TCP rows compared field by field")
    }

    func testEveryLayoutAgreesWithTsharksDissection() throws {
        for side in ["client", "server"] {
            let truth = try Truth("tshark-netns/\(side).truth.tsv")
            let digits = side == "client" ? 6 : 9
            try check(WiresharkText.self, "\(side).default.txt", truth: truth, clock: .relative, digits: digits)
            try check(WiresharkText.self, "\(side).t-ad.txt", truth: truth, clock: .epoch, digits: digits)
            try check(WiresharkText.self, "\(side).t-ud.txt", truth: truth, clock: .epoch, digits: digits)
            try check(WiresharkText.self, "\(side).t-e.txt", truth: truth, clock: .epoch, digits: digits)
            try check(WiresharkText.self, "\(side).t-a.txt", truth: truth, clock: .timeOfDay, digits: digits)
            // Deltas since the previous packet, accumulated, give the relative times back.
            try check(WiresharkText.self, "\(side).t-d.txt", truth: truth, clock: .relative, digits: digits)
            try check(WiresharkText.self, "\(side).columns-extra.t-ud.txt", truth: truth, clock: .epoch, digits: digits)
            try check(WiresharkCSV.self, "\(side).gui.csv", truth: truth, clock: .relative, digits: digits)
        }
    }

    func testDisplayedDeltasWithAFilterAccumulateOverTheShownRowsOnly() throws {
        // -t dd -Y tcp: each value is the time since the previous *shown* row, so the sum is the time
        // since the first shown row (the first TCP packet).
        let truth = try Truth("tshark-netns/client.truth.tsv")
        let tcp = truth.rows.filter { $0["tcp.srcport"] != nil }
        let p = try parseFile(WiresharkText.self, "tshark-netns/client.t-dd.Y-tcp.txt")
        XCTAssertEqual(p.records.count, tcp.count)
        let first = Self.ns(tcp[0]["frame.time_epoch"]!)
        for (r, t) in zip(p.records, tcp) {
            XCTAssertEqual(r.ts - p.records[0].ts, Self.ns(t["frame.time_epoch"]!) - first, "frame \(r.ordinal)")
        }
    }

    func testLocalTimeExportShiftsBackWithTheZoneTheUserGives() throws {
        // Exported with TZ=Asia/Kolkata: +05:30 given with --tz gives tshark's UTC epoch back.
        let truth = try Truth("tshark-netns/client.truth.tsv")
        let p = try parseFile(WiresharkText.self, "tshark-netns/client.t-ad.TZ-Asia-Kolkata.txt", zone: 5 * 3600 + 1800)
        XCTAssertEqual(p.records.map { $0.ts }, truth.rows.map { Self.ns($0["frame.time_epoch"]!) })
    }

    func testDetailsExportsGiveOneEventPerPacket() throws {
        // -P -V: summary line, then the dissection tree; -x adds hex dumps and "Reassembled TCP" blocks.
        let v = try parseFile(WiresharkText.self, "tshark-netns/client.http4.P-V.txt")
        XCTAssertEqual(v.records.map { $0.ordinal }, Array(3...12).map(Int64.init))
        XCTAssertEqual(v.unparsed.count, 0)
        XCTAssertTrue(v.raw(v.records[0]).contains("Transmission Control Protocol, Src Port: 41001, Dst Port: 8080"))
        let x = try parseFile(WiresharkText.self, "tshark-netns/client.http4-data.P-V-x.txt")
        XCTAssertEqual(x.records.count, 3)
        XCTAssertEqual(x.unparsed.count, 0)
        let refused = try parseFile(WiresharkText.self, "tshark-netns/server.refused.P-V-x.txt")
        XCTAssertEqual(refused.records.map { TCPFlags(rawValue: $0.flags) }, [.syn, [.rst, .ack]])
    }

    func testFieldDumpsAreNotTakenForPacketLists() throws {
        let text = try String(contentsOf: corpus.appendingPathComponent("tshark-netns/client.truth.tsv"), encoding: .utf8)
        XCTAssertEqual(WiresharkText.sniff(SniffHead(lines: text.components(separatedBy: "\n"))), 0)
    }
}
