/// A reusable byte buffer for writing summary lines without a `String` (and its allocations) per part.
///
/// It writes through a raw pointer rather than `[UInt8].append(contentsOf:)`: on the capture path (a
/// line per packet, a dozen parts each) the array's generic append and its checks were a tenth of the
/// parse. A copy of a builder stays a value: storage shared with a copy is replaced before a write.
struct TextBuilder {
    private final class Storage {
        var base: UnsafeMutablePointer<UInt8>
        var capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(capacity: capacity)
        }
        deinit { base.deallocate() }
    }

    private var storage: Storage
    private(set) var count = 0

    init() { storage = Storage(capacity: 256) }

    var isEmpty: Bool { count == 0 }

    /// The bytes written so far, lent to `body` (valid only inside it).
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base, count: count))
    }

    mutating func reset() { count = 0 }

    /// Room for `n` more bytes in storage this builder alone holds; returns where they go.
    @inline(__always)
    private mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if _slowPath(count + n > storage.capacity || !isKnownUniquelyReferenced(&storage)) { grow(n) }
        return storage.base + count
    }

    @inline(never)
    private mutating func grow(_ n: Int) {
        let fresh = Storage(capacity: max(storage.capacity * 2, count + n))
        fresh.base.update(from: storage.base, count: count)
        storage = fresh
    }

    @inline(__always)
    mutating func append(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        reserve(n).update(from: s.utf8Start, count: n)
        count += n
    }

    /// A computed string (literals go to the StaticString overload: no UTF-8 view to walk).
    mutating func append(text s: String) {
        var s = s
        s.withUTF8 { appendBytes($0) }
    }

    @inline(__always)
    mutating func appendBytes(_ b: UnsafeBufferPointer<UInt8>) {
        guard let src = b.baseAddress, b.count > 0 else { return }
        reserve(b.count).update(from: src, count: b.count)
        count += b.count
    }

    @inline(__always)
    mutating func append(byte b: UInt8) {
        reserve(1).pointee = b
        count += 1
    }

    mutating func append(_ v: Int64) {
        if v < 0 { append(byte: UInt8(ascii: "-")); append(UInt64(0) &- UInt64(bitPattern: v)); return }
        append(UInt64(v))
    }

    /// Decimal digits written in place, last first.
    mutating func append(_ v: UInt64) {
        if v < 10 { append(byte: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v)); return }
        var n = 1
        var x = v
        while x >= 10 { x /= 10; n += 1 }
        let p = reserve(n)
        x = v
        var i = n
        while i > 0 {
            i -= 1
            let q = x / 10
            p[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: x &- q &* 10)
            x = q
        }
        count += n
    }

    mutating func append(_ v: Int) { append(Int64(v)) }

    /// Wireshark's flag list: `SYN, ACK`.
    mutating func appendFlags(_ flags: Int) {
        var first = true
        for bit in 0..<8 where flags & (1 << bit) != 0 {
            if !first { append(", ") }
            append(TextBuilder.flagNames[bit])
            first = false
        }
    }

    private static let flagNames: [StaticString] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]
}
