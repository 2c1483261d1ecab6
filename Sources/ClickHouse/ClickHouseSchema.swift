/// The tables of a ClickHouse store and the DDL that makes them, per dialect and layout.
///
/// One database holds many datasets (cases); every table starts with `dataset`. Readers always name the plain
/// tables (`events`, `sources`, `clocks`, `conn_aliases`). On a single server those are the MergeTree tables; on
/// a cluster they are `Distributed` tables over `<name>_local` on every shard.
///
/// Events are immutable: the source's own time is stored, and the clock solutions and connection aliases the
/// joiner derives live in their own tables, applied when reading (ARCHITECTURE.md, "Beyond one machine").
public struct ClickHouseSchema: Sendable {
    public var database: String
    public var dialect: Dialect
    public var cluster: String?
    public var retentionDays: Int?

    public init(database: String, dialect: Dialect, cluster: String? = nil, retentionDays: Int? = nil) {
        self.database = database
        self.dialect = dialect
        self.cluster = cluster
        self.retentionDays = retentionDays
    }

    /// A column: its name, its type on each dialect, and what it holds (unit, source, where it misleads).
    public struct Column: Sendable {
        public let name: String
        public let compat: String
        public let current: String
        public let comment: String
        init(_ name: String, _ compat: String, _ current: String? = nil, _ comment: String) {
            self.name = name; self.compat = compat; self.current = current ?? compat; self.comment = comment
        }
    }

    public struct Table: Sendable {
        public let name: String
        public let columns: [Column]
        /// Engine clause pieces, per dialect.
        let engine: @Sendable (Dialect) -> String
        let orderBy: String
        let partitionBy: @Sendable (Dialect) -> String?
        /// The Distributed sharding expression on a cluster.
        let shardingKey: String
        /// Columns the INSERT names (all but those left to their DEFAULT).
        public var insertColumns: [String] { columns.filter { !$0.compat.contains("DEFAULT") && !$0.compat.contains("ALIAS") }.map(\.name) }
    }

