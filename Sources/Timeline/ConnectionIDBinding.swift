import EventStore

/// Ties SIP records that name no peer to the connection they travelled on by the Lync/Skype server's own
/// connection id: a connection record's `Connection-ID: 0x2E6603` and the `ms-received-cid=2E6603` the
/// server adds to the Via of every message it received on that connection are one number (the parsers
/// store both as the attribute `cid`, normalised). A record bound to a connection — by its own tuple or by
/// its peer — lends that connection to the other records of the same server with the same id.
///
/// An id names a connection only within one server process and only until it is reused, so a (host, id)
/// pair that leads to two connections binds nothing.
public enum ConnectionIDBinding {
    public static func find(_ store: Store, bound: [(event: Int64, conn: Int64, via: String)]) throws -> [(event: Int64, conn: Int64, via: String)] {
        let hosts = Dictionary(uniqueKeysWithValues: try store.sources().map { ($0.id, $0.host) })
        let rows = try store.sipConnectionIDs()
        guard !rows.isEmpty else { return [] }
        let boundTo = Dictionary(bound.map { ($0.event, $0.conn) }, uniquingKeysWith: { a, _ in a })
        struct ServerID: Hashable { let host: String; let cid: String }
        var conns: [ServerID: Set<Int64>] = [:]
        var unbound: [(event: Int64, id: ServerID)] = []
        for r in rows {
            let id = ServerID(host: hosts[r.source] ?? "", cid: r.cid)
            if let c = r.conn ?? boundTo[r.event] {
                conns[id, default: []].insert(c)
            } else {
                unbound.append((r.event, id))
            }
        }
        return unbound.compactMap { u in
            guard let set = conns[u.id], set.count == 1, let c = set.first else { return nil }
            return (u.event, c, "connection id \(u.id.cid) of \(u.id.host)")
        }
    }
}
