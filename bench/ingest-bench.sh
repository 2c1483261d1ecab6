#!/usr/bin/env bash
# ingest-bench.sh — how fast tracejoin ingests a ≥1M-packet tshark text export, compared with tshark and tcpdump
# reading the same packets from a pcap and with lnav loading the same text file. A benchmark, not a test.
#
# usage: sudo bench/ingest-bench.sh [--gen-only] [--regen] [--no-build]
#   --gen-only  make (or reuse) the data in bench/out/gen and stop
#   --regen     make the data again even if bench/out/gen has it
#   --no-build  do not run `swift build` (use $TRACEJOIN or the binary already in $SCRATCH/release)
# env: TARGET_PACKETS=1000000  BASE_CONNS=2500  RUNS=3  SCRATCH=<repo>/.build  TRACEJOIN=<binary>
#      OUT=<repo>/bench/out  CMD_TIMEOUT=1800 (seconds, per measured command)
#
# Data (cached in $OUT/gen): a real capture made here between two network namespaces (tjb-client 10.99.100.100,
# tjb-server 10.99.0.2, joined by a veth; BASE_CONNS sequential HTTP GETs to python3's http.server, one in ten for
# a 32 KiB file), exported with `tshark -r base.pcap -t ad` (TZ=UTC), then grown to ≥ TARGET_PACKETS packets by
# bench/replicate.py: K copies shifted in time, client address and client port, frame numbers running on — both
# as text (big.txt, byte-level rewrite of tshark's own lines) and as pcap (big.pcap). The generation checks that
# `tshark -r big.pcap -t ad` prints big.txt byte for byte.
# Needs root (namespaces), iproute2, ethtool, tcpdump, tshark, python3, hyperfine, GNU time, lnav.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$REPO/bench/out}
GEN=$OUT/gen
TARGET_PACKETS=${TARGET_PACKETS:-1000000}
BASE_CONNS=${BASE_CONNS:-2500}
RUNS=${RUNS:-3}
SCRATCH=${SCRATCH:-$REPO/.build}
CMD_TIMEOUT=${CMD_TIMEOUT:-1800}
GEN_ONLY=0 REGEN=0 BUILD=1
for a in "$@"; do
  case $a in
    --gen-only) GEN_ONLY=1 ;; --regen) REGEN=1 ;; --no-build) BUILD=0 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done
say() { echo "[ingest-bench] $*" >&2; }
export TZ=UTC LC_ALL=C.UTF-8
mkdir -p "$GEN"

# ---------------------------------------------------------------- 1. data
NS_C=tjb-client NS_S=tjb-server GEN_PIDS=() W=
cleanup_gen() {
  for p in "${GEN_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${GEN_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  GEN_PIDS=()
  ip netns del $NS_C 2>/dev/null || true; ip netns del $NS_S 2>/dev/null || true
  [[ -n $W ]] && rm -rf "$W"; W=
}
gen_base() {
  trap cleanup_gen EXIT
  W=$(mktemp -d /tmp/tjb-gen.XXXXXX)
  for ns in $NS_C $NS_S; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; done
  ip link add tjb-c0 netns $NS_C type veth peer name tjb-s0 netns $NS_S
  for x in "$NS_C tjb-c0 10.99.100.100" "$NS_S tjb-s0 10.99.0.2"; do
    set -- $x
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip netns exec "$1" ip link set lo up
    ip netns exec "$1" ip addr add "$3/16" dev "$2"
    ip netns exec "$1" ip link set "$2" up
    ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || true   # real MTU-sized segments, valid checksums
  done
  mkdir -p "$W/www"
  printf 'hello from tjb-server\n' > "$W/www/hello.txt"
  head -c 32768 /dev/zero | tr '\0' 'x' > "$W/www/big.bin"
  ip netns exec $NS_S timeout 600 python3 -m http.server 8080 --bind 10.99.0.2 --directory "$W/www" \
    >/dev/null 2>&1 & GEN_PIDS+=($!)
  sleep 1
  ip netns exec $NS_C tcpdump -i tjb-c0 -s 0 -B 32768 -U -n -w "$W/base.pcap" >"$W/tcpdump.log" 2>&1 & local tdp=$!; GEN_PIDS+=($tdp)
  for _ in $(seq 50); do grep -q listening "$W/tcpdump.log" && break; sleep 0.1; done
  sleep 0.3
  cat > "$W/client.py" <<'EOF'
import socket, sys, time
n = int(sys.argv[1]); deadline = time.time() + 300; ok = 0
for i in range(n):
    if time.time() > deadline: break
    path = "/big.bin" if i % 10 == 9 else "/hello.txt"
    try:
        s = socket.create_connection(("10.99.0.2", 8080), timeout=5)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 10.99.0.2:8080\r\nUser-Agent: tjb\r\nConnection: close\r\n\r\n".encode())
        while s.recv(65536): pass
        s.close(); ok += 1
    except OSError as e:
        print("error", i, e, file=sys.stderr)
print(ok)
EOF
  say "capturing $BASE_CONNS HTTP connections between namespaces"
  local ok; ok=$(ip netns exec $NS_C timeout 400 python3 "$W/client.py" "$BASE_CONNS")
  sleep 0.5
  kill -INT $tdp; wait $tdp 2>/dev/null || true
  say "client completed $ok connections; tcpdump: $(grep -E 'captured|dropped by kernel' "$W/tcpdump.log" | tr '\n' ' ')"
  cp "$W/base.pcap" "$GEN/base.pcap"
  cleanup_gen; trap - EXIT
}

