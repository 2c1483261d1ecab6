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
        var rows = EventRows(dataset: "d", communityIDs: [:])
        XCTAssertEqual(rows.ip16("10.96.0.1"), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 96, 0, 1], "IPv4 v4-mapped")
        XCTAssertEqual(rows.ip16("2001:db8::1"), [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(rows.ip16("Broadcast"), [UInt8](repeating: 0, count: 16), "names have no address bytes")
        XCTAssertEqual(rows.ip16(nil), [UInt8](repeating: 0, count: 16))
    }

    /// One event, every column, as bytes a person can follow with the schema beside them.
    func testOneEventRow() throws {
        var rows = EventRows(dataset: "d", communityIDs: [-2: "1:abc"])
        let e = StoredEvent(id: 1, source: 1, ordinal: 7, line: 9, ts: 0, tsSource: 1_000, kind: .packet, proto: 6,
                            src: "10.0.0.1", sport: 80, dst: nil, dport: nil, conn: -2, flags: 0x12, seq: 1, ack: nil, len: nil,
                            win: nil, ipid: nil, tsval: nil, tsecr: nil, mss: nil, expert: 0, frameLen: nil, label: nil,
                            summary: "s", raw: "r", attrs: nil)
        var w = RowBinaryWriter()
        try rows.write(e, host: "h", sourceID: 0x0102, path: "p", into: &w)
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
        // tshark's Info column: the tail of the packet line; "→" is 3 bytes, so the offset counts bytes.
        XCTAssertTrue(EventRows.summaryPlace("44736 → 7000 [SYN]", raw: "1 TCP 44736 → 7000 [SYN]\n  details") == (6, ""))
        XCTAssertTrue(EventRows.summaryPlace("whole line", raw: "whole line") == (0, ""))
        XCTAssertTrue(EventRows.summaryPlace("", raw: "abc\ndef") == (3, ""), "an empty summary: the end of the first line")
        // A message a parser joined from wrapped lines is not in raw's first line: kept as text.
        XCTAssertTrue(EventRows.summaryPlace("first second", raw: "first\nsecond") == (0, "first second"))
        XCTAssertTrue(EventRows.summaryPlace("longer than raw", raw: "raw") == (0, "longer than raw"))
    }

    func testValueTooBigForItsColumnIsAnErrorNotACrash() {
        var rows = EventRows(dataset: "d", communityIDs: [:])
        let e = StoredEvent(id: 1, source: 1, ordinal: 3, line: 3, ts: 0, tsSource: 0, kind: .packet, proto: 6, src: nil, sport: 70_000,
                            dst: nil, dport: nil, conn: nil, flags: nil, seq: nil, ack: nil, len: nil, win: nil, ipid: nil, tsval: nil,
                            tsecr: nil, mss: nil, expert: 0, frameLen: nil, label: nil, summary: "", raw: "", attrs: nil)
        var w = RowBinaryWriter()
        XCTAssertThrowsError(try rows.write(e, host: "h", sourceID: 1, path: "x.txt", into: &w)) { err in
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
