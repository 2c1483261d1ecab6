import Foundation
import GRDB

/// Gives events their text back from the source's stored pieces (`text_chunk`).
///
/// Reads go through a small cache of pieces: a timeline page walks a source in order and touches
/// each piece once; a connection's events are scattered but few.
final class TextReader {
    private var cache: [Key: [UInt8]] = [:]
    private var order: [Key] = []
    private let capacity: Int

    struct Key: Hashable { let source: Int64; let n: Int64 }

    init(capacity: Int = 64) { self.capacity = capacity }

    private func piece(_ db: Database, _ key: Key) throws -> [UInt8] {
        if let p = cache[key] { return p }
        let data = try Data.fetchOne(db.cachedStatement(sql: "SELECT bytes FROM text_chunk WHERE source = ? AND n = ?"), arguments: [key.source, key.n]) ?? Data()
        let p = data.withUnsafeBytes { TextCompression.inflate($0, maxSize: TextChunk.size) } ?? []
        if order.count >= capacity { cache[order.removeFirst()] = nil }
        cache[key] = p
        order.append(key)
        return p
    }

    /// The bytes `[at, at + len)` of a source's text as a String (CR before LF dropped, as the parsers saw it).
    func text(_ db: Database, source: Int64, at: Int64, len: Int) throws -> String {
        var out = try bytes(db, source: source, at: at, len: len)
        out.removeAll { $0 == 0x0D }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes `[at, at + len)` as stored (CRs kept: offsets into them are the parsers' offsets).
    func bytes(_ db: Database, source: Int64, at: Int64, len: Int) throws -> [UInt8] {
        guard len > 0 else { return [] }
        let size = Int64(TextChunk.size)
        var out: [UInt8] = []
        out.reserveCapacity(len)
        var pos = at
        let end = at + Int64(len)
        while pos < end {
            let n = pos / size
            let p = try piece(db, Key(source: source, n: n))
            let from = Int(pos - n * size)
            guard from < p.count else { break }
            let to = min(p.count, Int(end - n * size))
            out.append(contentsOf: p[from..<to])
            pos = n * size + Int64(to)
        }
        return out
    }
}
