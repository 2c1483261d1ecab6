#!/usr/bin/env bash
# view-bench.sh — `tracejoin view` on a store of ≥ 10 M events: the first screen in headless Chromium after
# the page is requested, the server's answer to a jump to an arbitrary row (random positions over the whole
# store) and to the histogram, next to lnav opening the same text files (its first screen). A benchmark,
# not a test.
#
# usage: bench/view-bench.sh           (needs bench/out/gen/big.pcap and big.txt: bench/ingest-bench.sh --gen-only)
# env:   EVENTS=10000000  JUMPS=200  TRACEJOIN=<binary> (default .build/release/tracejoin, built if missing)
#        STORE=<path> (reuse a filled store)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN=$REPO/bench/out/gen
EVENTS=${EVENTS:-10000000}; JUMPS=${JUMPS:-200}
TJ=${TRACEJOIN:-$REPO/.build/release/tracejoin}
[[ -s $GEN/big.pcap && -s $GEN/big.txt ]] || { echo "no $GEN/big.pcap or big.txt: run bench/ingest-bench.sh --gen-only first" >&2; exit 1; }
[[ -x $TJ ]] || (cd "$REPO" && swift build -c release >&2)
for t in curl python3; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done
OUT=$REPO/bench/out/view-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$OUT"
S=${STORE:-$GEN/view-store.db}

# The store: the capture and its text export (1 M packets each) and an ETL text export for the rest.
if [[ ! -s $S ]]; then
  REST=$((EVENTS - 2 * 1005850))
  NM=$GEN/netmon-view.txt
  [[ -s $NM ]] || python3 "$REPO/bench/gen-netmon.py" "$NM" "$REST" >&2
  echo "filling $S …" >&2
  /usr/bin/time -f "ingest: %e s, %M KiB" "$TJ" ingest --store "$S" --host client "$GEN/big.pcap" >&2
  /usr/bin/time -f "ingest: %e s, %M KiB" "$TJ" ingest --store "$S" --host export "$GEN/big.txt" >&2
  /usr/bin/time -f "ingest: %e s, %M KiB" "$TJ" ingest --store "$S" --host edge "$NM" >&2
fi
N=$("$TJ" sql --store "$S" "SELECT count(*) FROM event" | tail -1 | tr -d ' ')

PORT=$((20000 + RANDOM % 20000))
"$TJ" view --store "$S" --port "$PORT" > "$OUT/view.out" 2>&1 &
VIEW=$!
trap 'kill $VIEW 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q "http://" "$OUT/view.out" 2>/dev/null && break; sleep 0.5; done
URL=$(grep -o 'http://[^ ]*' "$OUT/view.out")

# Server side: the first page, the histogram, and jumps to random rows (each a position in the whole store).
t() { curl -s -o /dev/null -w "%{time_total}\n" "$1"; }
FIRST=$(t "${URL}api/timeline?offset=0&limit=200")
HIST=$(t "${URL}api/histogram?buckets=400")
python3 - "$N" "$JUMPS" > "$OUT/offsets.txt" <<'EOF'
import random, sys
n, k = int(sys.argv[1]), int(sys.argv[2]); random.seed(7)
for _ in range(k): print(random.randrange(0, n))
EOF
while read -r o; do t "${URL}api/timeline?offset=$o&limit=200"; done < "$OUT/offsets.txt" > "$OUT/jumps.txt"
JUMP=$(sort -n "$OUT/jumps.txt" | awk '{a[NR]=$1} END {printf "p50 %.1f ms, p95 %.1f ms, max %.1f ms", a[int(NR*.5)]*1000, a[int(NR*.95)]*1000, a[NR]*1000}')

# The browser: page requested → first rows drawn (headless Chromium, a fresh profile each time).
BROWSER="(no chromium)"
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] && python3 -c "import selenium" 2>/dev/null; then
  # Each run's full answer and its errors are kept; a run that fails is left out of the figure, not fatal.
  BROWSER=$(for i in 1 2 3; do
      timeout 300 python3 "$REPO/scripts/check-view.py" "$URL" "$OUT/shots" > "$OUT/browser-$i.json" 2> "$OUT/browser-$i.err" || true
      python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['first_screen_s'])" "$OUT/browser-$i.json" 2>/dev/null || true
    done | sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "(every browser run failed: see browser-*.err)"; else printf "%.3f s (median of %d; %.3f … %.3f)", a[int((NR+1)/2)], NR, a[1], a[NR]}')
fi

# What a person would otherwise open: lnav on the same text files, until its first screen is printed.
LNAV="(no lnav)"
if command -v lnav >/dev/null; then
  S0=$(date +%s.%N)
  timeout 900 lnav -n "$GEN/big.txt" "${NM:-$GEN/netmon-view.txt}" 2>/dev/null | head -40 > /dev/null || true
  LNAV="$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f} s')" "$S0" "$(date +%s.%N)")"
fi
RSS=$(ps -o rss= -p $VIEW | tr -d ' ')

{
  echo "# view-bench $(basename "$OUT"): $N events in the store"
  echo
  echo "| measured | figure |"
  echo "|---|---|"
  echo "| first screen in headless Chromium, page requested → rows drawn | $BROWSER |"
  echo "| server: first page (200 events) | $(python3 -c "print(f'{float(\"$FIRST\")*1000:.1f} ms')") |"
  echo "| server: jump to a random row, $JUMPS jumps | $JUMP |"
  echo "| server: histogram (400 buckets per host) | $(python3 -c "print(f'{float(\"$HIST\")*1000:.1f} ms')") |"
  echo "| view's resident memory after all that | $((RSS / 1024)) MiB |"
  echo "| lnav -n on the same text files, until its first screen | $LNAV |"
} | tee "$OUT/summary.md"
