import XCTest
import Foundation
import GRDB
import EventStore
import Parsers
import TraceModel
import Render
import Timeline

/// A capture and tshark's text exports of the same packets, ingested into one store, give the same events:
/// the issue's acceptance check, on real traffic made here (corpus/tshark-netns: tcpdump at the client end
/// of eight small exchanges; every export made from that capture by tshark 4.0).
final class CaptureAndExportTests: XCTestCase {
    /// Fields every export gives, then ones only some give (nil in the others).
    static let common = ["ts", "proto", "src", "sport", "dst", "dport", "conn", "flags", "seq", "ack", "len", "expert"]

    func rows(_ store: Store, source: Int64, fields: [String]) throws -> [Int64: [String: DatabaseValue]] {
        let sql = "SELECT ordinal, \(fields.map { "e.\($0)" }.joined(separator: ", ")) FROM event e WHERE e.source = \(source)"
        let (_, rows) = try store.query(sql)
        var out: [Int64: [String: DatabaseValue]] = [:]
        for r in rows {
            guard let n = Int64.fromDatabaseValue(r[0]) else { continue }
            out[n] = Dictionary(uniqueKeysWithValues: zip(fields, r.dropFirst()))
        }
        return out
    }

    func testCaptureAndItsExportsAgreeInOneStore() throws {
        let dir = CorpusTests.corpus.appendingPathComponent("tshark-netns")
        // Each export with the fields it carries beyond the common ones.
        // The GUI's CSV has Wireshark's default time column: seconds since the first packet.
        let exports: [(file: String, extra: [String], relative: Bool)] = [
            ("client.t-ud.txt", [], false),
            ("client.gui.csv", [], true),
            ("client.columns-extra.t-ud.txt", ["ipid"], false),
            ("client.pdml.gz", ["ipid", "win", "tsval", "tsecr", "mss", "frame_len", "seq_raw", "ack_raw"], false),
        ]
        let store = try Store(path: ":memory:")
        let files = (["client.pcap"] + exports.map(\.file)).map { dir.appendingPathComponent($0).path }
        let reports = try Ingestor(store: store).ingest(try InputDiscovery.expand(files), options: IngestOptions())
        XCTAssertEqual(reports.count, files.count)
        for r in reports { XCTAssertEqual(r.status, .loaded, r.file) }
        let ids = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.path.split(separator: "/").last.map(String.init) ?? "", $0.id) })

        let allFields = CaptureAndExportTests.common + ["ipid", "win", "tsval", "tsecr", "mss", "frame_len", "seq_raw", "ack_raw"]
        let capture = try rows(store, source: ids["client.pcap"]!, fields: allFields)
        XCTAssertEqual(capture.count, 53, "client.pcap holds 53 frames")
        var compared = 0
        let start = capture[1].flatMap { $0["ts"] }.flatMap { Int64.fromDatabaseValue($0) } ?? 0
        for (file, extra, relative) in exports {
            let fields = CaptureAndExportTests.common + extra
            let export = try rows(store, source: ids[file]!, fields: fields)
            XCTAssertEqual(export.count, capture.count, file)
            for (frame, theirs) in export {
                guard let ours = capture[frame] else { XCTFail("\(file): frame \(frame) not in the capture"); continue }
                for f in fields {
                    // A summary line shows the top protocol's Info: an HTTP row has no TCP flags, numbers or
                    // ports, so those stay unknown in the export (the capture knows them).
                    guard let t = theirs[f], !t.isNull else { continue }
                    // An ICMP error row without port columns cannot name the flow it quotes (the capture can).
                    if f == "proto", theirs["sport"]?.isNull ?? true { continue }
                    if f == "ts" && relative {
                        XCTAssertEqual(Int64.fromDatabaseValue(t), ours[f].flatMap { Int64.fromDatabaseValue($0) }.map { $0 - start }, "\(file) frame \(frame) ts")
                    } else if f == "expert" {
                        // "TCP segment of a reassembled PDU" is HTTP reassembly's note, not TCP analysis.
                        let mask = ~TCPExpert.segmentOfReassembledPDU.rawValue
                        XCTAssertEqual((Int.fromDatabaseValue(t) ?? -1) & mask, (ours[f].flatMap { Int.fromDatabaseValue($0) } ?? -1) & mask, "\(file) frame \(frame) expert")
                    } else {
                        XCTAssertEqual(t, ours[f], "\(file) frame \(frame) \(f)")
                    }
                    compared += 1
                }
            }
        }
        XCTAssertGreaterThan(compared, 2400, "53 frames in four exports, most fields shown")
    }
}

