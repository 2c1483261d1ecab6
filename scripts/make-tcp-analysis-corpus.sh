#!/usr/bin/env bash
# make-tcp-analysis-corpus.sh — real TCP transfers between two network namespaces through a delaying,
# lossy bridge, captured at both ends (headers only: snaplen 128 keeps every TCP option), with tshark's
# TCP expert analysis of each capture as ground truth.
#
# usage: sudo scripts/make-tcp-analysis-corpus.sh SCENARIO [OUT_DIR]    (default: corpus/tcp-analysis/SCENARIO)
#   bulk        the client sends ~1.5 MB; 3 % of client→server frames are dropped for 8 s; then 3.5 s idle
#               with TCP keep-alives every second before closing.
#   ackloss     the client sends ~1 MB over ~2.5 s; every server→client frame (the ACKs) is dropped for 0.6 s, so the
#               client times out and resends data the server already has (spurious retransmissions); the
#               server's capture misses one client data segment in 64 (a BPF filter on the IP id, as a
#               capture that drops packets would), so the server ACKs segments its capture never saw.
#   zerowindow  the server's receive buffer is 4 KiB and it reads nothing for 3 s, then 4 KiB every 50 ms:
#               its window closes and the client probes it.
# Client tja-client 10.98.0.1 → tja-server 10.98.0.2:5001 through wanbridge.py (20 ms each way). Everything
# stays in the namespaces this script makes and deletes; every step is bounded.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCENARIO=${1:?usage: make-tcp-analysis-corpus.sh bulk|ackloss|zerowindow [OUT_DIR]}
OUT=${2:-$REPO/corpus/tcp-analysis/$SCENARIO}
WANBRIDGE=${WANBRIDGE:-}
for w in "$REPO/../shared/tools/wanbridge.py" /work/shared/tools/wanbridge.py; do [[ -z $WANBRIDGE && -f $w ]] && WANBRIDGE=$w; done
[[ -f $WANBRIDGE ]] || { echo "wanbridge.py not found" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }

# Per scenario: bridge direction and loss, what the client sends, how the server reads, the server's filter.
BRIDGE="tja-cb tja-sb"; LOSS="--loss-a2b 0.03 --loss-start 1 --loss-end 9"
SEND=1500000; PACE=0; IDLE=3.5; RCVBUF=0; READ_DELAY=0; READ_SIZE=65536; READ_GAP=0
SERVER_FILTER="tcp"
case $SCENARIO in
  bulk) ;;
  ackloss) BRIDGE="tja-sb tja-cb"; LOSS="--loss-a2b 1.0 --loss-start 3 --loss-end 3.6"; SEND=1000000; IDLE=0; PACE=0.04
           SERVER_FILTER="tcp and not (src host 10.98.0.1 and ip[2:2] > 200 and ip[4:2] & 63 = 17)" ;;
  zerowindow) LOSS=""; SEND=400000; IDLE=0; RCVBUF=4096; READ_DELAY=3; READ_SIZE=4096; READ_GAP=0.05 ;;
  *) echo "unknown scenario: $SCENARIO" >&2; exit 2 ;;
esac

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
ip netns exec $W timeout 45 python3 "$WANBRIDGE" $BRIDGE --delay-ms 20 $LOSS --seconds 40 --log "$WORK/drops.json" >/dev/null 2>&1 & PIDS+=($!)
cat > "$WORK/server.py" <<PY
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if $RCVBUF: s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, $RCVBUF)
s.bind(("10.98.0.2", 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30)
time.sleep($READ_DELAY)
while True:
    d = c.recv($READ_SIZE)
    if not d: break
    if $READ_GAP: time.sleep($READ_GAP)
c.close()
PY
cat > "$WORK/client.py" <<PY
import socket, time
s = socket.create_connection(("10.98.0.2", 5001), timeout=25)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
block = b"x" * 16384
deadline = time.time() + 20
sent = 0
while sent < $SEND and time.time() < deadline:
    s.sendall(block); sent += len(block)
    if $PACE: time.sleep($PACE)   # paced, so that the transfer is still running when the bridge drops
time.sleep($IDLE)   # idle: keep-alives every second
s.close()
PY
sleep 1
ip netns exec $S timeout 35 python3 "$WORK/server.py" & PIDS+=($!)
ip netns exec $C tcpdump -i tja-c0 -s 128 -U -n -w "$WORK/client.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
ip netns exec $S tcpdump -i tja-s0 -s 128 -U -n -w "$WORK/server.pcap" "$SERVER_FILTER" >/dev/null 2>&1 & PIDS+=($!)
sleep 1
ip netns exec $C timeout 30 python3 "$WORK/client.py"
sleep 1.5
kill -INT "${PIDS[@]:2}" 2>/dev/null || true; kill -TERM "${PIDS[0]}" 2>/dev/null || true; sleep 1   # the bridge writes its log on TERM
mkdir -p "$OUT"
for side in client server; do
  cp "$WORK/$side.pcap" "$OUT/$side.pcap"
  TZ=UTC tshark -r "$OUT/$side.pcap" -T fields -E header=y -E separator=/t -e frame.number -e tcp.seq_raw -e tcp.len \
    -e tcp.analysis.retransmission -e tcp.analysis.fast_retransmission -e tcp.analysis.spurious_retransmission \
    -e tcp.analysis.out_of_order -e tcp.analysis.lost_segment -e tcp.analysis.ack_lost_segment -e tcp.analysis.duplicate_ack_num \
    -e tcp.analysis.zero_window -e tcp.analysis.window_full -e tcp.analysis.keep_alive -e tcp.analysis.keep_alive_ack \
    -e tcp.analysis.window_update -e tcp.analysis.zero_window_probe -e tcp.analysis.zero_window_probe_ack \
    > "$OUT/$side.analysis.tsv" 2>/dev/null
  # tcpdump's own rendering of the same packets: its TCP marks must come out as the capture's.
  TZ=UTC tcpdump -r "$OUT/$side.pcap" -nn -tttt 2>/dev/null | gzip -9 > "$OUT/$side.tcpdump-ttttnn.txt.gz"
done
cp "$WORK/drops.json" "$OUT/wanbridge-log.json" 2>/dev/null || true
echo "tshark: $(tshark --version | head -1)" > "$OUT/VERSIONS"
ls -la "$OUT"
