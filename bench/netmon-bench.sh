#!/usr/bin/env bash
# netmon-bench.sh — tracejoin ingesting a ≥1M-line Network Monitor text export of an ETL trace (generated from
# the Lync Edge seed's shapes by bench/gen-netmon.py), next to lnav loading the same file, in one run. A
# benchmark, not a test.
#
# usage: bench/netmon-bench.sh          env: RUNS=3 LINES=1000000 TRACEJOIN=<binary> (default .build/release/tracejoin)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN=$REPO/bench/out/gen; mkdir -p "$GEN"
RUNS=${RUNS:-3}; LINES=${LINES:-1000000}
TJ=${TRACEJOIN:-$REPO/.build/release/tracejoin}
BIG=$GEN/netmon-big.txt
[[ -s $BIG ]] || python3 "$REPO/bench/gen-netmon.py" "$BIG" "$LINES"
[[ -x $TJ ]] || (cd "$REPO" && swift build -c release >&2)
for t in hyperfine lnav; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done
OUT=$REPO/bench/out/netmon-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$OUT"
S=$OUT/store.db
N=$(wc -l < "$BIG")
hyperfine --runs "$RUNS" --export-markdown "$OUT/hyperfine.md" \
  -n "tracejoin ingest (parse only)" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest --parse-only --store $S $BIG" \
  -n "tracejoin ingest" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest --store $S $BIG" \
  -n "lnav -n (load the same file)" --prepare true "lnav -n -c ';SELECT count(*) FROM lnav_file' $BIG > /dev/null" >&2
rss() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
rm -f $S*; R_TJ=$(rss "$TJ" ingest --store "$S" "$BIG")
R_LN=$(rss lnav -n -c ';SELECT count(*) FROM lnav_file' "$BIG")
{
  echo "# netmon-bench $(basename "$OUT"): $N lines"
  echo
  cat "$OUT/hyperfine.md"
  echo
  echo "peak RSS (KiB): tracejoin ingest $R_TJ; lnav $R_LN"
} | tee "$OUT/summary.md"
rm -f $S*
