#!/usr/bin/env bash
# make-tshark-corpus.sh — regenerate corpus/tshark-netns: two real captures (client side and server side)
# of a few TCP/UDP/ICMP exchanges between two network namespaces, their tshark text exports in many
# layouts, a ground-truth TSV per capture written by tshark's dissectors, facts.json and README.md.
#
# usage: sudo scripts/make-tshark-corpus.sh [OUT_DIR]        (default: corpus/tshark-netns next to this script)
# env:   WANBRIDGE=/path/to/wanbridge.py   (default: ../shared/tools/wanbridge.py, then /work/shared/tools/…)
#        DELAY_MS=10                        (one-way delay added by the bridge; RTT ≈ 2 × DELAY_MS)
#
# Needs root, iproute2 (ip netns, veth), ethtool, tcpdump, tshark, python3. All traffic stays inside the
# namespaces tj-client / tj-wan / tj-server that this script creates and deletes; every step is bounded
# (timeouts on each client step, servers exit by themselves after SERVER_SECONDS).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO/corpus/tshark-netns}
DELAY_MS=${DELAY_MS:-10}
SERVER_SECONDS=60
NS_C=tj-client NS_S=tj-server NS_W=tj-wan
C4=10.99.0.1 S4=10.99.0.2 C6=fd99::1 S6=fd99::2

if [[ -z ${WANBRIDGE:-} ]]; then
  for w in "$REPO/../shared/tools/wanbridge.py" /work/shared/tools/wanbridge.py; do
    [[ -f $w ]] && { WANBRIDGE=$w; break; }
  done
fi
[[ -f ${WANBRIDGE:-} ]] || { echo "wanbridge.py not found (set WANBRIDGE=)" >&2; exit 1; }
for t in ip ethtool tcpdump tshark python3; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "run as root (network namespaces)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/tj-corpus.XXXXXX)
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for ns in $NS_C $NS_S $NS_W; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "[make-tshark-corpus] $*" >&2; }

# ---------------------------------------------------------------- namespaces
for ns in $NS_C $NS_S $NS_W; do ip netns del "$ns" 2>/dev/null || true; done
for ns in $NS_C $NS_S $NS_W; do ip netns add "$ns"; done
# client tj-c0 <-> tj-cb (wan)   wan tj-sb <-> tj-s0 server; wanbridge forwards tj-cb <-> tj-sb with a delay
ip link add tj-c0 netns $NS_C type veth peer name tj-cb netns $NS_W
ip link add tj-s0 netns $NS_S type veth peer name tj-sb netns $NS_W
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }   # foreground only (a backgrounded function would give a subshell pid)
nsx $NS_W sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
for pair in "$NS_C tj-c0 $C4 $C6" "$NS_S tj-s0 $S4 $S6"; do
  set -- $pair
  nsx "$1" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
  nsx "$1" ip link set dev "$2" addrgenmode none       # no link-local address: no spontaneous IPv6 chatter
  nsx "$1" ip link set lo up
  nsx "$1" ip link set "$2" up
  nsx "$1" ip addr add "$3/24" dev "$2"
  nsx "$1" ip -6 addr add "$4/64" dev "$2" nodad
  nsx "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || true
done
for i in tj-cb tj-sb; do
  nsx $NS_W ip link set "$i" promisc on up
  nsx $NS_W ethtool -K "$i" tx off >/dev/null 2>&1 || true
done

# ---------------------------------------------------------------- helper programs
mkdir -p "$WORK/www"
printf 'hello from tj-server\n' > "$WORK/www/hello.txt"

cat > "$WORK/servers.py" <<'EOF'
# TCP echo on :7000 (v4+v6) and a tiny DNS responder on udp :53; exits after argv[1] seconds.
import socket, sys, threading, time
LIFE = float(sys.argv[1]); t0 = time.time()
def echo_conn(c):
    c.settimeout(10)
    try:
        while True:
            d = c.recv(4096)
            if not d: break
            c.sendall(d)
    except OSError:
        pass
    c.close()
