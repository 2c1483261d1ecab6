import XCTest
import Foundation
@testable import Parsers
import TraceModel

final class CollectingCaptureSink: CaptureSink {
    var records: [EventRecord] = []
    var unparsedLines: [UnparsedLine] = []
    var text: [UInt8] = []
    var names: [(Address, String)] = []
    func emit(_ record: EventRecord) { records.append(record) }
    func hostName(_ address: Address, _ name: String) { names.append((address, name)) }
    func unparsed(_ line: UnparsedLine) { unparsedLines.append(line) }
    func appendText(_ s: UnsafeBufferPointer<UInt8>) -> Int64 {
        let at = Int64(text.count)
        text.append(contentsOf: s)
        return at
    }
    func summary(_ r: EventRecord) -> String {
        let s = Int(r.rawAt) + r.summaryAt
        return String(decoding: text[s..<Int(r.rawAt) + r.rawLen], as: UTF8.self)
    }
}

/// Reads a capture fed in chunks of `chunk` bytes.
func readCapture<P: CaptureParser>(_ type: P.Type, _ bytes: [UInt8], chunk: Int) -> (CollectingCaptureSink, SourceFacts) {
    var p = P(context: ParseContext(path: "test"))
    let sink = CollectingCaptureSink()
    bytes.withUnsafeBufferPointer { all in
        var i = 0
        while i < all.count {
            p.consume(UnsafeBufferPointer(rebasing: all[i..<min(i + chunk, all.count)]), into: sink)
            i += chunk
        }
    }
    let facts = p.finish(into: sink)
    return (sink, facts)
}

/// pcap and pcapng read directly, compared packet by packet with tshark's dissection of the same
/// captures (corpus/tshark-netns: real traffic made here; X.pcapng are `editcap -F pcapng X.pcap`).
final class CaptureTests: XCTestCase {
    func read<P: CaptureParser>(_ type: P.Type, _ bytes: [UInt8], chunk: Int) -> (CollectingCaptureSink, SourceFacts) {
        readCapture(type, bytes, chunk: chunk)
    }

