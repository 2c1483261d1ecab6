import XCTest
@testable import TraceModel

final class AddressTests: XCTestCase {
    func testZeroPaddedIPv4IsTheSameAddress() {
        // tracerpt writes 172.016.001.001; Wireshark writes 172.16.1.1.
        XCTAssertEqual(Address(ip: "172.016.001.001"), Address(ip: "172.16.1.1"))
        XCTAssertEqual(Address(ip: "172.016.001.001")?.text, "172.16.1.1")
    }

    func testIPv6IsWrittenTheRFC5952Way() {
        XCTAssertEqual(Address(ip: "2001:0db8:0000:0000:0000:0000:0000:0001")?.text, "2001:db8::1")
        XCTAssertEqual(Address(ip: "fe80::1%12")?.text, "fe80::1")
        XCTAssertEqual(Address(ip: "::")?.text, "::")
        XCTAssertEqual(Address(ip: "::ffff:10.1.2.3")?.text, "::ffff:a01:203")
        XCTAssertNil(Address(ip: "1:2:3"))
        XCTAssertNil(Address(ip: "256.1.1.1"))
        XCTAssertNil(Address(ip: "HewlettP_10:11:91"))
    }

    func testEndpointsAsUsersTypeThem() {
        XCTAssertEqual(Endpoint(userText: "10.0.107.58:59193")?.port, 59193)
        XCTAssertEqual(Endpoint(userText: "[2001:db8::1]:443")?.text, "[2001:db8::1]:443")
        XCTAssertEqual(Endpoint(userText: "10.7.3.187")?.port, -1)
        XCTAssertNil(Endpoint(userText: "10.7.3.187:99999"))
    }

    func testConnectionKeyIsDirectionFree() {
        let a = Endpoint(address: Address(ip: "10.0.107.58")!, port: 59193)
        let b = Endpoint(address: Address(ip: "10.7.3.187")!, port: 3389)
        let k1 = ConnectionKey(proto: IPProto.tcp, src: a, dst: b)!
        let k2 = ConnectionKey(proto: IPProto.tcp, src: b, dst: a)!
        XCTAssertEqual(k1, k2)
        XCTAssertEqual(k1.text, "tcp 10.0.107.58:59193 ⇄ 10.7.3.187:3389")
        XCTAssertTrue(k1.communityID.hasPrefix("1:"))
    }

    func testCivilTimeRoundTripsAndFormatsWithTheSourcePrecision() {
        let days = CivilTime.days(year: 2013, month: 1, day: 6)
        XCTAssertEqual(CivilTime.civil(days: days).year, 2013)
        let ns = days * CivilTime.nsPerDay + (9 * 3600 + 53 * 60 + 40) * CivilTime.nsPerSecond + 765_000_000
        XCTAssertEqual(CivilTime.iso8601(ns, digits: 3), "2013-01-06T09:53:40.765Z")
        XCTAssertEqual(CivilTime.iso8601(ns, digits: 7), "2013-01-06T09:53:40.7650000Z")
        XCTAssertEqual(CivilTime.days(year: 1970, month: 1, day: 1), 0)
        XCTAssertEqual(CivilTime.parseZoneOffset("+02:00"), 7200)
        XCTAssertEqual(CivilTime.parseZoneOffset("-0530"), -19800)
        XCTAssertNil(CivilTime.parseZoneOffset("2"))
    }
}
