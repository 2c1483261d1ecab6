import Foundation
import EventStore
import TraceModel

/// Writes stored events (`PushEvent`: the store's bytes, no Strings made) as `events` rows in RowBinary, in
/// `ClickHouseSchema.events`' column order.
///
/// A value a column cannot hold (a port above 65535) stops the push with the source, the event and the
/// column named, rather than loading a wrong number.
struct EventRows {
    var dataset: String
    /// Column bytes written the same for many events, encoded once: each address as `src`/`dst` then `src_ip`/`dst_ip`
    /// (its text, then its 16 bytes), each connection's `community_id`. Copying them per event (a String and an array
    /// out of a dictionary, retained and released) was a sixth of a push's CPU.
    private var flat: [UInt8] = []
    /// Where each address id's bytes are in `flat` (ids are the store's dense rowids).
    private var addressAt: [Range<Int>?] = []
    /// Ids too far apart for an array (not a store tracejoin made).
    private var addressFar: [Int64: Range<Int>] = [:]
    private var communityAt: [Int64: Range<Int>] = [:]
    private var noAddress = 0..<0, emptyString = 0..<0
    private var kindAt: [Range<Int>] = []

    init(dataset: String, communityIDs: [Int64: String], addresses: [Int64: String] = [:]) {
        self.dataset = dataset
        var w = RowBinaryWriter()
        func piece(_ write: (inout RowBinaryWriter) -> Void) -> Range<Int> {
            let start = w.count
            write(&w)
            return start..<w.count
        }
        noAddress = piece { $0.string(""); $0.bytes16(Self.zeroAddress) }
        emptyString = piece { $0.string("") }
        addressAt = Array(repeating: nil, count: Int(max(0, min(addresses.keys.max() ?? 0, 1 << 26))) + 1)
        for (id, text) in addresses {
            let r = piece { $0.string(text); $0.bytes16(Self.ip16(text)) }
            if id >= 0 && Int(id) < addressAt.count { addressAt[Int(id)] = r } else { addressFar[id] = r }
        }
        for (key, id) in communityIDs { communityAt[key] = piece { $0.string(id) } }
        kindAt = Array(repeating: emptyString, count: (EventKind.allCases.map(\.rawValue).max() ?? 0) + 1)
        for kind in EventKind.allCases { kindAt[kind.rawValue] = piece { $0.string(kind.name) } }
        flat = w.bytes
    }

    static let zeroAddress = [UInt8](repeating: 0, count: 16)

    /// 16 network-order bytes: IPv6 as is, IPv4 v4-mapped (`::ffff:a.b.c.d`, as ClickHouse's IPv6 type keeps
    /// IPv4), zeros for names and for no address.
    static func ip16(_ text: String?) -> [UInt8] {
        guard let text, let b = Address(ip: text)?.bytes else { return zeroAddress }
        var out = zeroAddress
        if b.count == 16 { out = b } else if b.count == 4 { out[10] = 0xFF; out[11] = 0xFF; out[12..<16] = b[0..<4] }
        return out
    }

    func address(_ id: Int64?) -> Range<Int> {
        guard let id else { return noAddress }
        guard id >= 0, Int(id) < addressAt.count else { return addressFar[id] ?? noAddress }
        return addressAt[Int(id)] ?? noAddress
    }

    /// One source's events, in order.
    mutating func write(_ events: [PushEvent], host: String, sourceID: UInt64, path: String, into w: inout RowBinaryWriter) throws {
        var prefix = RowBinaryWriter()
        prefix.string(dataset); prefix.string(host); prefix.uint64(sourceID)
        try flat.withUnsafeBufferPointer { flat in
            for e in events { try write(e, prefix: prefix.bytes, flat: flat, path: path, into: &w) }
        }
    }

