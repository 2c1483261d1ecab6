#!/usr/bin/env bash
# push-bench.sh: `tracejoin push` of a 1 M-event store to the 2-shard ClickHouse 18.16 test cluster, next to curl
# posting the same rows (RowBinary read back from the cluster) to the same cluster.
#
#   bench/push-bench.sh [EVENTS] [CONNECTIONS]     # defaults 1000000 20000
#
# Needs a release build (swift build -c release --product tracejoin) and python3. Starts the cluster with
# scripts/clickhouse-test-env.sh up (and leaves it up). Prints wall time, events/s, peak RSS of push, the servers'
# CPU time, and curl's time; writes everything under bench/out/push-<UTC stamp>/.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
C=${2:-20000}
OUT="bench/out/push-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
B=.build/release/tracejoin
[ -x "$B" ] || { echo "push-bench: build first: swift build -c release --product tracejoin" >&2; exit 2; }

URL=$(scripts/clickhouse-test-env.sh up | tail -1)
python3 bench/gen-pcap.py "$N" "$C" "$OUT/gen.pcap"
"$B" ingest --store "$OUT/gen.db" "$OUT/gen.pcap" > /dev/null
# The passes first and no findings, so that what is timed is the copy (both are the store's work: on this synthetic
# capture, whose every packet the TCP analysis flags, the findings alone take minutes).
"$B" connections --store "$OUT/gen.db" > /dev/null
DS="bench-$(date +%s)"

servers_cpu() { # utime+stime of both test servers, in clock ticks
  local t=0
  for f in .build-ch/ch1/pid .build-ch/ch2/pid; do
    local p; p=$(cat "$f"); for c in $(cat "/proc/$p/task/$p/children"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$c/stat"))); done
  done
  echo "$t"
}

before=$(servers_cpu)
/usr/bin/time -v "$B" push --store "$OUT/gen.db" --to "$URL&dataset=$DS" --json --no-findings > "$OUT/push.json" 2> "$OUT/push.stderr"
after=$(servers_cpu)
rss=$(awk '/Maximum resident/ {print $6}' "$OUT/push.stderr")
user=$(awk '/User time/ {print $4}' "$OUT/push.stderr")
secs=$(python3 -c "import json; print(json.load(open('$OUT/push.json'))['seconds'])")
rows=$(python3 -c "import json; print(json.load(open('$OUT/push.json'))['rows'])")

# The same rows as RowBinary, posted by curl into a second database made by a tiny push.
COLS="dataset, host, source_id, ordinal, event_id, line, ts_src, kind, proto, src, src_ip, sport, dst, dst_ip, dport, conn_key, community_id, flags, seq, ack, len, win, ipid, tsval, tsecr, mss, expert, frame_len, label, summary_at, summary_text, raw, attrs, seq_raw, ack_raw"
for p in 18123 18124; do
  curl -s "http://127.0.0.1:$p/" --data-binary "SELECT $COLS FROM tj.events_local WHERE dataset='$DS' FORMAT RowBinary"
done > "$OUT/rows.rowbinary"
"$B" push --store "$OUT/gen.db" --to "$(echo "$URL" | sed "s|/tj?|/tjcurl?|")&dataset=$DS" --no-findings --stop-after-batches 0 > /dev/null 2>&1 || true
Q=$(python3 -c "import urllib.parse; print(urllib.parse.quote('INSERT INTO tjcurl.events ($COLS) FORMAT RowBinary'))")
cstart=$(date +%s.%N)
curl -s -T "$OUT/rows.rowbinary" -H 'Transfer-Encoding: chunked' "http://127.0.0.1:18123/?insert_distributed_sync=1&query=$Q"
cend=$(date +%s.%N)

python3 - "$OUT" "$N" "$secs" "$rows" "$rss" "$user" "$((after - before))" "$cstart" "$cend" <<'PY' | tee "$OUT/summary.md"
import os, sys
out, n, secs, rows, rss, user, ticks, cs, ce = sys.argv[1:]
n, secs, rows, ticks = int(n), float(secs), int(rows), int(ticks)
curl = float(ce) - float(cs)
size = os.path.getsize(os.path.join(out, "rows.rowbinary"))
print(f"| what | figure |\n|---|---|")
print(f"| events pushed (rows in ClickHouse afterwards) | {n} ({rows}) |")
print(f"| tracejoin push | {secs:.2f} s, {n / secs:,.0f} events/s, peak RSS {int(rss) / 1024:.0f} MB, {user} s user CPU |")
print(f"| the two servers' CPU during the push | {ticks / 100:.2f} s |")
print(f"| curl posting the same rows ({size / 1e6:.0f} MB RowBinary) | {curl:.2f} s, {n / curl:,.0f} rows/s |")
PY
