#!/usr/bin/env bash
# make-pjsip-corpus.sh — a real PJSIP log: a pjsua2 user agent (scripts/pjsua-call.py, PJSIP 2.15.1 from
# PyPI's `pjsua2-python` wheel: Debian has no pjsua) calls SIPp's built-in UAS once over UDP and once over
# TCP, and hangs up; PJSIP writes every SIP message it sends and receives in its log at level 5.
# 1. UDP call (INVITE, 180, 200, ACK, BYE, 200)     pjsua-udp.log
# 2. TCP call, the same                             pjsua-tcp.log
#
# usage: sudo scripts/make-pjsip-corpus.sh [OUT_DIR]      (default: corpus/sip-pjsua)
#        PYTHON=/path/to/venv/bin/python (a Python that can `import pjsua2`; default python3)
#
#   tjs-ua 10.85.0.1 (pjsua, 5070) ── veth ── tjs-sv 10.85.0.2 (sipp -sn uas, 5060)
#
# 3. pjsua REGISTERs with SIPp's UAS (expecting an INVITE): SIPp's error log holds the REGISTER it aborted on
#                                                    pjsua-register.log, uas-register-errors.txt
# tcpdump on the UA's veth (sip.pcap) and tshark's reading of its SIP messages (sip-tshark.tsv): the truth the
# tests hold the log to. Everything stays in the namespaces made here and deleted at the end.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO/corpus/sip-pjsua}
PY=${PYTHON:-python3}
. "$REPO/scripts/netns-lib.sh"
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
for t in sipp tcpdump tshark; do command -v $t >/dev/null || { echo "missing: $t (apt-get install -y sip-tester tcpdump tshark)" >&2; exit 1; }; done
"$PY" -c 'import pjsua2' 2>/dev/null || { echo "missing: pjsua2 (pip install pjsua2-python, then PYTHON=that python)" >&2; exit 1; }
U=tjs-ua S=tjs-sv
WORK=$(mktemp -d /tmp/tjs.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $U $S; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $U $S; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add tjs-u0 netns $U type veth peer name tjs-s0 netns $S
addr_up $U tjs-u0 10.85.0.1/24
addr_up $S tjs-s0 10.85.0.2/24
ip netns exec $U ip route add default via 10.85.0.2   # pjsua takes its SDP address from the default route
cd "$WORK"
ip netns exec $U tcpdump -i tjs-u0 --immediate-mode -U -n -s 0 -w "$WORK/sip.pcap" port 5060 or port 5070 >/dev/null 2>&1 & TCPDUMP=$!; PIDS+=($TCPDUMP)
sleep 1
# run TRANSPORT(u1|t1) pjsua-transport(udp|tcp): one UAS call, one pjsua call into the same log file.
run() {
  ip netns exec $S timeout 30 sipp -sn uas -i 10.85.0.2 -p 5060 -t $1 -m 1 -timeout 20s -nostdin >"uas-$2.out" 2>&1 & local pid=$!; PIDS+=($pid)
  sleep 1
  ip netns exec $U timeout 30 "$PY" "$REPO/scripts/pjsua-call.py" "$WORK/pjsua-$2.log" 10.85.0.1 5070 sip:service@10.85.0.2:5060 $2 1
  wait $pid || echo "uas $2: exit $?"
  sleep 1
}
run u1 udp
run t1 tcp
# 3. pjsua registers with the UAS, whose scenario expects an INVITE: SIPp aborts that call and writes the REGISTER
#    into its error log (-trace_err); pjsua resends it (RFC 3261 timer E) and then learns the port is closed.
ip netns exec $S timeout 30 sipp -sn uas -i 10.85.0.2 -p 5060 -t u1 -m 1 -timeout 5s -nostdin -trace_err -error_file "$WORK/uas-register-errors.txt" >uas-register.out 2>&1 & REG=$!; PIDS+=($REG)
sleep 1
ip netns exec $U timeout 30 "$PY" "$REPO/scripts/pjsua-call.py" "$WORK/pjsua-register.log" 10.85.0.1 5070 register:sip:10.85.0.2:5060 udp 3
wait $REG || echo "uas register: exit $? (the aborted call counts failed)"
sleep 1; kill -INT $TCPDUMP; wait $TCPDUMP 2>/dev/null || true
mkdir -p "$OUT"
cp pjsua-*.log uas-register-errors.txt sip.pcap "$OUT/"
tshark -r sip.pcap -Y sip -T fields -E header=y -E separator=/t -E occurrence=f \
  -e frame.number -e frame.time_epoch -e ip.proto -e ip.src -e udp.srcport -e tcp.srcport -e ip.dst -e udp.dstport -e tcp.dstport \
  -e sip.Call-ID -e sip.CSeq -e sip.Request-Line -e sip.Status-Line > "$OUT/sip-tshark.tsv"
sippv=$(sipp -v 2>&1 || true)
{ echo "pjsua2 $("$PY" -c 'import pjsua2 as pj; e = pj.Endpoint(); print(e.libVersion().full)' 2>/dev/null) (PyPI pjsua2-python)"; echo "$sippv" | grep -m1 SIPp | sed 's/^ *//'; tcpdump --version 2>&1 | head -1; tshark --version | head -1; uname -sr; } > "$OUT/VERSIONS"
ls -la "$OUT"
