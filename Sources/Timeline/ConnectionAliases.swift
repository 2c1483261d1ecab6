import EventStore

/// Finds the tuples that are one connection seen at different capture points with NAT between them: the
/// addresses and ports differ, the SYN does not. Its initial sequence number (where the sources show
/// absolute numbers) or its TCP timestamp value with its window (where they show relative ones, as text
/// exports do) pass a NAT unchanged.
public enum ConnectionAliases {
    public static func find(_ store: Store) throws -> [ConnectionAlias] {
        // Each (source, connection)'s first SYN, under each signature it offers.
        struct Seen: Hashable { let source: Int64, conn: Int64 }
        var firstSYN: [Seen: SYNFacts] = [:]
        try store.forEachSYN { s in
            let k = Seen(source: s.source, conn: s.conn)
            if firstSYN[k] == nil { firstSYN[k] = s }
        }
        var bySignature: [String: [SYNFacts]] = [:]
        for s in firstSYN.values {
            if let isn = s.isn { bySignature["isn=\(isn)", default: []].append(s) }
            if let t = s.tsval, t != 0, let w = s.win { bySignature["tsval=\(t)/win=\(w)", default: []].append(s) }
        }
        return link(bySignature)
    }

    /// The aliases that signatures prove: `bySignature` lists each (source, connection)'s first SYN under every
    /// signature it offers (`isn=…`, `tsval=…/win=…`). The ClickHouse engine's pass hands over only the signatures
    /// that name more than one connection.
    public static func link(_ bySignature: [String: [SYNFacts]]) -> [ConnectionAlias] {

        // Union-find over connection keys, linked by signatures that name different tuples in different
        // sources (and name one tuple only within each source: anything else is a coincidence).
        var parent: [Int64: Int64] = [:]
        func root(_ x: Int64) -> Int64 {
            var r = x
            while let p = parent[r], p != r { r = p }
            return r
        }
        var evidence: [Int64: String] = [:]
        var originatorSide: [Int64: Int] = [:]
        for (sig, list) in bySignature.sorted(by: { $0.key < $1.key }) {
            let conns = Set(list.map(\.conn))
            guard conns.count > 1 else { continue }
            let perSource = Dictionary(grouping: list, by: \.source)
            guard perSource.count > 1, perSource.values.allSatisfy({ Set($0.map(\.conn)).count == 1 }) else { continue }
            let keys = conns.sorted()
            for s in list { originatorSide[s.conn] = s.side }
            for k in keys {
                if parent[k] == nil { parent[k] = k }
                if evidence[k] == nil { evidence[k] = sig }
            }
            for k in keys.dropFirst() {
                let a = root(keys[0]), b = root(k)
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var groups: [Int64: [Int64]] = [:]
        for k in parent.keys { groups[root(k), default: []].append(k) }
        var out: [ConnectionAlias] = []
        for (_, members) in groups where members.count > 1 {
            let g = members.min()!
            for k in members.sorted() {
                out.append(ConnectionAlias(key: k, group: g, sideFlip: originatorSide[k] == 1, evidence: evidence[k] ?? ""))
            }
        }
        return out.sorted { $0.key < $1.key }
    }
}
