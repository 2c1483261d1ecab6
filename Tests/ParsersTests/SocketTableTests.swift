import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// netstat and ss tables: real ones made in namespaces (corpus/sockets-netns) and the seeds' (verbatim).
final class SocketTableTests: XCTestCase {
    func states(_ p: Parsed) -> [String] { p.records.compactMap(state) }

    func state(_ r: EventRecord) -> String? {
        r.attrs?.range(of: "\"state\":\"").map { String(r.attrs![$0.upperBound...].prefix { $0 != "\"" }) }
    }

    func testSsAndNetstatOfTheSameSockets() throws {
        // At the client: A established, B (and one more each second) in FIN-WAIT-2, C in TIME-WAIT, D in
        // SYN-SENT, F and G established in the first snapshot; F in CLOSE-WAIT in the second (the server
        // closed it), G gone (the client reset it), F gone in the third: 8 rows in each snapshot.
        for (file, parser) in [("ss-client.txt", SsText.self as any LineParser.Type), ("netstat-client.txt", NetstatText.self),
                               ("netstat-client-cs.txt", NetstatText.self)] {
            func go<P: LineParser>(_ t: P.Type) throws -> Parsed { try parseFile(t, "sockets-netns/" + file) }
            let p = try go(parser)
            XCTAssertEqual(p.unparsed.count, 0, file)
            XCTAssertEqual(p.records.count, 8 + 8 + 8, file)
            XCTAssertEqual(Set(states(p)), ["ESTAB", "FIN-WAIT-2", "TIME-WAIT", "SYN-SENT", "CLOSE-WAIT"], file)
            XCTAssertEqual(p.facts.timeBasis, .absolute, "\(file): times from the date lines")
            XCTAssertEqual(p.facts.notes["snapshots"], "3", file)
            XCTAssertTrue(p.facts.warnings.isEmpty, "\(file): \(p.facts.warnings)")
            let synSent = try XCTUnwrap(p.records.first { $0.attrs?.contains("SYN-SENT") == true })
            XCTAssertEqual(synSent.dst, Address(ip: "10.95.0.2")); XCTAssertEqual(synSent.dstPort, 9999)
            XCTAssertTrue(synSent.attrs?.contains("\"process\":\"python3\"") == true, synSent.attrs ?? "")
            XCTAssertEqual(synSent.kind, .socketSnapshot)
        }
        // At the server: the two listeners, the sockets the server never closed, and F closing.
        let s = try parseFile(SsText.self, "sockets-netns/ss-server.txt")
        XCTAssertEqual(Set(states(s)), ["LISTEN", "CLOSE-WAIT", "ESTAB", "FIN-WAIT-2", "TIME-WAIT"])
        let listen = s.records.filter { $0.attrs?.contains("LISTEN") == true && $0.attrs?.contains("\"snapshot\":1") == true }
        XCTAssertEqual(Set(listen.map(\.srcPort)), [8000, 8001])
        XCTAssertEqual(listen[0].src, Address(ip: "10.95.0.2"))
        XCTAssertNil(listen[0].dst); XCTAssertEqual(listen[0].dstPort, -1, "0.0.0.0:* is no peer")
        // The server never closes what the client half-closed: 3, 4, then 5 sockets in CLOSE_WAIT, in English and German.
        for file in ["netstat-server.txt", "netstat-server-de.txt"] {
            let n = try parseFile(NetstatText.self, "sockets-netns/" + file)
            XCTAssertEqual(n.unparsed.count, 0, file)
            let closeWait = n.records.filter { $0.attrs?.contains("CLOSE-WAIT") == true }
            XCTAssertEqual([1, 2, 3].map { k in closeWait.filter { $0.attrs!.contains("\"snapshot\":\(k)") }.count }, [3, 4, 5], file)
        }
    }

