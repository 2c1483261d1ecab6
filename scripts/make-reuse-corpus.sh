#!/usr/bin/env bash
# make-reuse-corpus.sh — one TCP tuple carrying three connections in a row, as a client that binds a fixed
# source port does (and as busy NATs do): each must be its own connection, told apart by its new ISN.
#
# usage: sudo scripts/make-reuse-corpus.sh [OUT_DIR]      (default: corpus/tuple-reuse)
#
#   tjr-client 10.96.0.1 ── veth ── tjr-server 10.96.0.2 (echo service on 7000, scripts/echo-server.py)
#
# The client binds 10.96.0.1:45000 each time (SO_REUSEADDR) and connects to 10.96.0.2:7000:
#   1  sends "one", gets it back, aborts (SO_LINGER 0: an RST, so no TIME-WAIT keeps the tuple)
#   2  a second later: "two", aborted the same way
#   3  a second later: "three", then a graceful close (FIN both ways)
# tcpdump at the client (client.pcap). Everything stays in the namespaces made here, deleted at the end.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/scripts/netns-lib.sh"
OUT=${1:-$REPO/corpus/tuple-reuse}
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
for t in tcpdump; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done
C=tjr-client S=tjr-server
WORK=$(mktemp -d /tmp/tjr.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $C $S; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $C $S; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add tjr-c0 netns $C type veth peer name tjr-s0 netns $S
addr_up $C tjr-c0 10.96.0.1/24
addr_up $S tjr-s0 10.96.0.2/24
ip netns exec $S timeout 20 python3 "$REPO/scripts/echo-server.py" 10.96.0.2 7000 --seconds 15 & PIDS+=($!)
sleep 0.5
ip netns exec $C tcpdump -i tjr-c0 -s 128 -U --immediate-mode -n -w "$WORK/client.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
sleep 1
cat > "$WORK/client.py" <<'PY'
import socket, struct, subprocess, sys, time
def attempt(word, abort):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.96.0.1", 45000)); s.settimeout(5); s.connect(("10.96.0.2", 7000))
    s.sendall(word.encode()); s.recv(100)
    if abort: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
attempt("one", True); time.sleep(1)
attempt("two", True); time.sleep(1)
attempt("three", False)
PY
ip netns exec $C timeout 15 python3 "$WORK/client.py"
# (tcpdump hands over packets in blocks: wait for the last before stopping it)
sleep 1
sleep 0.5
kill -INT "${PIDS[1]}" 2>/dev/null || true; sleep 1
mkdir -p "$OUT"
cp "$WORK/client.pcap" "$OUT/"
echo "$(tcpdump --version 2>&1 | head -1); $(python3 --version)" > "$OUT/VERSIONS"
ls -la "$OUT"
