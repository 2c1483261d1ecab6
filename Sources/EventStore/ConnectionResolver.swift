import TraceModel

/// Gives each record the key of the connection its tuple names, on the parser thread (so the writer
/// only binds), and remembers which connections are new to this file.
///
/// Hashing the Community ID (SHA-1) once per packet would cost more than parsing the line, so keys are
/// cached per tuple. IPv4 tuples, nearly all of them, go in a direct-mapped cache of packed integers: a
/// fixed 2^16 entries (1.5 MiB), so memory does not grow with the file, and no hashing beyond one multiply
/// (a `Dictionary` of them spent ~10 % of a capture's ingest in SipHash). A tuple pushed out by another is
/// hashed again when it comes back and reported fresh again; the writer writes each connection once.
struct ConnectionResolver {
    private struct V4Tuple: Equatable {
        let src: UInt64 // address << 24 | port << 8 | proto
        let dst: UInt64 // address << 16 | port
    }

    private struct AnyTuple: Hashable {
        let proto: UInt8, src: Address, sport: Int32, dst: Address, dport: Int32
    }

    private struct Cached {
        var tuple: V4Tuple
        var key: Int64
    }

    static let limit = 1_000_000
    static let v4Bits = 16
    private var v4 = [Cached](repeating: Cached(tuple: V4Tuple(src: .max, dst: .max), key: 0), count: 1 << ConnectionResolver.v4Bits)
    private var other: [AnyTuple: Int64] = [:]
    /// Connections seen for the first time, to be written once each.
    private(set) var fresh: [ConnectionKey] = []

    mutating func takeFresh() -> [ConnectionKey] {
        defer { fresh.removeAll(keepingCapacity: true) }
        return fresh
    }

    @inline(__always) private static func slot(_ t: V4Tuple) -> Int {
        Int(truncatingIfNeeded: (foldWords(t.src, t.dst) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - v4Bits))
    }

    mutating func key(_ r: EventRecord) -> Int64 {
        guard r.proto != 0, let s = r.src, let d = r.dst, r.srcPort >= 0, r.dstPort >= 0 else { return EventRecord.none }
        if case .v4(let sa) = s, case .v4(let da) = d {
            // (No tuple packs to all ones: the empty entries' tuple never matches.)
            let t = V4Tuple(src: UInt64(sa) << 24 | UInt64(r.srcPort & 0xFFFF) << 8 | UInt64(r.proto),
                            dst: UInt64(da) << 16 | UInt64(r.dstPort & 0xFFFF))
            let i = ConnectionResolver.slot(t)
            if v4[i].tuple == t { return v4[i].key }
            let k = resolve(r)
            v4[i] = Cached(tuple: t, key: k)
            // The other direction has the same key: spare it a second hash.
            let back = V4Tuple(src: UInt64(da) << 24 | UInt64(r.dstPort & 0xFFFF) << 8 | UInt64(r.proto),
                               dst: UInt64(sa) << 16 | UInt64(r.srcPort & 0xFFFF))
            v4[ConnectionResolver.slot(back)] = Cached(tuple: back, key: k)
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
