"""`sockdoctor check` on a host whose nginx config names 1,000 upstream Unix sockets, against
`nginx -T` alone on the same host in the same run (issue 4: check ≤ 2 × nginx -T).

    sudo .venv/bin/python bench/check_bench.py                 # 1,000 sockets
    sudo .venv/bin/python bench/check_bench.py --sockets 200 --repeat 3

Needs root and nginx. Starts a real nginx (own prefix under /run, workers as nobody:nogroup) and
1,000 listening sockets held by this process (nogroup, 0660), so the check reads /proc, lstat's
every path, runs `ss -xl`, probes every socket as the worker, and runs the analysis. Wall time of
each command in a fresh process, the commands taking turns, best and median of --repeat.
"""
from __future__ import annotations

import argparse
import grp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def interleaved(commands: dict[str, list[str]], repeat: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Wall times of each command in a fresh process, the commands taking turns (the machine's
    speed drifts between seconds: taking turns puts the drift on every command alike)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    status: dict[str, int] = {}
    for _ in range(repeat):
        for name, argv in commands.items():
            t = time.perf_counter()
            status[name] = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            times[name].append(time.perf_counter() - t)
    return times, status


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--layout", choices=("locations", "sites"), default="locations",
                    help="locations: one server with a location per socket (the least work for nginx -T); "
                         "sites: a file per site in sites-enabled/, each an upstream, a server and its own "
                         "socket directory, every fifth with a PHP-FPM location too")
    ap.add_argument("--hold", action="store_true",
                    help="set up, print the nginx.conf path and keep nginx and the sockets up until interrupted "
                         "(to time or profile check by hand)")
    args = ap.parse_args()
    if os.geteuid() != 0 or not shutil.which("nginx"):
        print("check_bench: needs root and nginx", file=sys.stderr)
        return 2
    # an installed sockdoctor has its bytecode (pip compiles on install); a checkout run under
    # PYTHONDONTWRITEBYTECODE would compile 60 modules on every start instead
    src = Path(__file__).resolve().parent.parent / "src" / "sockdoctor"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
    d = Path(tempfile.mkdtemp(prefix="sd-bench-", dir="/run"))
    os.chmod(d, 0o755)
    (d / "run").mkdir()
    (d / "tmp").mkdir()
    gid = grp.getgrnam("nogroup").gr_gid
    held = []
    try:
        with socket.socket() as probe_port:
            probe_port.bind(("127.0.0.1", 0))
            port = probe_port.getsockname()[1]
        body = _sites(d, port, args.sockets, gid, held) if args.layout == "sites" else \
            _locations(d, port, args.sockets, gid, held)
        conf = d / "nginx.conf"
        conf.write_text(f"user nobody nogroup;\nworker_processes 1;\nerror_log {d}/error.log;\n"
                        f"events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n"
                        f"    client_body_temp_path {d}/tmp/b;\n    proxy_temp_path {d}/tmp/p;\n"
                        f"    fastcgi_temp_path {d}/tmp/f;\n    uwsgi_temp_path {d}/tmp/u;\n    scgi_temp_path {d}/tmp/s;\n"
                        f"{body}}}\n")
        base = ["nginx", "-p", str(d), "-c", str(conf), "-g", f"pid {d}/nginx.pid;"]
        subprocess.run(base, check=True)
        time.sleep(0.5)
        if args.hold:
            print(conf, flush=True)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
            return 0
        if os.environ.get("CHECK_BENCH_PROFILE"):
            subprocess.run([sys.executable, "-m", "cProfile", "-s", "cumtime", "-m", "sockdoctor", "check", "--nginx-conf", str(conf), "--format", "json", "--output", "/dev/null"])
        # the command users run: the installed console script (no runpy), else python -m
        script = Path(sys.executable).parent / "sockdoctor"
        check = [str(script)] if script.exists() else [sys.executable, "-m", "sockdoctor"]
        check += ["check", "--nginx-conf", str(conf), "--format", "json"]
        times, status = interleaved({"nginx -T": base + ["-T"], "sockdoctor check": check,
                                     "check --no-probe": check + ["--no-probe"]}, args.repeat)
        print(f"sockets: {len(held)} ({args.layout} layout), {args.repeat} interleaved runs")
        best_t, median_t = min(times["nginx -T"]), statistics.median(times["nginx -T"])
        for name, runs in times.items():
            best_c, median_c = min(runs), statistics.median(runs)
            ratio = "" if name == "nginx -T" else \
                f"  ratio best {best_c / best_t:.2f}, median {median_c / median_t:.2f}  (exit {status[name]})"
            print(f"{name + ':':20s} best {best_c * 1000:7.1f} ms, median {median_c * 1000:7.1f} ms{ratio}")
        return 0
    finally:
        pid_file = d / "nginx.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
                time.sleep(0.3)
            except (ProcessLookupError, ValueError):
                pass
        for s in held:
            s.close()
        shutil.rmtree(d, ignore_errors=True)


def _listen(path: Path, gid: int, held: list) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.listen(16)
    os.chown(path, 0, gid)
    os.chmod(path, 0o660)
    held.append(s)


def _locations(d: Path, port: int, n: int, gid: int, held: list) -> str:
    """One server, a location per socket, all sockets in one directory."""
    locations = []
    for i in range(n):
        path = d / "run" / f"app{i}.sock"
        _listen(path, gid, held)
        locations.append(f"        location /app{i}/ {{ proxy_pass http://unix:{path}:; }}\n")
    return f"    server {{\n        listen 127.0.0.1:{port};\n{''.join(locations)}    }}\n"


def _sites(d: Path, port: int, n: int, gid: int, held: list) -> str:
    """A file per site (how hosts with many sites are laid out): sites with a gunicorn socket in
    their own directory, every fifth with a PHP-FPM pool socket too, until n sockets."""
    from nginx_fleet import FASTCGI, site_conf  # the fleet benchmark's sites, with this host's paths

    sites = d / "sites-enabled"
    sites.mkdir()
    (d / "run" / "php").mkdir()
    (d / "fastcgi_params").write_text(FASTCGI)
    i = 0
    while len(held) < n:
        app_dir = d / "run" / f"app{i}"
        app_dir.mkdir()
        sock = app_dir / "gunicorn.sock"
        _listen(sock, gid, held)
        fpm = ""
        if i % 5 == 0 and len(held) < n:
            fpm = str(d / "run" / "php" / f"app{i}-fpm.sock")
            _listen(Path(fpm), gid, held)
        (sites / f"app{i:05d}.conf").write_text(site_conf(i, sock=str(sock), fpm=fpm, listen=(f"127.0.0.1:{port}",),
                                                          srv=f"{d}/srv/app{i}", access_log="off"))
        i += 1
    return f"    include {sites}/*.conf;\n"


if __name__ == "__main__":
    sys.exit(main())
