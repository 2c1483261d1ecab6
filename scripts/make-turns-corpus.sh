#!/usr/bin/env bash
# make-turns-corpus.sh — a request/response conversation across a slow path, captured at both ends: each side
# sees the other as slow, and the time is the path's (the SQL-over-NAT seed, for real).
#
# usage: sudo scripts/make-turns-corpus.sh [OUT_DIR]      (default: corpus/wan-turns)
#
#   tjt-client 10.92.0.1 ── tjt-wan (wanbridge.py: 40 ms each way) ── tjt-server 10.92.0.2:7000
# One connection, 10 requests of 300 bytes, each answered at once with 600 bytes; the client sends the next
# request 5 ms after an answer. tcpdump at both ends (client.pcap, server.pcap). Namespaces deleted at the end.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/scripts/netns-lib.sh"
OUT=${1:-$REPO/corpus/wan-turns}
WANBRIDGE=${WANBRIDGE:-}
for w in "$REPO/../shared/tools/wanbridge.py" /work/shared/tools/wanbridge.py; do [[ -z $WANBRIDGE && -f $w ]] && WANBRIDGE=$w; done
[[ -f $WANBRIDGE ]] || { echo "wanbridge.py not found" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "missing: tcpdump" >&2; exit 1; }
C=tjt-client W=tjt-wan S=tjt-server
WORK=$(mktemp -d /tmp/tjt.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $C $W $S; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $C $W $S; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add tjt-c0 netns $C type veth peer name tjt-wc netns $W
ip link add tjt-ws netns $W type veth peer name tjt-s0 netns $S
addr_up $C tjt-c0 10.92.0.1/24
addr_up $S tjt-s0 10.92.0.2/24
bridge_ports $W tjt-wc tjt-ws
ip netns exec $W timeout 30 python3 "$WANBRIDGE" tjt-wc tjt-ws --delay-ms 40 --seconds 20 >/dev/null 2>&1 & PIDS+=($!)
cat > "$WORK/server.py" <<'PY'
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.92.0.2", 7000)); s.listen(1); s.settimeout(15)
c, _ = s.accept(); c.settimeout(15); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(10):
    need = 300
    while need > 0: need -= len(c.recv(need))
    c.sendall(b"a" * 600)
c.close()
PY
cat > "$WORK/client.py" <<'PY'
import socket, time
c = socket.create_connection(("10.92.0.2", 7000), timeout=15); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(10):
    c.sendall(b"q" * 300)
    need = 600
    while need > 0: need -= len(c.recv(need))
    time.sleep(0.005)
c.close()
PY
sleep 1
ip netns exec $S timeout 20 python3 "$WORK/server.py" & PIDS+=($!)
ip netns exec $C tcpdump -i tjt-c0 -s 128 -U --immediate-mode -n -w "$WORK/client.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
ip netns exec $S tcpdump -i tjt-s0 -s 128 -U --immediate-mode -n -w "$WORK/server.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
sleep 1
ip netns exec $C timeout 20 python3 "$WORK/client.py"
sleep 1.5
kill -INT "${PIDS[@]:2}" 2>/dev/null || true; sleep 1
mkdir -p "$OUT"
cp "$WORK/client.pcap" "$WORK/server.pcap" "$OUT/"
echo "$(tcpdump --version 2>&1 | head -1); $(python3 --version); wanbridge 40 ms each way" > "$OUT/VERSIONS"
ls -la "$OUT"
