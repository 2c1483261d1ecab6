/// The engine's half of the clock pass (`EngineClockPass`, SCALEOUT.md §2.5): which sources share connections,
/// and for one pair of them the matched packets reduced to a few rows. Written for 18.16 as well as current
/// releases: no window functions (the k-th packet of a fingerprint is its place in a sorted array), joins
/// `GLOBAL` (the aliases are read once and shipped to the shards).
enum ClockQueries {
    /// What the SQLite pass matches: TCP packets with flags that belong to a connection.
    static let matchable = "dataset = {dataset:String} AND kind = 'packet' AND proto = 6 AND flags IS NOT NULL AND conn_key != 0"

    /// Which events a pair query reads (`EngineClockPass` on a cluster whose shards it can reach one by one).
    enum Scope {
        /// Every event, through the Distributed table (a single server: its tables).
        case all
        /// One shard's events of connections no alias groups with another: its local table, nothing leaves the
        /// shard but the reduced rows (every event of one connection is on one shard).
        case shardUnaliased
        /// Events of aliased connections only, through the Distributed table: a NAT's tuples are on different shards.
        case aliased
    }

    /// The connection group of an event (a NAT'd tuple joins the group its newest alias gives it) and the side that
    /// sent it, 0 for the endpoint that opened the group's connection when an alias says which (`side_flip`), else
    /// for the lower endpoint in Community ID order (the SQLite store's endpoint a).
    static func grouped(_ s: ClickHouseSchema, select: String, where extra: String = "", scope: Scope = .all) -> String {
        let side = "toUInt8(ifNull((src_ip, sport) > (dst_ip, dport), 0))"
        if scope == .shardUnaliased {
            return """
            SELECT conn_key AS g, \(side) AS side, \(select) FROM \(s.localName(ClickHouseSchema.events))
            WHERE \(matchable)\(extra) AND conn_key NOT IN (SELECT conn_key FROM \(s.name(ClickHouseSchema.connAliases)) WHERE dataset = {dataset:String})
            """
        }
        let only = scope == .aliased ? " AND conn_key GLOBAL IN (SELECT conn_key FROM \(s.name(ClickHouseSchema.connAliases)) WHERE dataset = {dataset:String})" : ""
        return """
        SELECT if(grp = 0, conn_key, grp) AS g, bitXor(\(side), side_flip) AS side, \(select)
        FROM \(s.name(ClickHouseSchema.events)) GLOBAL ANY LEFT JOIN (\(ReadQueries.aliases(s))) AS aliases USING conn_key
        WHERE \(matchable)\(extra)\(only)
        """
    }

    /// NAT candidates (`ConnectionAliases`: the engine proposes, Swift links): each (source, connection)'s first SYN
    /// under the signatures it offers, its initial sequence number and its TCP timestamp with its window, kept only
    /// where one signature names several connections in several sources.
    static func synSignatures(_ s: ClickHouseSchema) -> String {
        let ts = ReadQueries.tsColumn(s.dialect)
        return """
        SELECT sig, groupArray((source_id, conn_key, side)) FROM (
            SELECT source_id, conn_key, first.1 AS side, arrayJoin(arrayFilter(x -> x != '', [
                if(isNull(first.2), '', concat('isn=', toString(assumeNotNull(first.2)))),
                if(ifNull(first.3, 0) = 0 OR isNull(first.4), '', concat('tsval=', toString(assumeNotNull(first.3)), '/win=', toString(assumeNotNull(first.4))))])) AS sig
            FROM (
                SELECT source_id, conn_key, argMin((toUInt8(ifNull((src_ip, sport) > (dst_ip, dport), 0)), seq_raw, tsval, win), \(ts)) AS first
                FROM \(s.name(ClickHouseSchema.events))
                WHERE dataset = {dataset:String} AND kind = 'packet' AND proto = 6 AND conn_key != 0 AND bitAnd(flags, 18) = 2
                GROUP BY source_id, conn_key))
        GROUP BY sig HAVING uniqExact(conn_key) > 1 AND uniqExact(source_id) > 1
        """
    }

    /// How many shards the cluster has, and how many servers in all.
    static let clusterShape = "SELECT uniqExact(shard_num), count() FROM system.clusters WHERE cluster = {cluster:String}"

    /// Per source with matchable packets: how many, how many without absolute sequence numbers, first and last
    /// time (source clock).
    static func packetSources(_ s: ClickHouseSchema) -> String {
        let ts = ReadQueries.tsColumn(s.dialect)
        return """
        SELECT source_id, count(), countIf(seq_raw IS NULL), min(\(ts)), max(\(ts))
        FROM \(s.name(ClickHouseSchema.events)) WHERE \(matchable) GROUP BY source_id
        """
    }

