import Foundation
import GRDB

/// The times of a source whose rows are not in time order (an ETL export whose CPUs' buffers interleave,
/// a followed file), sorted and held in memory, so that "how many of its events are before t" is a binary
/// search rather than a count over its time index — the view asks that some 60 times a page, and a count
/// over 8 M index entries takes most of a second.
///
/// Built on first use from the source's time index (8 M times: 64 MiB, a few seconds, once per view);
/// events stored later (`ingest --follow`) are merged in from the rows after the last one read.
final class UnsortedTimes: @unchecked Sendable {
    private struct Sorted {
        var times: [Int64]
        var lastRowID: Int64
    }
    private var bySource: [Int64: Sorted] = [:]
    private let lock = NSLock()

    /// Events of `source` with a time before `t`. `events` is the source row's count, read with the rest of
    /// the request's source facts: fewer times held than that means rows were appended since they were read.
    func countBefore(_ db: Database, source: Int64, events: Int, _ t: Int64) throws -> Int {
        lock.lock(); defer { lock.unlock() }
        var s = try bySource[source] ?? load(db, source)
        if s.times.count < events, let newest = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM event"), newest > s.lastRowID {
            // Rows after the last read, by rowid: only what was appended is scanned.
            let added = try Int64.fetchAll(db, sql: "SELECT ts FROM event WHERE rowid > ? AND source = ?", arguments: [s.lastRowID, source]).sorted()
            if !added.isEmpty { s.times = UnsortedTimes.merge(s.times, added) }
            s.lastRowID = newest
        }
        bySource[source] = s
        var a = 0, b = s.times.count
        while a < b { let m = (a + b) / 2; if s.times[m] < t { a = m + 1 } else { b = m } }
        return a
    }

    private func load(_ db: Database, _ source: Int64) throws -> Sorted {
        let last = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM event") ?? 0
        var times: [Int64] = []
        let cursor = try Int64.fetchCursor(db, sql: "SELECT ts FROM event WHERE source = \(source) AND rowid <= ?", arguments: [last])
        while let t = try cursor.next() { times.append(t) }
        times.sort()
        return Sorted(times: times, lastRowID: last)
    }

    static func merge(_ a: [Int64], _ b: [Int64]) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count && j < b.count { if a[i] <= b[j] { out.append(a[i]); i += 1 } else { out.append(b[j]); j += 1 } }
        out.append(contentsOf: a[i...]); out.append(contentsOf: b[j...])
        return out
    }
}
