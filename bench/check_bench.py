"""`sockdoctor check` on a host whose nginx config names 1,000 upstream Unix sockets, against
`nginx -T` alone on the same host in the same run (issue 4: check ≤ 2 × nginx -T).

    sudo .venv/bin/python bench/check_bench.py                 # 1,000 sockets
    sudo .venv/bin/python bench/check_bench.py --sockets 200 --repeat 3

Needs root and nginx. Starts a real nginx (own prefix under /run, workers as nobody:nogroup) and
1,000 listening sockets held by this process (nogroup, 0660), so the check reads /proc, lstat's
every path, runs `ss -xl`, probes every socket as the worker, and runs the analysis. Wall time of
each command in a fresh process, best of --repeat.
"""
from __future__ import annotations

import argparse
import grp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def best(argv: list[str], repeat: int) -> tuple[float, int]:
    times, rc = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        times.append(time.perf_counter() - t)
    return min(times), rc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
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
    locations = []
    try:
        for i in range(args.sockets):
            path = d / "run" / f"app{i}.sock"
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(str(path))
            s.listen(16)
            os.chown(path, 0, gid)
            os.chmod(path, 0o660)
            held.append(s)
            locations.append(f"        location /app{i}/ {{ proxy_pass http://unix:{path}:; }}\n")
        with socket.socket() as probe_port:
            probe_port.bind(("127.0.0.1", 0))
            port = probe_port.getsockname()[1]
        conf = d / "nginx.conf"
        conf.write_text(f"user nobody nogroup;\nworker_processes 1;\nerror_log {d}/error.log;\n"
                        f"events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n"
                        f"    client_body_temp_path {d}/tmp/b;\n    proxy_temp_path {d}/tmp/p;\n"
                        f"    fastcgi_temp_path {d}/tmp/f;\n    uwsgi_temp_path {d}/tmp/u;\n    scgi_temp_path {d}/tmp/s;\n"
                        f"    server {{\n        listen 127.0.0.1:{port};\n{''.join(locations)}    }}\n}}\n")
        base = ["nginx", "-p", str(d), "-c", str(conf), "-g", f"pid {d}/nginx.pid;"]
        subprocess.run(base, check=True)
        time.sleep(0.5)
        if os.environ.get("CHECK_BENCH_PROFILE"):
            subprocess.run([sys.executable, "-m", "cProfile", "-s", "cumtime", "-m", "sockdoctor", "check", "--nginx-conf", str(conf), "--format", "json", "--output", "/dev/null"])
        nginx_t, _ = best(base + ["-T"], args.repeat)
        check, rc = best([sys.executable, "-m", "sockdoctor", "check", "--nginx-conf", str(conf),
                          "--format", "json"], args.repeat)
        no_probe, _ = best([sys.executable, "-m", "sockdoctor", "check", "--nginx-conf", str(conf),
                            "--format", "json", "--no-probe"], args.repeat)
        print(f"sockets: {args.sockets}")
        print(f"nginx -T:             {nginx_t * 1000:8.1f} ms")
        print(f"sockdoctor check:     {check * 1000:8.1f} ms  (exit {rc})  ratio {check / nginx_t:.2f}")
        print(f"check --no-probe:     {no_probe * 1000:8.1f} ms  ratio {no_probe / nginx_t:.2f}")
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


if __name__ == "__main__":
    sys.exit(main())
