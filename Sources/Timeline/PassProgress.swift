import Foundation

/// What the joiner passes are doing, for a status line: on a store of millions of events the first command
/// that needs clocks and lifecycles works for minutes, and a silent terminal looks hung. The command line sets
/// `report` when stderr is a terminal; otherwise (pipes, tests, the view's refresher) nothing is said.
public enum PassProgress {
    /// Called with the text to show, or "" when a pass ends (clear the line).
    nonisolated(unsafe) public static var report: ((String) -> Void)?
    private static let lock = NSLock()
    nonisolated(unsafe) private static var lastShown = Date.distantPast

    /// A pass or phase begins.
    public static func phase(_ text: String) {
        guard let report else { return }
        lock.withLock { lastShown = Date() }
        report(text)
    }

    /// How far a phase is: shown at most four times a second (this is called once per connection).
    static func step(_ text: @autoclosure () -> String) {
        guard let report else { return }
        let due = lock.withLock {
            guard Date().timeIntervalSince(lastShown) >= 0.25 else { return false }
            lastShown = Date()
            return true
        }
        if due { report(text()) }
    }

    /// A pass ended: the status line is cleared before the command prints.
    public static func done() { report?("") }
}
