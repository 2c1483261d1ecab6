/// A network address as sources write it, normalised so the same host keys the same way everywhere.
///
/// Sources spell one address many ways: `10.1.1.1`, zero-padded `172.016.001.001` (tracerpt),
/// IPv6 with or without `::` compression. MAC-only rows (ARP) and vendor names
/// (`HewlettP_10:11:91`, `Broadcast`) are kept as names: they identify a host but key no connection.
public enum Address: Hashable, Sendable {
    case v4(UInt32)
    case v6(UInt64, UInt64)
    case name(String)

    /// Raw network-order bytes (4 or 16) for IP addresses; nil for names.
    public var bytes: [UInt8]? {
        switch self {
        case .v4(let a):
            return [UInt8(a >> 24), UInt8(a >> 16 & 0xff), UInt8(a >> 8 & 0xff), UInt8(a & 0xff)]
        case .v6(let hi, let lo):
            var out = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                out[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i)))
                out[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i)))
            }
            return out
        case .name:
            return nil
        }
    }

    /// A cheap total order (IPv4 < IPv6 < names), for keys that need the two ends in a fixed order.
    public func precedes(_ other: Address) -> Bool {
        switch (self, other) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v6(let a1, let a2), .v6(let b1, let b2)): return (a1, a2) < (b1, b2)
        case (.name(let a), .name(let b)): return a < b
        case (.v4, _): return true
        case (.v6, .name): return true
        default: return false
        }
    }

    public var isIP: Bool {
        if case .name = self { return false }
        return true
    }

    /// Canonical text: dotted quad without padding, RFC 5952 IPv6, names as written.
    public var text: String {
        switch self {
        case .v4(let a):
            return "\(a >> 24).\(a >> 16 & 0xff).\(a >> 8 & 0xff).\(a & 0xff)"
        case .v6(let hi, let lo):
            return Address.formatV6(hi: hi, lo: lo)
        case .name(let s):
            return s
        }
    }

    /// Parses canonical or source text: IPv4 (zero padding allowed), IPv6, else nil.
    public init?(ip text: Substring) {
        if let v4 = Address.parseV4(text.utf8) {
            self = .v4(v4)
        } else if let v6 = Address.parseV6(text) {
            self = .v6(v6.0, v6.1)
        } else {
            return nil
        }
    }

    public init?(ip text: String) { self.init(ip: Substring(text)) }

    /// Dotted quad from bytes; accepts zero-padded octets (`172.016.001.001`) but never treats
    /// them as octal: every tool in the seeds pads decimal.
    @inlinable
    public static func parseV4<C: Collection>(_ bytes: C) -> UInt32? where C.Element == UInt8 {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for b in bytes {
            if b >= 0x30 && b <= 0x39 {
                octet = octet * 10 + UInt32(b - 0x30)
                digits += 1
                if digits > 3 || octet > 255 { return nil }
            } else if b == UInt8(ascii: ".") {
                if digits == 0 || dots == 3 { return nil }
                value = value << 8 | octet
                octet = 0
                digits = 0
                dots += 1
            } else {
                return nil
            }
        }
        if dots != 3 || digits == 0 { return nil }
        return value << 8 | octet
    }

    static func parseV6(_ text: Substring) -> (UInt64, UInt64)? {
        var s = text
        // Zone ids (`fe80::1%12`) name an interface, not a host: drop them.
        if let pct = s.firstIndex(of: "%") { s = s[..<pct] }
        guard s.contains(":"), s.count >= 2, s.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        var sawGap = false
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        var i = 0
        // Leading "::" yields two empty parts, trailing "::" likewise.
        while i < parts.count {
            let p = parts[i]
            if p.isEmpty {
                if sawGap {
                    // Only the second empty of a leading/trailing "::" may follow.
                    if !(i == 1 || i == parts.count - 1) { return nil }
                } else {
                    sawGap = true
                    if i == 0 { // leading "::": skip the second empty part
                        guard parts.count > 1, parts[1].isEmpty else { return nil }
                        i += 1
                    }
                }
                i += 1
                continue
            }
            if p.contains("."), i == parts.count - 1, let v4 = parseV4(p.utf8) {
                let hi = UInt16(v4 >> 16), lo = UInt16(v4 & 0xffff)
                if sawGap { tailGroups += [hi, lo] } else { groups += [hi, lo] }
                i += 1
                continue
            }
            guard p.count <= 4, let g = UInt16(p, radix: 16) else { return nil }
            if sawGap { tailGroups.append(g) } else { groups.append(g) }
            i += 1
        }
        let total = groups.count + tailGroups.count
        if sawGap {
            guard total < 8 else { return nil }
            groups += [UInt16](repeating: 0, count: 8 - total) + tailGroups
        } else {
            guard total == 8 else { return nil }
        }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for k in 0..<4 { hi = hi << 16 | UInt64(groups[k]) }
        for k in 4..<8 { lo = lo << 16 | UInt64(groups[k]) }
        return (hi, lo)
    }

    static func formatV6(hi: UInt64, lo: UInt64) -> String {
        var g = [UInt16](repeating: 0, count: 8)
        for k in 0..<4 { g[k] = UInt16(truncatingIfNeeded: hi >> (48 - 16 * UInt64(k))) }
        for k in 0..<4 { g[4 + k] = UInt16(truncatingIfNeeded: lo >> (48 - 16 * UInt64(k))) }
        // RFC 5952: compress the longest run (≥ 2) of zero groups, the first one on ties.
        var bestStart = -1, bestLen = 0, curStart = -1, curLen = 0
        for k in 0..<8 {
            if g[k] == 0 {
                if curStart < 0 { curStart = k; curLen = 0 }
                curLen += 1
                if curLen > bestLen { bestLen = curLen; bestStart = curStart }
            } else {
                curStart = -1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var out = ""
        var k = 0
        while k < 8 {
            if k == bestStart {
                out += "::"
                k += bestLen
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            out += String(g[k], radix: 16)
            k += 1
        }
        return out
    }
}
