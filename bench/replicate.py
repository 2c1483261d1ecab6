#!/usr/bin/env python3
"""Grow a real capture into a big one: K time-shifted copies of base.pcap and of its tshark `-t ad` text.

usage: replicate.py BASE.pcap BASE.txt BASE.fields.tsv TARGET_PACKETS CLIENT_IP OUT.pcap OUT.txt META.json

Copy k (k = 0 .. K-1) of every packet is shifted by k*PERIOD seconds (PERIOD = base duration rounded up + 1 s,
so copies follow each other and never overlap), its client address becomes 10.99.100.(100+k) (same text width as
the base 10.99.100.100) and its client port p becomes 10000 + (p - 10000 + k*7919) mod 55536 (5 digits, like p).
Frame numbers run on: copy k frame i is k*N + i. In the text, only those byte ranges change (No., Time, the client
address, the client port in "p → q" Info pairs, frame references in "[TCP Dup ACK n#m]" / "(request in n)"), so
the layout stays tshark's own; in the pcap, IPv4/TCP checksums are updated incrementally (RFC 1624).
BASE.fields.tsv: tshark -T fields -e frame.number -e frame.time_epoch -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport
(no header; tab-separated).
"""
import json, math, re, struct, sys, time

base_pcap, base_txt, base_fields, target, client_ip, out_pcap, out_txt, meta_path = sys.argv[1:9]
target = int(target)
CIP = bytes(int(x) for x in client_ip.split("."))
assert client_ip.startswith("10.99.100.") and client_ip.endswith(".100"), "client must be 10.99.100.100"

# ---------------------------------------------------------------- base capture
raw = open(base_pcap, "rb").read()
magic = raw[:4]
assert magic == b"\xd4\xc3\xb2\xa1", "expects a little-endian microsecond pcap (tcpdump default)"
ghdr = raw[:24]
pkts, off = [], 24
while off < len(raw):
    sec, usec, incl, orig = struct.unpack_from("<IIII", raw, off)
    pkts.append((sec, usec, orig, raw[off + 16:off + 16 + incl])); off += 16 + incl
