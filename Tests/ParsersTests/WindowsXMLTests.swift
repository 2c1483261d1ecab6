import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// tracerpt XML dumps and event log XML exports (corpus/exchange-udp/dumpfile.xml, corpus/rdp-reset/ts-server-eventlog.xml:
/// renderings of the seed's rows in the documented layout), read against the CSV and text forms of the same rows.
final class WindowsXMLTests: XCTestCase {
    func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: corpus.appendingPathComponent(relative)))
    }

    /// The fields an event has whatever file it came from (not its line or place in the text).
    func fields(_ r: EventRecord) -> String {
        "\(r.ordinal) \(r.kind) \(r.ts) \(r.proto) \(r.src?.text ?? "-"):\(r.srcPort) → \(r.dst?.text ?? "-"):\(r.dstPort) len \(r.len) \(r.label ?? "-") \(r.attrs ?? "-")"
    }

    /// The summary as the store gives it: the raw text without carriage returns, from `summaryAt` to its line's end.
    func summary(_ p: Parsed, _ r: EventRecord) -> String {
        let raw = Array(p.raw(r).utf8)
        let tail = raw[min(r.summaryAt, raw.count)...]
        return String(decoding: tail.prefix { $0 != 0x0A }, as: UTF8.self)
    }

    func utf16LE(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xFE]
        for u in String(decoding: b, as: UTF8.self).utf16 { out += [UInt8(u & 0xFF), UInt8(u >> 8)] }
        return out
    }

    // MARK: tracerpt

    func testTracerptXMLGivesTheEventsOfTheCSVRows() throws {
        let xml = try parseFile(TracerptXML.self, "exchange-udp/dumpfile.xml")
        let csv = try parseFile(TracerptCSV.self, "exchange-udp/dumpfile.txt")
        XCTAssertEqual(xml.unparsed.count, 0, xml.unparsed.map(\.reason).joined(separator: "; "))
        XCTAssertEqual(xml.records.count, 4)
        XCTAssertEqual(xml.records.map(fields), csv.records.map(fields))
        // Read off the file: PID 2136 sends four 8-byte UDP datagrams from 172.16.57.15, at one FILETIME.
        XCTAssertEqual(xml.records.map { $0.dst?.text ?? "" }, ["172.16.1.1", "172.27.45.20", "172.160.76.112", "172.48.102.66"])
        XCTAssertEqual(xml.records.map(\.dstPort), [2762, 6004, 2344, 1116])
        XCTAssertEqual(xml.records.map(\.srcPort), [36003, 36009, 36016, 36022])
        XCTAssertEqual(Set(xml.records.map { $0.src?.text ?? "" }), ["172.16.57.15"])
        XCTAssertEqual(Set(xml.records.map(\.len)), [8])
        XCTAssertTrue(xml.records.allSatisfy { $0.kind == .packet && $0.proto == IPProto.udp && $0.attrs == "{\"pid\":2136,\"event\":\"UdpIp Send\"}" })
        XCTAssertEqual(iso(xml.records[0].ts, 7), "2010-01-14T11:20:14.1424158Z")
        XCTAssertEqual(xml.facts.timeDigits, 7)
        XCTAssertEqual(xml.facts.notes["header_events"], "0")
        // Each event keeps its lines (`<Event` on 3, 37, 71, 105; 34 lines each) and its text.
        XCTAssertEqual(xml.records.map(\.line), [3, 37, 71, 105])
        for r in xml.records {
            let raw = xml.raw(r)
            XCTAssertTrue(raw.hasPrefix("<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">"), raw)
            XCTAssertTrue(raw.hasSuffix("</Event>"), raw)
            XCTAssertEqual(raw.split(separator: "\n").count, 34)
            XCTAssertEqual(summary(xml, r), "<Data Name=\"PID\">2136</Data>")
        }
        XCTAssertTrue(xml.raw(xml.records[3]).contains("<Data Name=\"daddr\">172.048.102.066</Data>"))
    }

    func testTracerptHeaderEventsAreCountedAndOtherEventsAreLogLines() {
        let text = """
        <?xml version="1.0" encoding="UTF-16"?>
        <Events>
        <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
         <System><Provider Name="MSNT_SystemTrace" Guid="{9e814aad-3204-11d2-9a82-006008a86939}" /><EventID>0</EventID>
          <TimeCreated SystemTime="2013-01-08T09:18:50.000000000Z" /><Execution ProcessID="4" ThreadID="8" ProcessorID="0" KernelTime="0" UserTime="0" /></System>
         <EventData><Data Name="BufferSize">65536</Data></EventData>
         <RenderingInfo Culture="en-US"><Opcode>Header</Opcode><Provider>MSNT_SystemTrace</Provider>
          <EventName xmlns="http://schemas.microsoft.com/win/2004/08/events/trace">EventTrace</EventName></RenderingInfo>
        </Event>
        <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
         <System><Provider Name="MSNT_SystemTrace" /><TimeCreated SystemTime="2013-01-08T09:18:57.600123400Z" />
          <Execution ProcessID="4" ThreadID="8" ProcessorID="1" KernelTime="0" UserTime="0" /></System>
         <EventData><Data Name="ProcessId">5788</Data><Data Name="ImageFileName">OUTLOOK.EXE</Data></EventData>
         <RenderingInfo Culture="en-US"><Opcode>Start</Opcode><EventName xmlns="http://schemas.microsoft.com/win/2004/08/events/trace">Process</EventName></RenderingInfo>
        </Event>
        <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="MSNT_SystemTrace" /><TimeCreated SystemTime="2013-01-08T09:18:57.600200000Z" /><Execution ProcessID="4294967295" ThreadID="4294967295" KernelTime="0" UserTime="0" /></System><EventData><Data Name="PID">5788</Data><Data Name="size">1460</Data><Data Name="daddr">10.1.1.1</Data><Data Name="saddr">192.168.3.10</Data><Data Name="dport">1098</Data><Data Name="sport">80</Data></EventData><RenderingInfo Culture="en-US"><Opcode>Recv</Opcode><EventName xmlns="http://schemas.microsoft.com/win/2004/08/events/trace">TcpIp</EventName></RenderingInfo></Event>
        </Events>
        """
        XCTAssertGreaterThan(TracerptXML.sniff(SniffHead(lines: text.components(separatedBy: "\n"))), 0.9)
        XCTAssertEqual(EventlogXML.sniff(SniffHead(lines: text.components(separatedBy: "\n"))), 0)
        let p = parse(TracerptXML.self, bytes: Array(text.utf8), chunk: 5)
        XCTAssertEqual(p.unparsed.count, 0, p.unparsed.map(\.reason).joined(separator: "; "))
        XCTAssertEqual(p.facts.notes["header_events"], "1")
        // The declaration, the root, the header event's lines 3-9 and the root's end are the file's shape.
        XCTAssertEqual(p.structureLines.sorted(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 17])
        XCTAssertEqual(p.records.count, 2)
        let process = p.records[0]
        XCTAssertEqual(process.kind, .log)
        XCTAssertEqual(process.line, 10)
        XCTAssertEqual(process.label, "Process")
        XCTAssertEqual(process.attrs, "{\"pid\":4,\"event\":\"Process Start\"}", "no PID field: the header's process")
        XCTAssertEqual(summary(p, process), "<Data Name=\"ProcessId\">5788</Data><Data Name=\"ImageFileName\">OUTLOOK.EXE</Data></EventData>")
        let tcp = p.records[1]
        XCTAssertEqual(tcp.line, 16)
        XCTAssertEqual(tcp.kind, .packet)
        XCTAssertEqual(tcp.proto, IPProto.tcp)
        XCTAssertEqual(tcp.srcEndpoint?.text, "192.168.3.10:80")
        XCTAssertEqual(tcp.dstEndpoint?.text, "10.1.1.1:1098")
        XCTAssertEqual(tcp.len, 1460)
        XCTAssertEqual(tcp.attrs, "{\"pid\":5788,\"event\":\"TcpIp Recv\"}")
        XCTAssertEqual(tcp.ts - process.ts, 76_600, "…57.600200000 less …57.600123400")
    }

    // MARK: event log

    func testEventlogXMLGivesTheEventOfTheTextEntry() throws {
        let xml = try parseFile(EventlogXML.self, "rdp-reset/ts-server-eventlog.xml")
        let text = try parseFile(EventlogText.self, "rdp-reset/ts-server-eventlog.txt")
        XCTAssertEqual(xml.unparsed.count, 0, xml.unparsed.map(\.reason).joined(separator: "; "))
        XCTAssertEqual(xml.records.count, 1)
        XCTAssertEqual(xml.records.map(fields), text.records.map(fields))
        let e = xml.records[0]
        XCTAssertEqual(e.attrs, "{\"level\":\"Error\",\"provider\":\"Service Control Manager\",\"event_id\":7034,\"category\":\"None\"}")
        XCTAssertEqual(iso(e.ts, 0), "2013-01-06T08:54:40Z")
        // The summary starts at the message; it runs to the line's end, as every summary does.
        XCTAssertEqual(summary(xml, e), summary(text, text.records[0]) + "</Message>")
        XCTAssertEqual(e.line, 3)
        XCTAssertTrue(xml.raw(e).hasPrefix("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"))
        XCTAssertTrue(xml.raw(e).hasSuffix("</Event>"))
        XCTAssertEqual(xml.structureLines, [1, 2, 34])
        XCTAssertEqual(xml.facts.notes["zone"], "UTC (SystemTime)")
    }

    func testWevtutilEventsWithoutRootOrRendering() {
        // `wevtutil qe … /f:xml`: no declaration, no root, no RenderingInfo; one event a line (two glued on line 2).
        let ns = "xmlns='http://schemas.microsoft.com/win/2004/08/events/event'"
        let a = "<Event \(ns)><System><Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/><EventID Qualifiers='16384'>7036</EventID><Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x8080000000000000</Keywords><TimeCreated SystemTime='2013-01-06T08:55:40.1234567Z'/><EventRecordID>7</EventRecordID><Correlation/><Execution ProcessID='512' ThreadID='3044'/><Channel>System</Channel><Computer>TS01</Computer><Security/></System><EventData><Data Name='param1'>Remote Desktop Services</Data><Data Name='param2'>running</Data></EventData></Event>"
        let b = "<Event \(ns)><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>4625</EventID><Version>0</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode><Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='2013-01-06T08:56:00.5Z'/></System><EventData><Data Name='IpAddress'>10.0.107.58</Data></EventData></Event>"
        let c = "<Event \(ns)><System><Provider Name='TermDD'/><EventID Qualifiers='49162'>56</EventID><Level>3</Level><Task>2</Task><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='2013-01-06T08:57:00.000Z'/></System><EventData><Data>\\Device\\Termdd</Data><Data>10.0.107.58</Data></EventData></Event>"
        let text = a + "\r\n" + b + c + "\r\n"
        XCTAssertEqual(EventlogXML.sniff(SniffHead(bytes: Array(text.utf8))), 0.9)
        for chunk in [nil, 1, 7] {
            let p = parse(EventlogXML.self, bytes: Array(text.utf8), chunk: chunk)
            XCTAssertEqual(p.unparsed.count, 0, p.unparsed.map(\.reason).joined(separator: "; "))
            XCTAssertEqual(p.records.map(\.line), [1, 2, 2])
            XCTAssertEqual(p.records.map(\.attrs!), [
                "{\"level\":\"Information\",\"provider\":\"Service Control Manager\",\"event_id\":7036,\"category\":\"None\"}",
                "{\"level\":\"Audit Failure\",\"provider\":\"Microsoft-Windows-Security-Auditing\",\"event_id\":4625}",
                "{\"level\":\"Warning\",\"provider\":\"TermDD\",\"event_id\":56}",
            ])
            XCTAssertEqual(p.records.map { p.raw($0) }, [a, b, c], "each event's text, the glued two apart")
            XCTAssertEqual(p.records.map { iso($0.ts, 7) }, ["2013-01-06T08:55:40.1234567Z", "2013-01-06T08:56:00.5000000Z", "2013-01-06T08:57:00.0000000Z"])
            XCTAssertEqual(p.facts.timeDigits, 7)
            // No message: the summary starts at the event's data.
            XCTAssertTrue(summary(p, p.records[0]).hasPrefix("<Data Name='param1'>Remote Desktop Services</Data>"))
        }
    }

    // MARK: encodings, detection

    func testUTF16WithBOMGivesTheSameEvents() throws {
        for (file, id) in [("exchange-udp/dumpfile.xml", "tracerpt_xml"), ("rdp-reset/ts-server-eventlog.xml", "eventlog_xml")] {
            let plain = try bytes(file)
            let wide = utf16LE(plain)
            XCTAssertEqual(Registry.detect(bytes: wide)?.id, id, file)
            XCTAssertEqual(Registry.detect(bytes: plain)?.id, id, file)
            func run<P: LineParser>(_ t: P.Type) -> (Parsed, Parsed) {
                (parse(t, bytes: plain), parse(t, bytes: wide, chunk: 7))
            }
            let (a, b) = id == "tracerpt_xml" ? run(TracerptXML.self) : run(EventlogXML.self)
            XCTAssertFalse(a.records.isEmpty)
            XCTAssertEqual(b.unparsed.count, 0, file)
            XCTAssertEqual(b.records.map { fields($0) + " \($0.line) \($0.rawAt) \($0.rawLen) \($0.summaryAt)" },
                           a.records.map { fields($0) + " \($0.line) \($0.rawAt) \($0.rawLen) \($0.summaryAt)" }, file)
        }
    }

    func testXMLFormatsAndPDMLKeepToTheirOwnFiles() throws {
        var pdml: [UInt8] = []
        try InputFile(path: corpus.appendingPathComponent("tshark-netns/client.pdml.gz").path, container: .gzip).read { pdml.append(contentsOf: $0); return pdml.count < 64 << 10 }
        XCTAssertEqual(Registry.detect(bytes: pdml)?.id, "pdml")
        XCTAssertEqual(TracerptXML.sniff(SniffHead(bytes: pdml)), 0)
        XCTAssertEqual(EventlogXML.sniff(SniffHead(bytes: pdml)), 0)
        for file in ["exchange-udp/dumpfile.xml", "rdp-reset/ts-server-eventlog.xml"] {
            XCTAssertEqual(PDML.sniff(try bytes(file)), 0, file)
        }
        // And the text forms stay with their own parsers.
        XCTAssertEqual(Registry.detect(bytes: try bytes("exchange-udp/dumpfile.txt"))?.id, "tracerpt_csv")
        XCTAssertEqual(Registry.detect(bytes: try bytes("rdp-reset/ts-server-eventlog.txt"))?.id, "eventlog_text")
    }

    // MARK: bad input

    func testTruncatedDumpKeepsTheEventsBeforeAndSaysWhere() throws {
        // Cut after line 80: the third event (from line 71) ends at its TimeCreated.
        let lines = String(decoding: try bytes("exchange-udp/dumpfile.xml"), as: UTF8.self).components(separatedBy: "\r\n")
        let cut = Array(lines.prefix(80).joined(separator: "\r\n").utf8)
        for chunk in [nil, 3] {
            let p = parse(TracerptXML.self, bytes: cut, chunk: chunk)
            XCTAssertEqual(p.records.map(\.line), [3, 37])
            XCTAssertEqual(p.unparsed.map(\.line), Array(71...80))
            XCTAssertTrue(p.unparsed.allSatisfy { $0.reason.hasPrefix("XML error at line 80:") }, p.unparsed.first?.reason ?? "")
            XCTAssertEqual(p.unparsed.first?.raw, "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">")
            XCTAssertEqual(p.unparsed.last?.raw, "\t\t<TimeCreated SystemTime=\"2010-01-14T11:20:14.142415800Z\" />")
        }
    }

    func testBrokenElementKeepsTheEventsBeforeAndTheRestAsUnparsed() throws {
        // Line 54, in the second event: `<Data Name="size">8</Dta>`.
        var lines = String(decoding: try bytes("exchange-udp/dumpfile.xml"), as: UTF8.self).components(separatedBy: "\r\n")
        XCTAssertEqual(lines[53], "\t\t<Data Name=\"size\">8</Data>")
        lines[53] = "\t\t<Data Name=\"size\">8</Dta>"
        let broken = Array(lines.joined(separator: "\r\n").utf8)
        for chunk in [nil, 1, 4096] {
            let p = parse(TracerptXML.self, bytes: broken, chunk: chunk)
            XCTAssertEqual(p.records.map(\.line), [3], "the first event is read")
            // The second event from its first line, and every line after, are kept as unparsed.
            XCTAssertEqual(p.unparsed.map(\.line), Array(37...139))
            XCTAssertTrue(p.unparsed[0].reason.hasPrefix("XML error at line 54: Opening and ending tag mismatch: Data line 54 and Dta"), p.unparsed[0].reason)
            XCTAssertTrue(p.unparsed.last!.reason.contains("the XML error at line 54"), p.unparsed.last!.reason)
            XCTAssertEqual(p.unparsed.last?.raw, "</Events>")
        }
    }

    func testNoXMLAtAllIsOneErrorNotACrash() {
        let p = parse(EventlogXML.self, bytes: Array("Error 1/6/2013 8:54:40 AM Service Control Manager 7034 None\n".utf8))
        XCTAssertEqual(p.records.count, 0)
        XCTAssertEqual(p.unparsed.map(\.line), [1])
        XCTAssertTrue(p.unparsed[0].reason.hasPrefix("XML error at line 1: "), p.unparsed[0].reason)
        XCTAssertEqual(p.unparsed[0].raw, "Error 1/6/2013 8:54:40 AM Service Control Manager 7034 None")
    }
}
