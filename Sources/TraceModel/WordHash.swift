/// Folds several 64-bit words into one before they reach `Hasher`.
///
/// Swift's Hasher (SipHash) costs per word combined, and the tuple keys parsers look up for every packet
/// are four or five words; folded first, each lookup combines one. Equality still compares every word,
/// so a fold collision costs a probe, never a wrong match.
@inlinable @inline(__always)
public func foldWords(_ a: UInt64, _ b: UInt64) -> UInt64 {
    // Multiply by odd constants (the 64-bit golden ratio, and a prime) and rotate, so that words
    // differing in any bit differ after the fold.
    let x = a &* 0x9E37_79B9_7F4A_7C15
    let y = b &* 0xC2B2_AE3D_27D4_EB4F
    return (x ^ (y << 31 | y >> 33))
}
