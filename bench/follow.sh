#!/usr/bin/env bash
# follow.sh — does `tracejoin ingest --follow` keep up with a file appended at RATE lines/s? A benchmark, not a test.
#
# usage: bench/follow.sh [--no-build]
# env: RATE=100000 (lines/s)  DURATION=10 (s of writing)  MAX_WAIT=60 (s to catch up after the last write)
#      SCRATCH=<repo>/.build  TRACEJOIN=<binary>  OUT=<repo>/bench/out
#
# Data (cached in $OUT/follow-gen): a real capture's tshark export — `tshark -r corpus/clock-drift/client.pcap -t ad`
# (841 packets, two minutes of real traffic), or corpus/tshark-netns/client.t-ad.txt when tshark is missing — grown
# to RATE*DURATION lines by follow-writer.py (copies shifted in time, frame numbers running on).
# Run: `tracejoin ingest --store S --follow live.txt` under /usr/bin/time -v; follow-writer.py appends the lines to
# live.txt at RATE lines/s in whole-line writes every 10 ms and samples the store (read-only, as a view would)
# every 50 ms for the lines committed. When all are in, the follower gets SIGINT and must exit 0 with every line
# and as many events as a plain `tracejoin ingest` of the same file gives (the benchmark checks its own output).
# Prints lag p50/p99/max, catch-up time, end-to-end rate, follower CPU and peak RSS; keeps everything in
# $OUT/follow-<UTC stamp>/ (summary.md, writer-{paced,burst}.json, time-*.txt, the follower's reports).
# A first phase appends the same lines all at once: how fast the follower catches up (its ceiling here).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$REPO/bench/out}
RATE=${RATE:-100000}
DURATION=${DURATION:-10}
MAX_WAIT=${MAX_WAIT:-60}
SCRATCH=${SCRATCH:-$REPO/.build}
BUILD=1
for a in "$@"; do
  case $a in --no-build) BUILD=0 ;; *) echo "unknown argument: $a" >&2; exit 2 ;; esac
done
say() { echo "[follow-bench] $*" >&2; }
export TZ=UTC LC_ALL=C.UTF-8

if [[ -z ${TRACEJOIN:-} ]]; then
  if [[ $BUILD == 1 ]]; then (cd "$REPO" && swift build -c release --product tracejoin --scratch-path "$SCRATCH" >&2); fi
  TRACEJOIN=$SCRATCH/release/tracejoin
fi
[[ -x $TRACEJOIN ]] || { say "no binary at $TRACEJOIN"; exit 1; }

LINES=$((RATE * DURATION))
GEN=$OUT/follow-gen
mkdir -p "$GEN"
DATA=$GEN/lines-$LINES.txt
if [[ ! -s $DATA ]]; then
  BASE=$GEN/base.txt
  if command -v tshark >/dev/null; then
    tshark -r "$REPO/corpus/clock-drift/client.pcap" -t ad > "$BASE"
  else
    cp "$REPO/corpus/tshark-netns/client.t-ad.txt" "$BASE"
  fi
  python3 "$REPO/bench/follow-writer.py" gen "$BASE" "$LINES" "$DATA" >&2
fi

RUN=$OUT/follow-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN"
STORE=$RUN/s.db LIVE=$RUN/live.txt
# One phase: a follower on an empty file, the writer appending at $1 lines/s (0: all at once), then SIGINT.
phase() {
  local rate=$1 name=$2
  rm -f "$STORE" "$STORE-wal" "$STORE-shm"; : > "$LIVE"
  say "$name: following $LIVE into $STORE with $TRACEJOIN; writing $LINES lines at ${rate/#0/full speed} lines/s"
  /usr/bin/time -v -o "$RUN/time-$name.txt" "$TRACEJOIN" ingest --store "$STORE" --follow "$LIVE" > "$RUN/follow-report-$name.txt" 2> "$RUN/follow-stderr-$name.txt" &
  FOLLOWER=$!
  trap 'kill -INT $(pgrep -P $FOLLOWER) 2>/dev/null || true' EXIT
  WRITER_STATUS=0
  python3 "$REPO/bench/follow-writer.py" run "$DATA" "$LIVE" "$STORE" "$rate" "$MAX_WAIT" "$RUN/writer-$name.json" || WRITER_STATUS=$?
  # The follower is GNU time's child: SIGINT goes to it (Ctrl-C), and it must commit and exit 0.
  CHILD=$(pgrep -P "$FOLLOWER" || true)
  kill -INT "${CHILD:-$FOLLOWER}"
  FOLLOW_STATUS=0
  wait "$FOLLOWER" || FOLLOW_STATUS=$?
  trap - EXIT
}
phase 0 burst
BURST_STATUS=$FOLLOW_STATUS BURST_WRITER=$WRITER_STATUS
phase "$RATE" paced

