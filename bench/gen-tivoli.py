#!/usr/bin/env python3
"""gen-tivoli.py OUT LINES — a Tivoli proxy log of about LINES lines made from corpus/tivoli-proxy's lines
(handshake steps, routed-session failures wrapped at 80 columns), one second apart."""
import sys, time
out, lines = sys.argv[1], int(sys.argv[2])
shapes = [
    "routingManager: WHO command received [l=null]",
    "routingManager: TELL reply command received",
    "ERROR multiplex.newsessopen: cannot open connection (-1)",
    "routingManager: TELL command received [l=ascotti_gwp1]",
    "gatewayProxySender [gw=9] failure creating a routed session for nti281-gwp.",
    "routedSessionCreate: [rs=8128] open session failed (e=-2)",
]
t0 = time.mktime((2009, 10, 13, 10, 0, 0, 0, 0, 0))
with open(out, "w") as f:
    n = i = 0
    while n < lines:
        stamp = time.strftime("%y/%m/%d %H:%M:%S", time.gmtime(t0 + i))
        line = "%s  %d  %d %s" % (stamp, 1 + i % 3, 7000 + i % 997, shapes[i % len(shapes)])
        # The proxies wrap at 80 columns.
        while len(line) > 80:
            f.write(line[:80] + "\n"); line = line[80:]; n += 1
        f.write(line + "\n"); n += 1; i += 1
