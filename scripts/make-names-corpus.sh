#!/usr/bin/env bash
# make-names-corpus.sh — host names for the tshark-netns capture, the two ways they reach a support engineer:
# a pcapng whose name resolution block tshark filled, and tcpdump's text with the names it resolved.
#
# usage: sudo scripts/make-names-corpus.sh [DIR]     (default: corpus/tshark-netns; reads DIR/client.pcap)
# Both tools resolve inside a network namespace made for the purpose, whose /etc/hosts (ip netns exec binds
# /etc/netns/NAME/hosts over it) names the two hosts and whose resolv.conf is empty, so nothing is asked of
# any DNS server. tshark reads the same names as a hosts file (-H, which it writes into the name resolution
# block) and also learns server.tj.test from the DNS answer inside the capture (-N d).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-$REPO/corpus/tshark-netns}
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
NS=tj-names
cleanup() { ip netns del $NS 2>/dev/null || true; rm -rf /etc/netns/$NS; }
trap cleanup EXIT
cleanup
mkdir -p /etc/netns/$NS
printf '127.0.0.1 localhost\n10.99.0.1 client.tj.test\n10.99.0.2 server.tj.test\nfd99::1 client6.tj.test\nfd99::2 server6.tj.test\n' > /etc/netns/$NS/hosts
: > /etc/netns/$NS/resolv.conf
ip netns add $NS
# -P prints while writing, which makes tshark resolve the addresses it shows; -W n writes what it resolved.
ip netns exec $NS env TZ=UTC timeout 60 tshark -r "$DIR/client.pcap" -P -N dn -H /etc/hosts -W n -w "$DIR/client.names.pcapng" >/dev/null 2>&1
ip netns exec $NS env TZ=UTC timeout 60 tcpdump -r "$DIR/client.pcap" -tttt 2>/dev/null > "$DIR/client.tcpdump-names.txt"
ls -la "$DIR/client.names.pcapng" "$DIR/client.tcpdump-names.txt"
