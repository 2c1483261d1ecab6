#!/usr/bin/env python3
"""Writer and watcher for bench/follow.sh (a benchmark, not a test).

usage: follow-writer.py gen BASE.txt LINES OUT.txt
       follow-writer.py run LINES.txt LIVE.txt STORE.db RATE MAX_WAIT OUT.json

gen: grows a tshark `-t ad` text export (one packet a line) into LINES lines: copy k of the base is shifted by
k*PERIOD seconds (PERIOD = the base's span rounded up + 1 s, so copies follow each other) and its frame numbers run
on (k*N + i); only the No. and Time fields change, the rest of each line is tshark's own.

run: appends LINES.txt to LIVE.txt at RATE lines/s (RATE 0: all at once, to time the catch-up) (a write of RATE/100 lines every 10 ms, each write whole lines,
so the follower also sees lines completed across reads), while reading STORE.db (read-only, WAL) every 50 ms for
how many lines the follower has committed (`sum(source.lines)`). After the last write it waits (at most MAX_WAIT
seconds) until every line is committed. Writes OUT.json: lines, seconds of writing, achieved write rate, the
commit lag (seconds between a line's write and the commit that holds it: p50, p99, max, sampled), the catch-up
time after the last write, and the end-to-end rate.
"""
import datetime, json, mmap, os, re, sqlite3, sys, time

def gen(base_path, total, out_path):
    lines = [l for l in open(base_path, "rb").read().split(b"\n") if l.strip()]
    row = re.compile(rb"^(\s*)(\d+)(\s+)(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)(.*)$")
    parsed = []
    for l in lines:
        m = row.match(l)
        assert m, b"not a tshark -t ad row: " + l[:80]
        parsed.append((int(m.group(2)), m.group(3), m.group(4).decode(), m.group(5)))
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    times = [datetime.datetime.strptime(t, fmt) for _, _, t, _ in parsed]
    period = int((times[-1] - times[0]).total_seconds()) + 2
    n = len(parsed)
    written = 0
    with open(out_path, "wb") as out:
        k = 0
        while written < total:
            shift = datetime.timedelta(seconds=k * period)
            chunk = []
            for i, (num, sep, _, rest) in enumerate(parsed):
                if written >= total: break
                t = (times[i] + shift).strftime(fmt).encode()
                chunk.append(b"%7d%s%s%s" % (k * n + num, sep, t, rest))
                written += 1
            out.write(b"\n".join(chunk) + b"\n")
            k += 1
    print(f"{out_path}: {written} lines, {k} copies of {n} packets {period} s apart")

def stored_lines(db):
    try:
        return db.execute("SELECT coalesce(sum(lines), 0) FROM source").fetchone()[0]
    except sqlite3.OperationalError:
        return 0 # the follower has not created its tables yet

def run(lines_path, live_path, store_path, rate, max_wait, out_json):
    src = open(lines_path, "rb")
    mm = mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ)
    total = open(lines_path, "rb").read().count(b"\n")
    live = open(live_path, "ab", buffering=0)
    while not os.path.exists(store_path): time.sleep(0.01)
    db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5)
    burst = rate <= 0 # everything at once: how fast the follower catches up
    if burst: rate = 10**9
    per_tick = max(1, rate // 100)
    written_at = [] # (time, lines written so far), one per write
    samples = []    # (time, lines committed)
    pos, done = 0, 0
    start = time.monotonic()
    next_tick, next_sample = start, start
    while done < total:
        now = time.monotonic()
        if now >= next_sample:
            samples.append((now, stored_lines(db)))
            next_sample += 0.05
        if now < next_tick:
            time.sleep(max(0.0, min(next_tick, next_sample) - now))
            continue
        # Catch up on missed ticks so the average rate holds even if a tick ran late.
        due = int((now - start) * rate) - done
        want = min(max(due, 0), total - done, per_tick * 10 if not burst else 100000)
        if want > 0:
            end = pos
            for _ in range(want):
                end = mm.find(b"\n", end) + 1
            live.write(mm[pos:end])
            pos = end
            done += want
            written_at.append((time.monotonic(), done))
        next_tick += 0.01
    wrote_end = time.monotonic()
    deadline = wrote_end + max_wait
    while True:
        now = time.monotonic()
        n = stored_lines(db)
        samples.append((now, n))
        if n >= total or now > deadline: break
        time.sleep(0.02)
    caught_up = samples[-1][0]
    # Lag of a sample: how long ago the first line not yet committed was written (0 when all written are in).
    lags = []
    j = 0
    for t, n in samples:
        while j < len(written_at) and written_at[j][1] <= n: j += 1
        if j < len(written_at) and written_at[j][0] <= t:
            lags.append(t - written_at[j][0])
        else:
            lags.append(0.0)
    lags.sort()
    pct = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))] if lags else None
    # Lines written and committed at each whole second since the start, for a look at the lag's shape.
    series, k, wi = [], 1, 0
    for t, n in samples:
        while t - start >= k:
            while wi < len(written_at) and written_at[wi][0] - start <= k: wi += 1
            series.append((k, written_at[wi - 1][1] if wi else 0, n))
            k += 1
    result = {
        "lines": total, "committed": samples[-1][1], "target_rate": "all at once" if burst else rate,
        "write_seconds": round(wrote_end - start, 3),
        "write_rate": round(total / (wrote_end - start)),
        "lag_p50_s": round(pct(0.5), 3), "lag_p99_s": round(pct(0.99), 3), "lag_max_s": round(lags[-1], 3),
        "catch_up_after_last_write_s": round(caught_up - wrote_end, 3),
        "end_to_end_rate": round(samples[-1][1] / (caught_up - start)),
        "samples": len(samples),
        "per_second_written_committed": " ".join(f"{k}s:{w}/{c}" for k, w, c in series),
    }
    json.dump(result, open(out_json, "w"), indent=1)
    print(json.dumps(result))
    return 0 if result["committed"] == total else 1

if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "run":
        sys.exit(run(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), sys.argv[7]))
    else:
        sys.exit(__doc__)