N = len(pkts)
lines = open(base_txt, "rb").read().split(b"\n")
if lines and lines[-1] == b"": lines.pop()
fields = [l.split("\t") for l in open(base_fields).read().split("\n") if l]
assert len(lines) == N == len(fields), (len(lines), N, len(fields))
first = pkts[0][0] + pkts[0][1] / 1e6
last = pkts[-1][0] + pkts[-1][1] / 1e6
PERIOD = int(math.ceil(last - first)) + 1
K = max(1, -(-target // N))
assert K <= 155, f"{K} copies needed: make the base capture bigger"

def new_port(p, k): return p if p < 10000 else 10000 + (p - 10000 + k * 7919) % 55536
def new_ip(k): return CIP[:3] + bytes([100 + k])

# ---------------------------------------------------------------- pcap
def csum_fix(ck, old, new):   # RFC 1624 eqn 3 over 16-bit words of old/new (equal even lengths)
    s = (~ck) & 0xffff
    for i in range(0, len(old), 2):
        s += ((~int.from_bytes(old[i:i + 2], "big")) & 0xffff) + int.from_bytes(new[i:i + 2], "big")
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

with open(out_pcap, "wb") as f:
    f.write(ghdr)
    for k in range(K):
        nip = new_ip(k); buf = []
        for sec, usec, orig, d in pkts:
            if k:
                d = bytearray(d)
                et = d[12:14]
                if et == b"\x08\x06":                                   # ARP: sender / target protocol address
                    for o in (28, 38):
                        if d[o:o + 4] == CIP: d[o:o + 4] = nip
                elif et == b"\x08\x00":
                    ihl = (d[14] & 15) * 4; ip = 14; l4 = ip + ihl
                    old_hdr = bytes(d[ip + 12:ip + 20])
                    for o in (ip + 12, ip + 16):
                        if d[o:o + 4] == CIP: d[o:o + 4] = nip
                    new_hdr = bytes(d[ip + 12:ip + 20])
                    if new_hdr != old_hdr:
                        ck = int.from_bytes(d[ip + 10:ip + 12], "big")
                        d[ip + 10:ip + 12] = csum_fix(ck, old_hdr, new_hdr).to_bytes(2, "big")
                    if d[ip + 9] == 6 and len(d) >= l4 + 18:
                        old_ports = bytes(d[l4:l4 + 4])
                        sp, dp = struct.unpack_from("!HH", d, l4)
                        if old_hdr[0:4] == CIP: sp = new_port(sp, k)
                        if old_hdr[4:8] == CIP: dp = new_port(dp, k)
                        struct.pack_into("!HH", d, l4, sp, dp)
                        ck = int.from_bytes(d[l4 + 16:l4 + 18], "big")
                        ck = csum_fix(ck, old_hdr + old_ports, new_hdr + bytes(d[l4:l4 + 4]))
                        d[l4 + 16:l4 + 18] = ck.to_bytes(2, "big")
                d = bytes(d)
            buf.append(struct.pack("<IIII", sec + k * PERIOD, usec, len(d), orig)); buf.append(d)
        f.write(b"".join(buf))

# ---------------------------------------------------------------- text
LINE = re.compile(rb"^( *)(\d+) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) (.*)$", re.S)
REF = re.compile(rb"(Dup ACK |request in |reply in |response in )(\d+)")
PAIR = re.compile(rb"(?<![\d.])(\d+) \xe2\x86\x92 (\d+)(?!\d)")   # "41001 → 8080" in Info
CIPB = client_ip.encode()
base = []
for i, l in enumerate(lines):
    m = LINE.match(l)
    assert m, l
    fn, epoch, src, dst, sport, dport = (fields[i] + [""] * 6)[:6]
    assert int(fn) == i + 1 and int(m.group(2)) == i + 1
    sec, _, frac = epoch.partition(".")
    cp = int(sport) if src == client_ip and sport else int(dport) if dst == client_ip and dport else None
    rest = m.group(4).replace(CIPB, b"\0I")              # template: \0I = client address, \0P = client port
    if cp is not None:
        rest = PAIR.sub(lambda m: b" \xe2\x86\x92 ".join(b"\0P" if int(x) == cp else x for x in m.groups()), rest, count=1)
    base.append((int(sec), frac[:6].encode(), rest, cp, bool(REF.search(rest))))
tcache = {}
def tstr(s):
    v = tcache.get(s)
    if v is None: v = tcache[s] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s)).encode()
    return v
with open(out_txt, "wb", buffering=1 << 20) as f:
    for k in range(K):
        nipb = ("10.99.100.%d" % (100 + k)).encode(); shift = k * PERIOD; fshift = k * N
        out = []
        for i, (sec, frac, rest, cp, refs) in enumerate(base):
            rest = rest.replace(b"\0I", nipb)
            if cp is not None: rest = rest.replace(b"\0P", str(new_port(cp, k)).encode())
            if refs and k: rest = REF.sub(lambda m: m.group(1) + str(int(m.group(2)) + fshift).encode(), rest)
            no = str(fshift + i + 1).encode()
            out.append(b" " * max(0, 5 - len(no)) + no + b" " + tstr(sec + shift) + b"." + frac + b" " + rest + b"\n")
        f.write(b"".join(out))

meta = {"base_packets": N, "copies": K, "packets": N * K, "period_s": PERIOD,
        "base_duration_s": round(last - first, 6), "client_ip_base": client_ip,
        "client_ips": f"10.99.100.100 .. 10.99.100.{100 + K - 1}", "port_shift": "10000 + (p - 10000 + k*7919) mod 55536"}
json.dump(meta, open(meta_path, "w"), indent=1)
print(json.dumps(meta))
