#!/usr/bin/env bash
# make-sip-corpus.sh — real SIP calls between SIPp's built-in UAC and UAS in two network namespaces, with
# SIPp's own message dumps (-trace_msg) at both ends and a capture of the same traffic.
#
# usage: sudo scripts/make-sip-corpus.sh [OUT_DIR]      (default: corpus/sip-sipp)
#   env RUNS="udp tcp busy" (which of the runs below), MTU=1500 (the veth's: MTU=400 RUNS=tcp makes every
#   INVITE and 200 OK with SDP two TCP segments — corpus/sip-segmented, for reassembly)
#
#   tjp-uac 10.94.0.1 ── veth ── tjp-uas 10.94.0.2      SIP on 5060 at both ends
#
# 1. UDP: 3 calls (INVITE, 180, 200, ACK, BYE, 200), one a second      uac-udp.log, uas-udp.log
# 2. TCP (-t t1: one connection for every call): 2 calls               uac-tcp.log, uas-tcp.log
# 3. UDP: 1 failing call, the UAS answering 486 Busy Here (scripts/sipp-uas-busy.xml); the UAC's built-in
#    scenario expects 180/200, so SIPp logs the 486 as unexpected (a second, timeless block) and ACKs it
#                                                                      uac-busy.log, uas-busy.log
# tcpdump on the UAC's veth for all three (sip.pcap), and tshark's reading of its SIP messages as truth
# (sip-tshark.tsv). SIPp's -trace_err files, where SIPp wrote one, are kept as *-errors.txt.
# Everything stays in the namespaces made here and deleted at the end; every SIPp run has a -timeout and a
# `timeout` around it.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO/corpus/sip-sipp}
. "$REPO/scripts/netns-lib.sh"
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
for t in sipp tcpdump tshark; do command -v $t >/dev/null || { echo "missing: $t (apt-get install -y sip-tester tcpdump tshark)" >&2; exit 1; }; done
C=tjp-uac S=tjp-uas
WORK=$(mktemp -d /tmp/tjp.XXXXXX); PIDS=()
cleanup() { set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3; for ns in $C $S; do ip netns del $ns 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
for ns in $C $S; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip netns exec $ns ip link set lo up; ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip link add tjp-c0 netns $C type veth peer name tjp-s0 netns $S
addr_up $C tjp-c0 10.94.0.1/24
addr_up $S tjp-s0 10.94.0.2/24
MTU=${MTU:-1500}; RUNS=${RUNS:-udp tcp busy}
ip netns exec $C ip link set tjp-c0 mtu "$MTU"; ip netns exec $S ip link set tjp-s0 mtu "$MTU"
cp "$REPO/scripts/sipp-uas-busy.xml" "$WORK/"
cd "$WORK"

# --immediate-mode, and a second's wait before stopping it: else the last packets are lost.
ip netns exec $C tcpdump -i tjp-c0 --immediate-mode -U -n -s 0 -w "$WORK/sip.pcap" port 5060 >/dev/null 2>&1 & TCPDUMP=$!; PIDS+=($TCPDUMP)
sleep 1

# run NAME TRANSPORT CALLS UAS-SCENARIO: one UAS (in the background) and one UAC, each with its own dump.
run() {
  local name=$1 t=$2 calls=$3 uas=$4
  ip netns exec $S timeout 30 sipp $uas -i 10.94.0.2 -p 5060 -t $t -m $calls -timeout 25s -nostdin \
     -trace_msg -message_file "uas-$name.log" -trace_err -error_file "uas-$name-errors.txt" >"uas-$name.out" 2>&1 & local pid=$!; PIDS+=($pid)
  sleep 1
  ip netns exec $C timeout 30 sipp -sn uac 10.94.0.2:5060 -i 10.94.0.1 -p 5060 -t $t -m $calls -r 1 -l 1 -timeout 25s -nostdin \
     -trace_msg -message_file "uac-$name.log" -trace_err -error_file "uac-$name-errors.txt" >"uac-$name.out" 2>&1 || echo "uac $name: exit $? (a failed call makes SIPp exit 1)"
  wait $pid || echo "uas $name: exit $?"
  sleep 1
}
for r in $RUNS; do
  case $r in
    udp) run udp u1 3 "-sn uas" ;;
    tcp) run tcp t1 2 "-sn uas" ;;
    busy) run busy u1 1 "-sf sipp-uas-busy.xml" ;;
    *) echo "unknown run: $r" >&2; exit 1 ;;
  esac
done

sleep 1; kill -INT $TCPDUMP; wait $TCPDUMP 2>/dev/null || true
mkdir -p "$OUT"
cp uac-*.log uas-*.log sip.pcap "$OUT/"
for f in *-errors.txt; do if [[ -s $f ]]; then cp "$f" "$OUT/"; fi; done
# SIPp's last screen of each run (its call counts), for the README: why a run exited 1.
for f in *.out; do tr -d '\r' < "$f" | grep -aE 'Successful call|Failed call|Test Terminated|error|Error' > "$OUT/${f%.out}-screen.out" || true; done
# tshark's own reading of every SIP message in the capture: the truth the tests hold the dumps to.
tshark -r sip.pcap -Y sip -T fields -E header=y -E separator=/t -E occurrence=f \
  -e frame.number -e frame.time_epoch -e ip.proto -e ip.src -e udp.srcport -e tcp.srcport -e ip.dst -e udp.dstport -e tcp.dstport \
  -e sip.Call-ID -e sip.CSeq -e sip.Request-Line -e sip.Status-Line > "$OUT/sip-tshark.tsv"
# (sipp -v exits 1, and grep -m1 would close its pipe early: read it whole first)
sippv=$(sipp -v 2>&1 || true)
{ echo "$sippv" | grep -m1 SIPp | sed 's/^ *//'; echo "veth MTU $MTU, runs: $RUNS"; tcpdump --version 2>&1 | head -1; tshark --version | head -1; uname -sr; } > "$OUT/VERSIONS"
ls -la "$OUT"
