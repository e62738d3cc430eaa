"""End to end on real services: curl 502 → `sockdoctor fix --apply --yes` → 200 → `--rollback` → 502."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time

import pytest

from scenarios.harness import Scenario, missing_requirements


def _fix(sc: Scenario, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sockdoctor", "fix", "--nginx-conf", str(sc.nginx_conf),
                           "--run-dir", str(sc.dir / "runs"), *args], capture_output=True, text=True, timeout=120)


def _members(group: str) -> list[str]:
    with open("/etc/group") as fh:
        for line in fh:
            parts = line.rstrip("\n").split(":")
            if parts[0] == group:
                return [m for m in parts[3].split(",") if m]
    return []


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_seed_scenario_fixed_and_rolled_back():
    why = missing_requirements("gunicorn", "usermod", "gpasswd")
    if why:
        pytest.skip(why)
    with Scenario("fix") as sc:
        ng, app = sc.user("ng"), sc.user("app")
        sock = sc.gunicorn(app, app, "run/app.sock", umask="0o117")
        sc.nginx(ng, sock)
        conf_before = _digest(sc.nginx_conf)
        assert sc.curl() == 502

        shown = _fix(sc)
        assert shown.returncode == 0, shown.stderr
        assert f"usermod -aG {app} {ng}" in shown.stdout
        assert ng not in _members(app) and sc.curl() == 502  # printing changed nothing

        done = _fix(sc, "--apply", "--yes", "--format", "json")
        assert done.returncode == 0, done.stderr + done.stdout
        events = [json.loads(line) for line in done.stdout.splitlines()]
        assert any(e.get("what") == "verify" and e["status"] == "ok" for e in events)
        run_dir = events[-1]["run_dir"]
        assert ng in _members(app)
        assert sc.curl() == 200
        assert not os.stat(sock).st_mode & stat.S_IWOTH
        assert _digest(sc.nginx_conf) == conf_before

        again = _fix(sc, "--apply", "--yes")
        assert again.returncode == 0 and "nothing to fix" in again.stdout, again.stderr

        back = _fix(sc, "--rollback", run_dir)
        assert back.returncode == 0, back.stderr
        assert ng not in _members(app)
        log = [json.loads(l) for l in open(os.path.join(run_dir, "log.jsonl"))]
        assert any(e["what"].startswith("reload after rollback") and e["status"] == "ok" for e in log)
        codes = []
        for _ in range(50):  # the HUP from the rollback: wait for the new workers, do not reload here
            codes.append(sc.curl())
            if codes[-1] == 502:
                break
            time.sleep(0.1)
        assert codes[-1] == 502, codes
