#!/usr/bin/env bash
# make-nagle-corpus.sh — Nagle's algorithm meeting a delayed ACK, for real: a server that answers each request
# in two writes (a 6-byte header, then a 276-byte body, Nagle on) to a Linux client that delays its ACKs
# (~40 ms). The body waits for the ACK of the header, every transaction.
#
# usage: sudo scripts/make-nagle-corpus.sh [OUT_DIR]      (default: corpus/nagle-delayed-ack)
#
#   tjg-client 10.93.0.1 ── veth ── tjg-server 10.93.0.2:7890
# 30 transactions on one connection; tcpdump at the client (client.pcap). Namespaces deleted at the end.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/scripts/netns-lib.sh"
OUT=${1:-$REPO/corpus/nagle-delayed-ack}
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "missing: tcpdump" >&2; exit 1; }
C=tjg-client S=tjg-server
WORK=$(mktemp -d /tmp/tjg.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $C $S; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $C $S; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add tjg-c0 netns $C type veth peer name tjg-s0 netns $S
addr_up $C tjg-c0 10.93.0.1/24
addr_up $S tjg-s0 10.93.0.2/24
cat > "$WORK/server.py" <<'PY'
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.93.0.2", 7890)); s.listen(1); s.settimeout(10)
c, _ = s.accept(); c.settimeout(10)
for _ in range(30):
    need = 323
    while need > 0: need -= len(c.recv(need))
    c.sendall(b"HDR006")          # the header on its own: a small segment
    c.sendall(b"b" * 276)         # the body: Nagle holds it until the header is acknowledged
c.close()
PY
cat > "$WORK/client.py" <<'PY'
import socket, time
c = socket.create_connection(("10.93.0.2", 7890), timeout=10)
for _ in range(30):
    c.sendall(b"q" * 323)
    need = 282
    while need > 0: need -= len(c.recv(need))
    # No pause: replying at once puts the client in interactive (pingpong) mode, where Linux delays its ACKs.
c.close()
PY
ip netns exec $S timeout 30 python3 "$WORK/server.py" & PIDS+=($!)
sleep 0.5
ip netns exec $C tcpdump -i tjg-c0 -s 128 -U --immediate-mode -n -w "$WORK/client.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
sleep 1
ip netns exec $C timeout 30 python3 "$WORK/client.py"
sleep 1
kill -INT "${PIDS[1]}" 2>/dev/null || true; sleep 1
mkdir -p "$OUT"
cp "$WORK/client.pcap" "$OUT/"
echo "$(tcpdump --version 2>&1 | head -1); $(python3 --version); $(uname -r)" > "$OUT/VERSIONS"
ls -la "$OUT"