def echo_server():
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", 7000)); s.listen(8); s.settimeout(0.5)
    while time.time() - t0 < LIFE:
        try: c, _ = s.accept()
        except socket.timeout: continue
        threading.Thread(target=echo_conn, args=(c,), daemon=True).start()
def dns_server():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.99.0.2", 53)); s.settimeout(0.5)
    while time.time() - t0 < LIFE:
        try: q, peer = s.recvfrom(512)
        except socket.timeout: continue
        if len(q) < 17: continue
        end = q.index(b"\0", 12) + 5                     # end of the (single) question
        hdr = q[0:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
        ans = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton("10.99.0.2")
        s.sendto(hdr + q[12:end] + ans, peer)
threading.Thread(target=echo_server, daemon=True).start()
threading.Thread(target=dns_server, daemon=True).start()
while time.time() - t0 < LIFE: time.sleep(0.2)
EOF

cat > "$WORK/client.py" <<'EOF'
# One client step per call: python3 client.py STEP. Fixed source ports so the corpus is stable.
import socket, struct, sys, time
S4, S6 = "10.99.0.2", "fd99::2"
step = sys.argv[1]
def tcp(fam, src, dst):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(5); s.bind(src); s.connect(dst); return s
def read_all(s):
    out = b""
    while True:
        d = s.recv(65536)
        if not d: return out
        out += d
if step == "http4":     # HTTP/1.0-style GET: server answers and closes first (FIN from server), then client FIN
    s = tcp(socket.AF_INET, ("10.99.0.1", 41001), (S4, 8080))
    s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: 10.99.0.2:8080\r\nUser-Agent: tj-corpus\r\nConnection: close\r\n\r\n")
    print(read_all(s).split(b"\r\n")[0].decode()); s.close()
elif step == "refused":  # nothing listens on port 9: SYN answered by RST,ACK
    try: tcp(socket.AF_INET, ("10.99.0.1", 41002), (S4, 9))
    except ConnectionRefusedError: print("refused")
elif step == "abort":    # echo exchange, then the client aborts with SO_LINGER 0 -> RST from client
    s = tcp(socket.AF_INET, ("10.99.0.1", 41003), (S4, 7000))
    s.sendall(b"hello, then abort\n"); s.recv(100)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close(); print("aborted")
elif step == "retrans":  # echo exchange whose first data segment is dropped once by the bridge; client FIN first
    s = tcp(socket.AF_INET, ("10.99.0.1", 41004), (S4, 7000))
    s.sendall(b"RETRANS-ME: this segment is dropped once on the way\n")
    got = s.recv(100); s.shutdown(socket.SHUT_WR); read_all(s); s.close(); print("echoed", len(got))
elif step == "http6":    # the same GET over IPv6
    s = tcp(socket.AF_INET6, ("fd99::1", 41005), (S6, 8080))
    s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: [fd99::2]:8080\r\nUser-Agent: tj-corpus\r\nConnection: close\r\n\r\n")
    print(read_all(s).split(b"\r\n")[0].decode()); s.close()
elif step == "dns":      # one DNS query / response over UDP
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3); u.bind(("10.99.0.1", 41053))
    qname = b"".join(bytes([len(p)]) + p for p in b"server.tj.test".split(b".")) + b"\0"
    u.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + qname + b"\x00\x01\x00\x01", (S4, 53))
    print("dns answer", len(u.recvfrom(512)[0]))
elif step == "udpclosed":  # UDP to a closed port: ICMP port unreachable comes back
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.99.0.1", 41054))
    u.sendto(b"anyone on 4444?", (S4, 4444)); print("udp sent")
