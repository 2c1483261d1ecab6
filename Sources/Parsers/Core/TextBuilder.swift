/// A reusable byte buffer for writing summary lines without a `String` (and its allocations) per part.
struct TextBuilder {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(256) }

    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A computed string (literals go to the StaticString overload: no UTF-8 view to walk).
    mutating func append(text s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func appendBytes(_ b: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: b) }

    mutating func append(byte b: UInt8) { bytes.append(b) }

    mutating func append(_ v: Int64) {
        if v < 0 { bytes.append(UInt8(ascii: "-")); append(UInt64(-v)); return }
        append(UInt64(v))
    }

    mutating func append(_ v: UInt64) {
        if v < 10 { bytes.append(UInt8(ascii: "0") + UInt8(v)); return }
        // Digits into a small stack buffer, last first, then appended in one go.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { d in
            var x = v
            var i = 20
            while x > 0 { i -= 1; d[i] = UInt8(ascii: "0") + UInt8(x % 10); x /= 10 }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: d[i..<20]))
        }
    }

    mutating func append(_ v: Int) { append(Int64(v)) }

    /// Wireshark's flag list: `SYN, ACK`.
    mutating func appendFlags(_ flags: Int) {
        var first = true
        for (bit, name) in [(0x01, "FIN" as StaticString), (0x02, "SYN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK"), (0x20, "URG"), (0x40, "ECE"), (0x80, "CWR")]
        where flags & bit != 0 {
            if !first { append(", ") }
            append(name)
            first = false
        }
    }
}
