#!/usr/bin/env python3
"""echo-server.py ADDRESS PORT [--seconds N] — a TCP echo service for the corpus scripts' namespaces: every
connection gets back what it sends until it closes. It stops accepting after --seconds (bounded runs)."""
import argparse, socket, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("address"); ap.add_argument("port", type=int)
ap.add_argument("--seconds", type=float, default=60)
a = ap.parse_args()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((a.address, a.port)); s.listen(16)
deadline = time.time() + a.seconds

def serve(c):
    c.settimeout(a.seconds)
    try:
        while True:
            d = c.recv(4096)
            if not d: break
            c.sendall(d)
    except OSError:
        pass
    c.close()

while time.time() < deadline:
    s.settimeout(max(0.1, deadline - time.time()))
    try: c, _ = s.accept()
    except OSError: break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
