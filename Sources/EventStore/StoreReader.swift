import TraceModel

/// What the views read (`timeline`, `clocks`, `sources`, the formatter of every printed event): the questions
/// any backend answers the same way, the SQLite store (`Store`) or ClickHouse (the ClickHouse module's reader).
///
/// The joiner's passes are not here: they write derived tables and run where the events were ingested. A
/// backend that only holds pushed data answers with what the push copied.
public protocol StoreReader: AnyObject {
    /// Every source, in the store's order (its ids ascending), with its clock correction.
    func sources() throws -> [SourceInfo]
    /// One page of a source's events in its own time order (time, then id), after `(ts, id)`, filtered; see
    /// `Store.eventPage`.
    func eventPage(source: SourceInfo, filter: EventFilter, after: (ts: Int64, id: Int64)?, limit: Int) throws
        -> (events: [StoredEvent], last: (ts: Int64, id: Int64)?, exhausted: Bool)
    /// One connection with its lifecycle; `hosts` is source id → host, given when calling in a loop.
    func connection(key: Int64, hosts: [Int64: String]?) throws -> ConnectionRow?
    /// Connections one of whose endpoints is this address (and port, if given).
    func connections(address: String, port: Int?) throws -> [ConnectionRow]
    /// Names sources gave for addresses, by address text.
    func hostNames() throws -> [String: [String]]
    /// Processes each host's tasklist named: host → pid → image.
    func processNames() throws -> [String: [Int64: String]]
    /// Each capture point's view of a connection.
    func captureViews(key: Int64) throws -> [CaptureView]
    /// The connections a reused tuple carried in turn (empty: one).
    func instances(key: Int64) throws -> [Lifecycle]
    /// Every connection with its lifecycle, by key.
    func allConnections() throws -> [ConnectionRow]
    /// Every event of one connection from every source (its own and those bound to it), on the aligned clock, in
    /// time order (time, source, id).
    func events(conn: Int64) throws -> [StoredEvent]
    /// The tuples one connection was seen under (NAT between capture points): the key's own first, then by key.
    func aliases(of key: Int64) throws -> [ConnectionAlias]
    /// Each packet's fate at the other capture points, by event id.
    func twins(events ids: [Int64]) throws -> [Int64: [TwinVerdict]]
    /// Every socket-table row (netstat, ss), on the aligned clock, by source and then in the source's order.
    func socketRows() throws -> [SocketRowFacts]

    // What `view` asks besides: positions in the timeline, pages by id, the live feed.

    /// For each point, how many of its source's events come before its time (source clock).
    func countsBefore(_ points: [(source: SourceInfo, sourceTime: Int64)]) throws -> [Int]
    /// Times a search for a position should ask about at once (`countsBefore`): 1 where each answer is cheap (SQLite:
    /// a binary search over rowids), many where each question is a round trip that costs about the same for one time
    /// as for dozens (ClickHouse).
    var probesPerQuestion: Int { get }
    /// Events by id, in the order given, each with its source and its time on that source's clock (where a backend
    /// whose ids are not its key finds them); ids not there are left out.
    func events(refs: [EventRef]) throws -> [StoredEvent]
    /// Events stored after id `id`, oldest first.
    func events(afterID id: Int64, limit: Int) throws -> [StoredEvent]
    /// The newest event's id (0 for none).
    func lastEventID() throws -> Int64
    /// Changes whenever what a cache of derived answers (aligned order, findings) depends on changed.
    func changeMark() throws -> String
    /// A connection by its Community ID.
    func connection(communityID: String) throws -> ConnectionRow?
}

extension StoreReader {
    /// Addresses by lowercased host name, for names that stand for exactly one address (a name given for
    /// two says nothing about which one a line meant).
    public func hostAddresses() throws -> [String: Address] {
        var candidates: [String: Set<Address>] = [:]
        for (text, names) in try hostNames() {
            guard let a = Address(ip: text) else { continue }
            for n in names { candidates[n.lowercased(), default: []].insert(a) }
        }
        return candidates.compactMapValues { $0.count == 1 ? $0.first : nil }
    }
}

