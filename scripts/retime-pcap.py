#!/usr/bin/env python3
"""retime-pcap.py — rewrite a classic pcap's packet times as a clock with an offset and a rate error would
have written them: t' = t + SHIFT + PPM·1e-6·(t − t_first). editcap -t does the shift; nothing in the
Wireshark suite does a rate, which is what clock drift is. Packets and their order are untouched.

usage: retime-pcap.py IN.pcap OUT.pcap --shift SECONDS --ppm PPM
"""
import argparse, struct, sys

ap = argparse.ArgumentParser()
ap.add_argument("src"); ap.add_argument("dst")
ap.add_argument("--shift", type=float, default=0.0)
ap.add_argument("--ppm", type=float, default=0.0)
a = ap.parse_args()
data = open(a.src, "rb").read()
magic = data[:4]
endian = {b"\xd4\xc3\xb2\xa1": ("<", 1e6), b"\xa1\xb2\xc3\xd4": (">", 1e6),
          b"\x4d\x3c\xb2\xa1": ("<", 1e9), b"\xa1\xb2\x3c\x4d": (">", 1e9)}.get(magic)
if endian is None:
    sys.exit("not a classic pcap file")
e, per = endian
out = bytearray(data[:24])
at, first = 24, None
while at + 16 <= len(data):
    sec, frac, incl, orig = struct.unpack(e + "IIII", data[at:at + 16])
    t = sec * per + frac                      # integer units of the file's resolution
    if first is None:
        first = t
    new = t + round(a.shift * per) + round((t - first) * a.ppm * 1e-6)
    out += struct.pack(e + "IIII", int(new // per), int(new % per), incl, orig) + data[at + 16:at + 16 + incl]
    at += 16 + incl
open(a.dst, "wb").write(out)
