import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// CA SiteMinder logs and traces, on the published excerpts in corpus/siteminder-handshake and
/// corpus/siteminder-policy-trace (their READMEs name each excerpt's origin).
final class SiteMinderTests: XCTestCase {
    /// Parses bytes as if read from `path` (the trace parser looks beside it for its configuration).
    func parse<P: LineParser>(_ type: P.Type, _ bytes: [UInt8], path: String) -> Parsed {
        var parser = P(context: ParseContext(path: path))
        let sink = CollectingSink()
        var splitter = LineSplitter()
        var stream: [UInt8] = []
        splitter.onDecoded = { stream.append(contentsOf: $0) }
        bytes.withUnsafeBufferPointer { all in splitter.feed(all) { parser.consume($0, into: sink) } }
        splitter.finish { parser.consume($0, into: sink) }
        let facts = parser.finish(into: sink)
        var p = Parsed(records: sink.records, unparsed: sink.unparsedLines, facts: facts, stream: stream)
        p.structureLines = sink.structureLines
        return p
    }

    func attrs(_ r: EventRecord) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data((r.attrs ?? "{}").utf8)) as! [String: Any]
    }

    func file(_ relative: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: corpus.appendingPathComponent(relative))) }

    // MARK: smps.log and the Web Agent's error log

    func testPolicyServerRefusedTheAgentsHandshakeFromItsSourcePort() throws {
        // KB000021905: the shared secret refused, then the handshake with the agent's 155.35.245.129:49184 failed.
        let p = try parseFile(SiteMinderLog.self, "siteminder-handshake/smps-handshake-failed.log")
        XCTAssertEqual(p.records.count, 2)
        XCTAssertTrue(p.unparsed.isEmpty)
        let failed = p.records[1]
        XCTAssertEqual(failed.line, 2)
        XCTAssertEqual(iso(failed.ts, 0), "2016-07-18T13:59:03Z")
        XCTAssertEqual(failed.srcEndpoint?.text, "155.35.245.129:49184")
        XCTAssertNil(failed.dst)
        XCTAssertNil(failed.connection, "one end known: no connection of its own, the joiner binds it")
        XCTAssertEqual(failed.label, "SiteMinder")
        let a = try attrs(failed)
        XCTAssertEqual(a["event"] as? String, "handshake_failed")
        XCTAssertEqual(a["peer"] as? String, "155.35.245.129:49184")
        XCTAssertEqual(a["msg_id"] as? String, "sm-Server-01070")
        XCTAssertEqual(a["src_file"] as? String, "CServer.cpp:2121")
        XCTAssertEqual(a["pid"] as? Int, 1860)
        XCTAssertEqual(a["tid"] as? Int, 2604)
        let reason = try attrs(p.records[0])
        XCTAssertEqual(reason["event"] as? String, "handshake_error")
        XCTAssertEqual(reason["reason"] as? String, "Shared secret incorrect for this client")
        XCTAssertEqual(reason["level"] as? String, "ERROR")
    }

    func testHandshakeErrorCodesAndMappedAddresses() throws {
        // KB 4334 quotes the messages `Bad security handshake attempt. Handshake error: 3154` and `Failed handshake
        // with ::ffff: ` (the address cut off in the KB); KB 42071 gives the code's meaning.
        let code = SiteMinderMessage.attrs("Bad security handshake attempt. Handshake error: 3154")
        XCTAssertTrue(code.contains("\"handshake_error\":3154"))
        XCTAssertTrue(code.contains { $0.contains("shared secret is not valid") })
        XCTAssertEqual(SiteMinderMessage.failedHandshakePeer("Failed handshake with ::ffff:155.35.245.129:49184")?.text, "155.35.245.129:49184")
        // Cut off as the KB prints it: a failure without an address, no peer.
        XCTAssertNil(SiteMinderMessage.failedHandshakePeer("Failed handshake with ::ffff: "))
        XCTAssertEqual(SiteMinderMessage.attrs("Failed handshake with ::ffff: "), ["\"event\":\"handshake_failed\""])
    }

    func testStatsBlockIsOneEventWithItsCounters() throws {
        // Ujwol's 2017 post: six lines, one block; 0 connections now, 23 at most, limit 256; thread pool limit 70.
        let p = try parseFile(SiteMinderLog.self, "siteminder-handshake/smps-stats.log")
        XCTAssertEqual(p.records.count, 1)
        XCTAssertTrue(p.unparsed.isEmpty)
        let r = p.records[0]
        XCTAssertEqual(r.line, 1)
        XCTAssertEqual(p.raw(r).split(separator: "\n").count, 6, "the block's six lines are its raw text")
        XCTAssertEqual(iso(r.ts, 0), "2017-09-17T23:49:55Z")
        let a = try attrs(r)
        XCTAssertEqual(a["event"] as? String, "stats")
        XCTAssertEqual(a["thread_pool_limit"] as? Int, 70)
        XCTAssertEqual(a["msgs"] as? Int, 36630)
        XCTAssertEqual(a["throughput_per_sec"] as? Double, 0.033)
        XCTAssertEqual(a["response_time_ms"] as? Double, 209.441)
        XCTAssertEqual(a["wait_time_in_queue_ms"] as? Double, 0.077)
        XCTAssertEqual(a["current_depth"] as? Int, 0)
        XCTAssertEqual(a["max_depth"] as? Int, 2)
        XCTAssertEqual(a["busy_threads"] as? Int, 0)
        XCTAssertEqual(a["current_threads"] as? Int, 8)
        XCTAssertEqual(a["connections_current"] as? Int, 0)
        XCTAssertEqual(a["connections_max"] as? Int, 23)
        XCTAssertEqual(a["connections_limit"] as? Int, 256)
        XCTAssertEqual(a["connections_exceeded_limit"] as? Int, 0)
        XCTAssertEqual(a["summary"] as? String, "smpolicysrv -stats: connections 0 (max 23, limit 256, over limit 0); queue depth 0 (max 2); busy threads 0 of 8; 36630 messages")
    }

    func testThreadPoolLineWithoutItsOpeningBracket() throws {
        // KB000012268 quotes one `Thread pool:` line, its leading `[` lost: 58844 messages, queue at most 50 deep.
        let p = try parseFile(SiteMinderLog.self, "siteminder-handshake/smps-thread-pool.log")
        XCTAssertEqual(p.records.count, 1)
        let a = try attrs(p.records[0])
        XCTAssertEqual(a["msgs"] as? Int, 58844)
        XCTAssertEqual(a["throughput_per_sec"] as? Double, 238.235)
        XCTAssertEqual(a["max_depth"] as? Int, 50)
        XCTAssertEqual(a["pid"] as? Int, 6241)
        XCTAssertNil(a["connections_current"])
    }

    func testEachStatsBlockIsItsOwnPointOfTheSeries() throws {
        // Two published samples one after the other (KB000012268's line, then the 2017 block: two servers, not one
        // server's history): two blocks, two events, each with its own counters, in file order.
        let text = try file("siteminder-handshake/smps-thread-pool.log") + file("siteminder-handshake/smps-stats.log")
        let p = parse(SiteMinderLog.self, text, path: "test")
        XCTAssertEqual(p.records.map(\.line), [1, 2])
        XCTAssertEqual(try p.records.map { try attrs($0)["msgs"] as? Int }, [58844, 36630])
        XCTAssertEqual(try p.records.map { try attrs($0)["max_depth"] as? Int }, [50, 2])
    }

    func testWebAgentAgentAPIFailures() throws {
        // KB000038141: IsProtectedEx returned -2, LoginEx -1 twice; four components reported a fatal error.
        let p = try parseFile(SiteMinderLog.self, "siteminder-handshake/webagent-agentapi-failed.log")
        XCTAssertEqual(p.records.count, 7)
        XCTAssertTrue(p.unparsed.isEmpty)
        let a = try p.records.map(attrs)
        let api = a.filter { $0["event"] as? String == "agent_api_failed" }
        XCTAssertEqual(api.map { $0["function"] as? String }, ["Sm_AgentApi_IsProtectedEx", "Sm_AgentApi_LoginEx", "Sm_AgentApi_LoginEx"])
        XCTAssertEqual(api.map { $0["returned"] as? Int }, [-2, -1, -1], "`returned'-1'` without its space too")
        // SmAgentAPI.h: -2 SM_AGENTAPI_TIMEOUT, -1 SM_AGENTAPI_FAILURE.
        XCTAssertEqual(api.map { $0["returned_means"] as? String }, ["timeout", "failure", "failure"])
        XCTAssertEqual(a.filter { $0["event"] as? String == "component_fatal" }.map { $0["component"] as? String },
                       ["Low Level Agent", "Protection Manager", "Low Level Agent", "Authentication Manager"])
        // Line 2 has no space after its message id.
        XCTAssertEqual(a[1]["summary"] as? String, "HLA: Component reported fatal error: 'Low Level Agent'.")
        XCTAssertEqual(iso(p.records[6].ts, 0), "2016-02-07T13:17:10Z")
    }

    func testRedactedDatesAndBadLinesAreKeptWithTheirLineAndReason() throws {
        // KB 15867 prints its stats block with the date field emptied (`[]`) or a placeholder (`[[<Date> <Time>]`):
        // such lines cannot be placed in time. A cut line and prose are not SiteMinder lines.
        let text = """
        [8688/2216][][CServer.cpp:8242][INFO][sm-Server-02360] Server 'Stats' command received
        [8688/2216][[<Date> <Time>][CServer.cpp:4959][INFO][sm-Server-02000] System Statistics
        [1860/2604][Mon Jul 18 2016 13:59:03][CServer.cpp:2121][ERROR][sm-Server-01070] Failed handshake with 155.35.245.129:49184
        [1860/26
        Policy Server smps.log shows failed handshake errors:
        """
        let p = parse(SiteMinderLog.self, Array(text.utf8), path: "test")
        XCTAssertEqual(p.records.map(\.line), [3])
        XCTAssertEqual(p.unparsed.map(\.line), [1, 2, 4, 5])
        XCTAssertTrue(p.unparsed[0].reason.contains("no time"))
        XCTAssertTrue(p.unparsed[1].reason.contains("no time"))
        XCTAssertTrue(p.unparsed[2].reason.contains("not a SiteMinder log line"))
    }

    // MARK: smtracedefault.log / WebAgentTrace.log

    func testTraceColumnsFromItsHeaderLine() throws {
        // Rick Siek's post: an 18-column header, then two lines from agent apiagent, thread 5232, at 17:09:17.059.
        let p = try parseFile(SiteMinderTrace.self, "siteminder-policy-trace/smtracedefault.log")
        XCTAssertEqual(p.records.map(\.line), [2, 3])
        XCTAssertTrue(p.unparsed.isEmpty)
        XCTAssertEqual(p.structureLines, [1], "the header (with its underline on the same line) shapes the file")
        XCTAssertEqual(p.facts.timeDigits, 3)
        XCTAssertEqual(p.facts.timeBasis, .absolute)
        XCTAssertTrue(p.facts.notes["columns"]?.hasSuffix("(from the header line 1)") ?? false)
        XCTAssertTrue(p.facts.warnings.isEmpty)
        XCTAssertEqual(iso(p.records[0].ts), "2011-09-15T17:09:17.059Z")
        let first = try attrs(p.records[0]), second = try attrs(p.records[1])
        XCTAssertEqual(first["summary"] as? String, "Receive request attribute 200, data size is 8")
        XCTAssertEqual(first["tid"] as? String, "5232")
        XCTAssertEqual(first["agent_name"] as? String, "apiagent")
        XCTAssertNil(first["realm"], "empty columns are left out")
        XCTAssertEqual(second["realm"] as? String, "Content1")
        XCTAssertEqual(second["data"] as? String, "06-c040c8c0-ca61-420f-a44a-9aae058597b3")
        XCTAssertEqual(second["summary"] as? String, "Send response attribute 204, data size is 39")
        XCTAssertNil(p.records[0].src, "no IPAddr/IPPort columns")
    }

    func testTraceColumnsFromTheConfigurationBesideIt() throws {
        // The two lines without their header, read from the folder whose smtracedefault.txt lists the columns.
        let lines = try file("siteminder-policy-trace/smtracedefault.log").split(separator: 0x0A, omittingEmptySubsequences: false).dropFirst()
        let bytes = Array(lines.joined(separator: [0x0A]))
        let p = parse(SiteMinderTrace.self, bytes, path: corpus.appendingPathComponent("siteminder-policy-trace/smtracedefault.log").path)
        XCTAssertEqual(p.records.count, 2)
        XCTAssertTrue(p.facts.notes["columns"]?.hasSuffix("(from smtracedefault.txt)") ?? false)
        XCTAssertEqual(p.facts.notes["components"], "IsProtected, Login_Logout, IsAuthorized")
        XCTAssertEqual(try attrs(p.records[1])["realm"] as? String, "Content1")
        XCTAssertTrue(p.facts.warnings.isEmpty)
    }

    func testTraceColumnsInferredFromTheBracketsWithAWarning() throws {
        // The same two lines with nothing to name their columns: the date and time are recognised, the longest
        // field is the message, and the ingest says the columns were guessed.
        let lines = try file("siteminder-policy-trace/smtracedefault.log").split(separator: 0x0A, omittingEmptySubsequences: false).dropFirst()
        let p = parse(SiteMinderTrace.self, Array(lines.joined(separator: [0x0A])), path: "test")
        XCTAssertEqual(p.records.count, 2)
        XCTAssertEqual(iso(p.records[1].ts), "2011-09-15T17:09:17.059Z")
        XCTAssertEqual(try attrs(p.records[0])["summary"] as? String, "Receive request attribute 200, data size is 8")
        XCTAssertEqual(p.facts.warnings.count, 1)
        XCTAssertTrue(p.facts.warnings[0].contains("inferred from line 1's 18 brackets"))
    }

    func testTheSeedsTraceConfigurationGivesElevenColumns() throws {
        // The seed's smtracedefault.txt (lines 166-170): the data: list and the components, read as the trace
        // parser reads a configuration beside a log.
        let text = String(decoding: try file("siteminder-handshake/smtracedefault.txt"), as: UTF8.self)
        let (columns, components) = try XCTUnwrap(SiteMinderTrace.readConfig(text))
        XCTAssertEqual(columns, ["Date", "PreciseTime", "Pid", "Tid", "SrcFile", "Function", "IPAddr", "IPPort", "Message", "ClusterID", "Throughput"])
        XCTAssertEqual(components?.hasPrefix("AgentFunc/Init, AgentFunc/UnInit"), true)
        XCTAssertEqual(components?.hasSuffix("Tunnel_Service"), true)
        XCTAssertEqual(SiteMinderTrace.attrName("IPAddr"), "ip_addr")
        XCTAssertEqual(SiteMinderTrace.attrName("ClusterID"), "cluster_id")
        XCTAssertEqual(SiteMinderTrace.attrName("PreciseTime"), "precise_time")
    }

    func testIPAddrAndIPPortColumnsBecomeTheSource() throws {
        // Constructed, not a published line (none with the seed's columns was found; corpus/siteminder-handshake's
        // README says so): it checks only that the seed's column list is applied and that IPAddr/IPPort — CA's
        // "client IP address" and "client IP port" — become the event's source. Documentation addresses.
        let config = "data: Date, PreciseTime, Pid, Tid, SrcFile, Function, IPAddr, IPPort, Message, ClusterID, Throughput\n"
        let dir = NSTemporaryDirectory() + "tj-sm-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try config.write(toFile: dir + "/smtracedefault.txt", atomically: true, encoding: .utf8)
        let log = dir + "/smtracedefault.log"
        try "".write(toFile: log, atomically: true, encoding: .utf8)
        let line = "[01/02/2020][03:04:05.678][1][2][x.cpp:1][f][192.0.2.7][49286][m][][]\n"
        let p = parse(SiteMinderTrace.self, Array(line.utf8), path: log)
        XCTAssertEqual(p.records.count, 1)
        XCTAssertEqual(p.records[0].srcEndpoint?.text, "192.0.2.7:49286")
        XCTAssertEqual(try attrs(p.records[0])["peer"] as? String, "192.0.2.7:49286")
        XCTAssertEqual(try attrs(p.records[0])["src_file"] as? String, "x.cpp:1")
        // A line with fewer fields than the columns is kept, with why.
        let short = parse(SiteMinderTrace.self, Array("[01/02/2020][03:04:05.678][1]\n".utf8), path: log)
        XCTAssertEqual(short.unparsed.map(\.line), [1])
        XCTAssertTrue(short.unparsed[0].reason.contains("3 fields where the columns (smtracedefault.txt) are 11"))
    }

    func testAgentTraceTakesTheAgentsConfigurationNotThePolicyServers() throws {
        // corpus/siteminder-scenario holds both machines' files (reconstructed traces, its README says so): the
        // Policy Server's smtracedefault.txt (11 columns) and the agent's AgentConMgr.conf (9 columns, components
        // Agent_Con_Manager). The agent's trace has the 9-column header; read beside smtracedefault.txt first, it
        // would be warned about as differing from it.
        let dir = corpus.appendingPathComponent("siteminder-scenario")
        let agentPath = dir.appendingPathComponent("webagent.WebAgentTrace.log").path
        let agent = parse(SiteMinderTrace.self, try file("siteminder-scenario/webagent.WebAgentTrace.log"), path: agentPath)
        XCTAssertEqual(agent.records.count, 36, "38 lines, less the header and its underline")
        XCTAssertEqual(agent.structureLines, [1, 2])
        XCTAssertTrue(agent.unparsed.isEmpty)
        XCTAssertEqual(agent.facts.warnings, [])
        XCTAssertEqual(agent.facts.notes["components"], "Agent_Con_Manager")
        // Line 3: [10.93.0.2][49286][Connected to Policy Server 10.93.0.10:44443] at 22:33:31.589.
        XCTAssertEqual(agent.records[0].line, 3)
        XCTAssertEqual(agent.records[0].srcEndpoint?.text, "10.93.0.2:49286")
        XCTAssertEqual(iso(agent.records[0].ts), "2026-11-27T22:33:31.589Z")
        XCTAssertEqual(try attrs(agent.records[0])["summary"] as? String, "Connected to Policy Server 10.93.0.10:44443")
        XCTAssertEqual(try attrs(agent.records[0])["function"] as? String, "CSmAgentConnection::Connect")

        // Without its header the agent's lines take AgentConMgr.conf's columns.
        let body = try file("siteminder-scenario/webagent.WebAgentTrace.log").split(separator: 0x0A, omittingEmptySubsequences: false).dropFirst(2)
        let bare = parse(SiteMinderTrace.self, Array(body.joined(separator: [0x0A])), path: agentPath)
        XCTAssertEqual(bare.records.count, 36)
        XCTAssertTrue(bare.facts.notes["columns"]?.hasSuffix("(from AgentConMgr.conf)") ?? false, bare.facts.notes["columns"] ?? "no columns")
        XCTAssertEqual(bare.records[0].srcEndpoint?.text, "10.93.0.2:49286")

        // The Policy Server's trace, in the same folder, still takes the seed's smtracedefault.txt.
        let server = parse(SiteMinderTrace.self, try file("siteminder-scenario/policyserver.smtracedefault.log"),
                           path: dir.appendingPathComponent("policyserver.smtracedefault.log").path)
        XCTAssertEqual(server.records.count, 44, "46 lines, less the header and its underline")
        XCTAssertEqual(server.facts.warnings, [])
        XCTAssertEqual(server.facts.notes["components"]?.hasPrefix("AgentFunc/Init"), true)
        // Line 3, `Listening…`, names no agent; line 4 is the agent's bootstrap connection, accepted.
        XCTAssertNil(server.records[0].srcEndpoint)
        XCTAssertEqual(server.records[1].srcEndpoint?.text, "10.93.0.2:49286")
        XCTAssertEqual(try attrs(server.records[1])["summary"] as? String, "Accepted connection on 10.93.0.10:44443")
    }

    func testCutAndDamagedLinesNeverCrashAndAreAccountedFor() throws {
        // Every corpus sample cut at every byte, and with bytes overwritten (a fixed pseudo-random sequence):
        // both parsers read it to its end, each non-blank line a record's or kept unparsed.
        var seed: UInt64 = 0x5173_4D49_4E44
        func next() -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int(seed >> 33) }
        let names = ["siteminder-handshake/smps-handshake-failed.log", "siteminder-handshake/smps-stats.log",
                     "siteminder-handshake/webagent-agentapi-failed.log", "siteminder-policy-trace/smtracedefault.log"]
        for name in names {
            let whole = try file(name)
            var inputs = stride(from: 0, to: whole.count, by: 7).map { Array(whole.prefix($0)) }
            for _ in 0..<200 {
                var b = whole
                for _ in 0..<3 { b[next() % b.count] = UInt8(truncatingIfNeeded: [0x5B, 0x5D, 0x2F, 0x3A, 0x20, 0x0A, 0x3D, next()][next() % 8]) }
                inputs.append(b)
            }
            for b in inputs {
                for p in [parse(SiteMinderLog.self, b, path: "test"), parse(SiteMinderTrace.self, b, path: "test")] {
                    let lines = b.split(separator: 0x0A, omittingEmptySubsequences: false)
                    let kept = Set(p.unparsed.map(\.line)).union(p.structureLines)
                    var covered = Set<Int>()
                    for r in p.records { for n in r.line...(r.line + p.raw(r).filter { $0 == "\n" }.count) { covered.insert(n) } }
                    for (i, l) in lines.enumerated() where !l.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                        XCTAssertTrue(kept.contains(i + 1) || covered.contains(i + 1), "\(name): line \(i + 1) lost")
                    }
                }
            }
        }
    }

    // MARK: detection

    func testEachSiteMinderFileGoesToItsParserAndNoNeighbourSteals() throws {
        func detected(_ relative: String) throws -> String? {
            Registry.detect(SniffHead(bytes: Array(try file(relative).prefix(64 << 10))))?.parser.id
        }
        for f in ["smps-handshake-failed.log", "smps-stats.log", "smps-thread-pool.log", "webagent-agentapi-failed.log"] {
            XCTAssertEqual(try detected("siteminder-handshake/" + f), "siteminder_log", f)
        }
        XCTAssertEqual(try detected("siteminder-policy-trace/smtracedefault.log"), "siteminder_trace")
        XCTAssertEqual(try detected("siteminder-scenario/policyserver.smtracedefault.log"), "siteminder_trace")
        XCTAssertEqual(try detected("siteminder-scenario/webagent.WebAgentTrace.log"), "siteminder_trace")
        // Configurations and READMEs are no log.
        XCTAssertNil(try detected("siteminder-handshake/smtracedefault.txt"))
        XCTAssertNil(try detected("siteminder-policy-trace/smtracedefault.txt"))
        XCTAssertNil(try detected("siteminder-scenario/AgentConMgr.conf"))
        // Neighbours: the Tivoli proxy log and a Lync client log are not SiteMinder's.
        XCTAssertEqual(SiteMinderLog.sniff(SniffHead(bytes: try file("tivoli-proxy/gwp.log"))), 0)
        XCTAssertEqual(SiteMinderTrace.sniff(SniffHead(bytes: try file("tivoli-proxy/gwp.log"))), 0)
        XCTAssertEqual(SiteMinderTrace.sniff(SniffHead(bytes: try file("siteminder-handshake/smps-stats.log"))), 0)
        XCTAssertEqual(SiteMinderLog.sniff(SniffHead(bytes: try file("siteminder-policy-trace/smtracedefault.log"))), 0)
        XCTAssertEqual(SiteMinderLog.sniff(SniffHead(bytes: try file("lync-federation/client-uccapi.log"))), 0)
        // The shipped format files (apache_error writes `[Wed Oct 11 14:32:52 2000] [error]`) take none of them.
        let saved = Registry.declarative
        defer { Registry.declarative = saved }
        Registry.declarative = FormatLoader.load(folders: [DeclarativeFormatTests.shipped]).formats
        XCTAssertFalse(Registry.declarative.isEmpty)
        for f in ["siteminder-handshake/smps-stats.log", "siteminder-handshake/webagent-agentapi-failed.log", "siteminder-policy-trace/smtracedefault.log"] {
            XCTAssertEqual(Registry.detect(bytes: try file(f))?.id, f.hasSuffix("smtracedefault.log") ? "siteminder_trace" : "siteminder_log", f)
        }
    }
}
