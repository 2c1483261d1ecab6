#!/usr/bin/env bash
# clickhouse-read-bench.sh: `tracejoin conn` and a timeline page on the SQLite store and on ClickHouse 26.9 (chDB behind
# scripts/chdb-http-shim.py) holding the same case among TOTAL events, side by side, with the granules ClickHouse read.
#
#   bench/clickhouse-read-bench.sh [TOTAL_EVENTS] [CASE_PACKETS] [OPEN]     # defaults 20000000 1000000 100
#
# The case: bench/gen-pcap.py's capture of CASE_PACKETS packets over 20,000 connections, OPEN of them at a time (20000:
# every connection spans the whole capture, its packets in as many granules as it has packets), ingested into a
# SQLite store, its passes run, and pushed. The rest of TOTAL: synthetic packets INSERT … SELECTed into the same dataset over the same days, on 100
# hosts (one of them the case's own) and 1 M other connections, so neither the day nor the host alone finds the case.
# Needs a release build, python3 with chdb-core (.build-ch/venv, as .ci/run makes it) and hyperfine. Writes
# everything under bench/out/chread-<UTC stamp>/.
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL=${1:-20000000}
N=${2:-1000000}
OPEN=${3:-100}
OUT="bench/out/chread-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
B=$PWD/.build/release/tracejoin
PY=${TRACEJOIN_CHDB_PYTHON:-.build-ch/venv/bin/python}
[ -x "$B" ] || { echo "clickhouse-read-bench: build first: swift build -c release --product tracejoin" >&2; exit 2; }
PORT=18125

python3 bench/gen-pcap.py "$N" 20000 "$OUT/case.pcap" "$OPEN"
"$B" ingest --store "$OUT/case.db" "$OUT/case.pcap" > /dev/null
"$B" connections --store "$OUT/case.db" > /dev/null   # the clock and lifecycle passes, which the push copies

"$PY" scripts/chdb-http-shim.py "$OUT/chdb" "$PORT" --explain "$OUT/explain.jsonl" > "$OUT/shim.log" 2>&1 &
SHIM=$!
trap 'kill $SHIM 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do grep -q "on 127.0.0.1" "$OUT/shim.log" 2>/dev/null && break; sleep 0.5; done
URL="clickhouse+http://127.0.0.1:$PORT/tj?dataset=case"
"$B" push --store "$OUT/case.db" --to "$URL" --json > "$OUT/push.json" 2> "$OUT/push.stderr"

# The filler, spread over the case's day and the two around it.
read -r FIRST HOST <<<"$("$B" sql --store "$OUT/case.db" "SELECT min(ts), min(host) FROM events" | tail -1)"
FILL=$((TOTAL - N))
q() { curl -sf "http://127.0.0.1:$PORT/" --data-binary "$1"; }
START=$(date +%s.%N)
q "INSERT INTO tj.events (dataset, host, source_id, ordinal, event_id, line, ts_src, kind, proto, src, src_ip, sport, dst, dst_ip, dport,
     conn_key, community_id, flags, seq, ack, len, win, ipid, tsval, tsecr, mss, expert, frame_len, label, summary_at, summary_text, raw, attrs, seq_raw, ack_raw)
   SELECT 'case', if(number % 100 = 0, '$HOST', concat('filler', toString(number % 100))), 1000 + number % 100, number, 1000000000 + number, number,
     fromUnixTimestamp64Nano(toInt64($FIRST - 86400000000000 + intDiv(number * 259200, $FILL) * 1000000000 + number % 1000000000)),
     'packet', 6, '10.200.0.1', toIPv6('::ffff:10.200.0.1'), 40000 + number % 20000, '10.201.0.1', toIPv6('::ffff:10.201.0.1'), 443,
     cityHash64(intDiv(number, 20)), '', 24, number, number, 100, 65535, NULL, NULL, NULL, NULL, 0, 154, 'TCP', 0, '', 'filler packet', NULL, NULL, NULL
   FROM numbers($FILL)"
FILLED=$(python3 -c "import time; print(f'{time.time() - $START:.1f}')")
ROWS=$(q "SELECT count() FROM tj.events WHERE dataset = 'case'")
GRANULES=$(q "SELECT sum(marks) FROM system.parts WHERE database = 'tj' AND table = 'events' AND active")

# Five connections of the case, spread over it.
"$B" connections --json --store "$OUT/case.db" | python3 -c '
import sys, json
rows = [json.loads(l)["endpoints"] for l in sys.stdin]
for i in range(5): print(*rows[i * len(rows) // 5])' > "$OUT/conns.txt"

: > "$OUT/explain.jsonl"
same=0
while read -r A Z; do
  "$B" conn "$A" "$Z" --json --store "$OUT/case.db" > "$OUT/sqlite.json"
  "$B" conn "$A" "$Z" --json --store "$URL" > "$OUT/clickhouse.json"
  cmp -s "$OUT/sqlite.json" "$OUT/clickhouse.json" && same=$((same + 1))
done < "$OUT/conns.txt"
read -r A Z < "$OUT/conns.txt"
hyperfine -N --warmup 1 --runs 5 --export-json "$OUT/conn.json" \
  -n sqlite "$B conn $A $Z --json --store $OUT/case.db" -n clickhouse "$B conn $A $Z --json --store $URL" > "$OUT/hyperfine-conn.txt"
FROM=$("$B" timeline --store "$OUT/case.db" --json --limit 1 | python3 -c 'import sys, json; print(json.loads(sys.stdin.readline())["ts"])')
hyperfine -N --warmup 1 --runs 5 --export-json "$OUT/page.json" \
  -n sqlite "$B timeline --from $FROM --limit 1000 --json --store $OUT/case.db" \
  -n clickhouse "$B timeline --from $FROM --limit 1000 --json --store $URL" > "$OUT/hyperfine-page.txt"

python3 - "$OUT" "$ROWS" "$GRANULES" "$same" "$FILLED" <<'PY' | tee "$OUT/summary.md"
import json, os, sys
out, rows, granules, same, filled = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def med(f, name):
    r = next(x for x in json.load(open(os.path.join(out, f)))["results"] if x["command"] == name)
    return sorted(r["times"])[len(r["times"]) // 2]
push = json.load(open(os.path.join(out, "push.json")))
conn_reads = [json.loads(l) for l in open(os.path.join(out, "explain.jsonl")) if "conn_key = {key:UInt64}" in l]
print("| what | figure |\n|---|---|")
print(f"| events in ClickHouse (dataset) | {rows:,} ({push['rows']:,} pushed from the store, the rest synthetic, {filled} s to insert) |")
print(f"| granules of tj.events | {granules:,} |")
if conn_reads:  # each query's last index step (the bloom filter): the granules it went on to read
    w = max(r["granules"][-1][0] for r in conn_reads if r["granules"])
    print(f"| `conn`: granules its events query read, worst of {len(conn_reads)} | {w} ({100 * w / granules:.3f} %) |")
print(f"| `conn --json` equal on both stores | {same} of 5 connections |")
print(f"| `conn --json`, median of 5 | SQLite {med('conn.json', 'sqlite') * 1000:.0f} ms, ClickHouse {med('conn.json', 'clickhouse') * 1000:.0f} ms |")
print(f"| `timeline --from --limit 1000 --json`, median of 5 | SQLite {med('page.json', 'sqlite') * 1000:.0f} ms, ClickHouse {med('page.json', 'clickhouse') * 1000:.0f} ms |")
PY
