import EventStore

/// A connection record as a `connections` row in RowBinary (`ClickHouseSchema.connections`' column order), and
/// read back from the columns `selected` names.
enum ConnectionRows {
    static func write(_ c: ConnectionRecord, dataset: String, version: UInt64, path: String, into w: inout RowBinaryWriter) throws {
        func small<T: FixedWidthInteger>(_ v: Int?, _ column: String, _: T.Type) throws -> T? {
            guard let v else { return nil }
            guard let n = T(exactly: v) else { throw ClickHouseError.incomplete("\(path): connection \(c.communityID): \(column) \(v) does not fit \(T.self)") }
            return n
        }
        w.string(dataset)
        w.uint64(UInt64(bitPattern: c.key))
        let e = c.endpoints
        w.uint8(try small(e.proto, "proto", UInt8.self)!)
        w.string(e.a); w.uint16(try small(e.aport, "aport", UInt16.self)!)
        w.string(e.b); w.uint16(try small(e.bport, "bport", UInt16.self)!)
        w.string(c.communityID)
        w.nullable(try small(c.origSide, "orig_side", UInt8.self)) { $0.uint8($1) }
        w.nullable(c.vantage) { $0.int64($1) }
        w.nullable(c.seenBy) { $0.string($1) }
        w.nullable(c.firstTS) { $0.int64($1) }
        w.nullable(c.lastTS) { $0.int64($1) }
        w.nullable(try small(c.origGuessed, "orig_guessed", UInt8.self)) { $0.uint8($1) }
        w.nullable(c.synTS) { $0.int64($1) }
        w.nullable(c.synRetransmissions.map(Int64.init)) { $0.int64($1) }
        w.nullable(c.synSynAckNS) { $0.int64($1) }
        w.nullable(c.synAckAckNS) { $0.int64($1) }
        w.nullable(try small(c.handshakeCompleted, "handshake_completed", UInt8.self)) { $0.uint8($1) }
        w.nullable(c.endKind) { $0.string($1) }
        w.nullable(try small(c.endSide, "end_side", UInt8.self)) { $0.uint8($1) }
        w.nullable(c.endTS) { $0.int64($1) }
        w.nullable(c.connState) { $0.string($1) }
        w.nullable(c.history) { $0.string($1) }
        w.nullable(c.origPackets.map(Int64.init)) { $0.int64($1) }
        w.nullable(c.origBytes) { $0.int64($1) }
        w.nullable(c.origRetransmissions.map(Int64.init)) { $0.int64($1) }
        w.nullable(c.respPackets.map(Int64.init)) { $0.int64($1) }
        w.nullable(c.respBytes) { $0.int64($1) }
        w.nullable(c.respRetransmissions.map(Int64.init)) { $0.int64($1) }
        w.uint64(version)
    }

    /// The columns `read` takes, in its order: all but dataset and version.
    static let selected = ClickHouseSchema.connections.columns.map(\.name).filter { $0 != "dataset" && $0 != "version" }

    static func read(_ r: inout RowBinaryReader) throws -> ConnectionRecord {
        func int(_ r: inout RowBinaryReader) throws -> Int { Int(try r.int64()) }
        func byte(_ r: inout RowBinaryReader) throws -> Int { Int(try r.uint8()) }
        let key = Int64(bitPattern: try r.uint64())
        let proto = Int(try r.uint8())
        let a = try r.string(), aport = Int(try r.uint16())
        let b = try r.string(), bport = Int(try r.uint16())
        var c = ConnectionRecord(key: key, proto: proto, a: a, aport: aport, b: b, bport: bport, communityID: try r.string())
        c.origSide = try r.nullable(byte)
        c.vantage = try r.nullable { try $0.int64() }
        c.seenBy = try r.nullable { try $0.string() }
        c.firstTS = try r.nullable { try $0.int64() }
        c.lastTS = try r.nullable { try $0.int64() }
        c.origGuessed = try r.nullable(byte)
        c.synTS = try r.nullable { try $0.int64() }
        c.synRetransmissions = try r.nullable(int)
        c.synSynAckNS = try r.nullable { try $0.int64() }
        c.synAckAckNS = try r.nullable { try $0.int64() }
        c.handshakeCompleted = try r.nullable(byte)
        c.endKind = try r.nullable { try $0.string() }
        c.endSide = try r.nullable(byte)
        c.endTS = try r.nullable { try $0.int64() }
        c.connState = try r.nullable { try $0.string() }
        c.history = try r.nullable { try $0.string() }
        c.origPackets = try r.nullable(int)
        c.origBytes = try r.nullable { try $0.int64() }
        c.origRetransmissions = try r.nullable(int)
        c.respPackets = try r.nullable(int)
        c.respBytes = try r.nullable { try $0.int64() }
        c.respRetransmissions = try r.nullable(int)
        return c
    }
}

