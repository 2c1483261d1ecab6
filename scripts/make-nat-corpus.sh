#!/usr/bin/env bash
# make-nat-corpus.sh — the same TCP connections captured on both sides of a NAT router, one capture's clock
# shifted by a known amount: the joiner must recognise each connection under its two tuples, solve the
# shift within its stated uncertainty, and find the one segment the WAN dropped.
#
# usage: sudo scripts/make-nat-corpus.sh [OUT_DIR]      (default: corpus/nat-two-points)
#
#   tjn-client 10.97.1.1 ── tjn-wan (wanbridge.py: 15 ms each way, drops the first client segment whose
#   payload starts with LOSE-ME) ── tjn-nat 10.97.1.254 | 10.97.2.254 (iptables MASQUERADE out of its
#   server side) ── tjn-server 10.97.2.1
#
# The client opens three connections to the server's echo service on 7000 (one carries LOSE-ME) and one to
# port 9, where nothing listens. tcpdump captures at the client (client.pcap) and at the server
# (server.pcap, which sees the router's address 10.97.2.254 and its own source ports); then
# `editcap -t -3.25` makes server.shifted.pcapng, whose clock is 3.25 s slow. Everything stays inside the
# namespaces made here and deleted at the end; every step is bounded.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/scripts/netns-lib.sh"
OUT=${1:-$REPO/corpus/nat-two-points}
WANBRIDGE=${WANBRIDGE:-}
for w in "$REPO/../shared/tools/wanbridge.py" /work/shared/tools/wanbridge.py; do [[ -z $WANBRIDGE && -f $w ]] && WANBRIDGE=$w; done
[[ -f $WANBRIDGE ]] || { echo "wanbridge.py not found" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
for t in iptables tcpdump editcap; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done
C=tjn-client W=tjn-wan N=tjn-nat S=tjn-server
WORK=$(mktemp -d /tmp/tjn.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $C $W $N $S; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $C $W $N $S; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add tjn-c0 netns $C type veth peer name tjn-wc netns $W
ip link add tjn-wn netns $W type veth peer name tjn-n0 netns $N
ip link add tjn-n1 netns $N type veth peer name tjn-s0 netns $S
addr_up $C tjn-c0 10.97.1.1/24
addr_up $N tjn-n0 10.97.1.254/24
addr_up $N tjn-n1 10.97.2.254/24
addr_up $S tjn-s0 10.97.2.1/24
bridge_ports $W tjn-wc tjn-wn
ip netns exec $C ip route add default via 10.97.1.254
ip netns exec $S ip route add default via 10.97.2.254
ip netns exec $N sysctl -qw net.ipv4.ip_forward=1
ip netns exec $N iptables -t nat -A POSTROUTING -o tjn-n1 -j MASQUERADE
ip netns exec $W timeout 40 python3 "$WANBRIDGE" tjn-wc tjn-wn --delay-ms 15 --drop-once-prefix LOSE-ME --seconds 30 --log "$WORK/drops.json" >/dev/null 2>&1 & PIDS+=($!)
cat > "$WORK/client.py" <<'PY'
import socket, time
for i, msg in enumerate([b"hello through the NAT\n", b"LOSE-ME once, then resent\n", b"third and last\n"]):
    s = socket.create_connection(("10.97.2.1", 7000), timeout=10)
    s.sendall(msg); got = b""
    while len(got) < len(msg): got += s.recv(4096)
    s.close(); time.sleep(0.3)
try:
    socket.create_connection(("10.97.2.1", 9), timeout=3)
except OSError:
    pass
PY
sleep 1
ip netns exec $S timeout 30 python3 "$REPO/scripts/echo-server.py" 10.97.2.1 7000 --seconds 25 & PIDS+=($!)
ip netns exec $C tcpdump -i tjn-c0 -s 0 -U -n -w "$WORK/client.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
ip netns exec $S tcpdump -i tjn-s0 -s 0 -U -n -w "$WORK/server.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
sleep 1
ip netns exec $C timeout 25 python3 "$WORK/client.py"
sleep 1
kill -INT "${PIDS[@]:2}" 2>/dev/null || true; kill -TERM "${PIDS[0]}" 2>/dev/null || true; sleep 1
mkdir -p "$OUT"
cp "$WORK/client.pcap" "$OUT/client.pcap"
editcap -t -3.25 "$WORK/server.pcap" "$OUT/server.shifted.pcapng"
cp "$WORK/drops.json" "$OUT/wanbridge-log.json" 2>/dev/null || true
echo "tcpdump: $(tcpdump --version 2>&1 | head -1); editcap: $(editcap -V 2>&1 | head -1)" > "$OUT/VERSIONS"
ls -la "$OUT"
