import Foundation

/// A plain left-aligned table that fits the terminal: the last column is cut to the width left.
public struct TextTable {
    public var header: [String]
    public var rows: [[String]] = []

    public init(header: [String]) { self.header = header }

    public mutating func add(_ row: [String]) { rows.append(row) }

    /// Terminal width from `COLUMNS`, else the tty, else wide (pipes get whole lines).
    public static var terminalWidth: Int {
        if let c = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(c), n > 20 { return n }
        var ws = winsize()
        if isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 20 { return Int(ws.ws_col) }
        return 400
    }

    public func render(width: Int = TextTable.terminalWidth) -> String {
        let n = header.count
        var widths = header.map { $0.count }
        for r in rows { for i in 0..<min(n, r.count) where i < n - 1 { widths[i] = max(widths[i], r[i].count) } }
        let fixed = widths.dropLast().reduce(0, +) + 2 * (n - 1)
        let lastWidth = max(10, width - fixed)
        func line(_ r: [String]) -> String {
            var out = ""
            for i in 0..<n {
                let cell = i < r.count ? r[i] : ""
                if i == n - 1 {
                    out += cell.count > lastWidth ? String(cell.prefix(lastWidth - 1)) + "…" : cell
                } else {
                    out += cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) + "  "
                }
            }
            return out
        }
        var lines = [line(header)]
        lines += rows.map(line)
        return lines.joined(separator: "\n")
    }
}
