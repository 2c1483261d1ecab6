import Foundation
import TraceModel
import EventStore

/// Renders events the same way in every view: the time with the source's own precision, the host,
/// the source file, the connection, a one-line summary.
public final class EventFormatter {
    public let sources: [Int64: SourceInfo]
    private let hosts: [Int64: String]
    private let sourceNames: [Int64: String]
    private let store: any StoreReader
    private var connCache: [Int64: ConnectionRow?] = [:]
    /// Seconds east of UTC to show times in (`--tz`); UTC by default.
    public let displayZone: Int

    public init(store: any StoreReader, displayZone: Int = 0) throws {
        self.store = store
        self.displayZone = displayZone
        sources = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0) })
        hosts = sources.mapValues { $0.host }
        // Once per source: every evidence line names its file, and NSString's path handling is slow (it was
        // 40 % of printing 100,000 findings).
        sourceNames = sources.mapValues { ($0.path as NSString).lastPathComponent }
        names = try store.hostNames()
        processes = try store.processNames()
    }

    /// Processes each host's tasklist named: host → pid → image.
    public let processes: [String: [Int64: String]]

    /// Each capture point's view of a connection (several saw it).
    public func captureViews(_ key: Int64) throws -> [CaptureView] { try store.captureViews(key: key) }

    /// The connections a reused tuple carried in turn (empty: one).
    public func instances(_ key: Int64) throws -> [Lifecycle] { try store.instances(key: key) }

    /// Names sources gave for addresses (pcapng name blocks, tcpdump's resolved names), by address text.
    public let names: [String: [String]]

    /// An endpoint with its host's name when a source named it: `10.99.0.2:8080 (server.tj.test)`.
    public func named(_ endpoint: String) -> String {
        guard !names.isEmpty, let e = Endpoint(userText: endpoint), let n = names[e.address.text]?.first else { return endpoint }
        return "\(endpoint) (\(n))"
    }

    public func connection(_ key: Int64?) -> ConnectionRow? {
        guard let key else { return nil }
        if let c = connCache[key] { return c }
        let c = try? store.connection(key: key, hosts: hosts)
        connCache[key] = c
        return c
    }

    /// Whether a source's times sit on the calendar (absolute, or anchored by a clock).
    /// How a source's aligned times read: a clock solved from packets reads like its reference's (a
    /// relative reference keeps everything relative); an anchor gives a relative source calendar times.
    private func displayBasis(_ s: SourceInfo?) -> TimeBasis {
        guard let s else { return .absolute }
        if SolvedClock.isSolved(s.clockMethod), let r = s.clockReference, r != s.id, let ref = sources[r] {
            return displayBasis(ref)
        }
        return s.timeBasis == .absolute || s.offsetNS != 0 ? .absolute : s.timeBasis
    }

    /// ISO 8601 UTC with the source's precision; relative sources without an anchor as `+12.345678`.
    public func isoTime(_ e: StoredEvent) -> String { isoTime(e.ts, source: e.source) }

    /// The same for any aligned time of a source (a connection's first packet, its end).
    public func isoTime(_ ns: Int64, source: Int64) -> String {
        let s = sources[source]
        let digits = s?.timeDigits ?? 9
        switch displayBasis(s) {
        case .absolute: return CivilTime.iso8601(ns, digits: digits)
        case .timeOfDay: return CivilTime.timeOfDay(ns, digits: digits)
        case .relative: return CivilTime.relative(ns, digits: digits)
        }
    }

    /// For the terminal: `2013-01-06 09:53:40.765` in the display zone.
    public func displayTime(_ e: StoredEvent) -> String {
        let s = sources[e.source]
        let digits = s?.timeDigits ?? 9
        switch displayBasis(s) {
        case .absolute: return CivilTime.dateTime(e.ts + Int64(displayZone) * CivilTime.nsPerSecond, digits: digits)
        case .timeOfDay: return CivilTime.timeOfDay(e.ts, digits: digits)
        case .relative: return CivilTime.relative(e.ts, digits: digits)
        }
    }

    /// The event's time as its source wrote it, for sources whose clock was moved (else empty): what a
    /// user finds when looking the line up in the file itself.
    public func ownTime(_ e: StoredEvent) -> String {
        guard e.ts != e.tsSource, let s = sources[e.source] else { return "" }
        switch s.timeBasis {
        case .absolute: return CivilTime.dateTime(e.tsSource, digits: s.timeDigits)
        case .timeOfDay: return CivilTime.timeOfDay(e.tsSource, digits: s.timeDigits)
        case .relative: return CivilTime.relative(e.tsSource, digits: s.timeDigits)
        }
    }

    public func summary(_ e: StoredEvent) -> String {
        var out = ""
        if e.kind == .packet {
            if e.conn == nil, let s = e.srcEndpoint, let d = e.dstEndpoint { out += "\(s) → \(d) " }
            else if let c = connection(e.conn), let s = e.srcEndpoint {
                // Arrows read from the originator (the left endpoint of the connection column).
                out += s == c.ordered.0 ? "→ " : "← "
            }
            if let l = e.label { out += l + " " }
        }
        if let p = process(e) { out += "[\(p)] " }
        return out + e.summary
    }

    /// The image a host's tasklist names for an event that carries only a PID (tracerpt rows).
    public func process(_ e: StoredEvent) -> String? {
        guard !processes.isEmpty, let a = e.attrs, !a.contains("\"process\""), let r = a.range(of: "\"pid\":"),
              let pid = Int64(a[r.upperBound...].prefix { $0.isNumber }), let image = processes[host(e)]?[pid] else { return nil }
        return "\(image) (\(pid))"
    }

    public func host(_ e: StoredEvent) -> String { sources[e.source]?.host ?? "" }
    public func sourceName(_ e: StoredEvent) -> String { sourceName(e.source) }
    public func sourceName(_ source: Int64) -> String { sourceNames[source] ?? "" }

    public func json(_ e: StoredEvent) -> String {
        var o = JSONObject()
        o.add("ts", isoTime(e))
        o.add("ts_ns", e.ts)
        if e.ts != e.tsSource { o.add("ts_source_ns", e.tsSource) }
        o.add("host", host(e))
        o.add("source", sources[e.source]?.path)
        o.add("line", e.line)
        o.add("ordinal", e.ordinal)
        // The store's id: what `elsewhere[].twin` names, and the view's handle on the event.
        o.add("id", e.id)
        o.add("kind", e.kind.name)
        o.add("summary", e.summary)
        if let p = e.proto { o.add("proto", IPProto.name(UInt8(truncatingIfNeeded: p))) }
        o.add("label", e.label)
        if let c = connection(e.conn) {
            o.add("conn", c.text)
            o.add("community_id", c.communityID)
        }
        if e.kind == .packet {
            // Packets always carry these keys; null where the source does not show the value.
            o.addOrNull("src", e.srcEndpoint)
            o.addOrNull("dst", e.dstEndpoint)
            o.addOrNull("flags", e.tcpFlags?.text)
            o.addOrNull("seq", e.seq)
            o.addOrNull("ack", e.ack)
            o.addOrNull("len", e.len)
            o.add("seq_raw", e.seqRaw)
            o.add("ack_raw", e.ackRaw)
        } else {
            o.add("src", e.srcEndpoint)
            o.add("dst", e.dstEndpoint)
        }
        o.add("win", e.win)
        o.add("ipid", e.ipid)
        o.add("tsval", e.tsval)
        o.add("tsecr", e.tsecr)
        o.add("mss", e.mss)
        o.add("frame_len", e.frameLen)
        if e.expert != 0 { o.add("expert", strings: e.tcpExpert.names) }
        o.add("attrs", raw: e.attrs)
        return o.text
    }

    public static let csvHeader = "ts,host,source,line,kind,proto,src,dst,conn,flags,seq,ack,len,summary"

    public func csv(_ e: StoredEvent) -> String {
        let fields: [String] = [
            isoTime(e), host(e), sources[e.source]?.path ?? "", String(e.line), e.kind.name,
            e.proto.map { IPProto.name(UInt8(truncatingIfNeeded: $0)) } ?? "", e.srcEndpoint ?? "", e.dstEndpoint ?? "",
            connection(e.conn)?.text ?? "", e.tcpFlags?.text ?? "", e.seq.map(String.init) ?? "", e.ack.map(String.init) ?? "",
            e.len.map(String.init) ?? "", summary(e),
        ]
        return fields.map(csvField).joined(separator: ",")
    }
}