/// A `clocks` row: a source's clock as the store solved it, sources named by their ClickHouse ids. Read by the reader
/// (applied to the source) and by the push (written when it differs from the newest row).
struct ClockRow: Equatable {
    var sourceID: UInt64
    var offset: Int64
    var uncertainty: Int64?
    var drift: Int64
    var origin: Int64
    var method: String
    var reference: UInt64?
    var matched: Int64?
    var peer: UInt64?

    init(sourceID: UInt64, offset: Int64, uncertainty: Int64?, drift: Int64, origin: Int64, method: String, reference: UInt64?, matched: Int64?, peer: UInt64?) {
        self.sourceID = sourceID; self.offset = offset; self.uncertainty = uncertainty; self.drift = drift; self.origin = origin
        self.method = method; self.reference = reference; self.matched = matched; self.peer = peer
    }

    /// A row that takes a source's clock away (an engine pass no longer placing it): no method, read as no clock.
    static func none(_ sourceID: UInt64) -> ClockRow {
        ClockRow(sourceID: sourceID, offset: 0, uncertainty: nil, drift: 0, origin: 0, method: "", reference: nil, matched: nil, peer: nil)
    }

    /// The source's clock; nil when it has none (a clock row is written only for those).
    init?(_ s: SourceInfo, ids: [Int64: UInt64]) {
        guard let method = s.clockMethod, let id = ids[s.id] else { return nil }
        sourceID = id; offset = s.offsetNS; uncertainty = s.uncertaintyNS; drift = s.driftPPB; origin = s.driftOrigin
        self.method = method; reference = s.clockReference.flatMap { ids[$0] }; matched = s.clockMatched.map(Int64.init)
        peer = s.clockPeer.flatMap { ids[$0] }
    }

    /// A clock a pass solved.
    init(_ c: SolvedClock, ids: [Int64: UInt64]) {
        self.init(sourceID: ids[c.source]!, offset: c.offsetNS, uncertainty: c.uncertaintyNS, drift: c.driftPPB, origin: c.origin,
                  method: c.methodName, reference: ids[c.reference], matched: Int64(c.matched), peer: c.peer.flatMap { ids[$0] })
    }

    /// One row of `ReadQueries.clocks`.
    init(_ r: inout RowBinaryReader) throws {
        sourceID = try r.uint64()
        offset = try r.int64(); uncertainty = try r.nullable { try $0.int64() }
        drift = try r.int64(); origin = try r.int64(); method = try r.string()
        reference = try r.nullable { try $0.uint64() }; matched = try r.nullable { try $0.int64() }
        peer = try r.nullable { try $0.uint64() }
    }

    func write(dataset: String, version: UInt64, into w: inout RowBinaryWriter) {
        w.string(dataset); w.uint64(sourceID); w.int64(offset); w.nullable(uncertainty) { $0.int64($1) }
        w.int64(drift); w.int64(origin); w.string(method)
        w.nullable(reference) { $0.uint64($1) }; w.nullable(matched) { $0.int64($1) }; w.nullable(peer) { $0.uint64($1) }
        w.uint64(version)
    }
}

/// A `conn_aliases` row (`ReadQueries.aliases`' columns), and one to insert.
enum AliasRows {
    static func read(_ r: inout RowBinaryReader) throws -> ConnectionAlias {
        ConnectionAlias(key: Int64(bitPattern: try r.uint64()), group: Int64(bitPattern: try r.uint64()),
                        sideFlip: try r.uint8() != 0, evidence: try r.string())
    }

    static func write(_ a: ConnectionAlias, dataset: String, version: UInt64, into w: inout RowBinaryWriter) {
        w.string(dataset); w.uint64(UInt64(bitPattern: a.key)); w.uint64(UInt64(bitPattern: a.group))
        w.uint8(a.sideFlip ? 1 : 0); w.string(a.evidence); w.uint64(version)
    }

    /// A row that takes a key's alias away (an engine pass no longer finding it): group 0, which readers skip.
    static func none(_ key: Int64) -> ConnectionAlias { ConnectionAlias(key: key, group: 0, sideFlip: false, evidence: "") }
}
