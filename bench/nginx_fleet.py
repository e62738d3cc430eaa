"""nginx fleet benchmark: sockdoctor's reading (parse + extract) vs crossplane.parse.

    .venv/bin/python bench/nginx_fleet.py                  # 5,000 and 50,000 sites
    .venv/bin/python bench/nginx_fleet.py --sizes 2000     # a quick run
    .venv/bin/python bench/nginx_fleet.py --linearity      # 5,000 vs 50,000 sites, interleaved

Generates once into bench/out/ (gitignored), per size N: an include tree
(`etc/nginx/nginx.conf` + `sites-enabled/siteNNNNN`, one file per site: an upstream on a Unix
socket and a server block; every fifth site also has a PHP-FPM `fastcgi_pass unix:`) and the same
configuration as one `nginx -T` dump. Each measurement runs in a fresh process, both tools the same
way: wall time of the call (best of --repeat), peak RSS of the process (ru_maxrss) and, in a
separate run, the Python heap peak (tracemalloc). crossplane is a test-only dependency.

--linearity measures the growth factor alone, robust to a machine whose speed drifts: one run of
each size in its own process, small and big alternating, --rounds times; the factor is the ratio
of the medians (the best-of figures above compare a best of 5 short runs, which a quiet second
flatters, with a best of 3 long ones that cannot dodge the noise).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

MAIN = """user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;

events {
    worker_connections 1024;
}

