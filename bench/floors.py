#!/usr/bin/env python3
"""floors.py — what the ingest of one file cannot go below on this machine, next to what tracejoin takes.

A benchmark, not a test. For a file (default: bench/out/gen/big.pcap and bench/out/gen/netmon-big.txt) it
ingests the file once with tracejoin, then times, each on one core and with public tools only:

  read       the file's bytes from the page cache (`cat FILE > /dev/null`, best of 3, after a warm read)
  compress   the source's stored text, as the parser compresses it: the system zlib at level 1, one
             32 KiB piece at a time (Python's zlib module is a thin binding of the same library)
  sqlite     the source's event rows copied by SQLite itself into a fresh WAL store with tracejoin's
             settings (synchronous=NORMAL), commit and checkpoint included: `sqlite3` CLI,
             `INSERT INTO event SELECT * FROM src.event WHERE rowid > 0` — no parsing and no binding, only
             SQLite's own work of storing rows of this shape (reading them back is timed on its own and
             subtracted). The WHERE matters: without it SQLite copies whole records between tables of the
             same schema without decoding them (its transfer optimisation), which no ingest can do.

and tracejoin's own `ingest --parse-only` and `ingest` (best of RUNS). Per event, in µs, against the
budgets that issue 3's aims set (2 M packets/s parsed: 0.5 µs; 1 M/s stored: 1.0 µs) and issue 4's
(500 k lines/s stored: 2.0 µs).

usage: bench/floors.py [FILE ...]      env: RUNS=3 TRACEJOIN=<binary> (default .build/release/tracejoin)
"""
import os, sqlite3, subprocess, sys, tempfile, time, zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TJ = os.environ.get("TRACEJOIN", os.path.join(REPO, ".build/release/tracejoin"))
RUNS = int(os.environ.get("RUNS", "3"))
PIECE = 32768


def best(fn, runs=RUNS):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fresh(path):
    for s in ("", "-wal", "-shm"):
        if os.path.exists(path + s):
            os.remove(path + s)


def tracejoin(file, store, *extra):
    fresh(store)
    subprocess.run([TJ, "ingest", *extra, "--store", store, file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def floors(file, work):
    store = os.path.join(work, "store.db")
    tracejoin(file, store)
    db = sqlite3.connect(store)
    (events,) = db.execute("SELECT count(*) FROM event").fetchone()
    pieces = [zlib.decompress(b) for (b,) in db.execute("SELECT bytes FROM text_chunk ORDER BY source, n")]
    db.close()
    text_bytes = sum(len(p) for p in pieces)

    run("cat", file)  # warm the page cache
    t_read = best(lambda: run("cat", file))
    t_compress = best(lambda: [zlib.compress(p, 1) for p in pieces])

    copy = os.path.join(work, "copy.db")
    schema = subprocess.run(["sqlite3", store, ".schema event"], check=True, capture_output=True, text=True).stdout

    def sqlite_copy():
        fresh(copy)
        script = (f"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;\n{schema}\n"
                  f"ATTACH '{store}' AS src;\nBEGIN;\nINSERT INTO main.event SELECT * FROM src.event WHERE rowid > 0;\nCOMMIT;\n"
                  "PRAGMA wal_checkpoint(TRUNCATE);\n")
        subprocess.run(["sqlite3", copy], input=script, check=True, capture_output=True, text=True)

    def sqlite_read():
        subprocess.run(["sqlite3", store, "SELECT count(*) FROM (SELECT * FROM event WHERE rowid > 0 AND ordinal + ts + coalesce(attrs, '') IS NOT NULL)"],
                       check=True, capture_output=True)

    t_copy = best(sqlite_copy)
    t_readrows = best(sqlite_read)
    t_sqlite = max(t_copy - t_readrows, 0)

    t_parse = best(lambda: tracejoin(file, store, "--parse-only"))
    t_full = best(lambda: tracejoin(file, store))
    fresh(store); fresh(copy)

    us = lambda s: s / events * 1e6
    print(f"## {os.path.basename(file)}: {events:,} events, {os.path.getsize(file) / 1e6:.0f} MB, "
          f"stored text {text_bytes / 1e6:.0f} MB")
    print()
    print("| | seconds | µs per event | events/s |")
    print("|---|---|---|---|")
    for name, s in [("floor: read the file (cat)", t_read),
                    ("floor: compress its text (zlib level 1)", t_compress),
                    ("floor: read + compress", t_read + t_compress),
                    ("floor: SQLite storing its rows (copy − read back)", t_sqlite),
                    ("tracejoin ingest --parse-only", t_parse),
                    ("tracejoin ingest", t_full)]:
        print(f"| {name} | {s:.2f} | {us(s):.2f} | {events / s / 1e3:,.0f} k |")
    print()
    print(f"(SQLite's copy took {t_copy:.2f} s, of which reading the rows back {t_readrows:.2f} s.)")
    print()


def main():
    files = sys.argv[1:] or [os.path.join(REPO, "bench/out/gen/big.pcap"), os.path.join(REPO, "bench/out/gen/netmon-big.txt")]
    for f in files:
        if not os.path.exists(f):
            sys.exit(f"no {f}: bench/ingest-bench.sh --gen-only makes big.pcap, bench/netmon-bench.sh netmon-big.txt")
    if not os.access(TJ, os.X_OK):
        subprocess.run(["swift", "build", "-c", "release"], cwd=REPO, check=True)
    print(f"# floors {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} — budgets per event: 2 M/s parsed 0.5 µs, "
          "1 M/s stored 1.0 µs, 500 k/s stored 2.0 µs")
    print()
    with tempfile.TemporaryDirectory(dir=os.path.join(REPO, "bench/out") if os.path.isdir(os.path.join(REPO, "bench/out")) else None) as work:
        for f in files:
            floors(f, work)


if __name__ == "__main__":
    main()
