import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// The contract every registered parser must keep (`LineParser`'s documentation), checked on every
/// corpus file that the registry hands to it: it claims its own files, it gives the same records
/// however the bytes are cut, and it accounts for every line it does not turn into a record.
final class ParserConformanceTests: XCTestCase {
    func corpusFiles() throws -> [URL] {
        let fm = FileManager.default
        let files = fm.enumerator(at: corpus, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        return files.filter { ["txt", "csv", "xml", "log"].contains($0.pathExtension) }.sorted { $0.path < $1.path }
    }

    func testEveryParserKeepsTheContractOnEveryCorpusFileItClaims() throws {
        let files = try corpusFiles()
        XCTAssertGreaterThan(files.count, 30, "corpus files missing")
        var claimedBy: [String: Int] = [:]
        for url in files {
            let bytes = [UInt8](try Data(contentsOf: url))
            guard let (type, _) = Registry.detect(SniffHead(bytes: Array(bytes.prefix(64 << 10)))) else { continue }
            claimedBy[type.id, default: 0] += 1
            try check(type, bytes, url.lastPathComponent)
        }
        // Every registered parser has corpus files of its own.
        for p in Registry.parsers { XCTAssertGreaterThan(claimedBy[p.id] ?? 0, 0, "\(p.id) claims no corpus file") }
    }

    func testEachSeedFileGoesToItsOwnParserAndProseToNone() throws {
        // What each file is, by reading it (the folders' READMEs say where it comes from).
        let expected: [String: String] = [
            "sccm-client-push/sccm-server-netmon.txt": "netmon_text", "lync-edge/edge-etl.txt": "netmon_text",
            "lync-edge/frontend-etl.txt": "netmon_text", "directaccess-outlook/outlook-etl.txt": "netmon_text",
            "rdp-reset/ts-server-etl.txt": "netmon_text", "lync-edge/client.txt": "wireshark_text", "rdp-reset/ts-server.txt": "wireshark_text",
            "exchange-udp/dumpfile.txt": "tracerpt_csv", "exchange-udp/dumpfile.xml": "tracerpt_xml", "exchange-udp/tasklist.txt": "tasklist_text",
            "rdp-reset/ts-server-netstat.txt": "netstat_text", "rdp-reset/ts-server-eventlog.txt": "eventlog_text",
            "rdp-reset/ts-server-eventlog.xml": "eventlog_xml", "stun-edge/netstat-find.txt": "netstat_text",
            "sockets-netns/ss-server.txt": "ss_text", "sockets-netns/netstat-server-de.txt": "netstat_text",
            "tivoli-proxy/gwp.log": "tivoli_proxy_log", "tivoli-proxy/epp-routed.log": "tivoli_proxy_log",
            "tivoli-proxy/epp-apar.log": "tivoli_proxy_log", "tivoli-proxy/gwproxy-version.txt": "tivoli_proxy_log",
            "lync-edge/edge-sipstack.txt": "sipstack_text", "lync-federation/client-uccapi.log": "lync_client_log",
            "sip-sipp/uac-udp.log": "sip_dump_text", "sip-sipp/uas-udp.log": "sip_dump_text", "sip-sipp/uac-tcp.log": "sip_dump_text",
            "sip-sipp/uas-tcp.log": "sip_dump_text", "sip-sipp/uac-busy.log": "sip_dump_text", "sip-sipp/uas-busy.log": "sip_dump_text",
            "siteminder-handshake/smps-handshake-failed.log": "siteminder_log", "siteminder-handshake/smps-stats.log": "siteminder_log",
            "siteminder-handshake/smps-thread-pool.log": "siteminder_log", "siteminder-handshake/webagent-agentapi-failed.log": "siteminder_log",
            "siteminder-policy-trace/smtracedefault.log": "siteminder_trace",
            "sip-pjsua/pjsua-udp.log": "pjsip_log", "sip-pjsua/pjsua-tcp.log": "pjsip_log",
        ]
        for (file, id) in expected {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)))
            XCTAssertEqual(Registry.detect(SniffHead(bytes: Array(bytes.prefix(64 << 10))))?.parser.id, id, file)
        }
        // Trace configurations beside the logs (their `components:`/`data:` lists) are read by the trace parser, not ingested.
        for file in ["siteminder-handshake/smtracedefault.txt", "siteminder-policy-trace/smtracedefault.txt"] {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)))
            XCTAssertNil(Registry.detect(SniffHead(bytes: bytes))?.parser.id, file)
        }
        // Prose about these formats (the READMEs quote their lines) is none of them.
        let readmes = (FileManager.default.enumerator(at: corpus, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
            .filter { $0.lastPathComponent == "README.md" }
        XCTAssertGreaterThan(readmes.count, 10)
        for url in readmes {
            let bytes = [UInt8](try Data(contentsOf: url))
            XCTAssertNil(Registry.detect(SniffHead(bytes: Array(bytes.prefix(64 << 10))))?.parser.id, url.path)
        }
    }

    func check(_ type: any LineParser.Type, _ bytes: [UInt8], _ name: String) throws {
        func run(_ chunk: Int) -> Parsed {
            func go<P: LineParser>(_ t: P.Type) -> Parsed { parse(t, bytes: bytes, chunk: chunk) }
            return go(type)
        }
        let whole = run(bytes.count)
        XCTAssertFalse(whole.records.isEmpty && whole.factLines.isEmpty, "\(name): \(type.id) claimed it but read nothing")
        for chunk in [1, 3, 4096] {
            let cut = run(chunk)
            XCTAssertEqual(cut.records.map { "\($0.line) \($0.ordinal) \($0.ts) \($0.rawAt) \($0.rawLen)" },
                           whole.records.map { "\($0.line) \($0.ordinal) \($0.ts) \($0.rawAt) \($0.rawLen)" }, "\(name) in \(chunk)-byte chunks")
            XCTAssertEqual(cut.unparsed.map { $0.line }, whole.unparsed.map { $0.line }, "\(name) in \(chunk)-byte chunks")
        }
        // Every line is a record's, inside a record's raw text, a fact about the host (tasklist), a line that
        // shapes the file (a table header, a snapshot's time), an unparsed line, blank, or a header.
        // Split as bytes: in a String "\r\n" is one Character, so splitting on "\n" misses CRLF line ends (SIP
        // messages in SIPp's traces end their lines in CRLF, its banners in LF).
        let raw = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        let lines = raw.map { String(decoding: $0, as: UTF8.self) }
        var accounted = Set(whole.unparsed.map { $0.line }).union(whole.factLines).union(whole.structureLines)
        var lineStarts: [Int64] = [0]
        for l in raw { lineStarts.append(lineStarts.last! + Int64(l.count) + 1) }
        for r in whole.records {
            // Lines covered by the record's raw bytes.
            var n = r.line
            while n <= lines.count && lineStarts[n - 1] < r.rawAt + Int64(r.rawLen) { accounted.insert(n); n += 1 }
        }
        for (i, l) in lines.enumerated() where !accounted.contains(i + 1) {
            let t = l.trimmingCharacters(in: .whitespacesAndNewlines)
            let layout = t.isEmpty || t.hasPrefix("No.") || t.hasPrefix("\"No.\"")
            XCTAssertTrue(layout, "\(name):\(i + 1) is neither a record nor kept as unparsed: \(t.prefix(80))")
        }
    }
}
