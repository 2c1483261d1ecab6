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
# $OUT/follow-<UTC stamp>/ (summary.md, writer.json, time.txt, the follower's report).
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
: > "$LIVE"
say "following $LIVE into $STORE with $TRACEJOIN; writing $LINES lines at $RATE lines/s"
/usr/bin/time -v -o "$RUN/time.txt" "$TRACEJOIN" ingest --store "$STORE" --follow "$LIVE" > "$RUN/follow-report.txt" 2> "$RUN/follow-stderr.txt" &
FOLLOWER=$!
stop_follower() { kill -INT "$FOLLOWER" 2>/dev/null || true; }
trap stop_follower EXIT
WRITER_STATUS=0
python3 "$REPO/bench/follow-writer.py" run "$DATA" "$LIVE" "$STORE" "$RATE" "$MAX_WAIT" "$RUN/writer.json" || WRITER_STATUS=$?
# The follower's own process is a child of GNU time: SIGINT to time's child, found by parent pid.
CHILD=$(pgrep -P "$FOLLOWER" || true)
kill -INT "${CHILD:-$FOLLOWER}"
FOLLOW_STATUS=0
wait "$FOLLOWER" || FOLLOW_STATUS=$?
trap - EXIT

# The same file ingested in one go: as many events, and how long a plain ingest takes.
PLAIN=$RUN/plain.db
T0=$(date +%s.%N)
"$TRACEJOIN" ingest --store "$PLAIN" "$LIVE" > "$RUN/plain-report.txt"
T1=$(date +%s.%N)
q() { "$TRACEJOIN" sql --store "$1" "$2" | tail -n +2 | tr -d ' '; }
FOLLOW_EVENTS=$(q "$STORE" "SELECT sum(events) FROM source")
FOLLOW_LINES=$(q "$STORE" "SELECT sum(lines) FROM source")
PLAIN_EVENTS=$(q "$PLAIN" "SELECT sum(events) FROM source")
CPU=$(grep 'Percent of CPU' "$RUN/time.txt" | awk -F': ' '{print $2}')
RSS=$(grep 'Maximum resident' "$RUN/time.txt" | awk -F': ' '{print $2}')
USER=$(grep 'User time' "$RUN/time.txt" | awk -F': ' '{print $2}')
SYS=$(grep 'System time' "$RUN/time.txt" | awk -F': ' '{print $2}')
CHECK=ok
[[ $FOLLOW_LINES == "$LINES" ]] || CHECK="FAILED: $FOLLOW_LINES lines committed of $LINES"
[[ $FOLLOW_EVENTS == "$PLAIN_EVENTS" ]] || CHECK="FAILED: $FOLLOW_EVENTS events followed, $PLAIN_EVENTS by a plain ingest"
[[ $FOLLOW_STATUS == 0 ]] || CHECK="FAILED: follower exit $FOLLOW_STATUS"
[[ $WRITER_STATUS == 0 ]] || CHECK="FAILED: not every line committed within $MAX_WAIT s of the last write"

{
  echo "# ingest --follow at $RATE lines/s ($(date -u +%FT%TZ), $(nproc) cores, $TRACEJOIN)"
  echo
  echo '```'
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [print(f"{k}: {v}") for k,v in d.items()]' "$RUN/writer.json"
  echo '```'
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| follower CPU (whole run, incl. idle waits) | $CPU (user $USER s, sys $SYS s) |"
  echo "| follower peak RSS | $RSS KiB |"
  echo "| lines / events committed | $FOLLOW_LINES / $FOLLOW_EVENTS |"
  echo "| plain ingest of the same file | $(echo "$T1 - $T0" | bc) s, $PLAIN_EVENTS events |"
  echo "| follower exit status | $FOLLOW_STATUS |"
  echo "| check | $CHECK |"
} > "$RUN/summary.md"
cat "$RUN/summary.md"
rm -f "$STORE" "$STORE-wal" "$STORE-shm" "$PLAIN" "$PLAIN-wal" "$PLAIN-shm" "$LIVE"
[[ $CHECK == ok ]]
