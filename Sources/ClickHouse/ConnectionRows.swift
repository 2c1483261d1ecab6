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
        w.uint8(try small(c.proto, "proto", UInt8.self)!)
        w.string(c.a); w.uint16(try small(c.aport, "aport", UInt16.self)!)
        w.string(c.b); w.uint16(try small(c.bport, "bport", UInt16.self)!)
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
