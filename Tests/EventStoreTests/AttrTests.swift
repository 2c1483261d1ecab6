import XCTest
@testable import EventStore

/// The flat attrs JSON as the Network Monitor parser writes it for a TCPIP event (corpus/lync-edge).
final class AttrTests: XCTestCase {
    let attrs = #"{"process":"Idle","pid":0,"pointer":"0x000000000829DE60","state_from":"SynSentState","delta":-12,"image":"café.exe"}"#

    func testQuotedValues() {
        XCTAssertEqual(Attr.string(attrs, "pointer"), "0x000000000829DE60")
        XCTAssertEqual(Attr.string(attrs, "state_from"), "SynSentState")
        XCTAssertEqual(Attr.string(attrs, "image"), "café.exe")
        XCTAssertNil(Attr.string(attrs, "pid"), "pid is a number, not a string")
        XCTAssertNil(Attr.string(attrs, "state"), "only a whole key matches")
        XCTAssertNil(Attr.string("", "pointer"))
    }

    func testNumbers() {
        XCTAssertEqual(Attr.int(attrs, "pid"), 0)
        XCTAssertEqual(Attr.int(attrs, "delta"), -12)
        XCTAssertNil(Attr.int(attrs, "pointer"), "a quoted value is not a number")
        XCTAssertNil(Attr.int(attrs, "missing"))
    }
}
