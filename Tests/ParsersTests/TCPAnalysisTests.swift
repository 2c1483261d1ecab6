import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// Our TCP expert analysis against tshark's (`tcp.analysis.*`), packet by packet, on real transfers captured
/// at both ends (corpus/tcp-analysis/*, scripts/make-tcp-analysis-corpus.sh): a lossy bulk transfer with
/// keep-alives, a transfer whose ACKs were lost for a while (and whose server capture missed segments), and
/// a transfer into a receiver that stopped reading.
final class TCPAnalysisTests: XCTestCase {
    struct Agreement {
        var matches = 0, extra = 0, missed = 0
        /// The first frames where we and tshark differ, to say where to look.
        var differ: [Int64] = []
    }

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
        ("tcp.analysis.out_of_order", .outOfOrder),
        ("tcp.analysis.window_update", .windowUpdate),
        ("tcp.analysis.zero_window_probe", .zeroWindowProbe),
        ("tcp.analysis.zero_window_probe_ack", .zeroWindowProbeAck),
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
            let theirs = t.keys
            for (field, bit) in TCPAnalysisTests.flags {
                let they = theirs.contains(field)
                let we = TCPExpert(rawValue: r.expert).contains(bit)
                var a = out[field] ?? Agreement()
                if we && they { a.matches += 1 } else if we { a.extra += 1 } else if they { a.missed += 1 }
                if we != they && a.differ.count < 5 { a.differ.append(r.ordinal) }
                out[field] = a
            }
        }
        return out
    }

    /// Every flag agrees with tshark's on both captures of a scenario; `shows` are flags the scenario was
    /// made to produce (tshark's own counts, checkable with `tshark -r X -Y tcp.analysis.flags`).
    func checkAgreement(_ scenario: String, shows: [(side: String, field: String, count: Int)]) throws {
        for side in ["client", "server"] {
            let a = try agreement("\(scenario)/\(side)")
            for (field, _) in TCPAnalysisTests.flags {
                let x = a[field]!
                if x.matches + x.missed > 0 || x.extra > 0 {
                    print("tcp-analysis \(scenario) \(side) \(field): matches \(x.matches), extra \(x.extra), missed \(x.missed)"
                          + (x.differ.isEmpty ? "" : ", first differing frames \(x.differ)"))
                }
                XCTAssertEqual(x.extra, 0, "\(scenario) \(side) \(field)")
                XCTAssertEqual(x.missed, 0, "\(scenario) \(side) \(field)")
            }
            for s in shows where s.side == side {
                XCTAssertEqual(a[s.field]!.matches, s.count, "\(scenario) \(side) \(s.field)")
            }
        }
    }

    func testLossyBulkTransfer() throws {
        // 3 % of client→server frames dropped: the server sees the gaps (previous segment not captured) and
        // asks with duplicate ACKs; the client resends, mostly within one RTT of its newest segment
        // (out-of-order to Wireshark); three keep-alives with their ACKs at the end.
        try checkAgreement("bulk", shows: [
            ("client", "tcp.analysis.out_of_order", 36), ("client", "tcp.analysis.fast_retransmission", 1),
            ("client", "tcp.analysis.duplicate_ack_num", 80), ("client", "tcp.analysis.keep_alive", 3),
            ("client", "tcp.analysis.keep_alive_ack", 3), ("client", "tcp.analysis.window_full", 1),
            ("server", "tcp.analysis.lost_segment", 31), ("server", "tcp.analysis.fast_retransmission", 6),
            ("server", "tcp.analysis.out_of_order", 28), ("server", "tcp.analysis.window_update", 379),
        ])
    }

    func testLostACKsAndACKedUnseenSegments() throws {
        // The server's ACKs dropped for 0.6 s: the client times out and resends what the server already
        // acknowledged (spurious, seen at the server); the server's capture skipped one client segment in 64,
        // so the server ACKs data its capture never saw.
        try checkAgreement("ackloss", shows: [
            ("server", "tcp.analysis.spurious_retransmission", 2), ("server", "tcp.analysis.ack_lost_segment", 13),
            ("server", "tcp.analysis.lost_segment", 12), ("client", "tcp.analysis.retransmission", 2),
        ])
    }

    func testReceiverThatStopsReading() throws {
        // A 4 KiB receive buffer not read for 3 s: the client fills the window (window full), the server
        // announces a zero window, the client probes it (Linux's probes look like keep-alives to Wireshark)
        // and window updates follow as the server reads.
        try checkAgreement("zerowindow", shows: [
            ("client", "tcp.analysis.zero_window", 4), ("client", "tcp.analysis.window_full", 206),
            ("client", "tcp.analysis.keep_alive", 3), ("server", "tcp.analysis.window_update", 48),
            ("server", "tcp.analysis.window_full", 107),
        ])
    }

    /// tcpdump's text of the same packets gets the same marks as the capture: tcpdump omits a pure ACK's
    /// sequence number, so keep-alives (one less than the next) are told from duplicate ACKs by silence.
    func testTcpdumpTextCarriesTheCapturesMarks() throws {
        var keepAlives = 0
        for scenario in ["bulk", "ackloss", "zerowindow"] {
            for side in ["client", "server"] {
                let pcap = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("tcp-analysis/\(scenario)/\(side).pcap")))
                var p = Pcap(context: ParseContext(path: side))
                let sink = CollectingCaptureSink()
                pcap.withUnsafeBufferPointer { p.consume($0, into: sink) }
                _ = p.finish(into: sink)
                var text: [UInt8] = []
                let gz = corpus.appendingPathComponent("tcp-analysis/\(scenario)/\(side).tcpdump-ttttnn.txt.gz").path
                try InputFile(path: gz, container: .gzip).read { text.append(contentsOf: $0); return true }
                let t = parse(TcpdumpText.self, bytes: text)
                XCTAssertEqual(t.records.count, sink.records.count, "\(scenario) \(side)")
                XCTAssertEqual(t.unparsed.count, 0, "\(scenario) \(side)")
                for (a, b) in zip(t.records, sink.records) {
                    XCTAssertEqual(a.seqRaw, b.seqRaw, "\(scenario) \(side) frame \(b.ordinal)")
                    XCTAssertEqual(TCPExpert(rawValue: a.expert).names, TCPExpert(rawValue: b.expert).names, "\(scenario) \(side) frame \(b.ordinal)")
                    if TCPExpert(rawValue: a.expert).contains(.keepAlive) { keepAlives += 1 }
                }
            }
        }
        // Three keep-alives at each end of the bulk transfer, three probes at each end of the zero window.
        XCTAssertEqual(keepAlives, 12)
    }
}
