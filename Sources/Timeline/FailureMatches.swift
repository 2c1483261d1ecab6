import Foundation
import TraceModel
import EventStore

/// One failure told by two logs of the same machine: a SIP stack's connection record ("Failed to complete
/// outbound connection", Peer-IP 192.168.3.10:5061, WSAETIMEDOUT) and the TCP/IP stack's own account of that
/// connection timing out (STATUS_IO_TIMEOUT) in an ETL trace. The record joins the connection it names, and
/// the two times, moments apart in truth, tie the two logs' clocks together — the Edge's SIPStack log writes
/// UTC, its ETL export local time: what separates them is its zone (issue 8's example).
public enum FailureMatches {
    /// The two components log the same failure within this of each other.
    public static let tolerance: Int64 = 1_000_000_000

    public struct Match: Sendable {
        public var record: Int64        // the SIP record's event id
        public var recordSource: Int64
        public var recordTS: Int64      // as written
        public var conn: Int64
        public var failureSource: Int64
        public var failureTS: Int64     // as written
    }

    static func endpoint(_ address: String, _ port: Int?) -> String {
        guard let port else { return address }
        return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// SIP connection records of a timeout, each with the one stack failure of the same host it can be.
    public static func find(_ store: Store) throws -> [Match] {
        let hosts = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0.host) })
        let (_, records) = try store.query("""
            SELECT e.rowid, e.source, e.ts, da.text, e.dport FROM event e JOIN address da ON da.id = e.dst
            WHERE e.label = 'SIP' AND e.conn IS NULL AND json_extract(e.attrs, '$.record_type') = 'connection'
              AND (json_extract(e.attrs, '$.result_code') LIKE '%TIMEDOUT%' OR json_extract(e.attrs, '$.text') LIKE 'Failed%')
            """)
        guard !records.isEmpty else { return [] }
        let (_, failures) = try store.query("""
            SELECT e.source, e.ts, e.conn, a.text, c.aport, b.text, c.bport FROM event e
            JOIN connection c ON c.key = e.conn JOIN address a ON a.id = c.a JOIN address b ON b.id = c.b
            WHERE e.kind = \(EventKind.log.rawValue) AND e.conn IS NOT NULL AND json_extract(e.attrs, '$.status') LIKE '%TIMEOUT%'
            """)
        var out: [Match] = []
        for r in records {
            let id = Int64.fromDatabaseValue(r[0])!, source = Int64.fromDatabaseValue(r[1])!, ts = Int64.fromDatabaseValue(r[2])!
            let peer = endpoint(String.fromDatabaseValue(r[3])!, Int.fromDatabaseValue(r[4]))
            let candidates = failures.filter { f in
                let fs = Int64.fromDatabaseValue(f[0])!
                guard fs != source, hosts[fs] == hosts[source] else { return false }
                let a = endpoint(String.fromDatabaseValue(f[3])!, Int.fromDatabaseValue(f[4])), b = endpoint(String.fromDatabaseValue(f[5])!, Int.fromDatabaseValue(f[6]))
                return a == peer || b == peer
            }
            // Only an unambiguous one: one failure of one connection to that peer on that host.
            guard candidates.count == 1, let f = candidates.first else { continue }
            out.append(Match(record: id, recordSource: source, recordTS: ts, conn: Int64.fromDatabaseValue(f[2])!,
                             failureSource: Int64.fromDatabaseValue(f[0])!, failureTS: Int64.fromDatabaseValue(f[1])!))
        }
        return out
    }

    /// The clock bound each match gives: the failure's time at one source against the record's at the other,
    /// ± `tolerance`, added to the pairs the packets gave.
    static func addBounds(_ matches: [Match], to pairs: inout [ClockPass.PairKey: ClockBounds]) {
        typealias PairKey = ClockPass.PairKey
        for m in matches {
            let (a, b) = m.recordSource < m.failureSource ? (m.recordSource, m.failureSource) : (m.failureSource, m.recordSource)
            let ta = a == m.recordSource ? m.recordTS : m.failureTS, tb = a == m.recordSource ? m.failureTS : m.recordTS
            var p = pairs[PairKey(a: a, b: b)] ?? ClockBounds(a: a, b: b)
            p.addEvent(t: ta, delta: tb - ta, tolerance: tolerance)
            pairs[PairKey(a: a, b: b)] = p
        }
    }
}
