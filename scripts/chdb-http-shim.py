#!/usr/bin/env python3
"""ClickHouse's HTTP interface in front of chDB (ClickHouse 26.9 in process), on loopback, for tests and benchmarks.

Debian's real server is 18.16; the current engine exists here only in process (PyPI's chdb-core). This shim lets
tracejoin's own HTTP client push to it and read from it, so the current schema and every query the reader sends run
on 26.9 end to end (../shared/SCALEOUT.md §3.2, "Tier A'").

    chdb-http-shim.py DATA_DIR PORT [--explain LOG]

- `POST /?query=INSERT … FORMAT RowBinary` with the rows as the body (chunked or not, gzip or not): the rows go to a temporary
  file and in through `INSERT … FROM INFILE` (chDB has no request body); the URL's settings
  (insert_deduplication_token, …) follow as SETTINGS.
- `POST /` with a statement as the body, `param_NAME=` URL parameters: run with those parameters; a trailing
  `FORMAT RowBinary` answers RowBinary, anything else TabSeparated (HTTP's default).
- `--explain LOG`: every SELECT that reads the events table is also run as `EXPLAIN indexes = 1`, and one JSON line
  per query goes to LOG: {"sql", "granules": [[selected, total], …]} (each index step's granules).
- Errors answer 500 with ClickHouse's message (`Code: N. DB::Exception: …`), as a server does.
Binds 127.0.0.1 only; stops on SIGTERM. Exit 2 when chDB is missing.
"""
import gzip
import json
import os
import re
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from chdb import session as chs
except ImportError:
    print("chdb-core is not installed (pip install chdb-core==26.9.0)", file=sys.stderr)
    sys.exit(2)

DATA, PORT = sys.argv[1], int(sys.argv[2])
EXPLAIN_LOG = sys.argv[sys.argv.index("--explain") + 1] if "--explain" in sys.argv else None
SESSION = chs.Session(os.path.join(DATA, "chdb"))
LOCK = threading.Lock()  # one statement at a time: a chDB session is not shared between threads
INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\S+)\s*(\([^)]*\))?\s*FORMAT\s+(\w+)\s*$", re.I | re.S)
GRANULES = re.compile(r"Granules: (\d+)/(\d+)")
# Settings the client sends that name no setting of a single chDB session (a cluster's), left out.
NOT_HERE = {"insert_distributed_sync"}


def literal(v):
    return v if re.fullmatch(r"-?\d+", v) else "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def answer(self, status, data):
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        args = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        data = self.body()
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            data = gzip.decompress(data)
        params = {k[6:]: v for k, v in args.items() if k.startswith("param_")}
        settings = {k: v for k, v in args.items() if k != "query" and not k.startswith("param_") and k not in NOT_HERE}
        try:
            if "query" in args:
                m = INSERT.match(args["query"])
                if not m:
                    raise RuntimeError("Code: 62. DB::Exception: the shim reads only INSERT … FORMAT F in the URL")
                with tempfile.NamedTemporaryFile(dir=DATA, suffix=".rows", delete=False) as f:
                    f.write(data)
                sets = "".join(f"{', ' if i else ' SETTINGS '}{k} = {literal(v)}" for i, (k, v) in enumerate(settings.items()))
                try:
                    with LOCK:
                        SESSION.query(f"INSERT INTO {m.group(1)} {m.group(2) or ''} FROM INFILE '{f.name}'{sets} FORMAT {m.group(3)}")
                finally:
                    os.unlink(f.name)
                return self.answer(200, b"")
            sql = data.decode()
            fmt = "TabSeparated"
            tail = re.search(r"\s+FORMAT\s+(\w+)\s*$", sql, re.I)
            if tail:
                fmt, sql = tail.group(1), sql[:tail.start()]
            if "mutations_sync" in settings and sql.lstrip().upper().startswith("ALTER"):
                sql += f" SETTINGS mutations_sync = {settings['mutations_sync']}"
            with LOCK:
                result = SESSION.query(sql, fmt, params=params).bytes()
                if EXPLAIN_LOG and re.search(r"\bFROM\s+\S+\.events\b", sql) and sql.lstrip().upper().startswith("SELECT"):
                    plan = SESSION.query("EXPLAIN indexes = 1 " + sql, "TabSeparated", params=params).bytes().decode()
                    with open(EXPLAIN_LOG, "a") as log:
                        log.write(json.dumps({"sql": sql, "granules": [[int(a), int(b)] for a, b in GRANULES.findall(plan)]}) + "\n")
            self.answer(200, result)
        except Exception as e:  # chDB raises with ClickHouse's own message
            text = str(e)
            if not text.startswith("Code:"):
                text = "Code: 1000. DB::Exception: " + text
            self.answer(500, text.encode())


if __name__ == "__main__":
    os.makedirs(DATA, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    import signal
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"chdb-http-shim: ClickHouse {SESSION.query('SELECT version()', 'TabSeparated').bytes().decode().strip()} on 127.0.0.1:{PORT}", flush=True)
    server.serve_forever()
