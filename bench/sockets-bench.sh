#!/usr/bin/env bash
# sockets-bench.sh — tracejoin reading a collection loop's ss file of ≥1M socket rows (bench/gen-sockets.py)
# and counting CLOSE-WAIT per snapshot, next to what a user does without it: awk counting the same, and lnav
# loading the file. One run, a benchmark (not a test).
#
# usage: bench/sockets-bench.sh        env: RUNS=3 ROWS=1000000 TRACEJOIN=<binary> (default .build/release/tracejoin)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN=$REPO/bench/out/gen; mkdir -p "$GEN"
RUNS=${RUNS:-3}; ROWS=${ROWS:-1000000}
TJ=${TRACEJOIN:-$REPO/.build/release/tracejoin}
BIG=$GEN/ss-loop.txt
[[ -s $BIG ]] || python3 "$REPO/bench/gen-sockets.py" "$BIG" "$ROWS"
[[ -x $TJ ]] || (cd "$REPO" && swift build -c release >&2)
for t in hyperfine lnav awk; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done
OUT=$REPO/bench/out/sockets-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$OUT"
S=$OUT/store.db
N=$(wc -l < "$BIG")
# The same question three ways: how many CLOSE-WAIT sockets in each snapshot.
AWK='/ UTC /{s++} $1=="CLOSE-WAIT"{c[s]++} END{for(k in c) print k, c[k]}'
hyperfine --runs "$RUNS" --export-markdown "$OUT/hyperfine.md" \
  -n "tracejoin ingest" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest --store $S $BIG" \
  -n "tracejoin ingest + sockets --state CLOSE-WAIT" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest --store $S $BIG && $TJ sockets --store $S --state CLOSE-WAIT > /dev/null" \
  -n "awk (count per snapshot)" --prepare true "awk '$AWK' $BIG > /dev/null" \
  -n "lnav -n (load the same file)" --prepare true "lnav -n -c ';SELECT count(*) FROM lnav_file' $BIG > /dev/null" >&2
rss() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
rm -f $S*; R_TJ=$(rss "$TJ" ingest --store "$S" "$BIG")
R_LN=$(rss lnav -n -c ';SELECT count(*) FROM lnav_file' "$BIG")
{
  echo "# sockets-bench $(basename "$OUT"): $N lines"
  echo
  cat "$OUT/hyperfine.md"
  echo
  echo "peak RSS (KiB): tracejoin ingest $R_TJ; lnav $R_LN"
} | tee "$OUT/summary.md"
rm -f $S*
