#!/usr/bin/env python3
"""gen-netmon.py — a Network Monitor text export of an ETL trace with at least N lines, made from the Lync Edge
seed's shapes (corpus/lync-edge/edge-etl.txt): the 44-line connection attempt repeated with fresh frame numbers,
ports, pointers, ISNs and times, so every line is one the parser meets in the field. For benchmarks only.

usage: gen-netmon.py OUT.txt [LINES]      (default 1,000,000)
"""
import re, sys
import os
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "lync-edge", "edge-etl.txt")).read().splitlines()
out_path = sys.argv[1]
want = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
base_frame, base_rel = 106612, 713.4871675
with open(out_path, "w") as out:
    n, k = 0, 0
    while n < want:
        port = 10000 + k % 50000
        shift = k * 0.5                        # seconds: a new attempt every half second (hours, not days)
        for line in src:
            frame, wall, ampm, date, rel, rest = line.split(" ", 5)
            r = float(rel) + shift
            secs = int(r - base_rel + 11 * 3600 + 18 * 60 + 57) % 86400
            h, m, s = secs // 3600, secs // 60 % 60, secs % 60
            ap = "AM" if h < 12 else "PM"
            h12 = h % 12 or 12
            rest = rest.replace("50357", str(port)).replace("C4B5", "%04X" % port)
            rest = rest.replace("829C860", "%07X" % (0x829C860 + k * 0x100)).replace("82D19B0", "%07X" % (0x82D19B0 + k * 0x100))
            rest = rest.replace("2232090326", str((2232090326 + k * 7919) % 2**32))
            out.write("%d %d:%02d:%02d %s %s %.7f %s\n" % (int(frame) - base_frame + 1 + k * 1000, h12, m, s, ap, date, r, rest))
            n += 1
        k += 1
