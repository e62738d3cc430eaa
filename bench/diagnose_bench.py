"""Diagnosis of a big fleet: `engine.diagnose` against reading alone (`engine.read_inputs`).

    .venv/bin/python bench/diagnose_bench.py                    # 5,000 and 50,000 sites
    .venv/bin/python bench/diagnose_bench.py --sizes 2000 --repeat 1

Input: the `nginx -T` dump of bench/nginx_fleet.py's generated fleet (one upstream Unix socket per
site, a PHP-FPM socket on every fifth), as one paste. Each size runs in a fresh process: wall time
of read_inputs alone and of diagnose (read + model + rules + fixes), best of --repeat. Target:
diagnose adds at most 50% to reading, and time per site stays flat from 5,000 to 50,000 sites.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nginx_fleet  # noqa: E402


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def worker(n: int, repeat: int) -> dict:
    from sockdoctor import engine

    text = (nginx_fleet.generate(n) / "nginx-T.txt").read_text()
    inputs = [("nginx-T.txt", text)]
    read_s, ev = best(lambda: engine.read_inputs(inputs), repeat)
    diag_s, report = best(lambda: engine.diagnose(inputs), repeat)
    return {"sites": n, "bytes": len(text), "read_s": read_s, "diagnose_s": diag_s,
            "added": diag_s / read_s - 1, "sockets": len({f.socket for f in report.findings if f.socket}),
            "findings": len(report.findings), "records": len(ev.records)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeat)))
        return 0
    rows = []
    for n in args.sizes:
        nginx_fleet.generate(n)
        out = subprocess.run([sys.executable, __file__, "--worker", str(n), "--repeat", str(args.repeat)],
                             capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out))
    print("| sites | input | read_inputs | diagnose | diagnose adds | diagnose per site | findings |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sites']:,} | {r['bytes'] / 1e6:.1f} MB | {r['read_s']:.2f} s | {r['diagnose_s']:.2f} s | "
              f"{r['added'] * 100:+.0f}% | {r['diagnose_s'] / r['sites'] * 1e6:.0f} µs | {r['findings']:,} |")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        growth = (b["diagnose_s"] / b["sites"]) / (a["diagnose_s"] / a["sites"])
        print(f"\nper-site diagnose time, {b['sites']:,} vs {a['sites']:,} sites: x{growth:.2f} (1.00 = linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