elif step == "ping":     # two ICMP echo requests (raw socket; there is no ping binary here)
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.settimeout(2)
    def csum(b):
        if len(b) % 2: b += b"\0"
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
        return ~s & 0xffff
    for seq in (1, 2):
        body = b"tj-corpus ping %d" % seq
        h = struct.pack("!BBHHH", 8, 0, 0, 0x7a6a, seq)
        r.sendto(struct.pack("!BBHHH", 8, 0, csum(h + body), 0x7a6a, seq) + body, (S4, 0))
        r.recvfrom(200); time.sleep(0.2)
    print("pinged")
EOF

# ---------------------------------------------------------------- run: servers, bridge, captures, traffic
say "starting servers and bridge (delay ${DELAY_MS} ms each way)"
ip netns exec $NS_S timeout $SERVER_SECONDS python3 -m http.server 8080 --bind :: --directory "$WORK/www" \
  >"$WORK/http.log" 2>&1 & PIDS+=($!)
ip netns exec $NS_S python3 "$WORK/servers.py" $SERVER_SECONDS >"$WORK/servers.log" 2>&1 & PIDS+=($!)
ip netns exec $NS_W python3 "$WANBRIDGE" tj-cb tj-sb --delay-ms "$DELAY_MS" --drop-once-prefix RETRANS-ME \
  --seconds $SERVER_SECONDS --log "$WORK/wanbridge.json" >"$WORK/wanbridge.out" 2>&1 & WANPID=$!; PIDS+=($WANPID)
sleep 3   # let servers bind and any interface-up chatter pass before capturing

ip netns exec $NS_C tcpdump -i tj-c0 -s 0 -U -n -w "$WORK/client.pcap" >"$WORK/tcpdump-c.log" 2>&1 & TDC=$!; PIDS+=($TDC)
ip netns exec $NS_S tcpdump -i tj-s0 -s 0 -U -n --time-stamp-precision=nano -w "$WORK/server.pcap" \
  >"$WORK/tcpdump-s.log" 2>&1 & TDS=$!; PIDS+=($TDS)
for i in $(seq 50); do grep -q listening "$WORK/tcpdump-c.log" && grep -q listening "$WORK/tcpdump-s.log" && break; sleep 0.1; done
sleep 0.5

for step in http4 refused abort retrans http6 dns udpclosed ping; do
  say "client step: $step -> $(nsx $NS_C timeout 10 python3 "$WORK/client.py" $step 2>&1 | tail -1)"
  sleep 0.5
done
sleep 1
kill -INT $TDC $TDS; wait $TDC $TDS 2>/dev/null || true
kill -TERM $WANPID; wait $WANPID 2>/dev/null || true
say "wanbridge: $(cat "$WORK/wanbridge.json")"

# ---------------------------------------------------------------- exports
mkdir -p "$OUT"
rm -f "$OUT"/client.* "$OUT"/server.* "$OUT"/facts.json "$OUT"/README.md "$OUT"/wanbridge-log.json   # only our own files
cp "$WORK/client.pcap" "$WORK/server.pcap" "$OUT/"
cp "$WORK/wanbridge.json" "$OUT/wanbridge-log.json"
TS() { TZ=UTC tshark "$@" 2>/dev/null; }     # TZ pinned: local-time layouts are UTC; stderr is root warning
GUI_COLS='gui.column.format:"No.","%m","Time","%t","Source","%s","Destination","%d","Protocol","%p","Length","%L","Info","%i"'
EXTRA_COLS='gui.column.format:"No.","%m","Time","%t","Source","%s","Src port","%uS","Destination","%d","Dst port","%uD","Protocol","%p","Length","%L","Identification","%Cus:ip.id:0:R","TCP Len","%Cus:tcp.len:0:R","Seq","%Cus:tcp.seq:0:R","Info","%i"'
TRUTH_FIELDS=(frame.number frame.time_epoch frame.time_relative frame.time_delta_displayed ip.src ipv6.src
  tcp.srcport udp.srcport ip.dst ipv6.dst tcp.dstport udp.dstport _ws.col.Protocol frame.len tcp.flags tcp.seq
  tcp.seq_raw tcp.ack tcp.ack_raw tcp.len tcp.window_size_value ip.id tcp.options.timestamp.tsval
  tcp.options.mss_val tcp.analysis.retransmission)
