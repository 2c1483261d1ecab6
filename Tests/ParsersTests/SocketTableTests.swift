import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// netstat and ss tables: real ones made in namespaces (corpus/sockets-netns) and the seeds' (verbatim).
final class SocketTableTests: XCTestCase {
    func states(_ p: Parsed) -> [String] {
        p.records.compactMap { r in r.attrs?.range(of: "\"state\":\"").map { String(r.attrs![$0.upperBound...].prefix { $0 != "\"" }) } }
    }

    func testSsAndNetstatOfTheSameSockets() throws {
        // At the client: A established, B (and one more each second) in FIN-WAIT-2, C in TIME-WAIT, D in
        // SYN-SENT; three snapshots, each with one half-closed connection more: 6, 7 and 8 rows.
        for (file, parser) in [("ss-client.txt", SsText.self as any LineParser.Type), ("netstat-client.txt", NetstatText.self)] {
            func go<P: LineParser>(_ t: P.Type) throws -> Parsed { try parseFile(t, "sockets-netns/" + file) }
            let p = try go(parser)
            XCTAssertEqual(p.unparsed.count, 0, file)
            XCTAssertEqual(p.records.count, 6 + 7 + 8, file)
            XCTAssertEqual(Set(states(p)), ["ESTAB", "FIN-WAIT-2", "TIME-WAIT", "SYN-SENT"], file)
            XCTAssertEqual(p.facts.timeBasis, .absolute, "\(file): times from the date lines")
            XCTAssertEqual(p.facts.notes["snapshots"], "3", file)
            let synSent = try XCTUnwrap(p.records.first { $0.attrs?.contains("SYN-SENT") == true })
            XCTAssertEqual(synSent.dst, Address(ip: "10.95.0.2")); XCTAssertEqual(synSent.dstPort, 9999)
            XCTAssertTrue(synSent.attrs?.contains("\"process\":\"python3\"") == true, synSent.attrs ?? "")
            XCTAssertEqual(synSent.kind, .socketSnapshot)
        }
        // At the server: the listener and the socket the server never closed.
        let s = try parseFile(SsText.self, "sockets-netns/ss-server.txt")
        XCTAssertEqual(Set(states(s)), ["LISTEN", "CLOSE-WAIT", "ESTAB"])
        let listen = try XCTUnwrap(s.records.first { $0.attrs?.contains("LISTEN") == true })
        XCTAssertEqual(listen.src, Address(ip: "10.95.0.2")); XCTAssertEqual(listen.srcPort, 8000)
        XCTAssertNil(listen.dst); XCTAssertEqual(listen.dstPort, -1, "0.0.0.0:* is no peer")
        let n = try parseFile(NetstatText.self, "sockets-netns/netstat-server.txt")
        // The server never closes what the client half-closed: 3, 4, then 5 sockets in CLOSE_WAIT.
        let closeWait = n.records.filter { $0.attrs?.contains("CLOSE-WAIT") == true }
        XCTAssertEqual([1, 2, 3].map { k in closeWait.filter { $0.attrs!.contains("\"snapshot\":\(k)") }.count }, [3, 4, 5])
    }

    func testWindowsNetstatWithOffloadStateAndFindOutput() throws {
        // The RDP seed (lines 327-342): nothing listens on 3389.
        let p = try parseFile(NetstatText.self, "rdp-reset/ts-server-netstat.txt")
        XCTAssertEqual(p.records.count, 16)
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertFalse(p.records.contains { $0.srcPort == 3389 })
        let rpc = try XCTUnwrap(p.records.first { $0.srcPort == 135 })
        XCTAssertEqual(rpc.attrs, "{\"state\":\"LISTEN\",\"pid\":920,\"local\":\"*:135\",\"snapshot\":1,\"offload\":\"InHost\"}")
        XCTAssertEqual(p.facts.timeBasis, .relative, "no time in the table: --anchor places it")
        // `netstat -ano | find ":3478"` (STUN seed): UDP rows, no state, no header.
        let f = try parseFile(NetstatText.self, "stun-edge/netstat-find.txt")
        XCTAssertEqual(f.records.map(\.srcPort), [3478, 3478])
        XCTAssertEqual(f.records.map(\.proto), [IPProto.udp, IPProto.udp])
        XCTAssertTrue(f.records.allSatisfy { $0.attrs?.contains("\"pid\":1952") == true })
    }

    func testSsDetailLinesAttachToTheirSocket() throws {
        // `ss -tanpie` at the client (corpus/sockets-netns/ss-client-detail.txt): timers, inode, rtt, cwnd.
        let p = try parseFile(SsText.self, "sockets-netns/ss-client-detail.txt")
        XCTAssertEqual(p.records.count, 9, "A, C, D and six half-closed connections")
        XCTAssertEqual(p.unparsed.count, 0)
        let estab = try XCTUnwrap(p.records.first { $0.attrs?.contains("\"state\":\"ESTAB\"") == true })
        XCTAssertTrue(estab.attrs?.contains("\"rtt\":\"") == true && estab.attrs?.contains("\"cwnd\":10") == true, estab.attrs ?? "")
        XCTAssertTrue(p.raw(estab).contains("segs_out:"), "the detail line is part of the socket's text")
        let tw = try XCTUnwrap(p.records.first { $0.attrs?.contains("TIME-WAIT") == true })
        XCTAssertTrue(tw.attrs?.contains("\"timer\":\"(timewait,") == true, tw.attrs ?? "")
        let syn = try XCTUnwrap(p.records.first { $0.attrs?.contains("SYN-SENT") == true })
        XCTAssertTrue(syn.attrs?.contains("\"retrans\":\"1/5\"") == true, syn.attrs ?? "")
    }
}
