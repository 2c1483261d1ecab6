#!/usr/bin/env bash
# formats-bench.sh — a declarative format (bench/formats/tivoli_like.json, the Tivoli proxy line as a format
# file) against the built-in tivoli_proxy_log on the same ≥1M-line log (bench/gen-tivoli.py), parse only and
# full ingest, in one run. A benchmark, not a test.
#
# usage: bench/formats-bench.sh        env: RUNS=3 LINES=1000000 TRACEJOIN=<binary> (default .build/release/tracejoin)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN=$REPO/bench/out/gen; mkdir -p "$GEN"
RUNS=${RUNS:-3}; LINES=${LINES:-1000000}
TJ=${TRACEJOIN:-$REPO/.build/release/tracejoin}
BIG=$GEN/tivoli.log
[[ -s $BIG ]] || python3 "$REPO/bench/gen-tivoli.py" "$BIG" "$LINES"
[[ -x $TJ ]] || (cd "$REPO" && swift build -c release >&2)
command -v hyperfine >/dev/null || { echo "missing: hyperfine" >&2; exit 1; }
OUT=$REPO/bench/out/formats-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$OUT"
S=$OUT/store.db
N=$(wc -l < "$BIG")
P="--parsers $REPO/bench/formats"
hyperfine --runs "$RUNS" --export-markdown "$OUT/hyperfine.md" \
  -n "built-in tivoli_proxy_log, parse only" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest --parse-only --format tivoli_proxy_log --store $S $BIG" \
  -n "declarative tivoli_like, parse only" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest --parse-only $P --format tivoli_like --store $S $BIG" \
  -n "built-in tivoli_proxy_log, ingest" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest --format tivoli_proxy_log --store $S $BIG" \
  -n "declarative tivoli_like, ingest" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest $P --format tivoli_like --store $S $BIG" >&2
{
  echo "# formats-bench $(basename "$OUT"): $N lines"
  echo
  cat "$OUT/hyperfine.md"
} | tee "$OUT/summary.md"
rm -f $S*
