/// An open-addressing table from a connection's tuple to an integer (a slot number, a connection key),
/// for the lookups the capture path makes for every packet.
///
/// Swift's `Dictionary` hashes each key with SipHash, seeded per process: with the tuple already folded
/// into one word (`foldWords`), that hashing was still ~10 % of reading a capture. Here the folded word
/// picks the bucket directly (its high bits after one multiply, Fibonacci hashing) and linear probing finds
/// the key; the word is kept beside the key, so a probe compares keys only when the words agree. Removal
/// shifts the rest of the probe run back rather than leaving tombstones (Knuth, TAOCP vol. 3, 6.4,
/// Algorithm R), so forgetting closed connections keeps probes short.
///
/// Public and `@inlinable` because Parsers (TCP numbering and analysis) and EventStore (connection keys)
/// both look tuples up per packet: across modules, only inlinable generics are specialised for their key.
public struct TupleTable<Key: Equatable> {
    @usableFromInline struct Entry {
        @usableFromInline var hash: UInt64
        @usableFromInline var key: Key
        @usableFromInline var value: Int

        @inlinable init(hash: UInt64, key: Key, value: Int) {
            self.hash = hash
            self.key = key
            self.value = value
        }
    }

    @usableFromInline var entries: [Entry?]
    @usableFromInline var mask: Int
    @usableFromInline var shift: UInt64
    @usableFromInline var stored = 0
    /// How many keys the table holds.
    @inlinable public var count: Int { stored }

    @inlinable public init() {
        entries = Array(repeating: nil, count: 16)
        mask = 15
        shift = 60
    }

    @inlinable @inline(__always) func home(_ h: UInt64) -> Int {
        Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The value stored for `key` (whose folded word is `hash`).
    @inlinable @inline(__always)
    public func find(_ key: Key, hash h: UInt64) -> Int? {
        var i = home(h)
        while let e = entries[i] {
            if e.hash == h && e.key == key { return e.value }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Adds `key`, which must not be in the table yet.
    @inlinable
    public mutating func insert(_ key: Key, hash h: UInt64, value: Int) {
        if (stored + 1) * 2 > entries.count { grow() }
        var i = home(h)
        while entries[i] != nil { i = (i + 1) & mask }
        entries[i] = Entry(hash: h, key: key, value: value)
        stored += 1
    }

    /// Removes `key` and returns its value (nil: it was not there).
    @inlinable @discardableResult
    public mutating func remove(_ key: Key, hash h: UInt64) -> Int? {
        var i = home(h)
        while let e = entries[i] {
            if e.hash == h && e.key == key {
                // Move later entries of the run into the hole when their home bucket allows it.
                var hole = i
                var j = (i + 1) & mask
                while let f = entries[j] {
                    if (j &- home(f.hash)) & mask >= (j &- hole) & mask {
                        entries[hole] = f
                        hole = j
                    }
                    j = (j + 1) & mask
                }
                entries[hole] = nil
                stored -= 1
                return e.value
            }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Empties the table; its buckets stay allocated.
    @inlinable
    public mutating func removeAll() {
        for i in entries.indices { entries[i] = nil }
        stored = 0
    }

    @inlinable
    mutating func grow() {
        let old = entries
        entries = Array(repeating: nil, count: old.count * 2)
        mask = entries.count - 1
        shift -= 1
        for case let e? in old {
            var i = home(e.hash)
            while entries[i] != nil { i = (i + 1) & mask }
            entries[i] = e
        }
    }
}
