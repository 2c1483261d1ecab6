#!/usr/bin/env python3
"""The current ClickHouse schema and the backend's queries, run on ClickHouse 26.9 in process (chDB).

Debian's real server is 18.16, so the current schema (DateTime64, IPv6, LowCardinality, codecs, a bloom-filter index,
TTL, deduplication tokens) never meets a real server in the tests; chDB runs the same engine in this process instead
(../shared/SCALEOUT.md §3.1). Needs PyPI's chdb-core 26.9 (`pip install chdb-core==26.9.0`).

    check-clickhouse-current.py DIR

DIR holds what ClickHouseTests wrote:
  ddl.sql            the current schema's statements for one server, separated by lines holding only ';'
  insert.json        {"table", "columns", "token", "file", "settings"}: RowBinary rows to insert, twice with the same
                     token, with the push's other settings
  queries.json       [{"name", "sql", "params", "explain"}]: the backend's queries with their query parameters; with
                     "explain", what `EXPLAIN indexes = 1` says of the query rather than its rows
Prints one JSON object: {"version", "inserted_twice_count", "old_case_after_merge", "results": {name: TSV text},
"explain_conn": text}.
Exit 2 when chDB is missing (the caller skips and says so), 1 on any statement ClickHouse refuses (its message).
"""
import json
import os
import sys

try:
    from chdb import session as chs
except ImportError:
    print("chdb-core is not installed (pip install chdb-core==26.9.0)", file=sys.stderr)
    sys.exit(2)


def main():
    d = sys.argv[1]
    s = chs.Session(os.path.join(d, "chdb"))
    out = {"version": s.query("SELECT version()", "TSV").bytes().decode().strip(), "results": {}}
    with open(os.path.join(d, "ddl.sql")) as f:
        for stmt in f.read().split("\n;\n"):
            if stmt.strip():
                s.query(stmt)
    with open(os.path.join(d, "insert.json")) as f:
        ins = json.load(f)
    path = os.path.join(d, ins["file"])
    # chDB has no HTTP body: the same bytes go in FROM INFILE (SETTINGS must follow INFILE: SCALEOUT.md §3.2).
    for _ in range(2):
        settings = "".join(f", {k} = {v}" for k, v in ins.get("settings", {}).items())
        s.query(f"INSERT INTO {ins['table']} ({', '.join(ins['columns'])}) FROM INFILE '{path}' "
                f"SETTINGS insert_deduplication_token = '{ins['token']}'{settings} FORMAT RowBinary")
    out["inserted_twice_count"] = int(s.query(f"SELECT count() FROM {ins['table']}", "TSV").bytes().decode())
    # Retention keys on push time: a copy of one row dated 2013 (support cases arrive that old) must outlive a
    # merge, which is when a TTL on event time would drop it (SCALEOUT.md §2.2, verified there with ts_src).
    cols = ins["columns"]
    picks = ["'old-case'" if c == "dataset" else "toDateTime64('2013-01-06 09:52:10', 9, 'UTC')" if c == "ts_src" else c for c in cols]
    s.query(f"INSERT INTO {ins['table']} ({', '.join(cols)}) SELECT {', '.join(picks)} FROM {ins['table']} LIMIT 1")
    s.query(f"OPTIMIZE TABLE {ins['table']} FINAL")
    out["old_case_after_merge"] = int(s.query(
        f"SELECT count() FROM {ins['table']} WHERE dataset = 'old-case' AND toYear(ts_src) = 2013", "TSV").bytes().decode())
    with open(os.path.join(d, "queries.json")) as f:
        for q in json.load(f):
            sql = ("EXPLAIN indexes = 1 " if q.get("explain") else "") + q["sql"]
            out["results"][q["name"]] = s.query(sql, "TSV", params=q["params"]).bytes().decode()
    out["explain_conn"] = s.query(
        f"EXPLAIN indexes = 1 SELECT count() FROM {ins['table']} WHERE conn_key = 1", "TSV").bytes().decode()
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # chDB raises RuntimeError with ClickHouse's own message
        print(f"ClickHouse (chDB) refused: {e}", file=sys.stderr)
        sys.exit(1)
