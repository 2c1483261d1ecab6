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

    /// Decimal digits written in place, last first, two per division ("Three Optimization Tips for C++",
    /// Alexandrescu 2012: fewer divisions and one pass); the digit count comes first so the bytes go
    /// straight to their places. This runs for eight or so numbers a packet: one pass of `/10` per digit
    /// to count them and another to write them was 7 % of parsing a capture.
    mutating func append(_ v: UInt64) {
        if v < 10 { append(byte: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v)); return }
        let n = TextBuilder.decimalDigits(v)
        let p = reserve(n)
        let pairs = TextBuilder.digitPairs.utf8Start
        var x = v
        var i = n
        while x >= 100 {
            let q = x / 100
            let r = Int(truncatingIfNeeded: x &- q &* 100) &* 2
            i -= 2
            p[i] = pairs[r]
            p[i + 1] = pairs[r + 1]
            x = q
        }
        if x >= 10 {
            let r = Int(truncatingIfNeeded: x) &* 2
            p[0] = pairs[r]
            p[1] = pairs[r + 1]
        } else {
            p[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: x)
        }
        count += n
    }

    /// How many decimal digits `v` has (at least 1).
    @inline(__always)
    static func decimalDigits(_ v: UInt64) -> Int {
        var n = 1
        var x = v
        while x >= 10_000 { x /= 10_000; n += 4 }
        if x >= 100 { return n + (x >= 1000 ? 3 : 2) }
        return n + (x >= 10 ? 1 : 0)
    }

    /// "00", "01", … "99" back to back. A computed literal, not a stored `static let`: no lazy
    /// initialisation check on each use.
    private static var digitPairs: StaticString {
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    }

    mutating func append(_ v: Int) { append(Int64(v)) }

    /// Wireshark's flag list: `SYN, ACK`.
    mutating func appendFlags(_ flags: Int) {
        var first = true
        for bit in 0..<8 where flags & (1 << bit) != 0 {
            if !first { append(", ") }
            append(TextBuilder.flagName(bit))
            first = false
        }
    }

    /// The flag bits' names, low bit first (a switch of literals: no global array to reach per packet).
    private static func flagName(_ bit: Int) -> StaticString {
        switch bit {
        case 0: "FIN"
        case 1: "SYN"
        case 2: "RST"
        case 3: "PSH"
        case 4: "ACK"
        case 5: "URG"
        case 6: "ECE"
        default: "CWR"
        }
    }
}