    // The RowBinary writer (`EventRows`) writes these columns in this order; a test pins the two together.
    public static let events = Table(
        name: "events",
        columns: [
            Column("dataset", "String", "LowCardinality(String)", "case or collection: the URL's dataset"),
            Column("host", "String", "LowCardinality(String)", "capture point / machine, as the SQLite store names it"),
            Column("source_id", "UInt64", nil, "the source's content hash, its first 16 hex digits: the same file has the same id in every store"),
            Column("ordinal", "Int64", nil, "frame number, or line number for logs"),
            Column("event_id", "Int64", nil, "the event's id in the store it was pushed from (events of one source are consecutive): what timeline --json shows as id"),
            Column("line", "Int64", nil, "first line of the record in its file"),
            Column("ts_src", "Int64", "DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1))",
                   "ns on the source's own clock after its zone (compat: ns since 1970); relative sources: since their start; aligned = clocks applied when reading"),
            Column("kind", "String", "LowCardinality(String)", "event kind name (packet, log, socket, …)"),
            Column("proto", "Nullable(UInt8)", nil, "IANA transport number"),
            Column("src", "String", "LowCardinality(String)", "source address as the store writes it ('' none; names for non-IP hosts)"),
            Column("src_ip", "FixedString(16)", "IPv6", "the same address, 16 bytes (IPv4 v4-mapped); zeros when not an IP"),
            Column("sport", "Nullable(UInt16)", nil, "source port"),
            Column("dst", "String", "LowCardinality(String)", "destination address as the store writes it"),
            Column("dst_ip", "FixedString(16)", "IPv6", "the same address, 16 bytes"),
            Column("dport", "Nullable(UInt16)", nil, "destination port"),
            Column("conn_key", "UInt64", nil, "first 8 bytes of the Community ID hash (bit pattern of the store's signed key); 0 = no connection. The sharding key. As the store reads it: an ETL event without a tuple carries the connection the binding pass bound it to (derived, yet written here: pushed again, it follows a new binding only if its source is pushed again)"),
            Column("community_id", "String", "String CODEC(ZSTD(1))", "'1:' + base64(SHA1) of the connection, '' when none"),
            Column("flags", "Nullable(UInt16)", nil, "TCP flag bits as on the wire"),
            Column("seq", "Nullable(Int64)", nil, "as the source shows it (relative when the export is)"),
            Column("ack", "Nullable(Int64)", nil, "as the source shows it"),
            Column("len", "Nullable(Int64)", nil, "TCP payload bytes"),
            Column("win", "Nullable(Int64)", nil, "TCP window"),
            Column("ipid", "Nullable(Int64)", nil, "IP identification"),
            Column("tsval", "Nullable(Int64)", nil, "TCP timestamp option value"),
            Column("tsecr", "Nullable(Int64)", nil, "TCP timestamp echo reply"),
            Column("mss", "Nullable(Int64)", nil, "MSS option"),
            Column("expert", "UInt32", nil, "TCPExpert bits: retransmission, dup ack, …"),
            Column("frame_len", "Nullable(Int64)", nil, "bytes on the wire"),
            Column("label", "Nullable(String)", nil, "the protocol column as written (TLSv1, TDS, ARP)"),
            // The summary is nearly always the tail of raw's first line (tshark's Info column, a log line's message): kept
            // as an offset into raw, as the SQLite store keeps it, rather than a second copy (a quarter of a row's bytes).
            Column("summary_at", "UInt32", nil, "byte offset in raw where the summary starts; it runs to the end of raw's first line"),
            Column("summary_text", "String", "String CODEC(ZSTD(3))", "the summary when it is not a piece of raw's first line (a message a parser joined from wrapped lines); '' otherwise"),
            Column("raw", "String", "String CODEC(ZSTD(3))", "the record's text, all its lines, CRs dropped"),
            Column("attrs", "Nullable(String)", "Nullable(String) CODEC(ZSTD(3))", "rare format-specific fields, JSON, as in the SQLite store"),
            Column("seq_raw", "Nullable(Int64)", nil, "absolute sequence number where the source gives it (captures)"),
            Column("ack_raw", "Nullable(Int64)", nil, "absolute acknowledgement number"),
            Column("summary", "String ALIAS if(summary_text != '', summary_text, splitByChar('\\n', substring(raw, summary_at + 1))[1])", nil,
                   "the record's summary as the store reads it, computed when read: not stored, not inserted"),
            Column("ingested_at", "DateTime DEFAULT now()", nil, "when the row was pushed: what retention keys on, never the event's own time"),
        ],
        engine: { _ in "MergeTree" },
        orderBy: "(dataset, host, ts_src, source_id, ordinal)",
        partitionBy: { d in d == .current ? "toYYYYMMDD(ts_src)" : "toYYYYMMDD(toDateTime(intDiv(ts_src, 1000000000)))" },
        // Every event of one connection, from every capture point, on one shard; events without one spread.
        shardingKey: "if(conn_key = 0, cityHash64(source_id, ordinal), conn_key)")

    public static let sources = Table(
        name: "sources",
        columns: [
            Column("dataset", "String", "LowCardinality(String)", "case or collection"),
            Column("source_id", "UInt64", nil, "as events.source_id"),
            Column("store_id", "Int64", nil, "the source's id in the store it was pushed from: how reports name it (clocks --json, seen_by)"),
            Column("content_hash", "String", nil, "the SQLite store's content_hash (of the decompressed bytes)"),
            Column("path", "String", nil, "as the user named it"),
            Column("format", "String", nil, "parser id"),
            Column("host", "String", nil, "capture point / machine"),
            Column("bytes", "Int64", nil, "size of the decompressed content"),
            Column("lines", "Int64", nil, "lines read"),
            Column("events", "Int64", nil, "events it gave: the push is complete when events holds this many rows of it"),
            Column("unparsed", "Int64", nil, "lines not understood (not pushed)"),
            Column("tz_offset_s", "Int32", nil, "seconds east of UTC its times were written in"),
            Column("tz_given", "UInt8", nil, "1 when the user said"),
            Column("host_given", "UInt8", nil, "1 when --host named the machine"),
            Column("time_basis", "String", nil, "absolute | time_of_day | relative"),
            Column("time_digits", "Int32", nil, "fractional digits the source writes"),
            Column("first_ts", "Nullable(Int64)", nil, "ns, source clock"),
            Column("last_ts", "Nullable(Int64)", nil, "ns, source clock"),
            Column("ts_sorted", "UInt8", nil, "1: its rows came in time order"),
            Column("notes", "Nullable(String)", nil, "what the parser decided, JSON"),
            Column("pushed_at", "DateTime DEFAULT now()", nil, "when this row was written: after every event of the source"),
        ],
        engine: { _ in "ReplacingMergeTree" },
        orderBy: "(dataset, source_id)",
        partitionBy: { _ in nil },
        shardingKey: "source_id")

