import XCTest
@testable import ClickHouse
@testable import EventStore
import TraceModel

/// Bytes checked by hand against ClickHouse's "RowBinary" format page: little-endian integers, LEB128 string
/// lengths, a 0/1 byte before Nullable values, 16 network-order bytes for IPv6.
final class RowBinaryTests: XCTestCase {
    func testIntegersAreLittleEndian() {
        var w = RowBinaryWriter()
        w.uint16(0x0102)
        w.uint32(0x0A0B_0C0D)
        w.int64(-2)
        w.uint64(1)
        XCTAssertEqual(w.bytes, [0x02, 0x01, 0x0D, 0x0C, 0x0B, 0x0A,
                                 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                 0x01, 0, 0, 0, 0, 0, 0, 0])
    }

    func testStringLengthIsLEB128() {
        var w = RowBinaryWriter()
        w.string("")
        w.string("abc")
        XCTAssertEqual(w.bytes, [0x00, 0x03, 0x61, 0x62, 0x63])
        // 300 = 0b1_0010_1100: low seven bits 0x2C with the continuation bit (0xAC), then 0x02.
        var l = RowBinaryWriter()
        l.string(String(repeating: "x", count: 300))
        XCTAssertEqual(Array(l.bytes.prefix(3)), [0xAC, 0x02, 0x78])
        XCTAssertEqual(l.count, 302)
        var v = RowBinaryWriter()
        v.varUInt(127); v.varUInt(128); v.varUInt(16384)
        XCTAssertEqual(v.bytes, [0x7F, 0x80, 0x01, 0x80, 0x80, 0x01])
        // UTF-8 bytes are counted, not characters: "é" is two bytes.
        var u = RowBinaryWriter()
        u.string("é")
        XCTAssertEqual(u.bytes, [0x02, 0xC3, 0xA9])
    }

    func testNullable() {
        var w = RowBinaryWriter()
        w.nullable(UInt16(80)) { $0.uint16($1) }
        w.nullable(nil as UInt16?) { $0.uint16($1) }
        XCTAssertEqual(w.bytes, [0x00, 0x50, 0x00, 0x01], "0 then the value; 1 alone for NULL")
    }