    /// (local, remote, state) of each row, per snapshot.
    func sockets(_ p: Parsed) -> [Int: Set<String>] {
        var out: [Int: Set<String>] = [:]
        for r in p.records {
            let a = r.attrs ?? ""
            let snap = Int(a.range(of: "\"snapshot\":").map { a[$0.upperBound...].prefix { $0.isNumber } } ?? "0") ?? 0
            out[snap, default: []].insert("\(r.src?.text ?? "*"):\(r.srcPort) \(r.dst?.text ?? "*"):\(r.dstPort) \(state(r) ?? "-")")
        }
        return out
    }

    func testLocalizedTablesReadAsTheEnglishOnesOfTheSameMoment() throws {
        // net-tools in Czech (SPOJENO, translated title and headers) and German (VERBUNDEN), run right after the
        // English netstat of the same snapshot: the same sockets in the same states.
        for (english, local) in [("netstat-client.txt", "netstat-client-cs.txt"), ("netstat-server.txt", "netstat-server-de.txt")] {
            let e = try parseFile(NetstatText.self, "sockets-netns/" + english)
            let l = try parseFile(NetstatText.self, "sockets-netns/" + local)
            XCTAssertEqual(l.unparsed.count, 0, local)
            XCTAssertEqual(sockets(l), sockets(e), local)
            XCTAssertEqual(l.records.map(\.ts), e.records.map(\.ts), "\(local): the same date lines' times")
        }
    }

