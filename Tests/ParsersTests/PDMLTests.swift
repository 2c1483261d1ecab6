import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// PDML of a real capture (`TZ=UTC tshark -r client.pcap -T pdml | gzip`, corpus/tshark-netns) read as a
/// stream, compared packet by packet with tshark's field dump of the same capture.
final class PDMLTests: XCTestCase {
    func pdmlBytes() throws -> [UInt8] {
        var out: [UInt8] = []
        try InputFile(path: corpus.appendingPathComponent("tshark-netns/client.pdml.gz").path, container: .gzip).read { out.append(contentsOf: $0); return true }
        return out
    }

    func testPDMLGivesTheCapturesFields() throws {
        let bytes = try pdmlBytes()
        XCTAssertEqual(PDML.sniff(Array(bytes.prefix(4096))), 1)
        let truth = try TsharkExportTests.Truth("tshark-netns/client.truth.tsv")
        for chunk in [bytes.count, 4093] {
            let (sink, facts) = readCapture(PDML.self, bytes, chunk: chunk)
            XCTAssertEqual(sink.unparsedLines.count, 0)
            XCTAssertEqual(facts.timeDigits, 9)
            XCTAssertEqual(sink.records.count, truth.rows.count)
            for (r, t) in zip(sink.records, truth.rows) {
                let at = "pdml frame \(r.ordinal)"
                XCTAssertEqual(r.ordinal, Int64(t["frame.number"]!), at)
                XCTAssertEqual(r.ts, TsharkExportTests.ns(t["frame.time_epoch"]!), at)
                if let src = t["ip.src"] ?? t["ipv6.src"] { XCTAssertEqual(r.src, Address(ip: src), at) }
                guard let sport = t["tcp.srcport"] else { continue }
                XCTAssertEqual(r.srcPort, Int32(sport), at)
                XCTAssertEqual(r.flags, Int(t["tcp.flags"]!.dropFirst(2), radix: 16), at)
                XCTAssertEqual(r.seq, Int64(t["tcp.seq"]!), at)
                XCTAssertEqual(r.seqRaw, Int64(t["tcp.seq_raw"]!), at)
                XCTAssertEqual(r.len, Int64(t["tcp.len"]!), at)
                XCTAssertEqual(TCPExpert(rawValue: r.expert).contains(.retransmission), t["tcp.analysis.retransmission"] != nil, at)
            }
        }
    }

    func testBrokenXMLKeepsWhatCameBeforeAndSaysWhere() throws {
        var bytes = try pdmlBytes()
        // Cut the file in the middle and glue garbage on: the packets before the break are read.
        bytes = Array(bytes[..<(bytes.count / 2)]) + Array("<<<not xml>>>".utf8)
        let (sink, _) = readCapture(PDML.self, bytes, chunk: 65536)
        XCTAssertGreaterThan(sink.records.count, 10)
        XCTAssertLessThan(sink.records.count, 53)
        XCTAssertEqual(sink.unparsedLines.count, 1)
        XCTAssertTrue(sink.unparsedLines[0].reason.hasPrefix("XML error at line"), sink.unparsedLines[0].reason)
    }
}
