#!/usr/bin/env bash
# make-sockets-corpus.sh — sockets in every state a support engineer meets, snapshot with ss and netstat the
# way collection loops do (`date` before each table), plus a capture of the same traffic.
#
# usage: sudo scripts/make-sockets-corpus.sh [OUT_DIR]      (default: corpus/sockets-netns)
#
#   tjs-client 10.95.0.1 ── veth ── tjs-server 10.95.0.2
#
# The server (python, pid in the tables) listens on 8000. The client opens:
#   A  10.95.0.1 → :8000, stays open (ESTABLISHED both sides)
#   B  → :8000, the client shuts its side; the server never closes (CLOSE-WAIT at the server, FIN-WAIT-2 at
#      the client)
#   C  → :8000, both close, the client first (TIME-WAIT at the client)
#   D  → 10.95.0.2:9999, which the server's firewall drops (SYN-SENT at the client until it gives up)
#   then one more half-closed connection each second: CLOSE-WAIT piling up at the server
# and, to port 8001, two connections whose sockets change between snapshots:
#   F  ESTABLISHED in the first snapshot; 3 s after it opened the server closes it (FIN-WAIT-2 there,
#      CLOSE-WAIT at the client in the second snapshot); at 4 s the client closes too (TIME-WAIT at the
#      server, the client's socket gone by the third)
#   G  ESTABLISHED in the first snapshot; at 3 s the client aborts it (SO_LINGER 0: an RST), gone from both
#      tables by the second
# Three snapshots one second apart on each host: `date; ss -tanp` (ss-client.txt, ss-server.txt) and
# `date; netstat -tanp` (netstat-client.txt, netstat-server.txt), the latter also in Czech and German
# (netstat-client-cs.txt, netstat-server-de.txt), one `date; ss -tanpie` at the client (ss-client-detail.txt);
# tcpdump at the client (client.pcap).
# Everything stays in the namespaces made here and deleted at the end; every step is bounded.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO/corpus/sockets-netns}
. "$REPO/scripts/netns-lib.sh"
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
for t in ss netstat iptables tcpdump; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done
C=tjs-client S=tjs-server
WORK=$(mktemp -d /tmp/tjs.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $C $S; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $C $S; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add tjs-c0 netns $C type veth peer name tjs-s0 netns $S
addr_up $C tjs-c0 10.95.0.1/24
addr_up $S tjs-s0 10.95.0.2/24
ip netns exec $S iptables -A INPUT -p tcp --dport 9999 -j DROP
cat > "$WORK/server.py" <<'PY'
import select, socket, time
def listener(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.95.0.2", port)); s.listen(16); return s
s, s2 = listener(8000), listener(8001)
conns, start, closed_c = [], time.time(), False
later = []            # port 8001: [socket, when to close it or None]
while time.time() - start < 16:
    ready, _, _ = select.select([s, s2] + [c for c, _ in later if c.fileno() >= 0], [], [], 0.1)
    if s in ready: conns.append(s.accept()[0])
    if s2 in ready:
        c = s2.accept()[0]
        # F (the first to 8001) is closed by the server 3 s after it opened; G waits for the client.
        later.append([c, time.time() + 3.0 if not later else None])
    for item in later:
        c, when = item
        if c.fileno() < 0: continue
        if c in ready:
            try: data = c.recv(100)
            except ConnectionResetError: data = b""   # G: the client's RST
            if not data and when is None: c.close(); continue
        if when is not None and time.time() >= when: c.close(); item[1] = None
    # C (the third) is closed after the client closed it; every other socket stays open, never closed.
    if not closed_c and len(conns) >= 3 and time.time() - start > 1.0:
        conns[2].close(); closed_c = True
PY
cat > "$WORK/client.py" <<'PY'
import socket, struct, threading, time
f = socket.create_connection(("10.95.0.2", 8001), timeout=5)
g = socket.create_connection(("10.95.0.2", 8001), timeout=5)
def abort_g():                      # an RST instead of a FIN: the socket is gone at once on both sides
    g.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); g.close()
threading.Timer(3.0, abort_g).start()
threading.Timer(4.0, f.close).start()   # after the server's FIN (at 3 s): the client closes its side too
a = socket.create_connection(("10.95.0.2", 8000), timeout=5)
b = socket.create_connection(("10.95.0.2", 8000), timeout=5)
c = socket.create_connection(("10.95.0.2", 8000), timeout=5)
b.shutdown(socket.SHUT_WR)          # FIN from the client; the server never answers with its own
c.close()                           # the client closes first: TIME-WAIT here once the server closes too
d = socket.socket(); d.setblocking(False)
try: d.connect(("10.95.0.2", 9999))  # dropped by the server's firewall: SYN-SENT
except BlockingIOError: pass
# One more half-closed connection a second: the server's CLOSE-WAIT sockets pile up, snapshot after snapshot.
more = []
for i in range(6):
    time.sleep(1)
    e = socket.create_connection(("10.95.0.2", 8000), timeout=5); e.shutdown(socket.SHUT_WR); more.append(e)
time.sleep(6)
PY
ip netns exec $S timeout 25 python3 "$WORK/server.py" & PIDS+=($!)
sleep 0.5
ip netns exec $C tcpdump -i tjs-c0 -s 128 -U -n -w "$WORK/client.pcap" tcp >/dev/null 2>&1 & PIDS+=($!)
sleep 1
ip netns exec $C timeout 20 python3 "$WORK/client.py" & PIDS+=($!)
sleep 2.5
for i in 1 2 3; do
  for side in client server; do
    ns=$C; [[ $side == server ]] && ns=$S
    { ip netns exec $ns date; ip netns exec $ns ss -tanp; } >> "$WORK/ss-$side.txt"
    { ip netns exec $ns date; ip netns exec $ns netstat -tanp; } >> "$WORK/netstat-$side.txt"
  done
  # The same tables as net-tools prints them in other languages (its own catalogues): Czech at the client
  # (SPOJENO, NASLOUCHÁ, translated headers), German at the server (VERBUNDEN).
  { ip netns exec $C date; LC_ALL=C.UTF-8 LANGUAGE=cs ip netns exec $C netstat -tanp; } >> "$WORK/netstat-client-cs.txt"
  { ip netns exec $S date; LC_ALL=C.UTF-8 LANGUAGE=de ip netns exec $S netstat -tanp; } >> "$WORK/netstat-server-de.txt"
  sleep 1
done
# One detailed table (-e -i: timers, uid, inode, congestion state, rtt, cwnd…) at the client.
{ ip netns exec $C date; ip netns exec $C ss -tanpie; } > "$WORK/ss-client-detail.txt"
kill -INT "${PIDS[1]}" 2>/dev/null || true; sleep 1
mkdir -p "$OUT"
cp "$WORK"/ss-*.txt "$WORK"/netstat-*.txt "$WORK/client.pcap" "$OUT/"
echo "$(ss -V); $(netstat --version 2>&1 | head -1); $(tcpdump --version 2>&1 | head -1)" > "$OUT/VERSIONS"
ls -la "$OUT"