/// tcpdump prints host names when it resolved them; a capture whose name resolution block names the same
/// hosts ties those lines back to their addresses and connections (corpus/tshark-netns, made by
/// scripts/make-names-corpus.sh from client.pcap: the same 53 packets both ways).
final class HostNameTests: XCTestCase {
    func ingest(_ files: [String]) throws -> (Store, [IngestReport]) {
        let dir = CorpusTests.corpus.appendingPathComponent("tshark-netns")
        let store = try Store(path: ":memory:")
        let reports = try Ingestor(store: store).ingest(try InputDiscovery.expand(files.map { dir.appendingPathComponent($0).path }), options: IngestOptions())
        return (store, reports)
    }

    func testNamesFromAPcapngTieTcpdumpsNamedLinesToTheirConnections() throws {
        let (store, reports) = try ingest(["client.names.pcapng", "client.tcpdump-names.txt"])
        XCTAssertEqual(reports.map(\.events), [53, 53])
        XCTAssertEqual(try store.hostNames()["10.99.0.2"], ["server.tj.test"])
        XCTAssertEqual(try store.hostAddresses()["client.tj.test"]?.text, "10.99.0.1")
        XCTAssertTrue(reports[1].facts.warnings.isEmpty, "\(reports[1].facts.warnings)")
        // Every TCP and UDP packet tcpdump printed with names is on the capture's connection.
        let (_, rows) = try store.query("""
            SELECT count(*), sum(a.conn = b.conn) FROM event a JOIN event b ON a.ordinal = b.ordinal AND a.source = 1 AND b.source = 2
            WHERE a.proto IN (6, 17) AND a.label IN ('TCP', 'UDP', 'HTTP', 'DNS') AND b.sport IS NOT NULL
            """)
        let total = Int.fromDatabaseValue(rows[0][0]) ?? 0, same = Int.fromDatabaseValue(rows[0][1]) ?? -1
        XCTAssertGreaterThanOrEqual(total, 40, "the eight exchanges' TCP and UDP packets")
        XCTAssertEqual(same, total)
    }

    func testNamesNothingMapsAreKeptAndReported() throws {
        let (store, reports) = try ingest(["client.tcpdump-names.txt"])
        XCTAssertEqual(reports[0].events, 53)
        let warning = try XCTUnwrap(reports[0].facts.warnings.first)
        XCTAssertTrue(warning.contains("client.tj.test") && warning.contains("server.tj.test"), warning)
        // The packets are there, with the names as written and no connection.
        let (_, rows) = try store.query("SELECT count(*) FROM events WHERE src = 'client.tj.test' AND conn IS NULL")
        XCTAssertGreaterThan(Int.fromDatabaseValue(rows[0][0]) ?? 0, 20)
    }
}

/// A host's tasklist names the process of its events that carry only a PID (corpus/exchange-udp).
final class ProcessNameTests: XCTestCase {
    func testTracerptRowsNameStoreExe() throws {
        let store = try Store(path: ":memory:")
        let dir = CorpusTests.corpus.appendingPathComponent("exchange-udp")
        _ = try Ingestor(store: store).ingest(try InputDiscovery.expand([dir.path]), options: IngestOptions(host: "exchange"))
        let fmt = try EventFormatter(store: store)
        var merge = try TimelineMerge(store: store, filter: EventFilter())
        var summaries: [String] = []
        while let e = merge.next() { summaries.append(fmt.summary(e)) }
        XCTAssertEqual(summaries.count, 8, "the four rows of dumpfile.txt and their XML rendering, dumpfile.xml")
        XCTAssertTrue(summaries.allSatisfy { $0.contains("[store.exe (2136)]") }, "\(summaries)")
    }
}
