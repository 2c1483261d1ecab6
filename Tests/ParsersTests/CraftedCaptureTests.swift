import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// Captures written byte by byte here, for what real captures at hand do not show.
final class CraftedCaptureTests: XCTestCase {
    /// An Ethernet/IPv4/TCP frame.
    static func frame(src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32, flags: UInt8, payload: Int = 0) -> [UInt8] {
        var f: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]
        let total = 20 + 20 + payload
        f += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0x12, 0x34, 0x40, 0, 64, 6, 0, 0]
        for v in [src, dst] { f += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        f += [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF)]
        for v in [seq, ack] { f += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        f += [0x50, flags, 0x10, 0x00, 0, 0, 0, 0]
        return f + [UInt8](repeating: 0x61, count: payload)
    }

    /// A big-endian, microsecond pcap of these (seconds, frame) records.
    static func pcapBigEndian(_ records: [(UInt32, [UInt8])]) -> [UInt8] {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        var out: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4, 0, 2, 0, 4] + be(0) + be(0) + be(65535) + be(1)
        for (sec, f) in records { out += be(sec) + be(250) + be(UInt32(f.count)) + be(UInt32(f.count)) + f }
        return out
    }

    func testBigEndianPcapAndAClosedConnectionForgottenLater() {
        let a: UInt32 = 0x0A00_0001, b: UInt32 = 0x0A00_0002
        let syn = CraftedCaptureTests.frame(src: a, dst: b, sport: 40000, dport: 80, seq: 1000, ack: 0, flags: 0x02)
        let synack = CraftedCaptureTests.frame(src: b, dst: a, sport: 80, dport: 40000, seq: 5000, ack: 1001, flags: 0x12)
        let rst = CraftedCaptureTests.frame(src: a, dst: b, sport: 40000, dport: 80, seq: 1001, ack: 5001, flags: 0x14)
        // The server's ACK arrives late: 10 s after the RST it is still numbered against the SYN/ACK;
        // 200 s after, the connection's state is gone and it counts from itself.
        let late = CraftedCaptureTests.frame(src: b, dst: a, sport: 80, dport: 40000, seq: 5001, ack: 1001, flags: 0x10)
        let bytes = CraftedCaptureTests.pcapBigEndian([(100, syn), (100, synack), (101, rst), (111, late), (301, late), (302, late)])
        XCTAssertEqual(Pcap.sniff(bytes), 1)
        let (sink, facts) = readCapture(Pcap.self, bytes, chunk: 17)
        XCTAssertEqual(facts.timeDigits, 6)
        XCTAssertEqual(sink.unparsedLines.count, 0)
        XCTAssertEqual(sink.records.map { $0.ts }, [100, 100, 101, 111, 301, 302].map { Int64($0) * 1_000_000_000 + 250_000 })
        XCTAssertEqual(sink.records.map { $0.seq }, [0, 0, 1, 1, 1, 1])
        XCTAssertEqual(sink.records[3].ack, 1)          // 1001 against the client's ISN 1000: still known
        XCTAssertEqual(sink.records[4].ack, 1001)       // forgotten: shown as the absolute number
        XCTAssertEqual(sink.records[2].flags, TCPFlags([.rst, .ack]).rawValue)
        XCTAssertEqual(sink.records[0].src, Address.v4(a))
    }
}
