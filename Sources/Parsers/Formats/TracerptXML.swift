import TraceModel

/// `tracerpt trace.etl -o dumpfile.xml -of XML` (XML is tracerpt's default dump format): one `<Event>` per
/// trace event in the event log schema, with what the ETL file adds — `KernelTime`/`UserTime`/`ProcessorID`
/// on `<Execution>`, the event's class name in `RenderingInfo/EventName` (in the `events/trace` namespace)
/// and its class GUID in `ExtendedTracingInfo/EventGuid`:
/// ```
/// <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
///   <System><Provider Name="MSNT_SystemTrace" Guid="{9e814aad-3204-11d2-9a82-006008a86939}"/> <EventID>0</EventID>
///     <Version>2</Version> … <Opcode>10</Opcode> … <TimeCreated SystemTime="2010-01-14T11:20:14.142415800Z"/>
///     <Execution ProcessID="4294967295" ThreadID="4294967295" ProcessorID="0" KernelTime="0" UserTime="0"/> …</System>
///   <EventData><Data Name="PID">2136</Data><Data Name="size">8</Data><Data Name="daddr">172.016.001.001</Data>
///     <Data Name="saddr">172.016.057.015</Data><Data Name="dport">2762</Data><Data Name="sport">36003</Data> …</EventData>
///   <RenderingInfo Culture="en-US"><Opcode>Send</Opcode><Provider>MSNT_SystemTrace</Provider>
///     <EventName xmlns="http://schemas.microsoft.com/win/2004/08/events/trace">UdpIp</EventName></RenderingInfo>
///   <ExtendedTracingInfo xmlns="…/events/trace"><EventGuid>{bf3a50c5-a9c9-4988-a005-2df0b7c80f80}</EventGuid></ExtendedTracingInfo>
/// </Event>
/// ```
/// The layout follows tracerpt XML quoted in writeasync.net/?p=1371 ("Decoding EventSource traces") and the
/// event schema's SystemPropertiesType (learn.microsoft.com, wes/eventschema-systempropertiestype-complextype);
/// the data names are those of the kernel classes UdpIp_TypeGroup1 / TcpIp_TypeGroup1 (learn.microsoft.com,
/// etw/udpip-typegroup1).
///
/// Kernel `TcpIp`/`UdpIp` events with addresses and ports become the packet events `tracerpt_csv` makes of the
/// same rows (PID, bytes, endpoints, `"event":"UdpIp Send"`), so both dumps of one trace read alike. The
/// trace's header events (`EventTrace`, `SystemConfig`) are counted, not events. Any other event is a log
/// event with its class and opcode. SystemTime is UTC: `--tz` does not apply.
public struct TracerptXML: LineParser {
    public static let id = "tracerpt_xml"
    public static let summary = "tracerpt XML dump (-of XML): kernel TcpIp/UdpIp events as packets (PID, bytes, endpoints), other events as log lines"

    private var reader = EventXMLReader()
    private var events: Int64 = 0
    private var headerEvents = 0
    private var digits = 0
    private let zoneGiven: Bool

    public init(context: ParseContext) {
        zoneGiven = context.zoneOffset != nil
    }

    /// ETL-only marks: no event log export has them.
    static let marks = ["<ExtendedTracingInfo", "MSNT_SystemTrace", "KernelTime=", "ProcessorID="]

    public static func sniff(_ head: SniffHead) -> Double {
        guard let text = EventXML.sniffText(head) else { return 0 }
        return marks.contains(where: { text.contains($0) }) ? 0.95 : 0
    }

    /// Class GUIDs of the header events, for dumps rendered without `RenderingInfo`: EventTraceEvent and SystemConfig.
    static let headerGuids: Set<String> = ["{68fdd900-4a3e-11d1-84f4-0000f80464e3}", "{01853a65-418f-4f36-aefc-dc0f1d2fd235}"]
    /// TcpIp and UdpIp class GUIDs, likewise.
    static let networkGuids = ["{9a280ac0-c8e0-11d1-84e2-00c04fb998a2}": "TcpIp", "{bf3a50c5-a9c9-4988-a005-2df0b7c80f80}": "UdpIp"]

    public mutating func consume(_ line: Line, into sink: RecordSink) {
        for e in reader.consume(line, into: sink) { read(e, sink) }
    }

    public mutating func finish(into sink: RecordSink) -> SourceFacts {
        for e in reader.finish(into: sink) { read(e, sink) }
        var facts = EventXML.utcFacts(digits: digits, zoneGiven: zoneGiven, what: "tracerpt XML")
        facts.notes["header_events"] = String(headerEvents)
        return facts
    }

    private mutating func read(_ e: EventXML, _ sink: RecordSink) {
        let guid = e["ExtendedTracingInfo/EventGuid"]?.lowercased()
        let name = e["RenderingInfo/EventName"] ?? guid.flatMap { TracerptXML.networkGuids[$0] } ?? e["System/Provider@Name"] ?? "Event"
        if name == "EventTrace" || name == "SystemConfig" || guid.map(TracerptXML.headerGuids.contains) == true {
            headerEvents += 1
            reader.structure(e, into: sink)
            return
        }
        guard let time = e["System/TimeCreated@SystemTime"].flatMap(EventXML.systemTime) else {
            reader.unparsed(e, reason: "tracerpt event without a readable TimeCreated SystemTime", into: sink)
            return
        }
        digits = max(digits, time.digits)
        events += 1
        let opcode = e["RenderingInfo/Opcode"] ?? e["System/Opcode"] ?? ""
        let event = opcode.isEmpty ? name : name + " " + opcode
        var r = EventRecord(line: e.line, ordinal: events, ts: time.ns, kind: .log, rawAt: e.rawAt, rawLen: e.rawLen, summaryAt: e.dataAt ?? 0)
        // The process is the event's PID field: kernel network events are logged on other threads, so the
        // header's ProcessID is often 0xFFFFFFFF (UdpIp class documentation).
        let pid = e.dataValue("PID").flatMap { Int64($0) } ?? e["System/Execution@ProcessID"].flatMap { Int64($0) }.flatMap { $0 == 0xFFFF_FFFF ? nil : $0 }
        if name == "TcpIp" || name == "UdpIp", let size = e.dataValue("size").flatMap({ Int64($0) }),
           let dst = e.dataValue("daddr").flatMap({ Address(ip: $0) }), let src = e.dataValue("saddr").flatMap({ Address(ip: $0) }),
           let dport = e.dataValue("dport").flatMap({ Int32($0) }), let sport = e.dataValue("sport").flatMap({ Int32($0) }) {
            r.kind = .packet
            r.proto = name == "TcpIp" ? IPProto.tcp : IPProto.udp
            r.label = name == "TcpIp" ? "TCP" : "UDP"
            r.src = src; r.srcPort = sport
            r.dst = dst; r.dstPort = dport
            r.len = size
        } else {
            r.label = name
        }
        r.attrs = "{" + (pid.map { "\"pid\":\($0)," } ?? "") + "\"event\":" + jsonString(event) + "}"
        sink.emit(r)
    }
}