# The same file ingested in one go: as many events, and how long a plain ingest takes.
PLAIN=$RUN/plain.db
T0=$(date +%s.%N)
"$TRACEJOIN" ingest --store "$PLAIN" "$LIVE" > "$RUN/plain-report.txt"
T1=$(date +%s.%N)
q() { "$TRACEJOIN" sql --store "$1" "$2" | tail -n +2 | tr -d ' '; }
FOLLOW_EVENTS=$(q "$STORE" "SELECT sum(events) FROM source")
FOLLOW_LINES=$(q "$STORE" "SELECT sum(lines) FROM source")
PLAIN_EVENTS=$(q "$PLAIN" "SELECT sum(events) FROM source")
tv() { grep "$1" "$RUN/time-$2.txt" | awk -F': ' '{print $2}'; }
CPU=$(tv 'Percent of CPU' paced) RSS=$(tv 'Maximum resident' paced) USER=$(tv 'User time' paced) SYS=$(tv 'System time' paced)
BURST_RSS=$(tv 'Maximum resident' burst) BURST_USER=$(tv 'User time' burst)
CHECK=ok
[[ $FOLLOW_LINES == "$LINES" ]] || CHECK="FAILED: $FOLLOW_LINES lines committed of $LINES"
[[ $FOLLOW_EVENTS == "$PLAIN_EVENTS" ]] || CHECK="FAILED: $FOLLOW_EVENTS events followed, $PLAIN_EVENTS by a plain ingest"
[[ $FOLLOW_STATUS == 0 ]] || CHECK="FAILED: follower exit $FOLLOW_STATUS"
[[ $WRITER_STATUS == 0 ]] || CHECK="FAILED: not every line committed within $MAX_WAIT s of the last write"
[[ $BURST_STATUS == 0 && $BURST_WRITER == 0 ]] || CHECK="FAILED: burst phase: follower exit $BURST_STATUS, writer $BURST_WRITER"

{
  echo "# ingest --follow: $LINES lines appended at $RATE lines/s, and all at once ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $TRACEJOIN)"
  for name in paced burst; do
    echo
    echo "## $name"
    echo '```'
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [print(f"{k}: {v}") for k,v in d.items()]' "$RUN/writer-$name.json"
    echo '```'
  done
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| follower CPU, paced (whole run, incl. idle waits) | $CPU (user $USER s, sys $SYS s) |"
  echo "| follower peak RSS, paced / burst | $RSS / $BURST_RSS KiB |"
  echo "| follower user CPU, burst | $BURST_USER s |"
  echo "| lines / events committed (paced) | $FOLLOW_LINES / $FOLLOW_EVENTS |"
  echo "| plain ingest of the same file | $(echo "$T1 - $T0" | bc) s, $PLAIN_EVENTS events |"
  echo "| follower exit status (paced) | $FOLLOW_STATUS |"
  echo "| check | $CHECK |"
} > "$RUN/summary.md"
cat "$RUN/summary.md"
rm -f "$STORE" "$STORE-wal" "$STORE-shm" "$PLAIN" "$PLAIN-wal" "$PLAIN-shm" "$LIVE"
[[ $CHECK == ok ]]
