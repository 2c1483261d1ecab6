import XCTest
import Foundation
import TraceModel
import Parsers
import EventStore
import Timeline

/// Every corpus scenario: ingest its files into a fresh store and check the facts its expected.json
/// states (facts from the posts, checkable by reading the inputs).
final class CorpusTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let corpus = root.appendingPathComponent("corpus")

    func scenarios() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: CorpusTests.corpus, includingPropertiesForKeys: nil)
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("expected.json").path) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func testEveryScenarioHasExpectedFacts() throws {
        let names = try scenarios().map { $0.lastPathComponent }
        for required in ["rdp-reset", "sccm-packet-drop", "sql-wan-nat", "smtp-mss"] {
            XCTAssertTrue(names.contains(required), "corpus/\(required) is missing")
        }
    }

    func testScenarios() throws {
        for dir in try scenarios() {
            try check(scenario: dir, store: try Store(path: ":memory:"))
        }
    }

    func testScenarioOnDiskStore() throws {
        let path = NSTemporaryDirectory() + "tracejoin-e2e-\(UUID().uuidString).db"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        try check(scenario: CorpusTests.corpus.appendingPathComponent("sccm-packet-drop"), store: try Store(path: path))
    }

    func check(scenario dir: URL, store: Store) throws {
        let name = dir.lastPathComponent
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("expected.json"))) as! [String: Any]
        // A scenario may name its inputs (a folder that also holds other layouts of the same captures).
        let named = (expected["inputs"] as? [String])?.map { dir.appendingPathComponent($0).path }
        let inputs = try InputDiscovery.expand(named ?? [dir.path]).filter { !$0.path.hasSuffix(".json") && !$0.path.hasSuffix(".md") }
        let reports = try Ingestor(store: store).ingest(inputs, options: IngestOptions())
        // As `conn` does: clocks solved and stack events bound to their connections, then the lifecycles.
        try ClockPass.run(store)
        try LifecyclePass.run(store)

        for (file, facts) in expected["files"] as? [String: [String: Any]] ?? [:] {
            guard let r = reports.first(where: { $0.file.hasSuffix("/" + file) }) else { XCTFail("\(name): \(file) not ingested"); continue }
            XCTAssertEqual(r.status, .loaded, "\(name)/\(file)")
            if let h = facts["host"] as? String { XCTAssertEqual(r.host, h, "\(name)/\(file) host") }
            if let n = facts["events"] as? Int { XCTAssertEqual(r.events, n, "\(name)/\(file) events") }
            if let n = facts["unparsed"] as? Int { XCTAssertEqual(r.unparsed, n, "\(name)/\(file) lines not understood") }
        }

        let sources = try store.sources()
        let hosts = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0.host) })
        let digits = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0.timeDigits) })
        for c in expected["connections"] as? [[String: Any]] ?? [] {
            let eps = (c["endpoints"] as! [String]).map { Endpoint(userText: $0)! }
            let digitsOverride = c["digits"] as? Int
            let key = ConnectionKey(proto: IPProto.tcp, src: eps[0], dst: eps[1])!
            let host = c["host"] as! String
            let label = "\(name): \(key.text) at \(host)"
            let events = try store.events(conn: key.key).filter { hosts[$0.source] == host }
            guard let life = Lifecycle.derive(events, hosts: hosts) else { XCTFail("\(label): no events"); continue }
            // The store's pass (streaming integer rows) and derive (over read-back events) agree.
            let all = try store.events(conn: key.key)
            if all.allSatisfy({ hosts[$0.source] == host }) {
                // (sides are numbered differently: a/b in the store, first sender in derive)
                let stored = try store.connection(key: key.key)?.lifecycle
                var same = life
                same.originatorSide = stored?.originatorSide ?? -1
                XCTAssertEqual(stored, same, "\(label): stored lifecycle")
            }
            // Times as the counting source wrote them (a person reads them in that file), not as aligned.
            let clock = sources.first { $0.id == life.vantageSource }?.clock ?? SourceClock()
            let time: (Int64) -> String = { CivilTime.iso8601(clock.sourceTime($0), digits: digitsOverride ?? digits[life.vantageSource] ?? 9) }
            for (k, v) in c["expect"] as? [String: String] ?? [:] {
                // (keys other than these are facts for people, like "notes")
                let actual: String?
                switch k {
                case "originator": actual = life.originator
                case "end": actual = life.end
                case "end_by": actual = life.endBy
                case "end_at": actual = life.endAt.map(time)
                case "opened_at": actual = life.synAt.map(time)
                case "conn_state": actual = life.connState
                default: XCTFail("\(label): unknown fact \(k)"); continue
                }
                XCTAssertEqual(actual, v, "\(label): \(k)")
            }
            for (k, pair) in c["numbers"] as? [String: [Double]] ?? [:] {
                let actual: Double?
                let packets = events.filter { $0.kind == .packet }
                switch k {
                case "idle_before_end_s":
                    actual = packets.count >= 2 ? Double(packets[packets.count - 1].ts - packets[packets.count - 2].ts) / 1e9 : nil
                case "syn_to_end_s":
                    actual = life.synAt.flatMap { s in life.endAt.map { Double($0 - s) / 1e9 } }
                case "orig_retransmissions": actual = Double(life.orig.retransmissions)
                case "orig_bytes": actual = Double(life.orig.bytes)
                case "resp_bytes": actual = Double(life.resp.bytes)
                case "resp_retransmissions": actual = Double(life.resp.retransmissions)
                case "syn_to_synack_ms": actual = life.synToSynAckNS.map { Double($0) / 1e6 }
                case "synack_to_ack_ms": actual = life.synAckToAckNS.map { Double($0) / 1e6 }
                case "synack_mss":
                    actual = packets.first { $0.tcpFlags == [.syn, .ack] }?.mss.map(Double.init)
                case "syn_retransmissions": actual = Double(life.synRetransmissions)
                case "stack_tried_for_s":
                    // The host's own stack: from its first SYN to the status that ended the attempt.
                    actual = StackStory.of(events).first { $0.failure != nil }?.triedFor.map { Double($0) / 1e9 }
                case "end_after_last_retransmission_s":
                    let last = packets.last { $0.tcpExpert.contains(.retransmission) && $0.srcEndpoint == life.originator }
                    actual = last.flatMap { l in life.endAt.map { Double($0 - l.ts) / 1e9 } }
                default: XCTFail("\(label): unknown number \(k)"); continue
                }
                guard let actual else { XCTFail("\(label): \(k) not derivable"); continue }
                XCTAssertEqual(actual, pair[0], accuracy: pair[1], "\(label): \(k)")
            }
            // Log lines that belong to the connection, per file, whichever host wrote them: the lines a person finds
            // by searching the file for the connection's port (a trace line's IPAddr/IPPort, a peer address).
            for (file, want) in c["lines"] as? [String: [Int]] ?? [:] {
                let ids = Set(sources.filter { $0.path.hasSuffix("/" + file) }.map(\.id))
                XCTAssertFalse(ids.isEmpty, "\(label): \(file) not ingested")
                let got = all.filter { ids.contains($0.source) && $0.kind != .packet }.map(\.line).sorted()
                XCTAssertEqual(got, want, "\(label): \(file) lines")
            }
        }

        // Socket tables: each socket's states over its table's snapshots, and whether a port had a listener.
        let rows = try store.socketRows()
        let hostOf = { (source: Int64) in hosts[source] ?? "" }
        for f in expected["sockets"] as? [[String: Any]] ?? [] {
            let eps = (f["endpoints"] as! [String]).map { Endpoint(userText: $0)! }
            let host = f["host"] as! String
            let label = "\(name): socket \(eps[0].text)–\(eps[1].text) at \(host)"
            guard let h = SocketHistory.of(eps[0], eps[1], rows: rows).first(where: { hostOf($0.source) == host }) else { XCTFail("\(label): not in the tables"); continue }
            XCTAssertEqual(h.changes.map { $0.state ?? "?" }, f["states"] as? [String], label)
            if let t = f["last_seen"] as? String { XCTAssertEqual(CivilTime.iso8601(h.sightings[h.sightings.count - 1].ts, digits: 0), t, "\(label): last seen") }
            if f.keys.contains("gone_by") { XCTAssertEqual(h.goneBy.map { CivilTime.iso8601($0, digits: 0) }, f["gone_by"] as? String, "\(label): gone by") }
        }
        for f in expected["listeners"] as? [[String: Any]] ?? [] {
            let ep = Endpoint(userText: f["endpoint"] as! String)!
            let host = f["host"] as! String
            let check = ListenerCheck.check(ep, at: nil, rows: rows).first { hostOf($0.source) == host }
            XCTAssertEqual(check.map { $0.listening != nil }, f["listening"] as? Bool, "\(name): listener on \(ep.text) at \(host)")
        }
    }
}
