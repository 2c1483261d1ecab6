import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// corpus/tivoli-proxy: the Tivoli Firewall Security Toolbox log lines of ../shared/seeds/tivoli-gateway-endpoint-proxy.txt.
final class TivoliProxyLogTests: XCTestCase {
    func attr(_ r: EventRecord, _ key: String) -> String? {
        guard let a = r.attrs, let data = a.data(using: .utf8), let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let v = o[key] else { return nil }
        return "\(v)"
    }

    func testHandshakeLinesAreTyped() throws {
        let g = try parseFile(TivoliProxyLog.self, "tivoli-proxy/gwp.log")
        XCTAssertEqual(g.unparsed.count, 0)
        XCTAssertEqual(g.records.count, 3)
        // 01/12/18 17:38:06 3 161 routingManager: WHO command received [l=null] — YY/MM/DD.
        XCTAssertEqual(iso(g.records[0].ts, 0), "2001-12-18T17:38:06Z")
        XCTAssertEqual(attr(g.records[0], "level"), "3"); XCTAssertEqual(attr(g.records[0], "thread"), "161")
        XCTAssertEqual(attr(g.records[0], "component"), "routingManager")
        XCTAssertEqual(attr(g.records[0], "handshake"), "WHO"); XCTAssertEqual(attr(g.records[0], "step"), "command received")
        XCTAssertEqual(attr(g.records[0], "label"), "null")
        XCTAssertEqual(attr(g.records[1], "handshake"), "TELL"); XCTAssertEqual(attr(g.records[1], "step"), "reply received")
        // 01/12/18 17:43:07 1 130 ERROR multiplex.newsessopen: cannot open connection (-1)
        XCTAssertEqual(attr(g.records[2], "error"), "1"); XCTAssertEqual(attr(g.records[2], "code"), "-1")
        XCTAssertEqual(attr(g.records[2], "component"), "multiplex.newsessopen")
        let e = try parseFile(TivoliProxyLog.self, "tivoli-proxy/epp.log")
        XCTAssertEqual(e.records.compactMap { attr($0, "label") }, ["ascotti_gwp1", "ascotti_gwp1"])
    }

    func testLinesWrappedAt80ColumnsAreJoined() throws {
        // Cut mid-word when the line is full (80 columns), at a space when shorter (79).
        let p = try parseFile(TivoliProxyLog.self, "tivoli-proxy/epp-routed.log")
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertEqual(p.records.count, 9, "17 lines, 8 of them continuations")
        let failures = p.records.filter { attr($0, "target") == "nti281-gwp" }
        XCTAssertEqual(failures.count, 5)
        XCTAssertEqual(failures.compactMap { attr($0, "gw") }, ["8", "9", "9", "11", "11"])
        XCTAssertEqual(attr(p.records[0], "summary"), "gatewayProxySender [gw=8] failure creating a routed session for nti281-gwp")
        XCTAssertEqual(attr(p.records[7], "summary"), "gatewayProxySender [gw=11] failure creating a routed session for nti281-gwp.")
        // routedSessionCreate: [rs=8128] open session failed (e=-2), joined from `(e` + `=-2)`.
        let create = p.records.filter { attr($0, "component") == "routedSessionCreate" }
        XCTAssertEqual(create.compactMap { attr($0, "rs") }, ["8128", "8131"])
        XCTAssertEqual(create.compactMap { attr($0, "code") }, ["-2", "-2"])
        XCTAssertTrue(p.raw(p.records[0]).contains("routed s\nession"), "the record keeps both lines as written")
        // The APAR's indented lines: accept() failed with errno 24.
        let a = try parseFile(TivoliProxyLog.self, "tivoli-proxy/epp-apar.log")
        XCTAssertEqual(a.records.count, 3)
        XCTAssertEqual(attr(a.records[0], "code"), "24"); XCTAssertEqual(attr(a.records[0], "error_text"), "Too many open files")
        XCTAssertEqual(attr(a.records[0], "line"), "3505")
    }

    func testVersionOutputIsAFactAboutTheSource() throws {
        let v = try parseFile(TivoliProxyLog.self, "tivoli-proxy/gwproxy-version.txt")
        XCTAssertEqual(v.unparsed.count, 0)
        XCTAssertEqual(v.facts.notes["version"], "Tivoli Firewall Security Toolbox ver. 1.3.1 - level 20061016A. Interim fix ID = 1.3.1-TFS-0009.")
        XCTAssertEqual(v.records.compactMap { attr($0, "version") }, ["Tivoli Firewall Security Toolbox ver. 1.3.1 - level 20061016A.", "Interim fix ID = 1.3.1-TFS-0009."])
    }
}
