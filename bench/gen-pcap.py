#!/usr/bin/env python3
"""A synthetic capture for push-bench.sh: N TCP packets over C connections (Ethernet/IPv4/TCP, µs pcap), 0.1 ms
apart: each connection a SYN, a SYN/ACK, then PSH/ACK segments of 0-49 bytes.

    gen-pcap.py N C OUT.pcap [W]

W: connections open at a time (default C: every connection lasts the whole capture, each packet of the next one).
With W, the connections go W at a time, each group's packets interleaved, the next group after it: how a capture
of many short connections looks.
"""
import struct, sys, random
n = int(sys.argv[1]); conns = int(sys.argv[2]); out = sys.argv[3]
window = int(sys.argv[4]) if len(sys.argv) > 4 else conns
per = max(1, n // conns)  # packets per connection
random.seed(1)
f = open(out, 'wb')
f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
t0 = 1795810000.0
def csum(b):
    s = 0
    for i in range(0, len(b), 2): s += (b[i] << 8) + (b[i+1] if i+1 < len(b) else 0)
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
seqs = {}
for i in range(n):
    c = (i // (window * per)) * window + i % window if window < conns else i % conns
    c %= conns
    cli = bytes([10, 1, (c >> 8) & 255, c & 255]); srv = bytes([10, 2, 0, 1])
    sport = 20000 + (c % 40000); dport = 443
    k = seqs.get(c, 0); seqs[c] = k + 1
    fwd = (k % 2 == 0)
    src, dst, sp, dp = (cli, srv, sport, dport) if fwd else (srv, cli, dport, sport)
    flags = 0x02 if k == 0 else (0x12 if k == 1 else 0x18)
    payload = b'' if k < 2 else b'x' * (k % 50)
    tcp = struct.pack('>HHIIBBHHH', sp, dp, 1000 + k * 100, 2000 + k * 100 if k else 0, 5 << 4, flags, 64240, 0, 0) + payload
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), i & 0xffff, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack('>H', csum(ip)) + ip[12:]
    eth = b'\x00\x11\x22\x33\x44\x55' + b'\x66\x77\x88\x99\xaa\xbb' + b'\x08\x00'
    pkt = eth + ip + tcp
    t = t0 + i * 0.0001
    f.write(struct.pack('<IIII', int(t), int((t % 1) * 1e6), len(pkt), len(pkt)) + pkt)
f.close()
