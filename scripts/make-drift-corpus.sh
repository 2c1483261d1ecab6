#!/usr/bin/env bash
# make-drift-corpus.sh — two minutes of real request/response traffic captured at both ends, then the
# server capture's clock made to run fast by a known rate: the joiner must solve the offset and the drift.
#
# usage: sudo scripts/make-drift-corpus.sh [OUT_DIR]      (default: corpus/clock-drift)
#
#   tjd-client 10.96.0.1 ── tjd-wan (wanbridge.py, 2 ms each way) ── tjd-server 10.96.0.2
#
# The client keeps one connection to the server's echo service on 7000 and sends a short line every 0.5 s
# for 120 s, and opens a fresh connection every 10 s. tcpdump captures both ends (headers only). Then
# scripts/retime-pcap.py rewrites the server capture's times as t' = t + 1.5 s + 250 ppm × (t − t_first):
# a clock 1.5 s ahead at the start that gains 30 ms over the two minutes. Everything stays inside the
# namespaces made here and deleted at the end; every step is bounded.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/scripts/netns-lib.sh"
OUT=${1:-$REPO/corpus/clock-drift}
WANBRIDGE=${WANBRIDGE:-}
for w in "$REPO/../shared/tools/wanbridge.py" /work/shared/tools/wanbridge.py; do [[ -z $WANBRIDGE && -f $w ]] && WANBRIDGE=$w; done
[[ -f $WANBRIDGE ]] || { echo "wanbridge.py not found" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
C=tjd-client W=tjd-wan S=tjd-server
WORK=$(mktemp -d /tmp/tjd.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $C $W $S; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $C $W $S; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add tjd-c0 netns $C type veth peer name tjd-cb netns $W
ip link add tjd-s0 netns $S type veth peer name tjd-sb netns $W
addr_up $C tjd-c0 10.96.0.1/24
addr_up $S tjd-s0 10.96.0.2/24
bridge_ports $W tjd-cb tjd-sb
ip netns exec $W timeout 160 python3 "$WANBRIDGE" tjd-cb tjd-sb --delay-ms 2 --seconds 150 >/dev/null 2>&1 & PIDS+=($!)
cat > "$WORK/client.py" <<'PY'
import socket, time
def exchange(s, msg):
    s.sendall(msg); got = b""
    while len(got) < len(msg): got += s.recv(4096)
long = socket.create_connection(("10.96.0.2", 7000), timeout=10)
start = time.time(); n = 0
while time.time() - start < 120:
    exchange(long, b"tick %d\n" % n)
    if n % 20 == 0:
        short = socket.create_connection(("10.96.0.2", 7000), timeout=10); exchange(short, b"hello\n"); short.close()
    n += 1; time.sleep(0.5)
long.close()
PY
sleep 1
ip netns exec $S timeout 150 python3 "$REPO/scripts/echo-server.py" 10.96.0.2 7000 --seconds 140 & PIDS+=($!)
ip netns exec $C tcpdump -i tjd-c0 -s 96 -U -n -w "$WORK/client.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
ip netns exec $S tcpdump -i tjd-s0 -s 96 -U -n -w "$WORK/server.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
sleep 1
ip netns exec $C timeout 140 python3 "$WORK/client.py"
sleep 1
kill -INT "${PIDS[@]:2}" 2>/dev/null || true; sleep 1
mkdir -p "$OUT"
cp "$WORK/client.pcap" "$OUT/client.pcap"
python3 "$REPO/scripts/retime-pcap.py" "$WORK/server.pcap" "$OUT/server.drift.pcap" --shift 1.5 --ppm 250
ls -la "$OUT"
