import TraceModel

/// Gives each record the key of the connection its tuple names, on the parser thread (so the writer
/// only binds), and remembers which connections are new to this file.
///
/// Hashing the Community ID (SHA-1) once per packet would cost more than parsing the line, so keys are
/// cached per tuple. IPv4 tuples, nearly all of them, are cached under two packed integers in a
/// `TupleTable`, which takes their folded word as its hash (a `Dictionary` of them spent ~10 % of a
/// capture's ingest in SipHash). An exact table rather than a fixed direct-mapped cache: two live tuples
/// that shared a cache slot would push each other out on every packet of a busy capture and cost a SHA-1
/// each time.
struct ConnectionResolver {
    private struct V4Tuple: Equatable {
        let src: UInt64 // address << 24 | port << 8 | proto
        let dst: UInt64 // address << 16 | port
        var hash: UInt64 { foldWords(src, dst) }
    }

    private struct AnyTuple: Hashable {
        let proto: UInt8, src: Address, sport: Int32, dst: Address, dport: Int32
    }

    static let limit = 1_000_000
    private var v4 = TupleTable<V4Tuple>()
    private var other: [AnyTuple: Int64] = [:]
    /// Connections seen for the first time, to be written once each.
    private(set) var fresh: [ConnectionKey] = []

    mutating func takeFresh() -> [ConnectionKey] {
        defer { fresh.removeAll(keepingCapacity: true) }
        return fresh
    }

    mutating func key(_ r: EventRecord) -> Int64 {
        guard r.proto != 0, let s = r.src, let d = r.dst, r.srcPort >= 0, r.dstPort >= 0 else { return EventRecord.none }
        if case .v4(let sa) = s, case .v4(let da) = d {
            let t = V4Tuple(src: UInt64(sa) << 24 | UInt64(r.srcPort & 0xFFFF) << 8 | UInt64(r.proto),
                            dst: UInt64(da) << 16 | UInt64(r.dstPort & 0xFFFF))
            let h = t.hash
            if let known = v4.find(t, hash: h) { return Int64(known) }
            // Bounded: past a million tuples start afresh (a key is recomputed, the writer knows its row).
            if v4.count > ConnectionResolver.limit { v4.removeAll() }
            let k = resolve(r)
            v4.insert(t, hash: h, value: Int(k))
            // The other direction has the same key: spare it a second hash. (It is there already only
            // when it is the same tuple: a packet from an endpoint to itself.)
            let back = V4Tuple(src: UInt64(da) << 24 | UInt64(r.dstPort & 0xFFFF) << 8 | UInt64(r.proto),
                               dst: UInt64(sa) << 16 | UInt64(r.srcPort & 0xFFFF))
            if back != t { v4.insert(back, hash: back.hash, value: Int(k)) }
            return k
        }
        let t = AnyTuple(proto: r.proto, src: s, sport: r.srcPort, dst: d, dport: r.dstPort)
        if other.count > ConnectionResolver.limit { other.removeAll(keepingCapacity: true) }
        if let known = other[t] { return known }
        let k = resolve(r)
        other[t] = k
        return k
    }

    /// Hashes a tuple seen for the first time (Community ID), and notes its connection as fresh.
    private mutating func resolve(_ r: EventRecord) -> Int64 {
        guard let ck = r.connection else { return EventRecord.none }
        fresh.append(ck)
        return ck.key
    }
}
