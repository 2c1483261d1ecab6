/// A fast 128-bit content hash for "the same content ingested twice adds nothing".
///
/// Not cryptographic: it guards against loading one file twice, not against an adversary. Two
/// word-at-a-time multiply–xorshift lanes run at several GB/s, so hashing before parsing costs little
/// next to the parse.
struct ContentHash {
    private var a: UInt64 = 0x243F_6A88_85A3_08D3
    private var b: UInt64 = 0x1319_8A2E_0370_7344
    private var count: UInt64 = 0
    private var tail: [UInt8] = []

    mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
        var data = bytes
        count &+= UInt64(bytes.count)
        if !tail.isEmpty {
            let need = 16 - tail.count
            tail.append(contentsOf: data.prefix(need))
            data = UnsafeBufferPointer(rebasing: data.dropFirst(min(need, data.count)))
            if tail.count < 16 { return }
            tail.withUnsafeBytes { mix($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
            tail.removeAll(keepingCapacity: true)
        }
        let raw = UnsafeRawBufferPointer(data)
        var i = 0
        while i + 16 <= raw.count {
            mix(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            i += 16
        }
        tail.append(contentsOf: data[i...])
    }

    @inline(__always) private mutating func mix(_ x: UInt64, _ y: UInt64) {
        a = (a ^ x) &* 0x9E37_79B9_7F4A_7C15
        a ^= a >> 29
        b = (b ^ y) &* 0xC2B2_AE3D_27D4_EB4F
        b ^= b >> 31
    }

    mutating func finalize() -> String {
        var x: UInt64 = 0
        for (k, byte) in tail.enumerated() { x ^= UInt64(byte) << (UInt64(k % 8) * 8); if k == 7 { mix(x, 0); x = 0 } }
        mix(x, count)
        // Final avalanche so short inputs differ in every bit.
        for _ in 0..<2 { mix(a >> 17 ^ b, b >> 13 ^ a) }
        return hex(a) + hex(b) + "-" + String(count)
    }

    private func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
