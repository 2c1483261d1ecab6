# netns-lib.sh — sourced by the corpus scripts that build namespaces: one way to bring an addressed veth
# end up (offloads off, so captures show real segments and checksums) and to make a bridge's ports.

# addr_up NS IF CIDR
addr_up() {
  ip netns exec "$1" ip link set "$2" up
  ip netns exec "$1" ip addr add "$3" dev "$2"
  ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
}

# bridge_ports NS IF... — unaddressed, promiscuous ends for wanbridge.py (TX checksums computed in software).
bridge_ports() {
  local ns=$1; shift
  for i in "$@"; do
    ip netns exec "$ns" ip link set "$i" up promisc on
    ip netns exec "$ns" ethtool -K "$i" tx off >/dev/null 2>&1 || true
  done
}
