import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// Our TCP expert analysis against tshark's (`tcp.analysis.*`) on a lossy, delayed transfer captured at
/// both ends (corpus/tcp-analysis, scripts/make-tcp-analysis-corpus.sh).
final class TCPAnalysisTests: XCTestCase {
    struct Agreement { var matches = 0, extra = 0, missed = 0 }

    static let flags: [(String, TCPExpert)] = [
        ("tcp.analysis.retransmission", .retransmission),
        ("tcp.analysis.fast_retransmission", .fastRetransmission),
        ("tcp.analysis.spurious_retransmission", .spuriousRetransmission),
        ("tcp.analysis.lost_segment", .previousSegmentLost),
        ("tcp.analysis.ack_lost_segment", .ackedLostSegment),
        ("tcp.analysis.duplicate_ack_num", .dupAck),
        ("tcp.analysis.zero_window", .zeroWindow),
        ("tcp.analysis.window_full", .windowFull),
        ("tcp.analysis.keep_alive", .keepAlive),
        ("tcp.analysis.keep_alive_ack", .keepAliveAck),
    ]

    func agreement(_ side: String) throws -> [String: Agreement] {
        let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("tcp-analysis/\(side).pcap")))
        var p = Pcap(context: ParseContext(path: side))
        let sink = CollectingCaptureSink()
        bytes.withUnsafeBufferPointer { p.consume($0, into: sink) }
        _ = p.finish(into: sink)
        let truth = try TsharkExportTests.Truth("tcp-analysis/\(side).analysis.tsv")
        XCTAssertEqual(sink.records.count, truth.rows.count, side)
        var out: [String: Agreement] = [:]
        for (r, t) in zip(sink.records, truth.rows) {
            // The duplicate ACK's number, as Wireshark counts it, opens the summary: `[TCP Dup ACK 17#2]`.
            if let n = t["tcp.analysis.duplicate_ack_num"] {
                XCTAssertTrue(sink.summary(r).hasPrefix("[TCP Dup ACK ") && sink.summary(r).contains("#\(n)] "), "\(side) frame \(r.ordinal): \(sink.summary(r))")
            }
            // Wireshark calls a retransmission that comes soon "out-of-order"; both are retransmissions here.
            let theirs = t.keys
            for (field, bit) in TCPAnalysisTests.flags {
                var they = theirs.contains(field)
                if bit == .retransmission { they = they || theirs.contains("tcp.analysis.out_of_order") }
                let we = TCPExpert(rawValue: r.expert).contains(bit)
                var a = out[field] ?? Agreement()
                if we && they { a.matches += 1 } else if we { a.extra += 1 } else if they { a.missed += 1 }
                out[field] = a
            }
        }
        return out
    }

    func testAgreementWithTshark() throws {
        // On this capture every flag agrees, packet by packet (counts from tshark: client 37 retransmissions
        // incl. out-of-order, 1 fast, 80 duplicate ACKs, 1 window full, 3 keep-alives and their ACKs;
        // server 34 retransmissions, 6 fast, 31 previous segments not captured, 80 duplicate ACKs).
        var total = 0
        for side in ["client", "server"] {
            let a = try agreement(side)
            for (field, _) in TCPAnalysisTests.flags {
                let x = a[field]!
                print("tcp-analysis \(side) \(field): matches \(x.matches), extra \(x.extra), missed \(x.missed)")
                XCTAssertEqual(x.extra, 0, "\(side) \(field)")
                XCTAssertEqual(x.missed, 0, "\(side) \(field)")
                total += x.matches
            }
        }
        XCTAssertGreaterThan(total, 250)
    }
}
