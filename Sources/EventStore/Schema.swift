import GRDB

/// The store's schema, one migration per version, from the first release on.
///
/// Column meanings (units, sources, where they mislead) are documented once, here; `tracejoin sql`
/// users read this through README's schema section.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: sources, events, addresses, connections, unparsed lines") { db in
            try db.execute(sql: """
            -- One row per ingested file (or archive member).
            CREATE TABLE source (
              id INTEGER PRIMARY KEY,
              path TEXT NOT NULL,            -- as the user named it; `bundle.zip!/member` inside archives
              format TEXT NOT NULL,          -- parser id (`wireshark_text`)
              host TEXT NOT NULL,            -- capture point / machine (`--host`, else from the file name)
              content_hash TEXT NOT NULL UNIQUE, -- of the decompressed bytes: the same content loads once
              head_hash TEXT,                -- of the first 64 KiB: which sources are worth a full hash check
              bytes INTEGER NOT NULL,
              lines INTEGER NOT NULL,
              events INTEGER NOT NULL,
              unparsed INTEGER NOT NULL,     -- lines not understood (kept in `unparsed`)
              tz_offset_s INTEGER NOT NULL,  -- seconds east of UTC the file's times were written in
              tz_given INTEGER NOT NULL,     -- 1 when the user said (`--tz`), 0 when assumed UTC
              time_basis TEXT NOT NULL,      -- absolute | time_of_day | relative (see TimeBasis)
              time_digits INTEGER NOT NULL,  -- fractional digits the source writes
              first_ts INTEGER, last_ts INTEGER, -- ns, source clock
              first_row INTEGER, last_row INTEGER, -- the source's events are event rows first_row…last_row
              ts_sorted INTEGER NOT NULL DEFAULT 1, -- 1: those rows are in time order (rowid order is time order)
              notes TEXT,                    -- what the parser decided, JSON
              ingested_at TEXT NOT NULL
            );
            -- Address texts, stored once; events refer to them by id.
            CREATE TABLE address (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
            -- Event kinds by number (TraceModel.EventKind).
            CREATE TABLE kind (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
            -- One row per thing that happened. Immutable once stored: derived facts live elsewhere.
            CREATE TABLE event (
              source INTEGER NOT NULL REFERENCES source(id),
              ordinal INTEGER NOT NULL,  -- frame number, or line number for logs
              line INTEGER NOT NULL,     -- first line of the record in its file
              ts INTEGER NOT NULL,       -- ns on the source's own clock after its zone; relative sources: since start
              kind INTEGER NOT NULL,
              proto INTEGER,             -- IANA transport number
              src INTEGER, sport INTEGER, dst INTEGER, dport INTEGER, -- address ids and ports
              conn INTEGER,              -- connection key: first 8 bytes of the Community ID hash
              flags INTEGER,             -- TCP flag bits as on the wire
              seq INTEGER, ack INTEGER,  -- as the source shows them (relative when the export is)
              len INTEGER,               -- TCP payload bytes
              win INTEGER, ipid INTEGER, tsval INTEGER, tsecr INTEGER, mss INTEGER,
              expert INTEGER NOT NULL DEFAULT 0, -- TCPExpert bits: retransmission, dup ack, …
              frame_len INTEGER,         -- bytes on the wire
              label TEXT,                -- the protocol column as written (TLSv1, TDS, ARP)
              raw_at INTEGER NOT NULL,   -- original text: byte offset in the source's text (text_chunk)
              raw_len INTEGER NOT NULL,  --   and its length in bytes, all lines of a multi-line record
              summary_at INTEGER NOT NULL, -- summary = raw from this byte to the end of its first line
              attrs TEXT,                -- rare format-specific fields, JSON
              seq_raw INTEGER, ack_raw INTEGER -- absolute seq/ack where the source gives them (captures)
            );
            -- Each source's text (decoded to UTF-8), stored once in 32 KiB pieces: events point into it,
            -- which keeps event rows to integers (ARCHITECTURE.md, performance principles).
            CREATE TABLE text_chunk (
              source INTEGER NOT NULL REFERENCES source(id),
              n INTEGER NOT NULL,        -- piece number: bytes n*32768 ..< (n+1)*32768
              bytes BLOB NOT NULL,       -- zlib-compressed (SQL: inflate(bytes), a function tracejoin sql provides)
              PRIMARY KEY (source, n)
            ) WITHOUT ROWID;
            -- One row per connection key, endpoints in Community ID order (a is the lower).
            -- The lifecycle columns are derived by the lifecycle pass and recomputed when stale.
            CREATE TABLE connection (
              key INTEGER PRIMARY KEY,
              proto INTEGER NOT NULL,
              a INTEGER NOT NULL, aport INTEGER NOT NULL, b INTEGER NOT NULL, bport INTEGER NOT NULL,
              community_id TEXT NOT NULL,
              -- Derived by the lifecycle pass from the source that saw most of the connection (`vantage`);
              -- NULL until derived. Times are aligned ns; *_side columns: 0 = endpoint a, 1 = endpoint b.
              vantage INTEGER,           -- source id the counts come from
              orig_side INTEGER,         -- who opened it (first SYN; else the side its SYN/ACK answered)
              orig_guessed INTEGER,      -- 1: no SYN or SYN/ACK seen, the first sender is taken as originator
              first_ts INTEGER, last_ts INTEGER,
              syn_ts INTEGER,            -- first SYN
              syn_retransmissions INTEGER,
              syn_synack_ns INTEGER,     -- SYN → SYN/ACK at the vantage point
              synack_ack_ns INTEGER,     -- SYN/ACK → ACK at the vantage point
              handshake_completed INTEGER,
              orig_packets INTEGER, orig_bytes INTEGER, orig_retransmissions INTEGER,
              resp_packets INTEGER, resp_bytes INTEGER, resp_retransmissions INTEGER,
              end_kind TEXT,             -- fin | rst | refused | none
              end_side INTEGER,          -- who sent the RST, or the first FIN
              end_ts INTEGER,
              conn_state TEXT,           -- Zeek's conn_state: S0, S1, SF, REJ, RSTO, RSTR, …
              history TEXT,              -- Zeek's history letters (upper case: originator)
              seen_by TEXT               -- source:packets,… for every source that saw it
            );
            -- Lines the parsers could not read, with their place.
            CREATE TABLE unparsed (
              source INTEGER NOT NULL REFERENCES source(id),
              line INTEGER NOT NULL,
              reason TEXT NOT NULL,
              raw TEXT NOT NULL
            );
            CREATE INDEX unparsed_by_source ON unparsed(source, line);
            CREATE INDEX source_by_head ON source(head_hash);
            -- Clock corrections per source, applied when reading: aligned ts = event.ts + offset_ns (and drift: v7).
            CREATE TABLE clock (
              source INTEGER PRIMARY KEY REFERENCES source(id),
              offset_ns INTEGER NOT NULL,
              uncertainty_ns INTEGER,
              method TEXT NOT NULL         -- how it was found: anchor (user), …
            );
            -- Derived-state bookkeeping: which passes must run again.
            CREATE TABLE pass_state (name TEXT PRIMARY KEY, stale INTEGER NOT NULL);
            """)
            for k in TraceModelKinds.all {
                try db.execute(sql: "INSERT INTO kind(id, name) VALUES (?, ?)", arguments: [k.0, k.1])
            }
            try db.execute(sql: """
            -- Each event's raw bytes cut from its source's text (records up to 32 KiB; SQL only —
            -- tracejoin itself reads the pieces directly).
            CREATE VIEW event_raw AS
              SELECT e.rowid AS id, substr(CAST(inflate(c1.bytes) || COALESCE(inflate(c2.bytes), x'') AS BLOB), e.raw_at % 32768 + 1, e.raw_len) AS raw
              FROM event e
              JOIN text_chunk c1 ON c1.source = e.source AND c1.n = e.raw_at / 32768
              LEFT JOIN text_chunk c2 ON c2.source = e.source AND c2.n = e.raw_at / 32768 + 1;
            -- A readable view for `tracejoin sql`: names instead of ids, summary and raw text, aligned ts.
            CREATE VIEW events AS
              SELECT e.rowid AS id, s.host, s.path AS source, e.ordinal, e.line,
                     e.ts + COALESCE(c.offset_ns, 0) AS ts, e.ts AS ts_source, k.name AS kind,
                     e.proto, sa.text AS src, e.sport, da.text AS dst, e.dport, e.conn,
                     e.flags, e.seq, e.ack, e.len, e.win, e.ipid, e.tsval, e.tsecr, e.mss, e.expert, e.frame_len,
                     e.label,
                     CAST(substr(r.raw, e.summary_at + 1,
                        CASE WHEN instr(substr(r.raw, e.summary_at + 1), x'0a') > 0
                             THEN instr(substr(r.raw, e.summary_at + 1), x'0a') - 1 ELSE e.raw_len END) AS TEXT) AS summary,
                     CAST(r.raw AS TEXT) AS raw, e.attrs, e.seq_raw, e.ack_raw
              FROM event e JOIN source s ON s.id = e.source JOIN kind k ON k.id = e.kind
              JOIN event_raw r ON r.id = e.rowid
              LEFT JOIN clock c ON c.source = e.source
              LEFT JOIN address sa ON sa.id = e.src LEFT JOIN address da ON da.id = e.dst;
            """)
        }
        m.registerMigration("v2: host names") { db in
            try db.execute(sql: """
            -- Names sources give for addresses: a pcapng name resolution block, the names tcpdump printed.
            CREATE TABLE host_name (
              address INTEGER NOT NULL REFERENCES address(id),
              name TEXT NOT NULL,
              source INTEGER NOT NULL REFERENCES source(id), -- the source that said so
              PRIMARY KEY (address, name, source)
            ) WITHOUT ROWID;
            """)
        }
        m.registerMigration("v3: how a clock was solved") { db in
            try db.execute(sql: """
            -- A clock solved from packets both sources saw: the source it is relative to, how many packets
            -- matched, and with which source (the neighbour on the path to the reference).
            ALTER TABLE clock ADD COLUMN reference INTEGER REFERENCES source(id);
            ALTER TABLE clock ADD COLUMN matched INTEGER;
            ALTER TABLE clock ADD COLUMN peer INTEGER REFERENCES source(id);
            """)
        }
        m.registerMigration("v4: packets' twins at other capture points") { db in
            try db.execute(sql: """
            -- For each packet of a connection several capture points saw: whether the same packet was seen at
            -- each other point, and if not why (derived by the clock pass; rebuilt with it).
            CREATE TABLE packet_twin (
              event INTEGER NOT NULL,   -- the packet (event rowid)
              peer INTEGER NOT NULL REFERENCES source(id), -- the other capture point
              twin INTEGER,             -- the same packet's event there, when seen
              verdict TEXT NOT NULL,    -- seen | lost (left this point, never reached peer) | uncaptured (missing at
                                        -- peer, but the receiver acknowledged it and peer saw no resend: the
                                        -- peer's capture missed it) | injected (seen here,
                                        -- never passed peer, which its sender's packets pass first) | outside
                                        -- (peer was not capturing then) | unknown (way through the points unknown)
              PRIMARY KEY (event, peer)
            ) WITHOUT ROWID;
            """)
        }
        m.registerMigration("v5: one connection under several tuples") { db in
            try db.execute(sql: """
            -- Tuples that are one connection seen at different points (NAT between them): every member of a
            -- group points to the group's first key. Derived by the clock pass; rebuilt with it.
            CREATE TABLE connection_alias (
              key INTEGER PRIMARY KEY,   -- a connection key
              grp INTEGER NOT NULL,      -- the smallest key of its group
              side_flip INTEGER NOT NULL, -- 1 when this tuple's endpoint b is the group's originator (who sent the SYN)
              evidence TEXT NOT NULL     -- what matched: isn=<first sequence number> or tsval=<SYN's TSval>/win=<window>
            );
            CREATE INDEX connection_alias_by_group ON connection_alias(grp);
            """)
        }
        m.registerMigration("v6: each capture point's view of a connection") { db in
            try db.execute(sql: """
            -- A connection as each source saw it (the `connection` row holds the view of the source that saw
            -- most): Zeek's conn_state and history from that source's packets alone. Derived by the lifecycle pass.
            CREATE TABLE connection_view (
              key INTEGER NOT NULL REFERENCES connection(key),
              source INTEGER NOT NULL REFERENCES source(id),
              packets INTEGER NOT NULL,
              first_ts INTEGER, last_ts INTEGER, -- aligned ns
              conn_state TEXT NOT NULL,
              history TEXT NOT NULL,
              PRIMARY KEY (key, source)
            ) WITHOUT ROWID;
            """)
        }
        m.registerMigration("v7: clock drift") { db in
            try db.execute(sql: """
            -- A clock that ran at the wrong rate: aligned ts = ts + offset_ns − drift_ppb × (ts − origin_ns) / 10^9.
            ALTER TABLE clock ADD COLUMN drift_ppb INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE clock ADD COLUMN origin_ns INTEGER NOT NULL DEFAULT 0;
            -- The v1 view again, its ts now with the drift (migrations stay as they were: the text repeats).
            DROP VIEW events;
            CREATE VIEW events AS
              SELECT e.rowid AS id, s.host, s.path AS source, e.ordinal, e.line,
                     e.ts + COALESCE(c.offset_ns, 0) - CAST(round(COALESCE(c.drift_ppb, 0) * (e.ts - COALESCE(c.origin_ns, 0)) / 1e9) AS INTEGER) AS ts, e.ts AS ts_source, k.name AS kind,
                     e.proto, sa.text AS src, e.sport, da.text AS dst, e.dport, e.conn,
                     e.flags, e.seq, e.ack, e.len, e.win, e.ipid, e.tsval, e.tsecr, e.mss, e.expert, e.frame_len,
                     e.label,
                     CAST(substr(r.raw, e.summary_at + 1,
                        CASE WHEN instr(substr(r.raw, e.summary_at + 1), x'0a') > 0
                             THEN instr(substr(r.raw, e.summary_at + 1), x'0a') - 1 ELSE e.raw_len END) AS TEXT) AS summary,
                     CAST(r.raw AS TEXT) AS raw, e.attrs, e.seq_raw, e.ack_raw
              FROM event e JOIN source s ON s.id = e.source JOIN kind k ON k.id = e.kind
              JOIN event_raw r ON r.id = e.rowid
              LEFT JOIN clock c ON c.source = e.source
              LEFT JOIN address sa ON sa.id = e.src LEFT JOIN address da ON da.id = e.dst;
            """)
        }
        m.registerMigration("v8: whether the user named a source's host") { db in
            try db.execute(sql: """
            -- 1 when `--host` named the machine the file came from (not guessed from its name): a source that
            -- shares no packets may then follow the clock of another source of that host.
            ALTER TABLE source ADD COLUMN host_given INTEGER NOT NULL DEFAULT 0;
            """)
        }
        m.registerMigration("v9: stack events bound to their connection") { db in
            try db.execute(sql: """
            -- Events that do not print their connection's tuple but name an object that does (an ETL trace's
            -- Tcb/connection pointer, the endpoint it came from, a Winsock endpoint bound to its local
            -- address): the connection they belong to. Derived by the binding pass; rebuilt with it.
            CREATE TABLE event_binding (
              event INTEGER PRIMARY KEY,  -- the event (rowid)
              conn INTEGER NOT NULL,      -- its connection key
              via TEXT NOT NULL           -- how: pointer 0x…, endpoint 0x…, address a:p
            );
            CREATE INDEX event_binding_by_conn ON event_binding(conn);
            """)
        }
        m.registerMigration("v10: processes a host listed") { db in
            try db.execute(sql: """
            -- What `tasklist` showed on a host: process id → image (and services with /svc). Events of that host
            -- that carry only a PID (tracerpt rows, netstat -ano) are named through it.
            CREATE TABLE process (
              source INTEGER NOT NULL REFERENCES source(id),
              pid INTEGER NOT NULL,
              image TEXT NOT NULL,
              services TEXT,
              PRIMARY KEY (source, pid)
            ) WITHOUT ROWID;
            """)
        }
        m.registerMigration("v11: the connections a reused tuple carried") { db in
            // One row per connection when a tuple carried several in turn (a new ISN after the last ended);
            // the lifecycle as JSON, derived by the lifecycle pass like the connection's columns.
            try db.execute(sql: """
                CREATE TABLE connection_instance (
                  key INTEGER NOT NULL,
                  n INTEGER NOT NULL,
                  lifecycle TEXT NOT NULL,
                  PRIMARY KEY (key, n)
                ) WITHOUT ROWID
                """)
        }
        return m
    }

    /// Indexes on the small tables.
    static let indexes = [
        "CREATE INDEX IF NOT EXISTS connection_by_a ON connection(a)",
        "CREATE INDEX IF NOT EXISTS connection_by_b ON connection(b)",
    ]

    /// Events by connection, for `conn` and the lifecycle pass. Built when first needed rather than
    /// during the ingest (building it after a bulk load is far cheaper than maintaining it row by row:
    /// ARCHITECTURE.md's measured ceilings; and a timeline does not need it).
    static let connectionIndex = "CREATE INDEX IF NOT EXISTS event_by_conn ON event(conn, source, ts) WHERE conn IS NOT NULL"
    static let connectionIndexName = "event_by_conn"

    /// Time order for a source whose rows did not arrive in time order. Sources that did (nearly all:
    /// captures list packets in time order) need no index: their rowids are their time order, and a time
    /// range is found by binary search over them. The source id is a literal so that queries naming it
    /// can use this partial index.
    static func timeIndex(source: Int64) -> String {
        "CREATE INDEX IF NOT EXISTS event_ts_source\(source) ON event(ts) WHERE source = \(source)"
    }
}

import TraceModel

enum TraceModelKinds {
    static var all: [(Int, String)] { EventKind.allCases.map { ($0.rawValue, $0.name) } }
}
