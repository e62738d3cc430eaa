"""Scratch roots with a real nginx for the `sockdoctor fix` tests."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from sockdoctor.fixes.edit import diff_lines
from sockdoctor.report import Diff, Fix

CONF = """\
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "{body}\\n"; }}
    }}
}}
"""


def missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if not shutil.which("nginx"):
        return "nginx not installed (scripts/install-system-deps.sh)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    def __init__(self, root: str):
        self.root = root
        self.port = free_port()
        self.conf = os.path.join(root, "etc/nginx/nginx.conf")
        os.makedirs(os.path.dirname(self.conf))
        os.makedirs(os.path.join(root, "tmp"))
        self.old = CONF.format(root=root, port=self.port, body="old")
        with open(self.conf, "w") as fh:
            fh.write(self.old)
        os.chmod(self.conf, 0o640)
        self.started = False

    def start(self) -> None:
        subprocess.run(["nginx", "-p", os.path.dirname(self.conf) + "/", "-c", self.conf], check=True)
        self.started = True
        self.wait_body("old")

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGQUIT)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)

    def pid(self) -> int | None:
        try:
            return int(open(os.path.join(self.root, "nginx.pid")).read())
        except (OSError, ValueError):
            return None

    def body(self) -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2) as r:
                return r.read().decode().strip()
        except OSError:
            return None

    def wait_body(self, want: str, timeout: float = 5) -> str | None:
        end = time.monotonic() + timeout
        got = None
        while time.monotonic() < end:
            got = self.body()
            if got == want:
                return got
            time.sleep(0.05)
        return got

    def fix(self, body: str = "new", extra: str = "", commands=None) -> Fix:
        new = CONF.format(root=self.root, port=self.port, body=body).replace("    access_log off;\n", "    access_log off;\n" + extra)
        d = diff_lines("/etc/nginx/nginx.conf", self.old.splitlines(), new.splitlines())
        return Fix("F1", 1, "change the body", commands=commands if commands is not None else ["nginx -t && nginx -s reload"],
                   diffs=[Diff(d.path, d.diff)])


def snapshot(root: str) -> dict[str, tuple]:
    """Every regular file under root: (sha256, mode, uid, gid)."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if p.endswith((".pid", "error.log")) or "/runs/" in p:
                continue
            st = os.lstat(p)
            out[p] = (hashlib.sha256(open(p, "rb").read()).hexdigest(), st.st_mode, st.st_uid, st.st_gid)
    return out


APPLY_CHILD = """
import json, sys
from sockdoctor.apply import plan as P, txn
from sockdoctor.report import Diff, Fix
d = json.loads(sys.argv[1])
fix = Fix(d["finding"], d["rank"], d["title"], commands=d["commands"], diffs=[Diff(x["path"], x["diff"]) for x in d["diffs"]])
plan = P.build(fix, root=d["root"])
print(txn.apply(plan, d["runs"])[0])
"""


def apply_in_child(fix: Fix, root: str, runs: str, env: dict) -> subprocess.CompletedProcess:
    payload = json.dumps({**fix.to_json(), "root": root, "runs": runs})
    return subprocess.run([sys.executable, "-c", APPLY_CHILD, payload], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)