for X in client server; do
  P="$OUT/$X.pcap"
  TS -r "$P"                       > "$OUT/$X.default.txt"
  for t in ad a r d ud e; do
    TS -r "$P" -t $t               > "$OUT/$X.t-$t.txt"
  done
  TS -r "$P" -t dd -Y tcp          > "$OUT/$X.t-dd.Y-tcp.txt"     # dd only differs from d with a display filter
  { echo '"No.","Time","Source","Destination","Protocol","Length","Info"'
    TS -r "$P" -T fields -E header=n -E separator=, -E quote=d -e _ws.col.No. -e _ws.col.Time \
      -e _ws.col.Source -e _ws.col.Destination -e _ws.col.Protocol -e _ws.col.Length -e _ws.col.Info
  } > "$OUT/$X.gui.csv"
  TS -r "$P" -o "$EXTRA_COLS" -t ud > "$OUT/$X.columns-extra.t-ud.txt"
  args=(); for f in "${TRUTH_FIELDS[@]}"; do args+=(-e "$f"); done
  TS -r "$P" -T fields -E header=y -E separator=/t "${args[@]}" > "$OUT/$X.truth.tsv"
done
# layouts kept for one capture only (size): tshark-written header, explicit GUI columns, packet details
TS -r "$OUT/client.pcap" -T fields -E header=y -e _ws.col.No. -e _ws.col.Time -e _ws.col.Source \
  -e _ws.col.Destination -e _ws.col.Protocol -e _ws.col.Length -e _ws.col.Info > "$OUT/client.fields-header.tsv"
TS -r "$OUT/client.pcap" -o "$GUI_COLS"                                > "$OUT/client.columns.txt"
TS -r "$OUT/client.pcap" -P -V    -Y "tcp.port == 41001"               > "$OUT/client.http4.P-V.txt"
TS -r "$OUT/client.pcap" -P -V -x -Y "tcp.port == 41001 && tcp.len > 0" > "$OUT/client.http4-data.P-V-x.txt"
TS -r "$OUT/server.pcap" -P -V -x -Y "tcp.port == 41002"               > "$OUT/server.refused.P-V-x.txt"
TZ=Asia/Kolkata tshark -r "$OUT/client.pcap" -t ad 2>/dev/null > "$OUT/client.t-ad.TZ-Asia-Kolkata.txt"

# ---------------------------------------------------------------- facts.json + README.md
TSHARK_VERSION=$(tshark --version 2>/dev/null | head -1)
TCPDUMP_VERSION=$(tcpdump --version 2>&1 | head -1)
python3 - "$OUT" "$TSHARK_VERSION" "$TCPDUMP_VERSION" "$DELAY_MS" <<'EOF'
import csv, datetime, json, os, struct, sys
out, tshark_v, tcpdump_v, delay = sys.argv[1:5]
def precision(pcap):
    magic = open(pcap, "rb").read(4)
    return 9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 6
