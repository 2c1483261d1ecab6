/// An open-addressing table from a connection's tuple to a slot number, for the lookups the capture path
/// makes for every packet.
///
/// Swift's `Dictionary` hashes each key with SipHash, seeded per process: with the tuple already folded
/// into one word (`foldWords`), that hashing was still ~10 % of reading a capture. Here the folded word
/// picks the bucket directly (its high bits after one multiply, Fibonacci hashing) and linear probing finds
/// the key; the word is kept beside the key, so a probe compares keys only when the words agree. Removal
/// shifts the rest of the probe run back rather than leaving tombstones (Knuth, TAOCP vol. 3, 6.4,
/// Algorithm R), so forgetting closed connections keeps probes short.
struct TupleTable<Key: Equatable> {
    private struct Entry {
        var hash: UInt64
        var key: Key
        var value: Int
    }

    private var entries: [Entry?]
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init() {
        entries = Array(repeating: nil, count: 16)
        mask = 15
        shift = 60
    }

    @inline(__always) private func home(_ h: UInt64) -> Int {
        Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The value stored for `key` (whose folded word is `hash`).
    @inline(__always)
    func find(_ key: Key, hash h: UInt64) -> Int? {
        var i = home(h)
        while let e = entries[i] {
            if e.hash == h && e.key == key { return e.value }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Adds `key`, which must not be in the table yet.
    mutating func insert(_ key: Key, hash h: UInt64, value: Int) {
        if (count + 1) * 2 > entries.count { grow() }
        var i = home(h)
        while entries[i] != nil { i = (i + 1) & mask }
        entries[i] = Entry(hash: h, key: key, value: value)
        count += 1
    }

    /// Removes `key` and returns its value (nil: it was not there).
    @discardableResult
    mutating func remove(_ key: Key, hash h: UInt64) -> Int? {
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
                count -= 1
                return e.value
            }
            i = (i + 1) & mask
        }
        return nil
    }

    private mutating func grow() {
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
