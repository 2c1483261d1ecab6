#!/usr/bin/env bash
# engine-clocks-bench.sh: the clock pass on two capture points that share PACKETS packets, on the SQLite store
# (`tracejoin clocks`) and in ClickHouse (`tracejoin clocks --solve` on the pushed dataset, 2-shard 18.16 test cluster).
#
#   bench/engine-clocks-bench.sh [PACKETS] [CONNECTIONS]     # defaults 1000000 20000
#
# The second capture is the first retimed (scripts/retime-pcap.py: +3.25 s, +20 ppm), so both passes must find
# -3.25 s and 20 ppm. Needs a release build (swift build -c release --product tracejoin), python3 and hyperfine.
# Starts the cluster with scripts/clickhouse-test-env.sh up (and leaves it up). Writes under bench/out/clocks-<stamp>/.
#
# What each side does: the SQLite pass reads every packet of both sources into Swift, matches them, bounds and
# places the clocks, then pairs every packet with its twin (TwinPass); the engine pass has the shards match and
# reduce the packets to a few thousand rows (per direction and time bucket), then bounds and places in Swift. It
# derives no twins: the push copied the store's.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
C=${2:-20000}
OUT="bench/out/clocks-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
B=.build/release/tracejoin
[ -x "$B" ] || { echo "engine-clocks-bench: build first: swift build -c release --product tracejoin" >&2; exit 2; }
command -v hyperfine > /dev/null || { echo "engine-clocks-bench: needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }

URL=$(scripts/clickhouse-test-env.sh up | tail -1)
python3 bench/gen-pcap.py "$N" "$C" "$OUT/a.pcap" 100
python3 scripts/retime-pcap.py "$OUT/a.pcap" "$OUT/b.pcap" --shift 3.25 --ppm 20
"$B" ingest --store "$OUT/s.db" "$OUT/a.pcap" "$OUT/b.pcap" > /dev/null
"$B" clocks --store "$OUT/s.db" > "$OUT/sqlite.txt"
DS="clocks-$(date +%s)"
"$B" push --store "$OUT/s.db" --to "$URL&dataset=$DS" --no-findings > /dev/null 2>&1
"$B" clocks --store "$URL&dataset=$DS" --solve > "$OUT/engine.txt"

hyperfine --runs 3 --export-json "$OUT/hyperfine.json" \
  -n sqlite "$B clocks --store $OUT/s.db" \
  -n clickhouse "$B clocks --store '$URL&dataset=$DS' --solve" > "$OUT/hyperfine.txt"
/usr/bin/time -v "$B" clocks --store "$URL&dataset=$DS" --solve > /dev/null 2> "$OUT/engine.time"
/usr/bin/time -v "$B" clocks --store "$OUT/s.db" > /dev/null 2> "$OUT/sqlite.time"

python3 - "$OUT" "$N" <<'PY' | tee "$OUT/summary.md"
import json, os, sys
out, n = sys.argv[1], int(sys.argv[2])
runs = {r["command"]: r for r in json.load(open(os.path.join(out, "hyperfine.json")))["results"]}
def rss(name):
    for line in open(os.path.join(out, name)):
        if "Maximum resident" in line: return int(line.split()[-1]) / 1024
def row(name):
    return [l.split() for l in open(os.path.join(out, name)) if l.split()[1:2] == ["b"]][0]
sq, ch = runs["sqlite"], runs["clickhouse"]
print("| what | SQLite `clocks` | ClickHouse `clocks --solve` |\n|---|---|---|")
print(f"| shared packets | {n} | {n} |")
print(f"| wall, median of 3 | {sq['median']:.2f} s | {ch['median']:.2f} s |")
print(f"| peak RSS of tracejoin | {rss('sqlite.time'):.0f} MB | {rss('engine.time'):.0f} MB |")
print(f"| b.pcap offset, ±, drift | {' '.join(row('sqlite.txt')[2:5])} | {' '.join(row('engine.txt')[2:5])} |")
print(f"\nSQLite / ClickHouse: {sq['median'] / ch['median']:.1f}x")
PY