http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log;
    gzip on;
    include conf.d/*.conf;
    include sites-enabled/*;
}
"""
MIME = """types {
    text/html html htm shtml;
    text/css css;
    application/javascript js;
    image/png png;
}
"""
FASTCGI = """fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
"""
SITE = """# site {i}
upstream app{i} {{
    server unix:{sock} fail_timeout=0;
    keepalive 16;
}}

server {{
{listen}    server_name app{i}.example.com www.app{i}.example.com;
    root {srv}/public;
    access_log {access_log};

    location /static/ {{
        alias {srv}/static/;
        expires 30d;
    }}

    location / {{
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 60s;
        proxy_pass http://app{i};
    }}
{php}}}
"""
PHP = """
    location ~ \\.php$ {{
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:{fpm};
    }}
"""


def site_conf(i: int, *, sock: str | None = None, fpm: str | None = None, listen: tuple[str, ...] = ("80", "[::]:80"),
              srv: str | None = None, access_log: str | None = None) -> str:
    """Site ``i``: an upstream on its gunicorn socket and a server; with ``fpm`` (by default on
    every fifth site; "" for none) a PHP-FPM location too. check_bench.py lays out its sites with it."""
    if fpm is None and i % 5 == 0:
        fpm = f"/run/php/app{i}-fpm.sock"
    return SITE.format(i=i, sock=sock or f"/run/app{i}/gunicorn.sock",
                       listen="".join(f"    listen {addr};\n" for addr in listen), srv=srv or f"/srv/app{i}",
                       access_log=access_log or f"/var/log/nginx/app{i}.access.log combined",
                       php=PHP.format(fpm=fpm) if fpm else "")


def generate(n: int) -> Path:
    root = OUT / f"nginx-fleet-{n}"
    conf = root / "etc" / "nginx"
    done = root / ".complete"
    if done.exists():
        return root
    (conf / "sites-enabled").mkdir(parents=True, exist_ok=True)
    (conf / "conf.d").mkdir(exist_ok=True)
    main = MAIN
    files = [(conf / "nginx.conf", main), (conf / "mime.types", MIME), (conf / "fastcgi_params", FASTCGI)]
    for i in range(n):
        files.append((conf / "sites-enabled" / f"site{i:05d}", site_conf(i)))
    for path, text in files:
        path.write_text(text)
    # the dump in nginx's reading order: main, then includes as they are met (glob-sorted)
    order = [files[0], files[1]] + sorted(files[3:], key=lambda f: str(f[0])) + [files[2]]
    with open(root / "nginx-T.txt", "w") as out:
        out.write(f"nginx: the configuration file {conf}/nginx.conf syntax is ok\n")
        out.write(f"nginx: configuration file {conf}/nginx.conf test is successful\n")
        for path, text in order:
            out.write(f"# configuration file {path}:\n{text}\n")
    done.write_text("ok\n")
    return root


def _count(directives) -> int:
    total, stack = 0, [iter(directives)]
    while stack:
        for d in stack[-1]:
            total += 1
            block = d.get("block") if isinstance(d, dict) else d.block
            if block:
                stack.append(iter(block))
                break
        else:
            stack.pop()
    return total


def worker(tool: str, root: Path, repeat: int, trace: bool) -> dict:
    """Runs in a child process: import, then time the reading `repeat` times."""
    main = str(root / "etc" / "nginx" / "nginx.conf")
    if tool == "crossplane":
        import crossplane

        def run():
            payload = crossplane.parse(main)
            return payload, sum(_count(c["parsed"]) for c in payload["config"]), len(payload["errors"]), None
    else:
        from sockdoctor.nginx import extract, fs, parse_dump, parse_tree

        dump_path = root / "nginx-T.txt"

        def run():
            if tool == "sockdoctor":
                payload = parse_tree(main, fs.read_file, fs.list_glob)
            else:
                payload = parse_dump(dump_path.read_text(), str(dump_path))
            record = extract(payload)
            return record, sum(_count(f.directives) for f in payload.files.values()), \
                len(payload.all_errors()), len(record.sockets)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        import tracemalloc
        tracemalloc.start()
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result, count, errors, sockets = run()
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
        del result
    out = {"tool": tool, "seconds": best, "directives": count, "errors": errors, "sockets": sockets,
           "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "rss_before_kb": rss_before}
    if trace:
        out["heap_peak_kb"] = tracemalloc.get_traced_memory()[1] // 1024
    return out


def measure(tool: str, root: Path, repeat: int) -> dict:
    def child(trace: bool, rep: int) -> dict:
        cmd = [sys.executable, __file__, "--worker", tool, "--root", str(root), "--repeat", str(rep)]
        if trace:
            cmd.append("--trace")
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(res.stdout)

    timed = child(False, repeat)
    timed["heap_peak_kb"] = child(True, 1)["heap_peak_kb"]
    return timed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5000,50000")
    ap.add_argument("--repeat", type=int, default=None,
                    help="best of N runs (default 5 below 10,000 sites, 3 above: small runs are noisier)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--linearity", action="store_true", help="only the growth factor, small and big runs interleaved")
    ap.add_argument("--rounds", type=int, default=5, help="with --linearity: runs of each size (default 5)")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.root), args.repeat or 1, args.trace)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.linearity:
        return linearity(sizes[0], sizes[-1], args.rounds)
    results = {}
    for n in sizes:
        root = generate(n)
        repeat = args.repeat or (5 if n < 10_000 else 3)
        results[n] = {tool: measure(tool, root, repeat) for tool in ("sockdoctor", "dump", "crossplane")}
        sd, cp = results[n]["sockdoctor"], results[n]["crossplane"]
        if sd["directives"] != cp["directives"]:
            print(f"WARNING: directive counts differ: {sd['directives']} vs crossplane {cp['directives']}")
        expected_sockets = n + (n + 4) // 5
        for tool in ("sockdoctor", "dump"):
            if results[n][tool]["sockets"] != expected_sockets:
                print(f"WARNING: {tool} found {results[n][tool]['sockets']} sockets, expected {expected_sockets}")
    if args.json:
        print(json.dumps(results, indent=2))
    print(f"{'sites':>7} {'tool':<11} {'time s':>8} {'peak RSS MB':>12} {'heap peak MB':>13} {'directives':>11}")
    for n, row in results.items():
        for tool, r in row.items():
            label = {"sockdoctor": "sockdoctor", "dump": "sd (dump)", "crossplane": "crossplane"}[tool]
            print(f"{n:>7} {label:<11} {r['seconds']:>8.2f} {r['rss_kb'] / 1024:>12.1f} "
                  f"{r['heap_peak_kb'] / 1024:>13.1f} {r['directives']:>11}")
        sd, cp = row["sockdoctor"], row["crossplane"]
        print(f"{n:>7} time ratio sockdoctor/crossplane {sd['seconds'] / cp['seconds']:.3f}, "
              f"RSS ratio {sd['rss_kb'] / cp['rss_kb']:.3f}, heap ratio {sd['heap_peak_kb'] / cp['heap_peak_kb']:.3f}")
    if len(sizes) >= 2:
        small, big = results[sizes[0]], results[sizes[-1]]
        factor = sizes[-1] / sizes[0]
        for tool in ("sockdoctor", "dump", "crossplane"):
            print(f"{tool}: {sizes[-1]} vs {sizes[0]} sites (x{factor:g}): time x{big[tool]['seconds'] / small[tool]['seconds']:.2f}, "
                  f"heap x{big[tool]['heap_peak_kb'] / small[tool]['heap_peak_kb']:.2f}")
    return 0


def linearity(small: int, big: int, rounds: int) -> int:
    roots = {n: generate(n) for n in (small, big)}
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for tool in ("sockdoctor", "dump", "crossplane"):
            for n in (small, big):
                cmd = [sys.executable, __file__, "--worker", tool, "--root", str(roots[n]), "--repeat", "1"]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                times.setdefault((tool, n), []).append(json.loads(out)["seconds"])
    print(f"{big} vs {small} sites (x{big / small:g}), {rounds} interleaved runs of each, one per process")
    for tool in ("sockdoctor", "dump", "crossplane"):
        a, b = times[(tool, small)], times[(tool, big)]
        print(f"  {tool:<10} median {statistics.median(a):.3f} s vs {statistics.median(b):.3f} s: "
              f"x{statistics.median(b) / statistics.median(a):.2f} (best {min(a):.3f} vs {min(b):.3f}: "
              f"x{min(b) / min(a):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