    public static let clocks = Table(
        name: "clocks",
        columns: [
            Column("dataset", "String", "LowCardinality(String)", "case or collection"),
            Column("source_id", "UInt64", nil, "the source the correction applies to"),
            Column("offset_ns", "Int64", nil, "aligned ts = ts_src + offset_ns − drift_ppb × (ts_src − origin_ns) / 10⁹"),
            Column("uncertainty_ns", "Nullable(Int64)", nil, "± how sure"),
            Column("drift_ppb", "Int64", nil, "rate error, parts per billion"),
            Column("origin_ns", "Int64", nil, "where the drift is zero, source clock"),
            Column("method", "String", nil, "how it was found: anchor, packets, …"),
            Column("reference", "Nullable(UInt64)", nil, "source_id it is relative to"),
            Column("matched", "Nullable(Int64)", nil, "packets matched"),
            Column("peer", "Nullable(UInt64)", nil, "source_id of the neighbour on the path to the reference"),
            Column("version", "UInt64", nil, "push time, ns: the newest row of a (dataset, source_id) wins"),
        ],
        engine: { _ in "ReplacingMergeTree(version)" },
        orderBy: "(dataset, source_id)",
        partitionBy: { _ in nil },
        shardingKey: "source_id")

    public static let connAliases = Table(
        name: "conn_aliases",
        columns: [
            Column("dataset", "String", "LowCardinality(String)", "case or collection"),
            Column("conn_key", "UInt64", nil, "a connection key"),
            Column("grp", "UInt64", nil, "the smallest key of its group (one connection under several tuples: NAT)"),
            Column("side_flip", "UInt8", nil, "1 when this tuple's endpoint b opened the connection"),
            Column("evidence", "String", nil, "what matched: isn=… or tsval=…/win=…"),
            Column("version", "UInt64", nil, "push time, ns: the newest row of a (dataset, conn_key) wins"),
        ],
        engine: { _ in "ReplacingMergeTree(version)" },
        orderBy: "(dataset, conn_key)",
        partitionBy: { _ in nil },
        shardingKey: "grp")