def iso(epoch, digits):
    sec, _, frac = epoch.partition(".")
    frac = (frac + "0" * 9)[:9][:digits]
    d = datetime.datetime.fromtimestamp(int(sec), datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac + "Z"
def ep(ip, port): return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
facts, lines = {}, []
for X in ("client", "server"):
    digits = precision(f"{out}/{X}.pcap")
    rows = list(csv.DictReader(open(f"{out}/{X}.truth.tsv"), delimiter="\t"))
    conns, order, other = {}, [], {}
    for r in rows:
        if not r["tcp.srcport"]:
            other[r["_ws.col.Protocol"]] = other.get(r["_ws.col.Protocol"], 0) + 1; continue
        src = ep(r["ip.src"] or r["ipv6.src"], r["tcp.srcport"]); dst = ep(r["ip.dst"] or r["ipv6.dst"], r["tcp.dstport"])
        key = tuple(sorted((src, dst)))
        if key not in conns: conns[key] = []; order.append(key)
        conns[key].append((r, src, dst))
    out_conns = []
    for key in order:
        pk = conns[key]; flags = lambda r: int(r["tcp.flags"], 16)
        syn = next(((r, s, d) for r, s, d in pk if flags(r) & 0x12 == 0x02), None)
        synack = next(((r, s, d) for r, s, d in pk if flags(r) & 0x12 == 0x12), None)
        client, server = (syn[1], syn[2]) if syn else (pk[0][1], pk[0][2])
        fins = [(r, s) for r, s, d in pk if flags(r) & 0x01]
        rsts = [(r, s) for r, s, d in pk if flags(r) & 0x04]
        hidden = [int(r["frame.number"]) for r, s in fins if r["_ws.col.Protocol"] != "TCP"]
        if rsts and not synack and rsts[0][1] == server: end, end_by = "refused", server
        elif rsts: end, end_by = "rst", rsts[0][1]
        elif fins: end, end_by = "fin", fins[0][1]
        else: end, end_by = "none", None
        c = {"client": client, "server": server, "opened_by": client, "end": end, "end_by": end_by,
             "syn_time": iso(syn[0]["frame.time_epoch"], digits) if syn else None, "packets": len(pk),
             # extra detail beyond the requested schema:
             "frames": [int(r["frame.number"]) for r, s, d in pk],
             "fin_senders": [s for r, s in fins], "fin_frames": [int(r["frame.number"]) for r, s in fins],
             "fin_frames_not_shown_as_tcp": hidden,
             "rst_senders": [s for r, s in rsts], "rst_frames": [int(r["frame.number"]) for r, s in rsts],
             "retransmissions": sum(1 for r, s, d in pk if r["tcp.analysis.retransmission"]),
             "last_time": iso(pk[-1][0]["frame.time_epoch"], digits)}
        if syn and synack:
            ack = next((r for r, s, d in pk if s == client and flags(r) == 0x10), None)
            if X == "client":
                c["handshake_rtt_ms"] = round((float(synack[0]["frame.time_epoch"]) - float(syn[0]["frame.time_epoch"])) * 1000, 3)
            elif ack:
                c["handshake_rtt_ms"] = round((float(ack["frame.time_epoch"]) - float(synack[0]["frame.time_epoch"])) * 1000, 3)
        out_conns.append(c)
    facts[f"{X}.pcap"] = {"connections": out_conns, "packets": len(rows), "timestamp_digits": digits,
                          "first_time": iso(rows[0]["frame.time_epoch"], digits),
                          "non_tcp_packets_by_protocol": other}
    lines.append(f"\n### {X}.pcap ({len(rows)} packets, timestamps with {digits} fractional digits, "
                 f"first packet {iso(rows[0]['frame.time_epoch'], digits)})\n")
    for c in out_conns:
        hidden = c["fin_frames_not_shown_as_tcp"]
        hid = (f"; the FIN in frame {', '.join(map(str, hidden))} is on a row whose Protocol is not TCP (HTTP), "
               "so the packet-list Info does not show [FIN] there") if hidden else ""
        how = {"fin": f"ended by FIN, first FIN from {c['end_by']} (FIN frames {', '.join(map(str, c['fin_frames']))} from "
                      f"{', '.join(c['fin_senders'])}){hid}",
               "rst": f"ended by RST from {c['end_by']} (frame {(c['rst_frames'] or [0])[0]})",
               "refused": f"refused: SYN answered by RST,ACK from {c['end_by']} (frame {(c['rst_frames'] or [0])[0]})",
               "none": "not ended in the capture"}[c["end"]]
        rtt = f", handshake RTT seen here {c['handshake_rtt_ms']} ms" if "handshake_rtt_ms" in c else ""
        rx = f", {c['retransmissions']} retransmission(s)" if c["retransmissions"] else ""
        lines.append(f"- {c['client']} ⇄ {c['server']}: opened by {c['opened_by']} (SYN at {c['syn_time']}), "
                     f"{how}; {c['packets']} packets (frames {c['frames'][0]}–{c['frames'][-1]}){rtt}{rx}.")
    lines.append("- non-TCP packets: " + ", ".join(f"{k} × {v}" for k, v in other.items()) + ".")
json.dump(facts, open(f"{out}/facts.json", "w"), indent=1, ensure_ascii=False)
open(f"{out}/facts.md.part", "w").write("\n".join(lines) + "\n")
EOF
FACTS=$(cat "$OUT/facts.md.part"); rm "$OUT/facts.md.part"
WANLOG=$(cat "$OUT/wanbridge-log.json")
GEN_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)

