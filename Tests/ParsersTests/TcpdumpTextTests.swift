import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// tcpdump 4.99's text output of the same real captures (corpus/tshark-netns, `TZ=UTC tcpdump [opts] -r
/// X.pcap`), compared packet by packet with tshark's dissection of the capture.
final class TcpdumpTextTests: XCTestCase {
    func testEveryLayoutGivesTheCapturesFields() throws {
        for (file, side, clock) in [("client.tcpdump-nn.txt", "client", "tod"), ("client.tcpdump-n.txt", "client", "tod"),
                                    ("client.tcpdump-ttttnn.txt", "client", "epoch"), ("client.tcpdump-vnn.txt", "client", "tod"),
                                    ("client.tcpdump-Snn.txt", "client", "tod"), ("server.tcpdump-nn.txt", "server", "tod"),
                                    ("server.tcpdump-ttttnn.txt", "server", "epoch")] {
            let text = try String(contentsOf: corpus.appendingPathComponent("tshark-netns/" + file), encoding: .utf8)
            XCTAssertGreaterThan(TcpdumpText.sniff(SniffHead(lines: text.components(separatedBy: "\n"))), 0.5, file)
            XCTAssertEqual(WiresharkText.sniff(SniffHead(lines: text.components(separatedBy: "\n"))), 0, file)
            let p = try parseFile(TcpdumpText.self, "tshark-netns/" + file)
            let truth = try TsharkExportTests.Truth("tshark-netns/\(side).truth.tsv")
            XCTAssertEqual(p.records.count, truth.rows.count, file)
            XCTAssertEqual(p.unparsed.count, 0, "\(file): \(p.unparsed.first.map { "\($0.line) \($0.reason)" } ?? "")")
            for (r, t) in zip(p.records, truth.rows) {
                let at = "\(file) packet \(r.ordinal)"
                // tcpdump prints microseconds unless told otherwise, cutting the server's nanoseconds off.
                let epoch = TsharkExportTests.ns(t["frame.time_epoch"]!) / 1000 * 1000
                XCTAssertEqual(r.ts, clock == "epoch" ? epoch : epoch % CivilTime.nsPerDay, at)
                if let src = t["ip.src"] ?? t["ipv6.src"], t["_ws.col.Protocol"] != "ICMP" {
                    XCTAssertEqual(r.src, Address(ip: src), at)
                }
                if file.contains("vnn"), let id = t["ip.id"], t["_ws.col.Protocol"] != "ICMP" { XCTAssertEqual(r.ipID, Int64(id.dropFirst(2), radix: 16), at) }
                guard let sport = t["tcp.srcport"] else { continue }
                XCTAssertEqual(r.srcPort, Int32(sport), at)
                XCTAssertEqual(r.dstPort, Int32(t["tcp.dstport"]!), at)
                XCTAssertEqual(r.flags, Int(t["tcp.flags"]!.dropFirst(2), radix: 16), at)
                XCTAssertEqual(r.seqRaw, Int64(t["tcp.seq_raw"]!), at)
                XCTAssertEqual(r.seq, Int64(t["tcp.seq"]!), at)
                if r.flags & TCPFlags.ack.rawValue != 0 {
                    XCTAssertEqual(r.ackRaw, Int64(t["tcp.ack_raw"]!), at)
                    XCTAssertEqual(r.ack, Int64(t["tcp.ack"]!), at)
                }
                XCTAssertEqual(r.len, Int64(t["tcp.len"]!), at)
                if let v = t["tcp.options.timestamp.tsval"] { XCTAssertEqual(r.tsval, Int64(v), at) }
                if let v = t["tcp.options.mss_val"] { XCTAssertEqual(r.mss, Int64(v), at) }
                let rawWin = Int64(t["tcp.window_size_value"]!)!
                XCTAssertTrue(rawWin == 0 ? r.win == 0 : (r.win % rawWin == 0 && (r.win / rawWin) & (r.win / rawWin - 1) == 0), "\(at): Win=\(r.win) raw \(rawWin)")
                XCTAssertEqual(TCPExpert(rawValue: r.expert).contains(.retransmission), t["tcp.analysis.retransmission"] != nil, at)
            }
        }
    }
}