    /// The connection table of the SQLite store: endpoints and the lifecycle the joiner derived, copied by the push
    /// (derived, so in a table of its own; a connection pushed again with another lifecycle gets a newer row).
    public static let connections = Table(
        name: "connections",
        columns: [
            Column("dataset", "String", "LowCardinality(String)", "case or collection"),
            Column("conn_key", "UInt64", nil, "as events.conn_key"),
            Column("proto", "UInt8", nil, "IANA transport number"),
            Column("a", "String", nil, "endpoint a's address (the lower in Community ID order)"),
            Column("aport", "UInt16", nil, "endpoint a's port"),
            Column("b", "String", nil, "endpoint b's address"),
            Column("bport", "UInt16", nil, "endpoint b's port"),
            Column("community_id", "String", nil, "'1:' + base64(SHA1)"),
            Column("orig_side", "Nullable(UInt8)", nil, "who opened it: 0 = a, 1 = b; NULL until the lifecycle was derived"),
            Column("vantage", "Nullable(Int64)", nil, "store_id of the source the counts come from"),
            Column("seen_by", "Nullable(String)", nil, "store_id:packets,… for every source that saw it"),
            Column("first_ts", "Nullable(Int64)", nil, "aligned ns"),
            Column("last_ts", "Nullable(Int64)", nil, "aligned ns"),
            Column("orig_guessed", "Nullable(UInt8)", nil, "1: no SYN or SYN/ACK seen"),
            Column("syn_ts", "Nullable(Int64)", nil, "first SYN, aligned ns"),
            Column("syn_retransmissions", "Nullable(Int64)", nil, ""),
            Column("syn_synack_ns", "Nullable(Int64)", nil, "SYN → SYN/ACK at the vantage point"),
            Column("synack_ack_ns", "Nullable(Int64)", nil, "SYN/ACK → ACK at the vantage point"),
            Column("handshake_completed", "Nullable(UInt8)", nil, ""),
            Column("end_kind", "Nullable(String)", nil, "fin | rst | refused | none"),
            Column("end_side", "Nullable(UInt8)", nil, "who sent the RST, or the first FIN"),
            Column("end_ts", "Nullable(Int64)", nil, "aligned ns"),
            Column("conn_state", "Nullable(String)", nil, "Zeek's conn_state"),
            Column("history", "Nullable(String)", nil, "Zeek's history letters"),
            Column("orig_packets", "Nullable(Int64)", nil, ""),
            Column("orig_bytes", "Nullable(Int64)", nil, ""),
            Column("orig_retransmissions", "Nullable(Int64)", nil, ""),
            Column("resp_packets", "Nullable(Int64)", nil, ""),
            Column("resp_bytes", "Nullable(Int64)", nil, ""),
            Column("resp_retransmissions", "Nullable(Int64)", nil, ""),
            Column("version", "UInt64", nil, "push time, ns: the newest row of a (dataset, conn_key) wins"),
        ],
        engine: { _ in "ReplacingMergeTree(version)" },
        orderBy: "(dataset, conn_key)",
        partitionBy: { _ in nil },
        shardingKey: "conn_key")

    /// The second access path (SCALEOUT.md §2.2, OpenTelemetry's traces_id_ts_lookup): one row per (dataset,
    /// connection key) with its first and last source time and the hosts that saw it, filled by `conns_mv` as events
    /// are inserted. `conn` reads it first, then the connection's events as a primary-key range per host.
    /// Aggregate states (not SimpleAggregateFunction, which 18.16 lacks): read with minMerge, maxMerge, ….
    public static let conns = Table(
        name: "conns",
        columns: [
            Column("dataset", "String", "LowCardinality(String)", "case or collection"),
            Column("conn_key", "UInt64", nil, "as events.conn_key (never 0: events without a connection are not here)"),
            Column("first_ts", "AggregateFunction(min, Int64)", "AggregateFunction(min, DateTime64(9, 'UTC'))", "its first event's ts_src: minMerge"),
            Column("last_ts", "AggregateFunction(max, Int64)", "AggregateFunction(max, DateTime64(9, 'UTC'))", "its last event's ts_src: maxMerge"),
            Column("hosts", "AggregateFunction(groupUniqArray, String)", nil, "the hosts whose sources hold its events: groupUniqArrayMerge"),
            Column("events", "AggregateFunction(count)", nil, "its events: countMerge (rows a push deleted and wrote again count twice)"),
        ],
        engine: { _ in "AggregatingMergeTree" },
        orderBy: "(dataset, conn_key)",
        partitionBy: { _ in nil },
        shardingKey: "conn_key")

    /// Which sources hold events of which kind, filled by `source_kinds_mv`: the few sources with socket tables are
    /// found here, then read as primary-key ranges, rather than every event scanned for its kind.
    public static let sourceKinds = Table(
        name: "source_kinds",
        columns: [
            Column("dataset", "String", "LowCardinality(String)", "case or collection"),
            Column("kind", "String", "LowCardinality(String)", "event kind name"),
            Column("source_id", "UInt64", nil, "as events.source_id"),
            Column("host", "String", "LowCardinality(String)", "the source's host"),
            Column("events", "AggregateFunction(count)", nil, "how many: countMerge"),
        ],
        engine: { _ in "AggregatingMergeTree" },
        orderBy: "(dataset, kind, source_id, host)",
        partitionBy: { _ in nil },
        shardingKey: "source_id")