cat > "$OUT/README.md" <<EOF
# corpus/tshark-netns — real captures and their tshark text exports

Generated by \`scripts/make-tshark-corpus.sh\` on $GEN_DATE (regenerate with \`sudo scripts/make-tshark-corpus.sh\`;
times, sequence numbers and IP ids change on every run, the ports and the shape of the traffic do not).

- capture: \`$TCPDUMP_VERSION\` (libpcap), \`tcpdump -s 0 -U -n -w\`
- exports and truth: \`$TSHARK_VERSION\`
- every tshark command ran with **TZ=UTC**, so the local-time layouts (\`-t ad\`, \`-t a\`, default columns) show UTC,
  except \`client.t-ad.TZ-Asia-Kolkata.txt\`, which ran with TZ=Asia/Kolkata (UTC+05:30, no offset in the text).

## Network

Three namespaces made by the script: \`tj-client\` (tj-c0: 10.99.0.1/24, fd99::1/64) — \`tj-wan\` — \`tj-server\`
(tj-s0: 10.99.0.2/24, fd99::2/64). In \`tj-wan\`, \`wanbridge.py\` bridges the two veths and delays every frame by
$DELAY_MS ms each way (RTT ≈ $((2*DELAY_MS)) ms) and drops exactly one client→server TCP segment, the first whose payload starts
with \`RETRANS-ME\` (its log: \`wanbridge-log.json\` = \`$WANLOG\`). TX checksum offload is off on all veths, so
checksums in the captures are correct.

- \`client.pcap\`: tcpdump on tj-c0 in tj-client — classic pcap, **microsecond** timestamps.
- \`server.pcap\`: tcpdump on tj-s0 in tj-server — classic pcap, **nanosecond** timestamps
  (\`--time-stamp-precision=nano\`), so its text exports carry 9 fractional digits.
Both captures see the same connections at two points ≈ $DELAY_MS ms apart; the dropped segment appears in
client.pcap twice (original + retransmission) and in server.pcap once.

## Traffic (client steps, 0.5 s apart, fixed client ports)

| step | tuple | what happens |
|---|---|---|
| http4 | 10.99.0.1:41001 → 10.99.0.2:8080 | \`GET /hello.txt\` to \`python3 -m http.server\`; server answers (HTTP/1.0) and sends FIN first, on the segment carrying the end of the response; client FIN second |
| refused | 10.99.0.1:41002 → 10.99.0.2:9 | nothing listens: SYN answered by RST,ACK from the server |
| abort | 10.99.0.1:41003 → 10.99.0.2:7000 | one echo exchange, then the client closes with SO_LINGER 0: RST from the client |
| retrans | 10.99.0.1:41004 → 10.99.0.2:7000 | echo; the first data segment is dropped by the bridge and retransmitted; client \`shutdown(SHUT_WR)\`: FIN from client first, then server FIN |
| http6 | [fd99::1]:41005 → [fd99::2]:8080 | the same GET over IPv6 (ICMPv6 neighbour solicitation/advertisement precede it); server FIN first |
| dns | 10.99.0.1:41053 → 10.99.0.2:53/udp | one DNS query \`server.tj.test A\` (id 0x1234) and its answer 10.99.0.2 |
| udpclosed | 10.99.0.1:41054 → 10.99.0.2:4444/udp | UDP to a closed port: ICMP destination unreachable (port unreachable); its truth row has two comma-separated values in ip.src, ip.dst and ip.id (outer header, then the IP header quoted in the ICMP payload) and the quoted UDP ports |
| ping | 10.99.0.1 → 10.99.0.2 | two ICMP echo requests (id 0x7a6a, seq 1 and 2) and replies |

ARP rows appear before the first IPv4 packet.

## Files (X = client and server unless a name says which)

| file | command (all with \`TZ=UTC\`, stderr dropped) |
|---|---|
| \`X.pcap\` | the capture |
| \`X.default.txt\` | \`tshark -r X.pcap\` — tshark 4.0's default packet list: relative time, \`→\` (U+2192) between source and destination |
| \`X.t-ad.txt\` | \`tshark -r X.pcap -t ad\` — absolute date and time (local = UTC here) |
| \`X.t-a.txt\` | \`tshark -r X.pcap -t a\` — absolute time of day, no date |
| \`X.t-r.txt\` | \`tshark -r X.pcap -t r\` — relative to first packet (byte-identical to X.default.txt) |
| \`X.t-d.txt\` | \`tshark -r X.pcap -t d\` — delta to previous captured packet |
| \`X.t-dd.Y-tcp.txt\` | \`tshark -r X.pcap -t dd -Y tcp\` — delta to previous *displayed* packet, with a display filter (only TCP rows, frame numbers have gaps; without a filter dd = d) |
| \`X.t-ud.txt\` | \`tshark -r X.pcap -t ud\` — UTC date and time (byte-identical to X.t-ad.txt because TZ=UTC) |
| \`X.t-e.txt\` | \`tshark -r X.pcap -t e\` — epoch seconds |
| \`client.t-ad.TZ-Asia-Kolkata.txt\` | \`TZ=Asia/Kolkata tshark -r client.pcap -t ad\` — local time +05:30, nothing in the text says so |
| \`X.gui.csv\` | header line \`"No.","Time","Source","Destination","Protocol","Length","Info"\` (exactly the header of Wireshark's GUI "Export Packet Dissections → As CSV") followed by \`tshark -r X.pcap -T fields -E header=n -E separator=, -E quote=d -e _ws.col.No. -e _ws.col.Time -e _ws.col.Source -e _ws.col.Destination -e _ws.col.Protocol -e _ws.col.Length -e _ws.col.Info\` |
| \`X.columns-extra.t-ud.txt\` | \`tshark -r X.pcap -t ud -o 'gui.column.format:"No.","%m","Time","%t","Source","%s","Src port","%uS","Destination","%d","Dst port","%uD","Protocol","%p","Length","%L","Identification","%Cus:ip.id:0:R","TCP Len","%Cus:tcp.len:0:R","Seq","%Cus:tcp.seq:0:R","Info","%i"'\` — extra columns (ports, IP id as \`0x4b49 (19273)\`, TCP payload length, relative seq) between the usual ones, UTC date+time; no \`→\` here because Source and Destination are not adjacent |
| \`client.columns.txt\` | \`tshark -r client.pcap -o 'gui.column.format:"No.","%m","Time","%t","Source","%s","Destination","%d","Protocol","%p","Length","%L","Info","%i"'\` — Wireshark's default columns set explicitly (byte-identical to client.default.txt) |
| \`client.fields-header.tsv\` | \`tshark -r client.pcap -T fields -E header=y -e _ws.col.No. -e _ws.col.Time -e _ws.col.Source -e _ws.col.Destination -e _ws.col.Protocol -e _ws.col.Length -e _ws.col.Info\` — tab-separated, with tshark's own header line (field names \`_ws.col.No.\` …) |
| \`client.http4.P-V.txt\` | \`tshark -r client.pcap -P -V -Y "tcp.port == 41001"\` — summary line + packet details for every packet of the http4 connection ("Export Packet Dissections → As Plain Text" with summary line and details, but without the GUI's per-packet column-heading line) |
| \`client.http4-data.P-V-x.txt\` | \`tshark -r client.pcap -P -V -x -Y "tcp.port == 41001 && tcp.len > 0"\` — the same plus hex/ASCII bytes, only the 3 data segments (GET, response header, response body + FIN) |
| \`server.refused.P-V-x.txt\` | \`tshark -r server.pcap -P -V -x -Y "tcp.port == 41002"\` — the refused connection (SYN, RST/ACK) with details and bytes, nanosecond arrival times |
| \`X.truth.tsv\` | ground truth from tshark's dissectors: \`tshark -r X.pcap -T fields -E header=y -E separator=/t -e frame.number -e frame.time_epoch -e frame.time_relative -e frame.time_delta_displayed -e ip.src -e ipv6.src -e tcp.srcport -e udp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e udp.dstport -e _ws.col.Protocol -e frame.len -e tcp.flags -e tcp.seq -e tcp.seq_raw -e tcp.ack -e tcp.ack_raw -e tcp.len -e tcp.window_size_value -e ip.id -e tcp.options.timestamp.tsval -e tcp.options.mss_val -e tcp.analysis.retransmission\` |
| \`facts.json\` | per capture: \`{"client.pcap": {"connections": [{"client","server","opened_by","end": "fin/rst/refused/none","end_by","syn_time" (ISO 8601 UTC, full capture precision),"packets", …extra: frames, fin_senders, fin_frames, fin_frames_not_shown_as_tcp, rst_senders, rst_frames, retransmissions, last_time, handshake_rtt_ms}], "packets": N, …}, "server.pcap": {…}}\` — derived from X.truth.tsv by the script |
| \`wanbridge-log.json\` | the bridge's log: the one dropped segment (ip_id, raw seq, payload length) |

Notes on the layouts:
- **No header line in tshark 4.0 packet-list output.** tshark 4.0 has no \`--print-column-names\` (it came in a
  later release), and \`-o gui.column.format\` only chooses the columns, it does not print their titles. The exports
  that carry a header line are \`X.gui.csv\` (GUI CSV header, prepended by the script — tshark writes no header for
  \`-E header=n\`) and \`X.fields-header.tsv\` (header written by tshark itself, with field names).
- tshark pads each column of each line to a minimum width, independently of the other lines (No. right-aligned
  to ≥ 5, Source right-aligned to ≥ 12, Destination left-aligned to ≥ 12, …); a longer value (a MAC address, a
  6-digit frame number) just widens that line. The \`→\` arrow stands between Source and Destination when they are
  adjacent columns (not in columns-extra, where ports sit between them).
- In the packet-list layouts a FIN (or any flag) carried by a segment that a higher dissector claims (Protocol
  \`HTTP\`) is not visible: the Info is \`HTTP/1.0 200 OK  (text/plain)\`. The server's FIN of both HTTP connections is
  such a frame (see \`fin_frames_not_shown_as_tcp\` in facts.json); the truth (\`tcp.flags\`) and the -V text show it.
- Retransmissions appear as \`[TCP Retransmission] \` at the start of Info, before the ports.
- \`frame.time_epoch\` in truth has 9 fractional digits for both captures (client's last three are 000).
- \`ip.id\` is printed in hex (\`0x1a2b\`), \`tcp.flags\` in hex (\`0x0012\`); in the \`-P -V\` text the flags appear as \`Flags: 0x012 (SYN, ACK)\`.
- ICMP error rows: the truth columns have two comma-separated values (outer header, then the header quoted in the ICMP payload).

## Facts to check by reading the files
$FACTS
EOF
say "done: $(du -sh "$OUT" | cut -f1) in $OUT"
ls -la "$OUT" >&2
