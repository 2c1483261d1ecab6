import TraceModel

/// Byte-level helpers shared by the text parsers. Positions are indices into a line's bytes.
public enum ASCII {
    public static let space = UInt8(ascii: " ")
    public static let tab = UInt8(ascii: "\t")
    public static let dot = UInt8(ascii: ".")
    public static let colon = UInt8(ascii: ":")
    public static let comma = UInt8(ascii: ",")
    public static let quote = UInt8(ascii: "\"")
    public static let slash = UInt8(ascii: "/")
    public static let dash = UInt8(ascii: "-")
    public static let equals = UInt8(ascii: "=")
    public static let lbracket = UInt8(ascii: "[")
    public static let rbracket = UInt8(ascii: "]")
    public static let lparen = UInt8(ascii: "(")
    public static let rparen = UInt8(ascii: ")")
    public static let gt = UInt8(ascii: ">")
    public static let zero = UInt8(ascii: "0")
    public static let nine = UInt8(ascii: "9")

    @inline(__always) public static func isDigit(_ b: UInt8) -> Bool { b >= zero && b <= nine }
    @inline(__always) public static func isHexDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "F"))
    }
    @inline(__always) public static func isSpace(_ b: UInt8) -> Bool { b == space || b == tab }
    @inline(__always) public static func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
    @inline(__always) public static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    @inline(__always) public static func isHex(_ b: UInt8) -> Bool { isDigit(b) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x66) }
}

/// A token of a line: a half-open range of byte indices.
public struct Token: Equatable {
    public var start: Int
    public var end: Int
    public init(_ start: Int, _ end: Int) { self.start = start; self.end = end }
    public var count: Int { end - start }
}

public extension UnsafeBufferPointer where Element == UInt8 {
    /// Splits on runs of spaces and tabs into `tokens` (cleared first; reused so no allocation per line).
    func tokenize(into tokens: inout [Token], from: Int = 0, to: Int? = nil) {
        tokens.removeAll(keepingCapacity: true)
        let end = to ?? count
        var i = from
        while i < end {
            while i < end && ASCII.isSpace(self[i]) { i += 1 }
            if i >= end { break }
            let s = i
            while i < end && !ASCII.isSpace(self[i]) { i += 1 }
            tokens.append(Token(s, i))
        }
    }

    func equals(_ t: Token, _ literal: StaticString) -> Bool {
        guard t.count == literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        for k in 0..<t.count where self[t.start + k] != p[k] { return false }
        return true
    }

    func hasPrefix(_ t: Token, _ literal: StaticString) -> Bool {
        guard t.count >= literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        for k in 0..<literal.utf8CodeUnitCount where self[t.start + k] != p[k] { return false }
        return true
    }

    func hasSuffix(_ t: Token, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard t.count >= n else { return false }
        let p = literal.utf8Start
        for k in 0..<n where self[t.end - n + k] != p[k] { return false }
        return true
    }

    func string(_ t: Token) -> String { String(decoding: UnsafeBufferPointer(rebasing: self[t.start..<t.end]), as: UTF8.self) }
    func string(_ s: Int, _ e: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: self[s..<e]), as: UTF8.self) }
    func substring(_ t: Token) -> Substring { Substring(string(t)) }

    /// Unsigned decimal integer filling the whole range, else nil.
    func uint(_ s: Int, _ e: Int) -> Int64? {
        guard e > s, e - s <= 18 else { return nil }
        var v: Int64 = 0
        for i in s..<e {
            let b = self[i]
            guard ASCII.isDigit(b) else { return nil }
            v = v * 10 + Int64(b - ASCII.zero)
        }
        return v
    }

    func uint(_ t: Token) -> Int64? { uint(t.start, t.end) }

    /// `123.456789` (or `123`) as nanoseconds and the number of fractional digits written.
    func decimalSeconds(_ s: Int, _ e: Int) -> (ns: Int64, digits: Int)? {
        guard e > s else { return nil }
        var i = s
        var whole: Int64 = 0
        var wholeDigits = 0
        while i < e && ASCII.isDigit(self[i]) {
            whole = whole * 10 + Int64(self[i] - ASCII.zero)
            wholeDigits += 1
            i += 1
        }
        guard wholeDigits > 0, wholeDigits <= 11 else { return nil }
        var frac: Int64 = 0
        var digits = 0
        if i < e {
            guard self[i] == ASCII.dot else { return nil }
            i += 1
            while i < e && ASCII.isDigit(self[i]) {
                if digits < 9 { frac = frac * 10 + Int64(self[i] - ASCII.zero) }
                digits += 1
                i += 1
            }
            guard i == e, digits > 0 else { return nil }
        }
        var scaled = frac
        for _ in min(digits, 9)..<9 { scaled *= 10 }
        return (whole * CivilTime.nsPerSecond + scaled, min(digits, 9))
    }

    /// `HH:MM:SS[.fffffffff]` or `H:MM:SS` as nanoseconds since midnight.
    func timeOfDay(_ s: Int, _ e: Int) -> (ns: Int64, digits: Int)? {
        var i = s
        func num(_ maxDigits: Int) -> Int? {
            var v = 0, n = 0
            while i < e && ASCII.isDigit(self[i]) && n < maxDigits { v = v * 10 + Int(self[i] - ASCII.zero); n += 1; i += 1 }
            return n == 0 ? nil : v
        }
        guard let h = num(2), i < e, self[i] == ASCII.colon else { return nil }
        i += 1
        guard let m = num(2), i < e, self[i] == ASCII.colon else { return nil }
        i += 1
        let secStart = i
        guard i + 2 <= e, ASCII.isDigit(self[i]), ASCII.isDigit(self[i + 1]) else { return nil }
        guard h < 24, m < 60, let sec = decimalSeconds(secStart, e), sec.ns < 61 * CivilTime.nsPerSecond else { return nil }
        return (Int64(h * 3600 + m * 60) * CivilTime.nsPerSecond + sec.ns, sec.digits)
    }

    /// A calendar date: `2013-01-06`, US `1/8/2013`, European `05.09.2012`, as days since 1970-01-01.
    /// Allocation-free: it is tried on many tokens of every row.
    func date(_ s: Int, _ e: Int) -> Int64? {
        guard e - s >= 8, e - s <= 10 else { return nil }
        var p0 = 0, p1 = 0, v = 0, n = 0, count = 0
        var sep: UInt8 = 0
        for i in s..<e {
            let b = self[i]
            if ASCII.isDigit(b) {
                v = v * 10 + Int(b - ASCII.zero); n += 1
                if n > 4 { return nil }
            } else if b == ASCII.dash || b == ASCII.slash || b == ASCII.dot {
                if sep == 0 { sep = b } else if sep != b { return nil }
                guard n > 0, count < 2 else { return nil }
                if count == 0 { p0 = v } else { p1 = v }
                count += 1; v = 0; n = 0
            } else {
                return nil
            }
        }
        guard n > 0, count == 2 else { return nil }
        let (y, mo, d): (Int, Int, Int)
        switch sep {
        case ASCII.dash: (y, mo, d) = (p0, p1, v)
        case ASCII.slash: (y, mo, d) = (v, p0, p1) // US: month/day/year
        default: (y, mo, d) = (v, p1, p0)          // European: day.month.year
        }
        guard CivilTime.isValid(year: y, month: mo, day: d) else { return nil }
        return CivilTime.days(year: y, month: mo, day: d)
    }
}