    func testAddressesAs16Bytes() {
        XCTAssertEqual(EventRows.ip16("10.96.0.1"), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 96, 0, 1], "IPv4 v4-mapped")
        XCTAssertEqual(EventRows.ip16("2001:db8::1"), [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(EventRows.ip16("Broadcast"), [UInt8](repeating: 0, count: 16), "names have no address bytes")
        XCTAssertEqual(EventRows.ip16(nil), [UInt8](repeating: 0, count: 16))
    }

    /// One event, every column, as bytes a person can follow with the schema beside them.
    func testOneEventRow() throws {
        var rows = EventRows(dataset: "d", communityIDs: [-2: "1:abc"], addresses: [5: "10.0.0.1"])
        var e = PushEvent()
        e.id = 1; e.ordinal = 7; e.line = 9; e.ts = 1_000; e.kind = .packet; e.proto = 6; e.src = 5; e.sport = 80; e.conn = -2
        e.flags = 0x12; e.seq = 1; e.raw = Array("r".utf8); e.summaryAt = nil; e.summary = Array("s".utf8)
        var w = RowBinaryWriter()
        try rows.write([e], host: "h", sourceID: 0x0102, path: "p", into: &w)
        var expect: [UInt8] = [1, 0x64]                                   // dataset "d"
        expect += [1, 0x68]                                               // host "h"
        expect += [0x02, 0x01, 0, 0, 0, 0, 0, 0]                          // source_id 0x0102
        expect += [7, 0, 0, 0, 0, 0, 0, 0]                                // ordinal 7
        expect += [1, 0, 0, 0, 0, 0, 0, 0]                                // event_id 1
        expect += [9, 0, 0, 0, 0, 0, 0, 0]                                // line 9
        expect += [0xE8, 0x03, 0, 0, 0, 0, 0, 0]                          // ts_src 1000
        expect += [6] + Array("packet".utf8)                              // kind
        expect += [0, 6]                                                  // proto 6
        expect += [8] + Array("10.0.0.1".utf8)                            // src
        expect += [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1] // src_ip
        expect += [0, 80, 0]                                              // sport 80
        expect += [0]                                                     // dst ""
        expect += [UInt8](repeating: 0, count: 16)                        // dst_ip
        expect += [1]                                                     // dport NULL
        expect += [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]        // conn_key: the bit pattern of -2
        expect += [5] + Array("1:abc".utf8)                               // community_id
        expect += [0, 0x12, 0]                                            // flags SYN|ACK
        expect += [0, 1, 0, 0, 0, 0, 0, 0, 0]                             // seq 1
        expect += [1, 1, 1, 1, 1, 1, 1]                                   // ack … mss NULL
        expect += [0, 0, 0, 0]                                            // expert 0
        expect += [1, 1]                                                  // frame_len, label NULL
        expect += [0, 0, 0, 0, 1, 0x73]                                   // summary_at 0, summary_text "s" (not in raw)
        expect += [1, 0x72]                                               // raw "r"
        expect += [1, 1, 1]                                               // attrs, seq_raw, ack_raw NULL
        XCTAssertEqual(w.bytes, expect)
    }

    func testSummaryIsAnOffsetIntoRawWhenItCan() {
        // What the store holds: the record's bytes and where its summary starts; what the push sends: raw without CRs
        // and the summary as an offset into it when it is the tail of raw's first line, else as text.
        func place(_ raw: String, from start: Int, joined: String? = nil) -> (raw: String, at: Int?, text: String) {
            var e = PushEvent()
            e.setText(Array(raw.utf8), summaryStart: start, joined: joined)
            return (String(decoding: e.raw, as: UTF8.self), e.summaryAt, String(decoding: e.summary, as: UTF8.self))
        }
        // tshark's Info column: the tail of the packet line; "→" is 3 bytes, so the offset counts bytes.
        XCTAssertTrue(place("1 TCP 44736 → 7000 [SYN]\n  details", from: 6) == ("1 TCP 44736 → 7000 [SYN]\n  details", 6, ""))
        XCTAssertTrue(place("whole line", from: 0) == ("whole line", 0, ""))
        XCTAssertTrue(place("abc\ndef", from: 3) == ("abc\ndef", 3, ""), "an empty summary: the end of the first line")
        // A Windows text: the CRs go, and the offset counts the bytes left.
        XCTAssertTrue(place("a\r\nb: msg\r\n", from: 3) == ("a\nb: msg\n", nil, "b: msg"), "a summary on the second line is text")
        XCTAssertTrue(place("x\r12: msg\r\nmore", from: 2) == ("x12: msg\nmore", 1, ""), "a CR before the summary moves it one byte")
        // A message a parser joined from wrapped lines is not in raw's first line: kept as text.
        XCTAssertTrue(place("first\nsecond", from: 0, joined: "first second") == ("first\nsecond", nil, "first second"))
        XCTAssertTrue(PushEvent.tailAt(Array("longer than raw".utf8), in: Array("raw".utf8)) == nil)
    }

    func testValueTooBigForItsColumnIsAnErrorNotACrash() {
        var rows = EventRows(dataset: "d", communityIDs: [:])
        var e = PushEvent()
        e.id = 1; e.ordinal = 3; e.line = 3; e.kind = .packet; e.proto = 6; e.sport = 70_000
        var w = RowBinaryWriter()
        XCTAssertThrowsError(try rows.write([e], host: "h", sourceID: 1, path: "x.txt", into: &w)) { err in
            XCTAssertEqual("\(err)", "x.txt: event 3: sport 70000 does not fit ClickHouse's UInt16")
        }
    }

    func testWriterColumnsAreTheSchemaColumns() {
        XCTAssertEqual(EventRows.columns, ClickHouseSchema.events.insertColumns)
    }

    func testSourceIDFromContentHash() {
        XCTAssertEqual(sourceID(contentHash: "00000000000000ff0123456789abcdef-42"), 255)
        XCTAssertNil(sourceID(contentHash: "short"))
        XCTAssertNil(sourceID(contentHash: "zz000000000000ff0123456789abcdef-42"))
    }
}