if [[ $REGEN == 1 || ! -s $GEN/big.txt || ! -s $GEN/big.pcap || ! -s $GEN/meta.json ]]; then
  [[ $(id -u) == 0 ]] || { echo "data generation needs root (network namespaces)" >&2; exit 1; }
  rm -f "$GEN"/*
  t0=$(date +%s)
  gen_base
  tshark -r "$GEN/base.pcap" -t ad 2>/dev/null > "$GEN/base.txt"
  tshark -r "$GEN/base.pcap" -T fields -e frame.number -e frame.time_epoch -e ip.src -e ip.dst \
    -e tcp.srcport -e tcp.dstport 2>/dev/null > "$GEN/base.fields.tsv"
  say "replicating to ≥ $TARGET_PACKETS packets"
  python3 "$REPO/bench/replicate.py" "$GEN/base.pcap" "$GEN/base.txt" "$GEN/base.fields.tsv" "$TARGET_PACKETS" \
    10.99.100.100 "$GEN/big.pcap" "$GEN/big.txt" "$GEN/meta.json" >/dev/null
  lines=$(wc -l < "$GEN/big.txt")
  head -n $((lines / 4)) "$GEN/big.txt" > "$GEN/quarter.txt"
  say "checking: tshark -r big.pcap -t ad == big.txt"
  tshark -r "$GEN/big.pcap" -t ad 2>/dev/null > "$GEN/big.tshark.txt"
  if cmp -s "$GEN/big.tshark.txt" "$GEN/big.txt"; then same=true; ndiff=0
  else
    same=false
    ndiff=$(python3 -c 'import sys,itertools
a,b=open(sys.argv[1],"rb"),open(sys.argv[2],"rb")
print(sum(1 for x,y in itertools.zip_longest(a,b) if x!=y))' "$GEN/big.tshark.txt" "$GEN/big.txt")
    diff <(head -c 50000000 "$GEN/big.tshark.txt") <(head -c 50000000 "$GEN/big.txt") | head -6 >&2 || true
  fi
  rm -f "$GEN/big.tshark.txt"
  python3 - "$GEN/meta.json" "$same" "$ndiff" "$lines" "$(date +%s)" "$t0" <<'EOF'
import json, sys
p, same, ndiff, lines, t1, t0 = sys.argv[1:]
m = json.load(open(p)); m.update({"text_lines": int(lines), "tshark_text_identical": same == "true",
    "tshark_text_lines_differing": int(ndiff), "generation_seconds": int(t1) - int(t0)}); json.dump(m, open(p, "w"), indent=1)
EOF
  say "generated: $(cat "$GEN/meta.json" | tr -d '\n ')"
else
  say "reusing data in $GEN: $(tr -d '\n ' < "$GEN/meta.json")"
fi
ls -la "$GEN" >&2
[[ $GEN_ONLY == 1 ]] && exit 0

# ---------------------------------------------------------------- 2. build
if [[ -n ${TRACEJOIN:-} ]]; then
  TJ=$TRACEJOIN
else
  if [[ $BUILD == 1 ]]; then
    say "swift build -c release --scratch-path $SCRATCH"
    BUILD_LOG=$(mktemp /tmp/tjb-build.XXXXXX)
    if (cd "$REPO" && swift build -c release --scratch-path "$SCRATCH") > "$BUILD_LOG" 2>&1; then
      tail -1 "$BUILD_LOG" >&2; BUILD_NOTE="built by this run"
    else
      grep -E "error:" "$BUILD_LOG" | sort -u | head -10 >&2
      BUILD_NOTE="BUILD FAILED in this run; measured the binary left by an earlier build"
      say "$BUILD_NOTE"
    fi
    rm -f "$BUILD_LOG"
  fi
  TJ=$SCRATCH/release/tracejoin
fi
[[ -x $TJ ]] || { echo "no tracejoin binary at $TJ" >&2; exit 1; }
BUILD_NOTE="${BUILD_NOTE:-not built by this run}; binary $TJ of $(date -u -r "$TJ" +%Y-%m-%dT%H:%M:%SZ)"

# ---------------------------------------------------------------- 3. measure
for t in hyperfine lnav tcpdump tshark; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done
[[ -x /usr/bin/time ]] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
R=$OUT/run-$STAMP; mkdir -p "$R"
STORE=$R/store.tjdb
BIG=$GEN/big.txt QUARTER=$GEN/quarter.txt PCAP=$GEN/big.pcap
RM_STORE="rm -rf $STORE $STORE-wal $STORE-shm $STORE-journal"
T() { echo "/usr/bin/time -v -a -o $R/$1.time timeout $CMD_TIMEOUT"; }   # appends GNU time's report of each run
# bench NAME RUNS PREPARE COMMAND — hyperfine (wall) + GNU time (peak RSS) on the same runs
bench() {
  local name=$1 runs=$2 prep=$3 cmd=$4
  say "measuring $name ($runs runs): $cmd"
  local args=(--runs "$runs" --export-json "$R/$name.json" --style basic -i)   # -i: exit codes are kept by GNU time and shown in the table
  [[ -n $prep ]] && args+=(--prepare "$prep")
  if ! hyperfine "${args[@]}" "$(T "$name") $cmd" > "$R/$name.hyperfine.txt" 2>&1; then
    say "FAILED: $name (see $R/$name.hyperfine.txt)"; tail -5 "$R/$name.hyperfine.txt" >&2 || true
  fi
}
echo "$BUILD_NOTE" > "$R/binary.txt"
bench tj-ingest-full    "$RUNS" "$RM_STORE" "$TJ ingest --store $STORE $BIG > /dev/null"
bench tj-ingest-quarter "$RUNS" "$RM_STORE" "$TJ ingest --store $STORE $QUARTER > /dev/null"
bench tj-analyze-head40 "$RUNS" "$RM_STORE" "$TJ analyze --store $STORE $BIG | head -40 > /dev/null"
# a store with the full file in it, then the first screen of the timeline from it
$RM_STORE; timeout "$CMD_TIMEOUT" "$TJ" ingest --store "$STORE" "$BIG" > "$R/ingest-report.txt" 2>"$R/ingest-report.err" \
  || say "ingest for timeline exited $?"
bench tj-timeline-head50 "$RUNS" "" "$TJ timeline --store $STORE | head -50 > /dev/null"
"$TJ" timeline --store "$STORE" 2>/dev/null | head -50 > "$R/first-screen.txt" || true
du -k "$STORE"* 2>/dev/null | awk '{s+=$1} END {print s+0}' > "$R/store-kib.txt"
$RM_STORE   # a few hundred MiB: only its size is kept
bench tshark-read       "$RUNS" "" "tshark -r $PCAP > /dev/null 2>&1"
bench tshark-read-t-ad  1       "" "tshark -r $PCAP -t ad > /dev/null 2>&1"
bench tcpdump-read      "$RUNS" "" "tcpdump -nn -r $PCAP > /dev/null 2>&1"
bench lnav-load         "$RUNS" "" "lnav -n -c ';SELECT lines FROM lnav_file' $BIG > /dev/null"
bench lnav-head40       "$RUNS" "" "lnav -n $BIG | head -40 > /dev/null"
$RM_STORE

# ---------------------------------------------------------------- 4. table
python3 - "$R" "$GEN/meta.json" "$BIG" "$QUARTER" "$BUILD_NOTE" <<'EOF' | tee "$R/summary.md"
import json, os, re, statistics, sys
R, meta_p, big, quarter, build_note = sys.argv[1:6]
meta = json.load(open(meta_p))
lines = {"big": meta["text_lines"], "quarter": sum(1 for _ in open(quarter, "rb"))}
def hf(name):
    try:
        r = json.load(open(f"{R}/{name}.json"))["results"][0]
        return r["mean"], (r.get("stddev") or 0.0), len(r["times"])
    except Exception: return None
def rss(name):
    try: txt = open(f"{R}/{name}.time").read()
    except OSError: return None
    v = [int(x) for x in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", txt)]
    codes = [int(x) for x in re.findall(r"Exit status: (\d+)", txt)]
    return (max(v) / 1024 if v else None), codes
rows = [("tj-ingest-full", "tracejoin ingest, full text", "big"),
        ("tj-ingest-quarter", "tracejoin ingest, first 1/4 of the text", "quarter"),
        ("tj-analyze-head40", "tracejoin analyze | head -40 (first screen, from nothing)", "big"),
        ("tj-timeline-head50", "tracejoin timeline | head -50 (first screen, store ready)", None),
        ("tshark-read", "tshark -r big.pcap > /dev/null", "big"),
        ("tshark-read-t-ad", "tshark -r big.pcap -t ad > /dev/null", "big"),
        ("tcpdump-read", "tcpdump -nn -r big.pcap > /dev/null", "big"),
        ("lnav-load", "lnav -n -c ';SELECT lines FROM lnav_file' big.txt", "big"),
        ("lnav-head40", "lnav -n big.txt | head -40", "big")]
res = {}
print(f"# ingest-bench {os.path.basename(R)}\n")
print(f"data: {meta['packets']} packets / {lines['big']} text lines ({os.path.getsize(big)/2**20:.1f} MiB text), "
      f"{meta['copies']} copies of a {meta['base_packets']}-packet real capture; tshark text identical to big.txt: "
      f"{meta.get('tshark_text_identical')}\n")
print(f"tracejoin: {build_note}\n")
print("| command | wall s (mean ± sd, runs) | packets or lines / s | peak RSS MiB | exit codes |")
print("|---|---|---|---|---|")
for name, label, n in rows:
    h, r = hf(name), rss(name)
    res[name] = (h, r)
    wall = f"{h[0]:.3f} ± {h[1]:.3f} ({h[2]})" if h else "n/a"
    rate = f"{lines[n] / h[0]:,.0f}" if h and n else ""
    mem = f"{r[0]:.1f}" if r and r[0] else "n/a"
    codes = ",".join(map(str, sorted(set(r[1])))) if r else ""
    print(f"| {label.replace('|', chr(92) + '|')} | {wall} | {rate} | {mem} | {codes} |")
def ratio(a, b, i=0):
    x, y = res[a], res[b]
    if i == 0 and x[0] and y[0]: return f"{x[0][0] / y[0][0]:.2f}×"
    if i == 1 and x[1] and y[1] and x[1][0] and y[1][0]: return f"{x[1][0] / y[1][0]:.2f}×"
    return "n/a"
print("\n| ratio | wall | peak RSS |\n|---|---|---|")
for a, b, label in [("tj-ingest-full", "tshark-read", "tracejoin ingest (text) / tshark -r (pcap)"),
                    ("tj-ingest-full", "tcpdump-read", "tracejoin ingest (text) / tcpdump -r (pcap)"),
                    ("tj-analyze-head40", "lnav-load", "tracejoin first screen (analyze) / lnav load"),
                    ("tj-analyze-head40", "lnav-head40", "tracejoin first screen (analyze) / lnav -n | head"),
                    ("tj-timeline-head50", "lnav-load", "tracejoin first screen (store ready) / lnav load"),
                    ("tj-ingest-full", "tj-ingest-quarter", "tracejoin ingest full / quarter (flat memory → RSS ≈ 1×)")]:
    print(f"| {label.replace('|', chr(92) + '|')} | {ratio(a, b)} | {ratio(a, b, 1)} |")
i, t, l = res["tj-ingest-full"][0], res["tj-timeline-head50"][0], res["lnav-load"][0]
if i and t and l:
    print(f"| tracejoin first screen (ingest, then timeline \\| head -50: {i[0] + t[0]:.2f} s) / lnav load | "
          f"{(i[0] + t[0]) / l[0]:.2f}× | |")
try: print(f"\nstore size after full ingest: {int(open(f'{R}/store-kib.txt').read()) / 1024:.1f} MiB")
except Exception: pass
try: print("ingest report: " + open(f"{R}/ingest-report.txt").read().strip())
except Exception: pass
EOF
say "results in $R (summary.md, *.json from hyperfine, *.time from /usr/bin/time -v, first-screen.txt)"