    public static let tables = [events, sources, clocks, connAliases, connections, conns, sourceKinds] + DerivedRows.tables

    /// Fills `conns` from every insert into the events table that holds rows (the local one on a cluster: a
    /// connection's events are all on its shard, so each shard's rows are complete).
    func connsView(onCluster: String) -> String {
        """
        CREATE MATERIALIZED VIEW IF NOT EXISTS \(database).conns_mv\(onCluster) TO \(localName(Self.conns)) AS
        SELECT dataset, conn_key, minState(ts_src) AS first_ts, maxState(ts_src) AS last_ts,
               groupUniqArrayState(toString(host)) AS hosts, countState() AS events
        FROM \(localName(Self.events)) WHERE conn_key != 0 GROUP BY dataset, conn_key
        """
    }

    /// The layout this tracejoin writes and reads; a database holding another is refused, never half-used
    /// (`schema_version`, one row per server). 1 was the first push's, before the table existed.
    public static let version = 2

    /// The table rows are written into and read from (Distributed on a cluster).
    public func name(_ t: Table) -> String { "\(database).\(t.name)" }
    /// The table that holds the rows on one server (what a DELETE mutates).
    public func localName(_ t: Table) -> String { "\(database).\(t.name)\(cluster == nil ? "" : "_local")" }

    /// Statements to run on every listed server, in order. With a cluster and one listed host they carry
    /// `ON CLUSTER` instead (`onCluster: true`).
    public func ddl(onCluster: Bool = false) -> [String] {
        let oc = onCluster && cluster != nil ? " ON CLUSTER \(cluster!)" : ""
        var out = ["CREATE DATABASE IF NOT EXISTS \(database)\(oc)"]
        for t in Self.tables {
            out.append(create(t, name: localName(t), onCluster: oc))
            if let cluster {
                out.append("CREATE TABLE IF NOT EXISTS \(name(t))\(oc) AS \(localName(t)) ENGINE = Distributed(\(cluster), \(database), \(t.name)_local, \(t.shardingKey))")
            }
        }
        out.append(connsView(onCluster: oc))
        out.append("""
            CREATE MATERIALIZED VIEW IF NOT EXISTS \(database).source_kinds_mv\(oc) TO \(localName(Self.sourceKinds)) AS
            SELECT dataset, kind, source_id, host, countState() AS events FROM \(localName(Self.events)) GROUP BY dataset, kind, source_id, host
            """)
        return out
    }

    func create(_ t: Table, name: String, onCluster: String) -> String {
        var cols = t.columns.map { c in "  \(c.name) \(dialect == .current ? c.current : c.compat)" }
        if dialect == .current && t.name == "events" {
            // The second access path: a connection's events without a time bound (SCALEOUT.md §2.2: 5 of 2,456 granules).
            cols.append("  INDEX idx_conn conn_key TYPE bloom_filter(0.001) GRANULARITY 1")
        }
        var s = "CREATE TABLE IF NOT EXISTS \(name)\(onCluster)\n(\n\(cols.joined(separator: ",\n"))\n)\nENGINE = \(t.engine(dialect))"
        if let p = t.partitionBy(dialect) { s += "\nPARTITION BY \(p)" }
        s += "\nORDER BY \(t.orderBy)"
        if dialect == .current {
            if t.name == "events", let days = retentionDays {
                // Retention on push time, never on ts_src: a 2013 case would vanish at the first merge (SCALEOUT.md §2.2).
                s += "\nTTL ingested_at + INTERVAL \(days) DAY"
            }
            // Lets a retried batch with the same token be dropped on a non-replicated table too.
            s += "\nSETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000"
            if t.name == "events" && retentionDays != nil { s += ", ttl_only_drop_parts = 1" }
        }
        return s
    }
}
