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
    var communityIDs: [Int64: String]
    /// The store's addresses by id: their text and their 16 bytes.
    private var addresses: [Int64: (text: String, ip16: [UInt8])] = [:]

    init(dataset: String, communityIDs: [Int64: String], addresses: [Int64: String] = [:]) {
        self.dataset = dataset
        self.communityIDs = communityIDs
        self.addresses = addresses.mapValues { ($0, Self.ip16($0)) }
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

    mutating func write(_ e: PushEvent, host: String, sourceID: UInt64, path: String, into w: inout RowBinaryWriter) throws {
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
        let src = e.src.flatMap { addresses[$0] }, dst = e.dst.flatMap { addresses[$0] }
        w.string(dataset)                                   // dataset
        w.string(host)                                      // host
        w.uint64(sourceID)                                  // source_id
        w.int64(e.ordinal)                                  // ordinal
        w.int64(e.id)                                       // event_id
        w.int64(e.line)                                     // line
        w.int64(e.ts)                                       // ts_src
        w.string(e.kind.name)                               // kind
        w.nullable(proto) { $0.uint8($1) }                  // proto
        w.string(src?.text ?? "")                           // src
        w.bytes16(src?.ip16 ?? Self.zeroAddress)            // src_ip
        w.nullable(sport) { $0.uint16($1) }                 // sport
        w.string(dst?.text ?? "")                           // dst
        w.bytes16(dst?.ip16 ?? Self.zeroAddress)            // dst_ip
        w.nullable(dport) { $0.uint16($1) }                 // dport
        w.uint64(UInt64(bitPattern: e.conn ?? 0))           // conn_key
        w.string(e.conn.flatMap { communityIDs[$0] } ?? "") // community_id
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