    /// The sets of sources that saw one connection, and how many connections each set saw: pairs of sources
    /// are only ever asked about where they share one.
    static func sharing(_ s: ClickHouseSchema, scope: Scope = .all) -> String {
        """
        SELECT sources, count() FROM (
            SELECT g, arraySort(groupUniqArray(source_id)) AS sources FROM (\(grouped(s, select: "source_id", scope: scope)))
            GROUP BY g HAVING length(sources) > 1)
        GROUP BY sources
        """
    }

    /// Addresses each source's host calls its own (ETL stack events name the local end of a connection): a packet
    /// from one passed that capture point first.
    static func ownAddresses(_ s: ClickHouseSchema) -> String {
        """
        SELECT DISTINCT source_id, src FROM \(s.name(ClickHouseSchema.events))
        WHERE dataset = {dataset:String} AND kind = 'log' AND src != '' AND proto IS NOT NULL
        """
    }

    /// The packets sources `a` and `b` both saw, reduced. Inside out:
    /// 1. per (group, side, fingerprint, source) the sorted times: the fingerprint is what `PacketMatcher` compares
    ///    (SYN/FIN/RST/ACK bits, sequence and acknowledgment numbers, absolute when `raw`, payload length);
    /// 2. the k-th time of a fingerprint at a paired with the k-th at b: Δ = t_b − t_a;
    /// 3. per connection, which side's packets pass a first: the one whose median Δ is larger (as
    ///    `ClockBounds.add`); a connection matched one way only keeps its sender's address as a saw it;
    /// 4. per direction (0: passes a first, 1: b first, 2: one way, by sender) and time bucket of t_a: count, the
    ///    smallest and largest Δ and the t_a of each (the earliest among equal Δs: the same answer every time).
    /// The host filter is the primary key's (dataset, host, …): only the two sources' hosts are read. `unit` of `units`
    /// takes a share of the connections (by their group's hash), so that a pair of huge sources is matched in parts
    /// each within the servers' memory.
    /// Unlike `PacketMatcher`, the IP id and TCP timestamp do not pair first: a resend whose original one point
    /// missed then pairs with that original, which only loosens the bound its direction gives.
    static func pairBuckets(_ s: ClickHouseSchema, raw: Bool, scope: Scope = .all) -> String {
        let seq = raw ? "seq_raw" : "seq", ack = raw ? "ack_raw" : "ack"
        let fp = "(bitAnd(flags, 23), ifNull(\(seq), -1), if(bitAnd(flags, 16) != 0, ifNull(\(ack), -1), -1), ifNull(len, 0))"
        let inner = grouped(s, select: "\(fp) AS fp, source_id, any(src) AS sender, arraySort(groupArray(\(ReadQueries.tsColumn(s.dialect)))) AS times",
                            where: " AND host IN ({hostA:String}, {hostB:String}) AND source_id IN ({a:UInt64}, {b:UInt64})"
                                + " AND cityHash64(g) % {units:UInt64} = {unit:UInt64}", scope: scope) + " GROUP BY g, side, fp, source_id"
        return """
        SELECT dir, sender, bucket, count(), min(d), max(d), argMin(ta, (d, ta)), argMax(ta, (d, -ta)) FROM (
            SELECT multiIf(fwd = 2, 2, side = fwd, 0, 1) AS dir, if(fwd = 2, sender1, '') AS sender,
                   intDiv(ta - {t0:Int64}, {width:Int64}) AS bucket, d, ta
            FROM (
                SELECT ss, tas, ds, snd,
                       arrayFilter((x, y) -> y = 0, ds, ss) AS d0, arrayFilter((x, y) -> y = 1, ds, ss) AS d1,
                       if(empty(d0) OR empty(d1), 2, if(arrayReduce('quantileExact', d0) >= arrayReduce('quantileExact', d1), 0, 1)) AS fwd
                FROM (
                    SELECT g, groupArray(side) AS ss, groupArray(ta) AS tas, groupArray(d) AS ds, groupArray(sender) AS snd FROM (
                        SELECT g, side, anyIf(t, source_id = {a:UInt64}) AS ta, anyIf(t, source_id = {b:UInt64}) - ta AS d,
                               anyIf(sender, source_id = {a:UInt64}) AS sender
                        FROM (SELECT g, side, fp, source_id, sender, t, k FROM (\(inner)) ARRAY JOIN times AS t, arrayEnumerate(times) AS k)
                        GROUP BY g, side, fp, k HAVING count() = 2)
                    GROUP BY g))
            ARRAY JOIN ss AS side, tas AS ta, ds AS d, snd AS sender1)
        GROUP BY dir, sender, bucket ORDER BY dir, sender, bucket
        """
    }
}
