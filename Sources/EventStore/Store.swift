import Foundation
import GRDB
import TraceModel

/// The SQLite event store: a file (WAL, so queries run while an ingest writes) or `:memory:`.
public final class Store {
    public let path: String
    let readOnly: Bool
    let db: any DatabaseWriter
    /// Sorted times of sources whose rows are not in time order (`countBefore`).
    let unsortedTimes = UnsortedTimes()

    public static let defaultPath = "tracejoin.db"

    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        self.readOnly = readOnly
        var config = Configuration()
        config.readonly = readOnly
        config.prepareDatabase { db in
            // The ingest writes in big transactions; a checkpoint after each file is enough.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // 64 MiB of page cache: index builds after a bulk load sort in memory rather than on disk.
            try db.execute(sql: "PRAGMA cache_size = -65536")
            // The stored text is compressed; this lets SQL (the `events` view, `tracejoin sql`) read it.
            db.add(function: DatabaseFunction("inflate", argumentCount: 1, pure: true) { values in
                guard let data = Data.fromDatabaseValue(values[0]) else { return nil }
                return data.withUnsafeBytes { TextCompression.inflate($0, maxSize: TextChunk.size) }.map { Data($0) }
            })
        }
        if path == ":memory:" {
            db = try DatabaseQueue(configuration: config)
        } else {
            if readOnly && !FileManager.default.fileExists(atPath: path) {
                throw StoreError.noStore(path)
            }
            db = try DatabasePool(path: path, configuration: config)
        }
        if !readOnly {
            try Schema.migrator.migrate(db)
            try db.write { db in
                for k in EventKind.allCases {
                    try db.execute(sql: "INSERT OR IGNORE INTO kind(id, name) VALUES (?, ?)", arguments: [k.rawValue, k.name])
                }
            }
        }
    }

    /// Creates the indexes a bulk load skipped (idempotent).
    public func ensureIndexes() throws {
        try db.write { db in
            for sql in Schema.indexes { try db.execute(sql: sql) }
        }
    }

    /// Around a bulk load: no automatic WAL checkpoints while loading (they stall the writer on every
    /// 1000 pages), one checkpoint at the end.
    func beginBulkLoad() throws {
        try db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
    }

    func endBulkLoad() throws {
        try db.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 1000")
            if path != ":memory:" { _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        }
    }

    /// Drops the connection index before a load much larger than the store (rebuilt when next needed).
    func dropConnectionIndex() throws {
        try db.write { try $0.execute(sql: "DROP INDEX IF EXISTS \(Schema.connectionIndexName)") }
    }

    /// Builds the connection index if it is missing (a read-only store goes without: queries then scan).
    public func ensureConnectionIndex() throws {
        if readOnly { return }
        try db.write { try $0.execute(sql: Schema.connectionIndex) }
    }

    public func eventCount() throws -> Int {
        try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM event") ?? 0 }
    }

    /// Marks the derived tables stale (after an ingest) or fresh. `stale` counts the marks rather than
    /// holding a flag: a pass that ran while `ingest --follow` kept adding events must not mark its table
    /// fresh, and the count tells it (`staleMark` before, `setFresh(ifStill:)` after).
    public func setStale(_ name: String, _ stale: Bool) throws {
        try db.write { db in
            if stale {
                try Store.markStale(db, name)
            } else {
                try db.execute(sql: "INSERT INTO pass_state(name, stale) VALUES (?, 0) ON CONFLICT(name) DO UPDATE SET stale = 0", arguments: [name])
            }
        }
    }

    static func markStale(_ db: Database, _ name: String) throws {
        try db.execute(sql: "INSERT INTO pass_state(name, stale) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET stale = stale + 1",
                       arguments: [name])
    }

    /// The stale marks so far (nil: the pass never ran), read by a pass as it starts.
    public func staleMark(_ name: String) throws -> Int? {
        try db.read { try Int.fetchOne($0, sql: "SELECT stale FROM pass_state WHERE name = ?", arguments: [name]) }
    }

    /// Marks a pass's table fresh unless it was marked stale again since `mark` was read (new events came
    /// in while the pass ran: it stays stale, and the next view runs the pass again).
    public func setFresh(_ name: String, ifStill mark: Int?) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO pass_state(name, stale) VALUES (?, 0)
                ON CONFLICT(name) DO UPDATE SET stale = 0 WHERE pass_state.stale = ?
                """, arguments: [name, mark ?? -1])
        }
    }

    public func isStale(_ name: String) throws -> Bool {
        try db.read { try Int.fetchOne($0, sql: "SELECT stale FROM pass_state WHERE name = ?", arguments: [name]) ?? 1 } != 0
    }
}

public enum StoreError: Error, CustomStringConvertible {
    case noStore(String)
    case readOnlySQL(String)

    public var description: String {
        switch self {
        case .noStore(let p): return "\(p): no store here yet; run `tracejoin ingest --store \(p) FILE…` first"
        case .readOnlySQL(let why): return "sql: \(why)"
        }
    }
}
