#!/usr/bin/env bash
# capture-bench.sh — tracejoin reading a ≥ 1M-packet pcap directly, next to tshark printing the same
# fields from it (`tshark -T fields`), in one run. A benchmark, not a test.
#
# usage: bench/capture-bench.sh        (needs bench/out/gen/big.pcap: run bench/ingest-bench.sh --gen-only first)
# env:   RUNS=3  TRACEJOIN=<binary> (default: .build/release/tracejoin, built if missing)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN=$REPO/bench/out/gen
RUNS=${RUNS:-3}
TJ=${TRACEJOIN:-$REPO/.build/release/tracejoin}
[[ -s $GEN/big.pcap ]] || { echo "no $GEN/big.pcap: run bench/ingest-bench.sh --gen-only first" >&2; exit 1; }
[[ -x $TJ ]] || (cd "$REPO" && swift build -c release >&2)
for t in hyperfine tshark editcap capinfos; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done
OUT=$REPO/bench/out/capture-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$OUT"
PK=$(capinfos -c -M "$GEN/big.pcap" | awk '/Number of packets/ {print $NF}')
[[ -s $GEN/quarter.pcap ]] || editcap -r "$GEN/big.pcap" "$GEN/quarter.pcap" 1-$((PK / 4))
S=$OUT/store.db
FIELDS="-e frame.number -e frame.time_epoch -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e tcp.flags -e tcp.seq -e tcp.ack -e tcp.len -e tcp.window_size -e ip.id -e tcp.options.timestamp.tsval -e tcp.analysis.flags"
hyperfine --runs "$RUNS" --export-markdown "$OUT/hyperfine.md" \
  -n "tracejoin ingest big.pcap (parse only)" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest --parse-only --store $S $GEN/big.pcap" \
  -n "tracejoin ingest big.pcap" --prepare "rm -f $S $S-wal $S-shm" "$TJ ingest --store $S $GEN/big.pcap" \
  -n "tshark -r big.pcap -T fields (same fields)" --prepare true "tshark -r $GEN/big.pcap -T fields $FIELDS > /dev/null" >&2
rss() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
rm -f $S*; R_FULL=$(rss "$TJ" ingest --store "$S" "$GEN/big.pcap")
rm -f $S*; R_Q=$(rss "$TJ" ingest --store "$S" "$GEN/quarter.pcap")
R_T=$(rss tshark -r "$GEN/big.pcap" -T fields $FIELDS)
{
  echo "# capture-bench $(basename "$OUT"): $PK packets"
  echo
  cat "$OUT/hyperfine.md"
  echo
  echo "peak RSS (KiB): tracejoin ingest full $R_FULL, quarter $R_Q; tshark -T fields $R_T"
} | tee "$OUT/summary.md"
rm -f $S*
