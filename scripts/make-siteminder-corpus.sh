#!/usr/bin/env bash
# make-siteminder-corpus.sh — the seed's Web Agent ↔ Policy Server handshake (shared/seeds/siteminder-webagent-
# handshake.txt), played for real between two network namespaces and captured at both ends as the seed asks
# ("tcp.port == 44443" at the Policy Server and at the Web Agent), with the trace logs each side writes of
# what it did: the Policy Server's smtracedefault.log in the seed's data: columns and the Web Agent's
# WebAgentTrace.log. The SiteMinder protocol is not spoken (it is encrypted and unpublished): a small Python
# "policy server" and "agent" exchange messages of the same story — the trusted host name in clear in the
# agent's first message (the seed's frame 4), random bytes for the encrypted rest.
#
# usage: sudo scripts/make-siteminder-corpus.sh [OUT_DIR]      (default: corpus/siteminder-scenario)
# The corpus's README.md (what is real, what reconstructed) and expected.json are written by hand: a new run keeps
# the ports, sizes and line order but changes the times, so expected.json's opened_at values would need updating.
#
#   tjsm-wa 10.93.0.2 ── tjsm-wan (wanbridge.py: 5 ms each way) ── tjsm-ps 10.93.0.10 (SmHost.conf),
#                                                                  10.93.0.11–13 (PS1–PS3 of the HCO), TCP 44443
# The seed's story: the agent bootstraps from 49286 to the SmHost.conf server (handshake with trusted host
# "trustme", downloads the HCO, disconnects); connects to PS1, PS2, PS3 from 49287, 49288, 49289; handshakes
# with PS1 and, the HCO's new socket step being 2, opens a second connection to PS1 from 49290 and handshakes on
# it; "same is repeated for PS2 and PS3" (49291, 49292 — ports the seed does not name). Then one IsProtected
# request on each server's first connection, and the agent shuts down, closing every connection.
# Both programs write their trace lines at the moment they act, from their own sockets (getsockname/accept), in
# UTC. Namespaces deleted at the end; every wait is bounded.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/scripts/netns-lib.sh"
OUT=${1:-$REPO/corpus/siteminder-scenario}
WANBRIDGE=${WANBRIDGE:-}
for w in "$REPO/../shared/tools/wanbridge.py" /work/shared/tools/wanbridge.py; do [[ -z $WANBRIDGE && -f $w ]] && WANBRIDGE=$w; done
[[ -f $WANBRIDGE ]] || { echo "wanbridge.py not found" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "missing: tcpdump" >&2; exit 1; }
A=tjsm-wa W=tjsm-wan P=tjsm-ps
WORK=$(mktemp -d /tmp/tjsm.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $A $W $P; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $A $W $P; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add tjsm-a0 netns $A type veth peer name tjsm-wa netns $W
ip link add tjsm-wp netns $W type veth peer name tjsm-p0 netns $P
addr_up $A tjsm-a0 10.93.0.2/24
addr_up $P tjsm-p0 10.93.0.10/24
for x in 11 12 13; do ip netns exec $P ip addr add 10.93.0.$x/24 dev tjsm-p0; done
bridge_ports $W tjsm-wa tjsm-wp
ip netns exec $W timeout 30 python3 "$WANBRIDGE" tjsm-wa tjsm-wp --delay-ms 5 --seconds 25 >/dev/null 2>&1 & PIDS+=($!)

# Both programs: a message is 2 bytes type + 2 bytes length + body. Type 1 is the handshake (the agent's body
# opens with its trusted host name, NUL-ended, then random bytes; the server answers random bytes), type 2 a
# request (GetConfig, IsProtected) and its response.
cat > "$WORK/smtrace.py" <<'PY'
import os, threading, time
class Trace:
    """One trace file: a header line naming the columns, its underline, then a [field] per column each line."""
    def __init__(self, path, columns):
        self.f = open(path, "w"); self.columns = columns; self.lock = threading.Lock()
        self.f.write("".join("[%s]" % c for c in columns) + "\n")
        self.f.write("".join("[%s]" % ("=" * len(c)) for c in columns) + "\n"); self.f.flush()
    def line(self, **v):
        t = time.time_ns()
        g = time.gmtime(t // 1_000_000_000)
        v.setdefault("Date", time.strftime("%m/%d/%Y", g))
        v.setdefault("PreciseTime", time.strftime("%H:%M:%S", g) + ".%03d" % (t // 1_000_000 % 1000))
        v.setdefault("Pid", os.getpid()); v.setdefault("Tid", threading.get_native_id())
        with self.lock:
            self.f.write("".join("[%s]" % v.get(c, "") for c in self.columns) + "\n"); self.f.flush()
def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: return None
        b += c
    return b
def recv_msg(s):
    h = recv_exact(s, 4)
    if h is None: return None, None
    body = recv_exact(s, int.from_bytes(h[2:4], "big"))
    return int.from_bytes(h[0:2], "big"), body
def send_msg(s, kind, body):
    s.sendall(kind.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body)
    return 4 + len(body)
PY

cat > "$WORK/server.py" <<'PY'
import os, socket, sys, threading
sys.path.insert(0, os.path.dirname(__file__)); from smtrace import Trace, recv_msg, send_msg
# The seed's trace configuration, data: list (smtracedefault.txt).
T = Trace(sys.argv[1], ["Date", "PreciseTime", "Pid", "Tid", "SrcFile", "Function", "IPAddr", "IPPort", "Message", "ClusterID", "Throughput"])
HCO = b"hco\x00" + b"10.93.0.11,44441,44442,44443\x0010.93.0.12,44441,44442,44443\x0010.93.0.13,44441,44442,44443\x00"
def serve(c, peer, local):
    ip, port = peer
    c.settimeout(15)
    T.line(SrcFile="CServer.cpp:1612", Function="CServer::AcceptConnection", IPAddr=ip, IPPort=port, Message="Accepted connection on %s:%d" % local)
    n = 0
    while n < 10:
        n += 1
        kind, body = recv_msg(c)
        if kind is None:
            T.line(SrcFile="CServer.cpp:1896", Function="CServer::CloseConnection", IPAddr=ip, IPPort=port, Message="Agent closed the connection")
            break
        if kind == 1:
            host = body.split(b"\x00")[0].decode()
            T.line(SrcFile="CSmTunnelServer.cpp:388", Function="CSmTunnelServer::ReceiveHello", IPAddr=ip, IPPort=port,
                   Message="Receive handshake from trusted host %s, data size is %d" % (host, len(body) + 4))
            sent = send_msg(c, 1, os.urandom(44))
            T.line(SrcFile="CSmTunnelServer.cpp:452", Function="CSmTunnelServer::SendHelloResponse", IPAddr=ip, IPPort=port,
                   Message="Send handshake response, data size is %d" % sent)
            T.line(SrcFile="CServer.cpp:2088", Function="CServer::Handshake", IPAddr=ip, IPPort=port,
                   Message="Handshake with trusted host %s completed" % host, ClusterID="0")
        else:
            what = body.split(b"\x00")[0].decode()
            attr = 200 if what == "GetConfig" else 201
            T.line(SrcFile="CServer.cpp:2431", Function="CServer::ProcessRequest", IPAddr=ip, IPPort=port,
                   Message="Receive request attribute %d, data size is %d" % (attr, len(body) + 4))
            reply = HCO + os.urandom(200) if what == "GetConfig" else os.urandom(36)
            sent = send_msg(c, 2, reply)
            T.line(SrcFile="CServer.cpp:2502", Function="CServer::ProcessRequest", IPAddr=ip, IPPort=port,
                   Message="Send response attribute %d, data size is %d" % (attr + 4, sent))
    c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 44443)); s.listen(16); s.settimeout(15)
T.line(SrcFile="CServer.cpp:1011", Function="CServer::Listen", Message="Listening for agent connections on port 44443")
threads = []
for _ in range(7):
    c, peer = s.accept()
    t = threading.Thread(target=serve, args=(c, peer, c.getsockname())); t.start(); threads.append(t)
for t in threads: t.join(20)
PY

cat > "$WORK/agent.py" <<'PY'
import os, socket, sys, time
sys.path.insert(0, os.path.dirname(__file__)); from smtrace import Trace, recv_msg, send_msg
# An Agent Connection Manager trace (AgentConMgr.conf): the columns of the seed's list that an agent fills.
T = Trace(sys.argv[1], ["Date", "PreciseTime", "Pid", "Tid", "SrcFile", "Function", "IPAddr", "IPPort", "Message"])
def line(s, src, fn, msg):
    ip, port = s.getsockname()
    T.line(SrcFile=src, Function=fn, IPAddr=ip, IPPort=port, Message=msg)
def connect(server, port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.settimeout(10)
    s.bind(("10.93.0.2", port)); s.connect((server, 44443))
    line(s, "CSmAgentConnection.cpp:214", "CSmAgentConnection::Connect", "Connected to Policy Server %s:44443" % server)
    return s
def handshake(s, server):
    sent = send_msg(s, 1, b"trustme\x00" + os.urandom(56))
    line(s, "CSmAgentConnection.cpp:301", "CSmAgentConnection::Handshake", "Send handshake to Policy Server %s:44443 as trusted host trustme, data size is %d" % (server, sent))
    kind, body = recv_msg(s)
    line(s, "CSmAgentConnection.cpp:342", "CSmAgentConnection::Handshake", "Handshake with Policy Server %s:44443 completed, response data size is %d" % (server, len(body) + 4))
    time.sleep(0.04)
def request(s, server, what, fn):
    sent = send_msg(s, 2, what.encode() + b"\x00" + os.urandom(24))
    line(s, "CSmAgentConnection.cpp:517", fn, "Send %s request to Policy Server %s:44443, data size is %d" % (what, server, sent))
    kind, body = recv_msg(s)
    line(s, "CSmAgentConnection.cpp:563", fn, "Received %s response from Policy Server %s:44443, data size is %d" % (what, server, len(body) + 4))
    time.sleep(0.04)
    return body
def close(s, server, why):
    line(s, "CSmAgentConnection.cpp:640", "CSmAgentConnection::Close", "Closing connection to Policy Server %s:44443 (%s)" % (server, why))
    s.close()
# Bootstrap from SmHost.conf: handshake, the HCO, disconnect (the seed's frames 1-12, port 49286).
boot = connect("10.93.0.10", 49286)
handshake(boot, "10.93.0.10")
hco = request(boot, "10.93.0.10", "GetConfig", "CSmAgentConnection::GetConfig")
servers = [x.split(b",")[0].decode() for x in hco.split(b"\x00")[1:4]]
close(boot, "10.93.0.10", "host configuration object hco read: %d Policy Servers, new socket step 2" % len(servers))
time.sleep(0.1)
# One connection to every Policy Server of the HCO (frames 13, 16, 19: 49287, 49288, 49289).
first = [connect(ps, 49287 + k) for k, ps in enumerate(servers)]
time.sleep(0.1)
# Per server: handshake on the first connection, a second connection (new socket step 2), handshake on it.
second = []
for k, ps in enumerate(servers):
    handshake(first[k], ps)
    s2 = connect(ps, 49290 + k)
    handshake(s2, ps)
    second.append(s2)
time.sleep(0.1)
for k, ps in enumerate(servers):
    request(first[k], ps, "IsProtected", "CSmAgentConnection::IsProtected")
time.sleep(0.2)
for k, ps in enumerate(servers):
    close(first[k], ps, "agent shutting down"); close(second[k], ps, "agent shutting down")
PY

sleep 1
ip netns exec $P tcpdump -i tjsm-p0 -s 96 -U --immediate-mode -n -w "$WORK/policyserver.pcap" tcp port 44443 >/dev/null 2>&1 & PIDS+=($!)
ip netns exec $A tcpdump -i tjsm-a0 -s 96 -U --immediate-mode -n -w "$WORK/webagent.pcap" tcp port 44443 >/dev/null 2>&1 & PIDS+=($!)
ip netns exec $P timeout 25 python3 "$WORK/server.py" "$WORK/policyserver.smtracedefault.log" & SERVER=$!
sleep 1
ip netns exec $A timeout 20 python3 "$WORK/agent.py" "$WORK/webagent.WebAgentTrace.log"
wait $SERVER || { echo "policy server failed" >&2; exit 1; }
sleep 1
kill -INT "${PIDS[@]:1}" 2>/dev/null || true; sleep 1
mkdir -p "$OUT"
cp "$WORK/policyserver.pcap" "$WORK/webagent.pcap" "$WORK/policyserver.smtracedefault.log" "$WORK/webagent.WebAgentTrace.log" "$OUT/"
# The trace configurations beside the logs: the seed's, verbatim, and the agent's (its columns as written above).
cp "$REPO/corpus/siteminder-handshake/smtracedefault.txt" "$OUT/"
printf 'components: Agent_Con_Manager\ndata: Date, PreciseTime, Pid, Tid, SrcFile, Function, IPAddr, IPPort, Message\n' > "$OUT/AgentConMgr.conf"
echo "$(tcpdump --version 2>&1 | head -1); $(python3 --version); wanbridge 5 ms each way; $(uname -sr)" > "$OUT/VERSIONS"
ls -la "$OUT"
