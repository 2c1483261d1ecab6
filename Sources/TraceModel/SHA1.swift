/// SHA-1 (FIPS 180-4) over bytes. Used for Community ID and for telling whether a pushed table changed (not security).
///
/// Written here rather than imported because TraceModel depends on the standard library alone.
/// Feed data with `update` any number of times, then call `finalize` once; the value must not be
/// updated or finalized again afterwards (start a new `SHA1()` instead).
public struct SHA1 {
    /// The chaining words H0…H4. Kept apart from `buffer` so a block can be compressed straight
    /// out of `buffer` without the access overlapping a mutation of the same stored property.
    private var state = State()
    /// Bytes of an incomplete 64-byte block, carried over until the next `update` fills it.
    private var buffer: [UInt8] = []
    /// Message length so far in bytes; the final padding encodes it (in bits).
    private var length: UInt64 = 0

    public init() {
        // A partial block never exceeds 64 bytes: reserve once rather than regrow while padding.
        buffer.reserveCapacity(64)
    }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        // Arrays, slices and buffer pointers are hashed in place; anything else (a lazy map,
        // `repeatElement`, …) is copied once so the block loop always reads contiguous memory.
        if bytes.withContiguousStorageIfAvailable({ absorb(UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { absorb($0) }
        }
    }

    /// Returns the 20-byte digest.
    public mutating func finalize() -> [UInt8] {
        // FIPS 180-4 §5.1.1: append a 1 bit, zeros until the length is 56 mod 64 bytes, then the
        // message length in bits as a 64-bit big-endian number. That always ends on a block boundary.
        let bitLength = length &* 8
        let zeroCount = (55 - Int(length % 64) + 64) % 64
        var padding = [UInt8](repeating: 0, count: 1 + zeroCount + 8)
        padding[0] = 0x80
        for i in 0..<8 {
            padding[padding.count - 1 - i] = UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))
        }
        update(padding)
        assert(buffer.isEmpty)

        var digest: [UInt8] = []
        digest.reserveCapacity(20)
        for word in [state.h0, state.h1, state.h2, state.h3, state.h4] {
            digest += [UInt8(word >> 24), UInt8(truncatingIfNeeded: word >> 16),
                       UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)]
        }
        return digest
    }

    public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var sha = SHA1()
        sha.update(bytes)
        return sha.finalize()
    }

    private mutating func absorb(_ input: UnsafeRawBufferPointer) {
        length &+= UInt64(input.count)
        var offset = 0
        // Top up a block left over from an earlier call first; stop if it is still not full.
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, input.count)
            buffer += input[0..<take]
            offset = take
            guard buffer.count == 64 else { return }
            buffer.withUnsafeBytes { state.compress($0.baseAddress!) }
            buffer.removeAll(keepingCapacity: true)
        }
        // Whole blocks are compressed directly from the caller's memory: no copying on the hot path.
        while input.count - offset >= 64 {
            state.compress(input.baseAddress! + offset)
            offset += 64
        }
        buffer += input[offset...]
    }

    private struct State {
        // FIPS 180-4 §5.3.1 initial hash value.
        var h0: UInt32 = 0x6745_2301
        var h1: UInt32 = 0xEFCD_AB89
        var h2: UInt32 = 0x98BA_DCFE
        var h3: UInt32 = 0x1032_5476
        var h4: UInt32 = 0xC3D2_E1F0

        /// FIPS 180-4 §6.1.2 step 1–4 for one 64-byte block at `block` (any alignment).
        mutating func compress(_ block: UnsafeRawPointer) {
            // The 80-word message schedule lives on the stack: no heap allocation per block.
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
                for t in 0..<16 {
                    w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * t, as: UInt32.self))
                }
                for t in 16..<80 {
                    w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1)
                }

                var a = h0, b = h1, c = h2, d = h3, e = h4
                // One round; the four 20-round stages differ only in f and the constant k.
                // (Four loops instead of a switch per round keep the branch out of the hot loop.)
                func round(_ f: UInt32, _ k: UInt32, _ wt: UInt32) {
                    let temp = rotl(a, 5) &+ f &+ e &+ k &+ wt
                    e = d; d = c; c = rotl(b, 30); b = a; a = temp
                }
                for t in 0..<20 { round((b & c) | (~b & d), 0x5A82_7999, w[t]) }           // Ch
                for t in 20..<40 { round(b ^ c ^ d, 0x6ED9_EBA1, w[t]) }                    // Parity
                for t in 40..<60 { round((b & c) | (b & d) | (c & d), 0x8F1B_BCDC, w[t]) }  // Maj
                for t in 60..<80 { round(b ^ c ^ d, 0xCA62_C1D6, w[t]) }                    // Parity

                h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e
            }
        }

        /// Circular left shift (ROTL^n). `&<<`/`&>>` because n is always in 1...31.
        private func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 {
            (x &<< n) | (x &>> (32 - n))
        }
    }
}
