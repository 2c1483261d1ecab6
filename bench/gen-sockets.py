#!/usr/bin/env python3
"""gen-sockets.py OUT ROWS — a collection loop's file (`while true; do date; ss -tanp; sleep 60; done`) with about
ROWS socket rows, made from the shapes of corpus/sockets-netns/ss-server.txt: each snapshot lists a listener
and 1000 connections; as in a real loop most are the same sockets as a minute before, a few closed and new
ones opened each time, and half-closed ones pile up in CLOSE-WAIT."""
import random, sys, time

out, rows = sys.argv[1], int(sys.argv[2])
per = 1000
rng = random.Random(7)
t = 1795812789  # 2026-11-27T20:53:09Z, the corpus's first snapshot
next_port = 20000
def new_socket():
    global next_port
    next_port = 20000 + (next_port - 19999) % 40000
    return {"peer": "10.95.%d.%d" % (rng.randrange(250), 1 + rng.randrange(250)), "port": next_port, "state": "ESTAB", "fd": rng.randrange(4, 60000)}
pool = [new_socket() for _ in range(per)]
with open(out, "w") as f:
    n = snap = 0
    while n < rows:
        f.write(time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(t + 60 * snap)) + "\n")
        f.write("State      Recv-Q Send-Q Local Address:Port Peer Address:Port Process                           \n")
        f.write('LISTEN     0      16         10.95.0.2:8000      0.0.0.0:*     users:(("python3",pid=19170,fd=3))\n')
        for s in pool:
            users = '' if s["state"] == "TIME-WAIT" else 'users:(("python3",pid=19170,fd=%d))' % s["fd"]
            f.write("%-10s 0      0          10.95.0.2:8000 %s:%d %s\n" % (s["state"], s["peer"], s["port"], users))
        n += per + 1
        snap += 1
        # A minute later: some close (TIME-WAIT, then gone), some half-close and stay in CLOSE-WAIT, new ones come.
        for i, s in enumerate(pool):
            r = rng.random()
            if s["state"] == "TIME-WAIT" or (s["state"] == "ESTAB" and r < 0.02):
                pool[i] = new_socket()
            elif s["state"] == "ESTAB" and r < 0.04:
                s["state"] = "TIME-WAIT"
            elif s["state"] == "ESTAB" and r < 0.042:
                s["state"] = "CLOSE-WAIT"
