import TraceModel

/// A timestamp layout as declarative formats write it, in the letters people know from Java/ICU/Unicode
/// date patterns: `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`, `MMM d HH:mm:ss` (syslog), `dd/MMM/yyyy:HH:mm:ss Z`
/// (Apache). `epoch` and `epoch_ms` read Unix times. Parsed by hand, byte by byte: a format runs on
/// every line, and Foundation's date formatters cost microseconds each.
public struct TimeFormat: Sendable {
    enum Piece: Sendable, Equatable {
        case year4, year2, month, monthName, day, hour24, hour12, minute, second, fraction(Int), ampm, zone, literal(UInt8), space
    }

    let pieces: [Piece]
    let epoch: Int64?            // ns per unit for `epoch` / `epoch_ms`
    /// The layout has no year (RFC 3164 syslog): the year comes from elsewhere.
    public let lacksYear: Bool
    /// The layout carries its own offset (`Z`, `XXX`).
    public let hasZone: Bool

    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].map { Array($0.utf8) }

    /// Compiles a layout; the error names the letter it does not know.
    public init(_ text: String) throws {
        if text == "epoch" || text == "epoch_ms" {
            pieces = []; epoch = text == "epoch" ? CivilTime.nsPerSecond : 1_000_000; lacksYear = false; hasZone = true
            return
        }
        var out: [Piece] = []
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            let c = b[i]
            var n = 1
            while i + n < b.count, b[i + n] == c { n += 1 }
            switch c {
            case UInt8(ascii: "y"): out.append(n == 2 ? .year2 : .year4)
            case UInt8(ascii: "M"): out.append(n >= 3 ? .monthName : .month)
            case UInt8(ascii: "d"): out.append(.day)
            case UInt8(ascii: "H"): out.append(.hour24)
            case UInt8(ascii: "h"): out.append(.hour12)
            case UInt8(ascii: "m"): out.append(.minute)
            case UInt8(ascii: "s"): out.append(.second)
            case UInt8(ascii: "S"): out.append(.fraction(n))
            case UInt8(ascii: "a"): out.append(.ampm)
            case UInt8(ascii: "Z"), UInt8(ascii: "X"), UInt8(ascii: "x"): out.append(.zone)
            case UInt8(ascii: "'"):
                // Quoted literal text: 'T'.
                var j = i + 1
                while j < b.count, b[j] != UInt8(ascii: "'") { out.append(.literal(b[j])); j += 1 }
                guard j < b.count else { throw TimeFormatError("unclosed quote in \"\(text)\"") }
                i = j + 1
                continue
            case UInt8(ascii: " "): out.append(.space); n = 1
            default:
                if (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A {
                    throw TimeFormatError("unknown letter '\(String(UnicodeScalar(c)))' in \"\(text)\" (known: y M d H h m s S a Z X; quote literal text: 'T')")
                }
                for _ in 0..<n { out.append(.literal(c)) }
            }
            i += n
        }
        pieces = out
        epoch = nil
        lacksYear = !out.contains(.year4) && !out.contains(.year2)
        hasZone = out.contains(.zone)
        guard out.contains(.hour24) || out.contains(.hour12) || out.contains(.day) else {
            throw TimeFormatError("\"\(text)\" has neither a day nor an hour")
        }
    }

    /// The time in `b` (as written, zone applied when the layout has one), the digits of its fraction,
    /// or nil when `b` does not fit. `year` fills a layout that lacks one.
    public func parse(_ b: UnsafeBufferPointer<UInt8>, year: Int = 1970) -> (ns: Int64, digits: Int, zoned: Bool)? {
        if let unit = epoch {
            var v: Int64 = 0, i = 0, frac: Int64 = 0, fd = 0
            while i < b.count, ASCII.isDigit(b[i]) { v = v * 10 + Int64(b[i] - 0x30); i += 1 }
            guard i > 0 else { return nil }
            if i < b.count, b[i] == ASCII.dot {
                i += 1
                while i < b.count, ASCII.isDigit(b[i]), fd < 9 { frac = frac * 10 + Int64(b[i] - 0x30); fd += 1; i += 1 }
            }
            var ns = v * unit
            if fd > 0 { var f = frac; for _ in fd..<9 { f *= 10 }; ns += f * unit / CivilTime.nsPerSecond }
            // Milliseconds since the epoch are a time to the millisecond.
            return (ns, unit == 1_000_000 ? 3 + fd : fd, true)
        }
        var y = year, mo = 1, d = 1, h: Int64 = 0, mi: Int64 = 0, s: Int64 = 0, frac: Int64 = 0, fd = 0
        var pm: Bool? = nil, offset: Int64 = 0
        var i = 0
        func number(_ maxDigits: Int, allowSpace: Bool = false) -> Int? {
            if allowSpace, i < b.count, b[i] == ASCII.space { i += 1 }
            var v = 0, n = 0
            while i < b.count, n < maxDigits, ASCII.isDigit(b[i]) { v = v * 10 + Int(b[i] - 0x30); i += 1; n += 1 }
            return n > 0 ? v : nil
        }
        for p in pieces {
            switch p {
            case .year4: guard let v = number(4) else { return nil }; y = v
            case .year2: guard let v = number(2) else { return nil }; y = 2000 + v
            case .month: guard let v = number(2) else { return nil }; mo = v
            case .monthName:
                guard i + 3 <= b.count else { return nil }
                let w = [b[i] | 0x20, b[i + 1] | 0x20, b[i + 2] | 0x20]
                guard let m = TimeFormat.months.firstIndex(of: w) else { return nil }
                mo = m + 1; i += 3
            case .day: guard let v = number(2, allowSpace: true) else { return nil }; d = v
            case .hour24, .hour12: guard let v = number(2) else { return nil }; h = Int64(v)
            case .minute: guard let v = number(2) else { return nil }; mi = Int64(v)
            case .second: guard let v = number(2) else { return nil }; s = Int64(v)
            case .fraction:
                while i < b.count, ASCII.isDigit(b[i]) {
                    if fd < 9 { frac = frac * 10 + Int64(b[i] - 0x30); fd += 1 }
                    i += 1
                }
            case .ampm:
                guard i + 2 <= b.count else { return nil }
                let c = b[i] | 0x20
                guard c == UInt8(ascii: "a") || c == UInt8(ascii: "p") else { return nil }
                pm = c == UInt8(ascii: "p"); i += 2
            case .zone:
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: "Z") { i += 1; break }
                guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") else { return nil }
                let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let hh = number(2) else { return nil }
                if i < b.count, b[i] == ASCII.colon { i += 1 }
                let mm = number(2) ?? 0
                offset = sign * (Int64(hh) * 3600 + Int64(mm) * 60) * CivilTime.nsPerSecond
            case .literal(let c): guard i < b.count, b[i] == c else { return nil }; i += 1
            case .space:
                guard i < b.count, ASCII.isSpace(b[i]) else { return nil }
                while i < b.count, ASCII.isSpace(b[i]) { i += 1 }
            }
        }
        if let pm { h = h % 12 + (pm ? 12 : 0) }
        guard CivilTime.isValid(year: y, month: mo, day: d), h < 24, mi < 60, s < 61 else { return nil }
        var f = frac
        for _ in fd..<9 { f *= 10 }
        let ns = CivilTime.days(year: y, month: mo, day: d) * CivilTime.nsPerDay + (h * 3600 + mi * 60 + s) * CivilTime.nsPerSecond + f - offset
        return (ns, fd, hasZone)
    }
}

public struct TimeFormatError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