    private func write(_ e: PushEvent, prefix: [UInt8], flat: UnsafeBufferPointer<UInt8>, path: String, into w: inout RowBinaryWriter) throws {
        func narrow<T: FixedWidthInteger>(_ v: Int64?, _ column: String, _: T.Type) throws -> T? {
            guard let v else { return nil }
            guard let n = T(exactly: v) else {
                throw ClickHouseError.incomplete("\(path): event \(e.ordinal): \(column) \(v) does not fit ClickHouse's \(T.self)")
            }
            return n
        }
        let proto = try narrow(e.proto, "proto", UInt8.self)
        let sport = try narrow(e.sport, "sport", UInt16.self)
        let dport = try narrow(e.dport, "dport", UInt16.self)
        let flags = try narrow(e.flags, "flags", UInt16.self)
        guard let expert = UInt32(exactly: e.expert) else {
            throw ClickHouseError.incomplete("\(path): event \(e.ordinal): expert bits \(e.expert) do not fit UInt32")
        }
        w.append(prefix)                                    // dataset, host, source_id
        w.int64(e.ordinal)                                  // ordinal
        w.int64(e.id)                                       // event_id
        w.int64(e.line)                                     // line
        w.int64(e.ts)                                       // ts_src
        w.append(flat[kindAt[e.kind.rawValue]])             // kind
        w.nullable(proto) { $0.uint8($1) }                  // proto
        w.append(flat[address(e.src)])                      // src, src_ip
        w.nullable(sport) { $0.uint16($1) }                 // sport
        w.append(flat[address(e.dst)])                      // dst, dst_ip
        w.nullable(dport) { $0.uint16($1) }                 // dport
        w.uint64(UInt64(bitPattern: e.conn ?? 0))           // conn_key
        w.append(flat[e.conn.flatMap { communityAt[$0] } ?? emptyString]) // community_id
        w.nullable(flags) { $0.uint16($1) }                 // flags
        w.nullable(e.seq) { $0.int64($1) }                  // seq
        w.nullable(e.ack) { $0.int64($1) }                  // ack
        w.nullable(e.len) { $0.int64($1) }                  // len
        w.nullable(e.win) { $0.int64($1) }                  // win
        w.nullable(e.ipid) { $0.int64($1) }                 // ipid
        w.nullable(e.tsval) { $0.int64($1) }                // tsval
        w.nullable(e.tsecr) { $0.int64($1) }                // tsecr
        w.nullable(e.mss) { $0.int64($1) }                  // mss
        w.uint32(expert)                                    // expert
        w.nullable(e.frameLen) { $0.int64($1) }             // frame_len
        w.nullable(e.label) { $0.string($1) }               // label
        guard let at = UInt32(exactly: e.summaryAt ?? 0) else {
            throw ClickHouseError.incomplete("\(path): event \(e.ordinal): its text is longer than 4 GiB")
        }
        w.uint32(at)                                        // summary_at
        w.string(e.summary)                                 // summary_text ([] when it is raw's tail)
        w.string(e.raw)                                     // raw
        w.nullable(e.attrs) { $0.string($1) }               // attrs
        w.nullable(e.seqRaw) { $0.int64($1) }               // seq_raw
        w.nullable(e.ackRaw) { $0.int64($1) }               // ack_raw
    }

    /// The columns `write` fills, in its order (a test checks them against the schema's).
    static let columns = ["dataset", "host", "source_id", "ordinal", "event_id", "line", "ts_src", "kind", "proto", "src", "src_ip", "sport",
                          "dst", "dst_ip", "dport", "conn_key", "community_id", "flags", "seq", "ack", "len", "win", "ipid",
                          "tsval", "tsecr", "mss", "expert", "frame_len", "label", "summary_at", "summary_text", "raw", "attrs", "seq_raw", "ack_raw"]
}

/// A source's id in ClickHouse: the first 16 hex digits of its content hash, so the same file has the same id in
/// every store and every push. nil when the hash is not hex (a store from elsewhere): the push says so.
func sourceID(contentHash: String) -> UInt64? {
    guard contentHash.utf8.count >= 16 else { return nil }
    return UInt64(contentHash.prefix(16), radix: 16)
}