    /// A table as it reads copied from a console `width` columns wide: longer lines broken there.
    func wrapped(_ text: String, at width: Int) -> [UInt8] {
        var out = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var rest = Substring(line)
            while rest.count > width { out += rest.prefix(width) + "\n"; rest = rest.dropFirst(width) }
            out += rest + "\n"
        }
        return Array(out.utf8)
    }

    func testRowsCutAtTheConsoleWidthAreJoinedBack() throws {
        // ss rows with their process column run past 80 columns; so do netstat rows with IPv6 addresses.
        for (file, parser) in [("sockets-netns/ss-client.txt", SsText.self as any LineParser.Type), ("sockets-netns/netstat-server.txt", NetstatText.self)] {
            func go<P: LineParser>(_ t: P.Type) throws -> (Parsed, Parsed, Int) {
                let text = try String(contentsOf: corpus.appendingPathComponent(file), encoding: .utf8)
                let long = text.split(separator: "\n").filter { $0.count > 80 && !$0.hasPrefix("State") && !$0.hasPrefix("Proto") }.count
                return (parse(t, bytes: Array(text.utf8)), parse(t, bytes: wrapped(text, at: 80)), long)
            }
            let (whole, cut, long) = try go(parser)
            XCTAssertGreaterThan(long, 0, "\(file) has rows longer than 80 columns")
            XCTAssertEqual(cut.unparsed.map(\.raw), [], file)
            XCTAssertEqual(cut.records.count, whole.records.count, file)
            XCTAssertEqual(cut.records.map(\.attrs), whole.records.map(\.attrs), file)
            XCTAssertEqual(cut.records.map(\.dstPort), whole.records.map(\.dstPort), file)
        }
        // Windows netstat -ano with link-local IPv6, cut by an 80-column console inside the state word.
        let win = "  TCP    [fe80::8d1c:7a1f:2a2b:1c3d%12]:49712  [fe80::1c2d:3e4f:5a6b:7c8d%12]:445    ESTABLISHED     4\r\n"
            + "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900\r\n"
        let p = parse(NetstatText.self, bytes: wrapped(win.replacingOccurrences(of: "\r", with: ""), at: 80))
        XCTAssertEqual(p.unparsed.map(\.raw), [])
        XCTAssertEqual(states(p), ["ESTAB", "LISTEN"])
        XCTAssertEqual(p.records.first?.dstPort, 445)
        XCTAssertTrue(p.records.first?.attrs?.contains("\"pid\":4") == true, p.records.first?.attrs ?? "")
    }

    func testGermanWindowsTableNamesAndBadRows() throws {
        // German Windows `netstat -ano` as cmd writes it to a file: CP850, so ABHÖREN's Ö is byte 0x99.
        var bytes = Array("\r\nAktive Verbindungen\r\n\r\n  Proto  Lokale Adresse         Remoteadresse          Status           PID\r\n".utf8)
        bytes += Array("  TCP    0.0.0.0:135            0.0.0.0:0              ABH".utf8) + [0x99] + Array("REN          900\r\n".utf8)
        bytes += Array("""
          TCP    192.168.1.10:49712     52.1.2.3:443           HERGESTELLT      5432\r
          TCP    192.168.1.10:49714     52.1.2.3:443           SCHLIESSEN_WARTEN 5432\r
          TCP    192.168.1.10:49713     52.1.2.3:443           WARTEND          0\r
          TCP    192.168.1.10:49715     52.1.2.3:443           ESCUCHANDO       77\r
          TCP    192.168.1.10:49797     20.54.232.160:https    HERGESTELLT      5432\r
          TCP    192.168.1.10:49802     ec2-3-218-125-188:https  HERGESTELLT    5432\r
          TCP    192.168.1.10:4
        """.utf8)
        let p = parse(NetstatText.self, bytes: bytes)
        XCTAssertEqual(states(p), ["LISTEN", "ESTAB", "CLOSE-WAIT", "TIME-WAIT", "ESCUCHANDO", "ESTAB", "ESTAB"])
        // A word we do not know is kept as written and reported with its line.
        XCTAssertEqual(p.facts.warnings.count, 1)
        XCTAssertTrue(p.facts.warnings[0].contains("ESCUCHANDO (line 9)"), p.facts.warnings[0])
        // Without -n: a service name is its port; a host name no capture named has no address.
        XCTAssertEqual(p.records[5].dst, Address(ip: "20.54.232.160")); XCTAssertEqual(p.records[5].dstPort, 443)
        XCTAssertNil(p.records[6].dst); XCTAssertEqual(p.records[6].dstPort, 443)
        XCTAssertTrue(p.records[6].attrs?.contains("\"remote\":\"ec2-3-218-125-188:https\"") == true, p.records[6].attrs ?? "")
        // The title and header are the table's layout; the row cut short at the end is kept and said.
        XCTAssertEqual(p.unparsed.map(\.line), [12])
        XCTAssertTrue(p.unparsed[0].reason.contains("cut short"), p.unparsed[0].reason)
    }

    func testWindowsNetstatWithOffloadStateAndFindOutput() throws {
        // The RDP seed (lines 327-342): nothing listens on 3389.
        let p = try parseFile(NetstatText.self, "rdp-reset/ts-server-netstat.txt")
        XCTAssertEqual(p.records.count, 16)
        XCTAssertEqual(p.unparsed.count, 0)
        XCTAssertFalse(p.records.contains { $0.srcPort == 3389 })
        let rpc = try XCTUnwrap(p.records.first { $0.srcPort == 135 })
        XCTAssertEqual(rpc.attrs, "{\"state\":\"LISTEN\",\"pid\":920,\"local\":\"*:135\",\"snapshot\":1,\"offload\":\"InHost\"}")
        XCTAssertEqual(p.facts.timeBasis, .relative, "no time in the table, no --at, no file time: --anchor places it")
        // `netstat -ano | find ":3478"` (STUN seed): UDP rows, no state, no header.
        let f = try parseFile(NetstatText.self, "stun-edge/netstat-find.txt")
        XCTAssertEqual(f.records.map(\.srcPort), [3478, 3478])
        XCTAssertEqual(f.records.map(\.proto), [IPProto.udp, IPProto.udp])
        XCTAssertTrue(f.records.allSatisfy { $0.attrs?.contains("\"pid\":1952") == true })
    }

    func testSsDetailLinesAttachToTheirSocket() throws {
        // `ss -tanpie` at the client (corpus/sockets-netns/ss-client-detail.txt): timers, inode, rtt, cwnd.
        let p = try parseFile(SsText.self, "sockets-netns/ss-client-detail.txt")
        XCTAssertEqual(p.records.count, 9, "A, C, D and six half-closed connections (F and G are gone by then)")
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
