#!/usr/bin/env bash
# make-tcp-analysis-corpus.sh — a lossy, delayed bulk transfer between two network namespaces, captured at
# both ends (headers only: snaplen 128 keeps every TCP option), with tshark's TCP expert analysis of each capture as ground truth.
#
# usage: sudo scripts/make-tcp-analysis-corpus.sh [OUT_DIR]     (default: corpus/tcp-analysis)
# Client tja-client 10.98.0.1 sends ~1.5 MB to tja-server 10.98.0.2:5001 through wanbridge.py (20 ms each
# way, 3 % of client→server TCP frames dropped for 8 s), then keeps the connection idle with TCP keep-alives
# (1 s) before closing. Everything stays in the namespaces this script makes and deletes; every step is bounded.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO/corpus/tcp-analysis}
WANBRIDGE=${WANBRIDGE:-}
for w in "$REPO/../shared/tools/wanbridge.py" /work/shared/tools/wanbridge.py; do [[ -z $WANBRIDGE && -f $w ]] && WANBRIDGE=$w; done
[[ -f $WANBRIDGE ]] || { echo "wanbridge.py not found" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
C=tja-client S=tja-server W=tja-wan
WORK=$(mktemp -d /tmp/tja.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $C $S $W; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $C $S $W; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; done
ip link add tja-c0 netns $C type veth peer name tja-cb netns $W
ip link add tja-s0 netns $S type veth peer name tja-sb netns $W
for x in "$C tja-c0 10.98.0.1" "$S tja-s0 10.98.0.2"; do
  set -- $x
  ip netns exec $1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec $1 ip link set lo up; ip netns exec $1 ip link set $2 up
  ip netns exec $1 ip addr add $3/24 dev $2
  ip netns exec $1 ethtool -K $2 tx off tso off gso off gro off >/dev/null 2>&1 || true
done
for i in tja-cb tja-sb; do ip netns exec $W ip link set $i up promisc on; ip netns exec $W ethtool -K $i tx off >/dev/null 2>&1 || true; done
ip netns exec $W timeout 40 python3 "$WANBRIDGE" tja-cb tja-sb --delay-ms 20 --loss-a2b 0.03 --loss-start 1 --loss-end 9 --seconds 35 --log "$WORK/drops.json" >/dev/null 2>&1 & PIDS+=($!)
cat > "$WORK/server.py" <<'PY'
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.98.0.2", 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
c.close()
PY
cat > "$WORK/client.py" <<'PY'
import socket, time
s = socket.create_connection(("10.98.0.2", 5001), timeout=20)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
block = b"x" * 16384
deadline = time.time() + 12
sent = 0
while sent < 1_500_000 and time.time() < deadline:
    s.sendall(block); sent += len(block)
time.sleep(3.5)   # idle: keep-alives every second
s.close()
PY
sleep 1
ip netns exec $S timeout 35 python3 "$WORK/server.py" & PIDS+=($!)
ip netns exec $C tcpdump -i tja-c0 -s 128 -U -n -w "$WORK/client.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
ip netns exec $S tcpdump -i tja-s0 -s 128 -U -n -w "$WORK/server.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
sleep 1
ip netns exec $C timeout 30 python3 "$WORK/client.py"
sleep 1.5
kill -INT "${PIDS[@]:2}" 2>/dev/null || true; sleep 1
mkdir -p "$OUT"
for side in client server; do
  cp "$WORK/$side.pcap" "$OUT/$side.pcap"
  TZ=UTC tshark -r "$OUT/$side.pcap" -T fields -E header=y -E separator=/t -e frame.number -e tcp.seq_raw -e tcp.len \
    -e tcp.analysis.retransmission -e tcp.analysis.fast_retransmission -e tcp.analysis.spurious_retransmission \
    -e tcp.analysis.out_of_order -e tcp.analysis.lost_segment -e tcp.analysis.ack_lost_segment -e tcp.analysis.duplicate_ack_num \
    -e tcp.analysis.zero_window -e tcp.analysis.window_full -e tcp.analysis.keep_alive -e tcp.analysis.keep_alive_ack \
    > "$OUT/$side.analysis.tsv" 2>/dev/null
done
cp "$WORK/drops.json" "$OUT/wanbridge-log.json" 2>/dev/null || true
echo "tshark: $(tshark --version | head -1)" > "$OUT/VERSIONS"
ls -la "$OUT"
