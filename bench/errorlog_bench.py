"""error.log scan benchmark: sockdoctor's streamed scan vs `grep -c 'connect() to unix:'`.

    .venv/bin/python bench/errorlog_bench.py            # 1 GB log (generated once into bench/out/)
    .venv/bin/python bench/errorlog_bench.py --size 200M

Measured in one run, on the same file, page cache warm for both: wall time of grep and of
the CLI's `live.logscan.scan_path` (ranges in forked processes, one per CPU) and the engine's
single-process `evidence.logscan.scan_file` (each in its own process, best of --repeat), and the scan's peak RSS at two
sizes (a quarter of the file and the whole file) to show memory is flat in the file's size.
The generated log is a realistic mix: 2% connect() failures to Unix sockets (13, 2, 111, 11),
a few Unix-upstream timeouts and [emerg] notices, the rest TCP upstream errors, open() misses and
[info]/[notice] lines that the fast path must skip.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parent.parent

UNIX_FAIL = ('{ts} [crit] {pid}#{pid}: *{conn} connect() to unix:/run/{app}/app.sock failed ({err}) while connecting to '
             'upstream, client: 203.0.113.{c}, server: {app}.example.com, request: "GET /api/items/{conn} HTTP/1.1", '
             'upstream: "http://unix:/run/{app}/app.sock:/api/items/{conn}", host: "{app}.example.com"\n')
UNIX_TIMEOUT = ('{ts} [error] {pid}#{pid}: *{conn} upstream timed out (110: Connection timed out) while reading response '
                'header from upstream, client: 198.51.100.{c}, server: {app}.example.com, request: "GET / HTTP/1.1", '
                'upstream: "uwsgi://unix:/run/{app}/uwsgi.sock:", host: "{app}.example.com"\n')
EMERG = '{ts} [emerg] {pid}#{pid}: getgrnam("{app}") failed in /etc/nginx/nginx.conf:1\n'
OTHER = [
    ('{ts} [error] {pid}#{pid}: *{conn} open() "/var/www/html/favicon.ico" failed (2: No such file or directory), '
     'client: 192.0.2.{c}, server: www.example.com, request: "GET /favicon.ico HTTP/1.1", host: "www.example.com"\n'),
    ('{ts} [error] {pid}#{pid}: *{conn} connect() failed (111: Connection refused) while connecting to upstream, client: '
     '192.0.2.{c}, server: api.example.com, request: "POST /v1/orders HTTP/1.1", upstream: "http://10.0.3.{c}:8080/v1/orders", '
     'host: "api.example.com"\n'),
    '{ts} [info] {pid}#{pid}: *{conn} client 192.0.2.{c} closed keepalive connection\n',
    ('{ts} [warn] {pid}#{pid}: *{conn} an upstream response is buffered to a temporary file '
     '/var/cache/nginx/proxy_temp/3/00/{conn} while reading upstream, client: 192.0.2.{c}, server: www.example.com, '
     'request: "GET /static/app.js HTTP/1.1", upstream: "http://10.0.3.7:8080/static/app.js", host: "www.example.com"\n'),
    '{ts} [notice] {pid}#{pid}: signal process started\n',
    ('{ts} [error] {pid}#{pid}: *{conn} upstream prematurely closed connection while reading response header from '
     'upstream, client: 192.0.2.{c}, server: api.example.com, request: "GET /v1/health HTTP/1.1", upstream: '
     '"http://10.0.3.9:8080/v1/health", host: "api.example.com"\n'),
]
ERRS = ["13: Permission denied", "2: No such file or directory", "111: Connection refused",
        "11: Resource temporarily unavailable"]


def parse_size(text: str) -> int:
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("B")
    return int(float(text[:-1]) * mult[text[-1]]) if text[-1] in mult else int(text)


def generate(path: Path, size: int, seed: int = 7) -> int:
    """Write a log of about ``size`` bytes; returns the number of unix connect() lines."""
    rng = random.Random(seed)
    block: list[str] = []
    written = unix = conn = 0
    apps = ["ledger", "wiki", "shop", "courier", "tally"]
    with path.open("w") as fh:
        while written < size:
            conn += 1
            r = rng.random()
            fields = {"ts": f"2025/03/17 10:{conn // 60 % 60:02d}:{conn % 60:02d}", "pid": 2231 + conn % 4,
                      "conn": conn, "c": conn % 250 + 1, "app": apps[conn % 5]}
            if r < 0.02:
                line = UNIX_FAIL.format(err=ERRS[conn % 4], **fields)
                unix += 1
            elif r < 0.022:
                line = UNIX_TIMEOUT.format(**fields)
            elif r < 0.02201:
                line = EMERG.format(**fields)
            else:
                line = OTHER[conn % len(OTHER)].format(**fields)
            block.append(line)
            written += len(line)
            if len(block) >= 4096:
                fh.write("".join(block))
                block.clear()
        fh.write("".join(block))
    return unix


def ensure_log(size: int) -> tuple[Path, int]:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"error-{size}.log"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, json.loads(meta.read_text())["unix"]
    unix = generate(path, size)
    meta.write_text(json.dumps({"unix": unix}))
    return path, unix


def truncated_copy(path: Path, size: int) -> Path:
    small = OUT / f"{path.stem}-first-{size}.log"
    if not small.exists():
        with path.open("rb") as src, small.open("wb") as dst:
            left = size
            while left > 0:  # streamed: the parent's RSS must stay small too
                data = src.read(min(left, 1 << 22))
                if not data:
                    break
                left -= len(data)
                if left <= 0:
                    data = data[: data.rfind(b"\n") + 1]
                dst.write(data)
    return small


SCAN = """
import re, sys, time
from sockdoctor.evidence import logscan
from sockdoctor.evidence.records import LogFact
from sockdoctor.live import logscan as live
t = time.perf_counter()
recs = live.scan_path(sys.argv[1]) if sys.argv[2] == "cli" else logscan.scan_file(sys.argv[1])
dt = time.perf_counter() - t
count = sum(r.data["count"] for r in recs if isinstance(r, LogFact) and r.data.get("syscall") == "connect")
# VmHWM is this process's own peak (ru_maxrss would include the parent's RSS at fork)
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
import resource  # the forked range scanners' peak (the largest one)
hwm = max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(dt, count, hwm, len(recs))
"""


def run_scan(path: Path, mode: str = "cli") -> tuple[float, int, int]:
    out = subprocess.run([sys.executable, "-c", SCAN, str(path), mode], check=True, capture_output=True, text=True,
                         cwd=ROOT).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def run_grep(path: Path) -> tuple[float, int]:
    t = time.perf_counter()
    out = subprocess.run(["grep", "-c", "connect() to unix:", str(path)], capture_output=True, text=True)
    return time.perf_counter() - t, int(out.stdout.strip() or 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1G", help="log size, e.g. 1G (default), 200M")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs for each tool")
    args = ap.parse_args()
    size = parse_size(args.size)
    path, unix = ensure_log(size)
    small = truncated_copy(path, size // 4)
    real = path.stat().st_size
    with path.open("rb") as fh:  # warm the page cache for both tools
        while fh.read(1 << 24):
            pass
    # interleaved, so that a slow spell of a noisy machine hits all three alike
    grep_runs, cli_runs, engine_runs = [], [], []
    for _ in range(args.repeat):
        grep_runs.append(run_grep(path))
        cli_runs.append(run_scan(path, "cli"))
        engine_runs.append(run_scan(path, "engine"))
    g_time, g_count = min(grep_runs)
    s_time, s_count, rss_big = min(cli_runs)
    e_time, e_count, e_rss = min(engine_runs)
    _, _, rss_small = run_scan(small, "cli")
    ok = g_count == s_count == e_count == unix
    result = {
        "size_bytes": real, "unix_connect_lines": unix, "counts_agree": ok, "cpus": len(os.sched_getaffinity(0)),
        "grep_s": round(g_time, 3), "scan_s": round(s_time, 3), "engine_scan_s": round(e_time, 3),
        "grep_MBps": round(real / g_time / 1e6), "scan_MBps": round(real / s_time / 1e6),
        "speed_vs_grep": round(g_time / s_time, 3), "engine_speed_vs_grep": round(g_time / e_time, 3),
        "speed_vs_grep_per_run": [round(g[0] / c[0], 3) for g, c in zip(grep_runs, cli_runs)],
        "peak_rss_kb_quarter": rss_small, "peak_rss_kb_full": rss_big, "engine_peak_rss_kb_full": e_rss,
    }
    print(json.dumps(result, indent=2))
    print(f"scan speed = {result['speed_vs_grep']:.2f} x grep (target >= 0.33; single-process engine "
          f"{result['engine_speed_vs_grep']:.2f}); peak RSS {rss_small // 1024} MB at {real // 4 >> 20} MB, "
          f"{rss_big // 1024} MB at {real >> 20} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
