/// Calendar arithmetic on integers, so parsers turn `2013-01-06 09:52:15.407` into nanoseconds without
/// Foundation's date machinery on the hot path.
public enum CivilTime {
    public static let nsPerSecond: Int64 = 1_000_000_000
    public static let nsPerDay: Int64 = 86_400 * 1_000_000_000

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    public static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// (year, month, day) of days since 1970-01-01 (`civil_from_days`).
    public static func civil(days z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    public static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard month >= 1 && month <= 12 && day >= 1 && year >= 1900 && year <= 2200 else { return false }
        let dim: Int
        switch month {
        case 2: dim = 28
        case 4, 6, 9, 11: dim = 30
        default: dim = 31
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        return day <= dim + (month == 2 && leap ? 1 : 0)
    }

    /// ISO 8601 UTC with exactly `digits` fractional digits (0…9): `2013-01-06T09:53:40.765Z`.
    public static func iso8601(_ ns: Int64, digits: Int) -> String {
        dateTime(ns, digits: digits, separator: "T") + "Z"
    }

    /// `2013-01-06 09:53:40.765`: the same without the zone letter, for terminal columns.
    public static func dateTime(_ ns: Int64, digits: Int, separator: String = " ") -> String {
        var days = ns / nsPerDay
        var rem = ns % nsPerDay
        if rem < 0 { rem += nsPerDay; days -= 1 }
        let (y, mo, d) = civil(days: days)
        let secs = rem / nsPerSecond
        let frac = rem % nsPerSecond
        var s = pad(y, 4) + "-" + pad(mo, 2) + "-" + pad(d, 2) + separator
        s += pad(Int(secs / 3600), 2) + ":" + pad(Int(secs / 60 % 60), 2) + ":" + pad(Int(secs % 60), 2)
        s += fraction(frac, digits: digits)
        return s
    }

    /// `+104.968750` for relative-only times, with the source's digits.
    public static func relative(_ ns: Int64, digits: Int) -> String {
        let sign = ns < 0 ? "-" : "+"
        let a = ns < 0 ? -ns : ns
        return sign + String(a / nsPerSecond) + fraction(a % nsPerSecond, digits: digits)
    }

    /// Time of day only, for sources without a date: `15:13:43.441664`.
    public static func timeOfDay(_ ns: Int64, digits: Int) -> String {
        var rem = ns % nsPerDay
        if rem < 0 { rem += nsPerDay }
        let secs = rem / nsPerSecond
        return pad(Int(secs / 3600), 2) + ":" + pad(Int(secs / 60 % 60), 2) + ":" + pad(Int(secs % 60), 2)
            + fraction(rem % nsPerSecond, digits: digits)
    }

    static func fraction(_ frac: Int64, digits: Int) -> String {
        guard digits > 0 else { return "" }
        var f = frac
        for _ in 0..<(9 - min(digits, 9)) { f /= 10 }
        return "." + pad(Int(f), min(digits, 9))
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// A 12-hour clock's time of day (`8:54:40` with `AM`/`PM`) as a 24-hour one: 12 AM is midnight, 12 PM noon.
    public static func meridiem(_ timeOfDay: Int64, pm: Bool) -> Int64 {
        let hours = timeOfDay / (3600 * nsPerSecond)
        if pm && hours < 12 { return timeOfDay + 12 * 3600 * nsPerSecond }
        if !pm && hours == 12 { return timeOfDay - 12 * 3600 * nsPerSecond }
        return timeOfDay
    }

    /// Parses `±HH:MM`, `±HHMM`, `±HH`, `Z` or `UTC` into seconds east of UTC.
    public static func parseZoneOffset(_ text: String) -> Int? {
        if text == "Z" || text.uppercased() == "UTC" { return 0 }
        guard let first = text.first, first == "+" || first == "-" else { return nil }
        let body = text.dropFirst().replacingColons()
        guard !body.isEmpty, body.allSatisfy({ $0.isNumber }), body.count == 2 || body.count == 4 else { return nil }
        let h = Int(body.prefix(2))!, m = body.count == 4 ? Int(body.suffix(2))! : 0
        guard h <= 14, m < 60 else { return nil }
        let v = h * 3600 + m * 60
        return first == "-" ? -v : v
    }

    public static func formatZoneOffset(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let a = abs(seconds)
        return sign + pad(a / 3600, 2) + ":" + pad(a / 60 % 60, 2)
    }
}

extension Substring {
    fileprivate func replacingColons() -> String { String(self.filter { $0 != ":" }) }
}