/// An event by its id, and where it is: its source and its time on that source's clock.
public struct EventRef: Sendable, Equatable {
    public var id: Int64, source: Int64, tsSource: Int64
    public init(id: Int64, source: Int64, tsSource: Int64) { self.id = id; self.source = source; self.tsSource = tsSource }
}

extension Store: StoreReader {
    public var probesPerQuestion: Int { 1 }

    /// Rowids are the key here: the ids alone find them.
    public func events(refs: [EventRef]) throws -> [StoredEvent] { try events(ids: refs.map(\.id)) }

    public func countsBefore(_ points: [(source: SourceInfo, sourceTime: Int64)]) throws -> [Int] {
        try points.map { try countBefore(source: $0.source, sourceTime: $0.sourceTime) }
    }
}

/// A connection's columns as stored: its endpoints in Community ID order and what the lifecycle pass derived
/// (nil until it ran). The one shape both backends read a connection in, and the push copies.
public struct ConnectionRecord: Sendable, Equatable {
    /// Its endpoints as the views read them (`ConnectionRow`; its lifecycle nil here: `row(hosts:)` derives it from
    /// the columns below).
    public var endpoints: ConnectionRow
    public var key: Int64 { endpoints.key }
    public var communityID: String { endpoints.communityID }
    /// Who opened it: 0 = endpoint a, 1 = endpoint b.
    public var origSide: Int?
    /// Source id the counts come from.
    public var vantage: Int64?
    /// `source:packets,…` for every source that saw it.
    public var seenBy: String?
    public var firstTS: Int64?
    public var lastTS: Int64?
    public var origGuessed: Int?
    public var synTS: Int64?
    public var synRetransmissions: Int?
    public var synSynAckNS: Int64?
    public var synAckAckNS: Int64?
    public var handshakeCompleted: Int?
    public var endKind: String?
    public var endSide: Int?
    public var endTS: Int64?
    public var connState: String?
    public var history: String?
    public var origPackets: Int?
    public var origBytes: Int64?
    public var origRetransmissions: Int?
    public var respPackets: Int?
    public var respBytes: Int64?
    public var respRetransmissions: Int?

    public init(key: Int64, proto: Int, a: String, aport: Int, b: String, bport: Int, communityID: String) {
        endpoints = ConnectionRow(key: key, proto: proto, a: a, aport: aport, b: b, bport: bport, communityID: communityID, lifecycle: nil)
    }

    /// The connection as the views read it; `hosts` is source id → host.
    public func row(hosts: [Int64: String]) -> ConnectionRow {
        var c = endpoints
        c.lifecycle = lifecycle(c, hosts: hosts)
        return c
    }

    func lifecycle(_ c: ConnectionRow, hosts: [Int64: String]) -> Lifecycle? {
        guard let o = origSide, let vantage, let first = firstTS, let last = lastTS else { return nil }
        let ep = [c.aEndpoint, c.bEndpoint]
        var bySource: [Int64: Int] = [:]
        var byHost: [String: Int] = [:]
        for part in (seenBy ?? "").split(separator: ",") {
            let kv = part.split(separator: ":")
            guard kv.count == 2, let s = Int64(kv[0]), let n = Int(kv[1]) else { continue }
            bySource[s] = n
            byHost[hosts[s] ?? "source \(s)", default: 0] += n
        }
        var l = Lifecycle(originator: ep[o], responder: ep[1 - o], originatorSide: o, originatorGuessed: (origGuessed ?? 0) != 0,
                          vantage: hosts[vantage] ?? "", vantageSource: vantage, first: first, last: last, durationNS: last - first,
                          synAt: synTS, synRetransmissions: synRetransmissions ?? 0, synToSynAckNS: synSynAckNS,
                          synAckToAckNS: synAckAckNS, handshakeCompleted: (handshakeCompleted ?? 0) != 0,
                          end: endKind ?? "none", endBy: endSide.map { ep[$0] }, endAt: endTS,
                          connState: connState ?? "OTH", history: history ?? "", seenBy: byHost, seenBySource: bySource)
        l.orig = Lifecycle.Direction(packets: origPackets ?? 0, bytes: origBytes ?? 0, retransmissions: origRetransmissions ?? 0)
        l.resp = Lifecycle.Direction(packets: respPackets ?? 0, bytes: respBytes ?? 0, retransmissions: respRetransmissions ?? 0)
        return l
    }
}
