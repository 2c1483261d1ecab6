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
        let records = try store.failedConnectionRecords()
        guard !records.isEmpty else { return [] }
        let failures = try store.stackTimeouts()
        var out: [Match] = []
        for r in records {
            let peer = endpoint(r.peer, r.port)
            let candidates = failures.filter { f in
                guard f.source != r.source, hosts[f.source] == hosts[r.source] else { return false }
                return endpoint(f.a, f.aport) == peer || endpoint(f.b, f.bport) == peer
            }
            // Only an unambiguous one: one failure of one connection to that peer on that host.
            guard candidates.count == 1, let f = candidates.first else { continue }
            out.append(Match(record: r.event, recordSource: r.source, recordTS: r.ts, conn: f.conn, failureSource: f.source, failureTS: f.ts))
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

/// SIP messages whose log names one end of the transport (the peer: `Peer: 10.1.1.1:62973`, a Via's
/// `received`/`ms-received-port`) but not the other: they join the one connection in the store that has that
/// end — the REGISTER the Edge received from 10.1.1.1:62973 is inside the client's TLS connection to 443.
/// SiteMinder events that name the agent's end (`Failed handshake with 155.35.245.129:49184`, a trace line's
/// IPAddr/IPPort) join the same way: the agent's connection to the Policy Server's 44443.
public enum PeerBinding {
    public static func find(_ store: Store, except: Set<Int64>) throws -> [(event: Int64, conn: Int64, via: String)] {
        let messages = try store.unboundPeerEvents()
        guard !messages.isEmpty else { return [] }
        var byEnd: [String: [Int64]] = [:]
        var protoOf: [Int64: Int] = [:]
        for c in try store.allConnections() {
            byEnd[c.aEndpoint, default: []].append(c.key)
            byEnd[c.bEndpoint, default: []].append(c.key)
            protoOf[c.key] = c.proto
        }
        var out: [(event: Int64, conn: Int64, via: String)] = []
        for m in messages {
            let id = m.event
            guard !except.contains(id) else { continue }
            let ends = [(m.src, m.sport), (m.dst, m.dport)].compactMap { a, p -> String? in
                guard let a, let p else { return nil }
                return FailureMatches.endpoint(a, p)
            }
            // The transport the log names, where it names one: a UA's UDP flow and its TCP connection may share
            // the peer's 5060 (corpus/sip-pjsua), and the message travelled on one of them.
            let proto: Int? = m.transport.flatMap { t in
                switch t.uppercased() { case "UDP": return 17; case "TCP", "TLS", "WS", "WSS": return 6; default: return nil }
            }
            // One connection with that end, and no other end of the message contradicting it.
            let keys = Set(ends.flatMap { byEnd[$0] ?? [] }.filter { k in proto.map { protoOf[k] == $0 } ?? true })
            guard keys.count == 1, let key = keys.first, let end = ends.first(where: { byEnd[$0]?.contains(key) == true }) else { continue }
            out.append((id, key, "peer \(end)"))
        }
        return out
    }
}
