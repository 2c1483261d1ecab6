import XCTest
import GRDB
import TraceModel
@testable import EventStore

/// The writer inserts 32 events to a statement and binds only the parameters that changed since that
/// statement last ran: every stored column must still be the event's own, whatever its neighbours held.
final class EventWriterTests: XCTestCase {
    /// Event i of 100 (three groups of 32 and 4 single inserts): a label that cycles nil / TCP / UDP, attrs on
    /// every fifth, a seq on three of four, the source address cycling a / b / none, and ts rising except
    /// that event 50 goes back one second.
    func record(_ i: Int) -> EventRecord {
        var r = EventRecord(line: i + 1, ordinal: Int64(i + 1), ts: Int64(i) * 1_000_000_000 - (i == 50 ? 2_000_000_000 : 0),
                            kind: .packet, rawAt: Int64(i) * 10, rawLen: 10)
        r.label = [nil, "TCP", "UDP"][i % 3]
        r.attrs = i % 5 == 0 ? "{\"n\":\(i)}" : nil
        r.seq = i % 4 == 0 ? EventRecord.none : Int64(i) * 10
        r.src = [Address(ip: "10.0.0.1"), Address(ip: "10.0.0.2"), nil][i % 3]
        return r
    }

    func testEveryColumnIsTheEventsOwn() throws {
        let store = try Store(path: ":memory:")
        try store.db.write { db in
            let id = try Ingestor.insertSource(db, path: "t", format: "test", host: "h", placeholder: "t",
                                               options: IngestOptions(), tsSorted: true)
            let writer = try EventWriter(db: db, sourceID: id)
            try writer.write((0..<100).map(record))
            XCTAssertEqual(writer.rows.first, 1)
            XCTAssertEqual(writer.rows.last, 100)
            XCTAssertFalse(writer.rows.sorted, "event 50 is a second before event 49")
        }
        let rows = try store.db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.rowid, e.ordinal, e.ts, e.label, e.attrs, e.seq, a.text AS src, e.raw_at
                FROM event e LEFT JOIN address a ON a.id = e.src ORDER BY e.rowid
                """)
        }
        XCTAssertEqual(rows.count, 100)
        for (i, row) in rows.enumerated() {
            XCTAssertEqual(row["ordinal"] as Int64, Int64(i + 1))
            XCTAssertEqual(row["ts"] as Int64, Int64(i) * 1_000_000_000 - (i == 50 ? 2_000_000_000 : 0))
            XCTAssertEqual(row["label"] as String?, [nil, "TCP", "UDP"][i % 3], "event \(i)")
            XCTAssertEqual(row["attrs"] as String?, i % 5 == 0 ? "{\"n\":\(i)}" : nil, "event \(i)")
            XCTAssertEqual(row["seq"] as Int64?, i % 4 == 0 ? nil : Int64(i) * 10, "event \(i)")
            XCTAssertEqual(row["src"] as String?, ["10.0.0.1", "10.0.0.2", nil][i % 3], "event \(i)")
            XCTAssertEqual(row["raw_at"] as Int64, Int64(i) * 10)
        }
    }
}
