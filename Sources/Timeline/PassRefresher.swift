import Foundation
import EventStore

/// Keeps the derived tables (clock solution, connection lifecycles) current while `ingest --follow` adds
/// events, so that an open view's clocks, ladders and findings follow the reproduction as it happens.
///
/// Each commit marks the passes stale; running them after every commit would re-solve the clocks five
/// times a second for nothing. So they run on a debounce: once the stale marks have stopped changing for
/// `quiet` seconds (a burst is over), or at the latest `maxWait` seconds after the tables went stale (a
/// steady stream never goes quiet). A pass that ran while events arrived leaves its table stale
/// (`Store.setFresh(ifStill:)`), and the next round runs it again.
///
/// It writes through the follower's own `Store`: GRDB's pool has one writer, so a pass and a commit take
/// turns rather than failing with SQLITE_BUSY. Readers (the view, in another process) never wait: WAL.
public final class PassRefresher: @unchecked Sendable {
    public struct Timing: Sendable {
        public var quiet = 1.0
        public var maxWait = 5.0
        /// How often the marks are looked at.
        public var poll = 0.25
        public init() {}
    }

    private let store: Store
    private let timing: Timing
    private let note: ((String) -> Void)?
    private let lock = NSLock()
    private var stopping = false
    private var runs = 0
    private let finished = DispatchSemaphore(value: 0)

    public init(store: Store, timing: Timing = Timing(), note: ((String) -> Void)? = nil) {
        self.store = store
        self.timing = timing
        self.note = note
    }

    /// How many times the passes have run so far.
    public var passesRun: Int { lock.lock(); defer { lock.unlock() }; return runs }

    private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

    public func start() {
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.start()
    }

    /// Asks the loop to end and waits for it (a pass under way finishes first: it is one transaction each).
    public func stop() {
        lock.lock(); stopping = true; lock.unlock()
        finished.wait()
    }

    private func loop() {
        var lastMarks: [Int?] = []
        var changedAt = Date()
        var staleSince: Date?
        var toldError = false
        // The marks a pass failed on: not tried again until new events change them.
        var failedOn: [Int?]?
        while !isStopping {
            Thread.sleep(forTimeInterval: timing.poll)
            do {
                // nil: the pass never ran, which counts as stale.
                let marks = try [ClockPass.name, LifecyclePass.name].map { try store.staleMark($0) }
                if marks.allSatisfy({ $0 == 0 }) { staleSince = nil; lastMarks = marks; continue }
                let now = Date()
                if marks != lastMarks { lastMarks = marks; changedAt = now }
                if marks == failedOn { continue }
                if staleSince == nil { staleSince = now }
                guard now.timeIntervalSince(changedAt) >= timing.quiet || now.timeIntervalSince(staleSince!) >= timing.maxWait else { continue }
                try ClockPass.runIfStale(store)
                try LifecyclePass.runIfStale(store)
                staleSince = nil
                lock.lock(); runs += 1; lock.unlock()
            } catch {
                // A pass that fails once fails again on the same events: say so once, keep following; the
                // next command that needs the tables runs the pass again and reports it there.
                if !toldError { note?("clocks/connections not recomputed while following: \(error)") }
                toldError = true
                failedOn = lastMarks
                staleSince = nil
            }
        }
    }
}
