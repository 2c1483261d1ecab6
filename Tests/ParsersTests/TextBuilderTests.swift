import XCTest
@testable import Parsers

/// TextBuilder writes the numbers of every stored capture line; they must read exactly as `String(v)` does.
final class TextBuilderTests: XCTestCase {
    private func written(_ body: (inout TextBuilder) -> Void) -> String {
        var t = TextBuilder()
        body(&t)
        return t.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    func testNumbersReadAsStringDoes() {
        var values: [Int64] = Array(-1_000...100_000) + [Int64.min, Int64.min + 1, Int64.max, 4_294_967_295, 4_294_967_296]
        var p: Int64 = 1
        for _ in 0..<18 {
            p *= 10
            values += [p - 1, p, p + 1, -p, -(p - 1)]
        }
        var g = SystemRandomNumberGenerator()
        for _ in 0..<10_000 { values.append(Int64.random(in: .min ... .max, using: &g)) }
        for v in values {
            XCTAssertEqual(written { $0.append(v) }, String(v))
        }
        for v in [UInt64.max, UInt64.max - 1, UInt64(Int64.max) + 1, 10_000_000_000_000_000_000] {
            XCTAssertEqual(written { $0.append(v) }, String(v))
        }
    }

    func testDigitCountsAtEveryPowerOfTen() {
        var p: UInt64 = 1
        for digits in 1...19 {
            XCTAssertEqual(TextBuilder.decimalDigits(p), digits)
            XCTAssertEqual(TextBuilder.decimalDigits(p * 10 - 1), digits)
            p *= 10
        }
        XCTAssertEqual(TextBuilder.decimalDigits(0), 1)
        XCTAssertEqual(TextBuilder.decimalDigits(.max), 20)
    }

    func testPartsOfALineInOrder() {
        let s = written { t in
            t.append(Int64(3)); t.append(" "); t.append(text: "TCP"); t.append(" ")
            t.appendFlags(0x12); t.append(" Seq="); t.append(Int64(0)); t.append(" → ")
            t.appendFlags(0xFF)
        }
        XCTAssertEqual(s, "3 TCP SYN, ACK Seq=0 → FIN, SYN, RST, PSH, ACK, URG, ECE, CWR")
    }

    func testACopyKeepsItsOwnBytes() {
        var a = TextBuilder()
        a.append("abc")
        var b = a
        b.append("def")
        a.append("x")
        XCTAssertEqual(a.withBytes { String(decoding: $0, as: UTF8.self) }, "abcx")
        XCTAssertEqual(b.withBytes { String(decoding: $0, as: UTF8.self) }, "abcdef")
    }
}