    func testCapturesAgreeWithTsharksDissectionFieldByField() throws {
        for (file, side, digits) in [("client.pcap", "client", 6), ("server.pcap", "server", 9),
                                     ("client.pcapng", "client", 6), ("server.pcapng", "server", 9)] {
            let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("tshark-netns/" + file)))
            XCTAssertEqual(file.hasSuffix("ng") ? Pcapng.sniff(bytes) : Pcap.sniff(bytes), 1)
            let truth = try TsharkExportTests.Truth("tshark-netns/\(side).truth.tsv")
            for chunk in [bytes.count, 7] {
                let (sink, facts) = file.hasSuffix("ng") ? read(Pcapng.self, bytes, chunk: chunk) : read(Pcap.self, bytes, chunk: chunk)
                XCTAssertEqual(facts.timeDigits, digits, file)
                XCTAssertEqual(sink.unparsedLines.count, 0, "\(file): \(sink.unparsedLines.first?.reason ?? "")")
                XCTAssertEqual(sink.records.count, truth.rows.count, file)
                var tcpRows = 0
                for (r, t) in zip(sink.records, truth.rows) {
                    let at = "\(file) frame \(r.ordinal)"
                    XCTAssertEqual(r.ordinal, Int64(t["frame.number"]!), at)
                    XCTAssertEqual(r.ts, TsharkExportTests.ns(t["frame.time_epoch"]!), at)
                    XCTAssertEqual(r.frameLen, Int64(t["frame.len"]!), at)
                    if let src = t["ip.src"] ?? t["ipv6.src"] {
                        XCTAssertEqual(r.src, Address(ip: src), at)
                        XCTAssertEqual(r.dst, Address(ip: (t["ip.dst"] ?? t["ipv6.dst"])!), at)
                    }
                    if let id = t["ip.id"] { XCTAssertEqual(r.ipID, Int64(id.dropFirst(2), radix: 16), at) }
                    if let sp = t["udp.srcport"], t["tcp.srcport"] == nil, t["_ws.col.Protocol"] != "ICMP" {
                        XCTAssertEqual(r.proto, IPProto.udp, at)
                        XCTAssertEqual(r.srcPort, Int32(sp), at)
                    }
                    guard let sport = t["tcp.srcport"] else { continue }
                    tcpRows += 1
                    XCTAssertEqual(r.srcPort, Int32(sport), at)
                    XCTAssertEqual(r.dstPort, Int32(t["tcp.dstport"]!), at)
                    // Every flag, including the FINs that text exports hide behind HTTP rows.
                    XCTAssertEqual(r.flags, Int(t["tcp.flags"]!.dropFirst(2), radix: 16), at)
                    XCTAssertEqual(r.seqRaw, Int64(t["tcp.seq_raw"]!), at)
                    XCTAssertEqual(r.seq, Int64(t["tcp.seq"]!), at)
                    if r.ack != EventRecord.none {
                        XCTAssertEqual(r.ackRaw, Int64(t["tcp.ack_raw"]!), at)
                        XCTAssertEqual(r.ack, Int64(t["tcp.ack"]!), at)
                    }
                    XCTAssertEqual(r.len, Int64(t["tcp.len"]!), at)
                    XCTAssertEqual(TCPExpert(rawValue: r.expert).contains(.retransmission), t["tcp.analysis.retransmission"] != nil, at)
                    if let v = t["tcp.options.timestamp.tsval"] { XCTAssertEqual(r.tsval, Int64(v), at) }
                    if let v = t["tcp.options.mss_val"] { XCTAssertEqual(r.mss, Int64(v), at) }
                    let rawWin = Int64(t["tcp.window_size_value"]!)!
                    XCTAssertTrue(rawWin == 0 ? r.win == 0 : (r.win % rawWin == 0 && (r.win / rawWin) & (r.win / rawWin - 1) == 0), "\(at): Win=\(r.win) raw \(rawWin)")
                }
                XCTAssertGreaterThan(tcpRows, 30, file)
            }
        }
    }

    func testSummariesReadLikeTsharksInfo() throws {
        let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("tshark-netns/client.pcap")))
        let (sink, _) = read(Pcap.self, bytes, chunk: 4096)
        // tshark -r client.pcap, frame 3 (client.default.txt): the SYN of the HTTP connection.
        let syn = sink.records.first { $0.ordinal == 3 }!
        let text = try String(contentsOf: corpus.appendingPathComponent("tshark-netns/client.default.txt"), encoding: .utf8)
        let tsharkLine = text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("3 ") }!
        XCTAssertTrue(tsharkLine.hasSuffix(sink.summary(syn)), "\(tsharkLine) vs \(sink.summary(syn))")
        XCTAssertEqual(syn.label, "TCP")
    }

    func testPcapngCommentsStayWithTheirPackets() throws {
        // `editcap -a "3:SYN of the HTTP GET" -a "14:refused" client.pcapng client.commented.pcapng`
        let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("tshark-netns/client.commented.pcapng")))
        let (sink, _) = read(Pcapng.self, bytes, chunk: 100)
        XCTAssertEqual(sink.records.count, 53)
        let commented = sink.records.filter { $0.attrs?.contains("\"comment\"") == true }
        XCTAssertEqual(commented.map { $0.ordinal }, [3, 14])
        XCTAssertEqual(commented[0].attrs, "{\"ws\":1024,\"sack_perm\":true,\"comment\":\"SYN of the HTTP GET\"}")
        XCTAssertEqual(commented[1].attrs, "{\"comment\":\"refused\"}")
    }

    func testPcapngNameResolutionBlockNamesTheHosts() throws {
        // scripts/make-names-corpus.sh: tshark wrote the hosts file it was given into the name resolution
        // block (`tshark -r client.names.pcapng -q -z hosts` lists the same four).
        let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("tshark-netns/client.names.pcapng")))
        for chunk in [bytes.count, 7] {
            let (sink, _) = read(Pcapng.self, bytes, chunk: chunk)
            XCTAssertEqual(sink.records.count, 53)
            XCTAssertEqual(Set(sink.names.map { "\($0.0.text) \($0.1)" }),
                           ["10.99.0.1 client.tj.test", "10.99.0.2 server.tj.test", "fd99::1 client6.tj.test", "fd99::2 server6.tj.test"])
        }
    }

    func testAnICMPErrorBelongsToTheFlowItQuotes() throws {
        // client.pcap: UDP 10.99.0.1:41054 → 10.99.0.2:4444 is answered by ICMP port unreachable.
        let bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("tshark-netns/client.pcap")))
        let (sink, _) = read(Pcap.self, bytes, chunk: 4096)
        let udp = try XCTUnwrap(sink.records.first { $0.proto == IPProto.udp && $0.dstPort == 4444 })
        let icmp = try XCTUnwrap(sink.records.first { $0.label == "ICMP" && sink.summary($0).hasPrefix("Destination unreachable") })
        XCTAssertEqual(icmp.connection?.key, udp.connection?.key)
        XCTAssertEqual(icmp.src, udp.dst)
        XCTAssertEqual(icmp.attrs, "{\"icmp_from\":\"10.99.0.2\"}")
    }

    func testDamagedCapturesReadWhatIsValidAndSayWhere() throws {
        var bytes = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("tshark-netns/client.pcap")))
        // Cut inside the last record: every whole packet is read, the rest is reported with its offset.
        bytes.removeLast(10)
        var (sink, _) = read(Pcap.self, bytes, chunk: 1000)
        XCTAssertEqual(sink.records.count, 52)
        XCTAssertEqual(sink.unparsedLines.count, 1)
        XCTAssertTrue(sink.unparsedLines[0].reason.contains("byte offset"), sink.unparsedLines[0].reason)
        // A bad magic is said once, and nothing is made up.
        (sink, _) = read(Pcap.self, [UInt8](repeating: 0x41, count: 100), chunk: 30)
        XCTAssertEqual(sink.records.count, 0)
        XCTAssertEqual(sink.unparsedLines.count, 1)
        // A pcapng block with a length that cannot be: the packets before it are kept.
        var ng = [UInt8](try Data(contentsOf: corpus.appendingPathComponent("tshark-netns/client.pcapng")))
        let cut = ng.count / 2
        (sink, _) = read(Pcapng.self, Array(ng[..<cut]) + [6, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F] + Array(ng[cut...]), chunk: 999)
        XCTAssertGreaterThan(sink.records.count, 10)
        XCTAssertLessThan(sink.records.count, 53)
        ng.removeAll()
    }
}
