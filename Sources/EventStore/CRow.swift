import GRDB
import GRDBSQLite

/// The current row of a statement stepped on the C API (hot read paths: timelines, the lifecycle pass), and the
/// C API step of the hot write paths (the event writer, event bindings).
struct CRow {
    let h: OpaquePointer?

    @inline(__always) func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(h, i) }

    @inline(__always) func int(_ i: Int32) -> Int64? {
        sqlite3_column_type(h, i) == SQLITE_NULL ? nil : sqlite3_column_int64(h, i)
    }

    func str(_ i: Int32) -> String? {
        guard let p = sqlite3_column_text(h, i) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(h, i))), as: UTF8.self)
    }

    /// SQLITE_TRANSIENT: SQLite copies a bound text before the call returns.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Runs a statement that returns no rows (parameters already bound on the C API) once, and resets it.
    static func execute(_ h: OpaquePointer?, _ db: Database) throws {
        let rc = sqlite3_step(h)
        sqlite3_reset(h)
        guard rc == SQLITE_DONE else { throw error(rc, db) }
    }

    static func error(_ rc: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }

    /// Steps `st` (arguments already set) to its end, handing each row to `body`; resets it after.
    static func step(_ st: Statement, _ db: Database, _ body: (CRow) throws -> Void) throws {
        let h = st.sqliteStatement
        defer { sqlite3_reset(h) }
        while true {
            let rc = sqlite3_step(h)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw error(rc, db) }
            try body(CRow(h: h))
        }
    }
}
