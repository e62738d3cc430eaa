"""The diagnose command's outside: formats, exit status, and bad input as one line, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-incident"


def sd(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "sockdoctor", *args], input=stdin, capture_output=True, timeout=120)


def test_seed_json_contract():
    p = sd("diagnose", "--format", "json", str(SEED))
    assert p.returncode == 1, p.stderr
    data = json.loads(p.stdout)
    assert data["schema_version"] == 1
    assert {"inputs", "sockets", "findings", "fixes", "warnings"} <= set(data)
    first = data["findings"][0]
    assert first["cause"] == "worker_not_in_socket_group"
    assert first["socket"] == "/run/gunicorn/app.sock"
    assert first["origin"]["component"] == "systemd"
    assert any(e["input"].endswith("error.log") and e["line"] == 1 for e in first["evidence"])
    assert any("EACCES" in t for t in first["trace"])
    fix = next(f for f in data["fixes"] if f["finding"] == first["id"])
    assert fix["rank"] == 1 and "SocketGroup=nginx" in fix["diffs"][0]["diff"]
    assert "+SocketMode=0660" in fix["diffs"][0]["diff"]
    assert data["sockets"][0]["used_by"] == [f"{SEED / 'nginx.conf'}:22"] or data["sockets"][0]["used_by"][0].endswith("nginx.conf:22")


def test_text_and_markdown():
    t = sd("diagnose", str(SEED))
    assert t.returncode == 1 and b"worker_not_in_socket_group" in t.stdout and b"\x1b[" not in t.stdout
    m = sd("diagnose", "--format", "markdown", str(SEED))
    assert m.returncode == 1 and m.stdout.startswith(b"# sockdoctor report") and b"```diff" in m.stdout


def test_missing_file_is_one_line_exit_2():
    p = sd("diagnose", "/nonexistent/nginx.conf")
    assert p.returncode == 2
    assert p.stderr.decode().strip().count("\n") == 0
    assert b"/nonexistent/nginx.conf" in p.stderr and b"Traceback" not in p.stderr


def test_binary_input_no_traceback():
    p = sd("diagnose", "-", stdin=bytes(range(256)) * 50)
    assert p.returncode in (0, 1, 2)
    assert b"Traceback" not in p.stderr


def test_nothing_readable_exit_2():
    p = sd("diagnose", "-", stdin=b"hello there, my site is down\n")
    assert p.returncode == 2
    assert b"<stdin>:1" in p.stderr and b"Traceback" not in p.stderr


def test_healthy_setup_exit_0():
    healthy = ("user www-data;\nevents {}\nhttp { server { location / { proxy_pass http://unix:/run/app/app.sock; } } }\n"
               "$ ls -la /run/app/app.sock\nsrw-rw---- 1 app www-data 0 Jan 15 03:40 /run/app/app.sock\n"
               "$ id www-data\nuid=33(www-data) gid=33(www-data) groups=33(www-data)\n")
    p = sd("diagnose", "--format", "json", "-", stdin=healthy.encode())
    assert p.returncode == 0, p.stdout
    assert json.loads(p.stdout)["findings"] == []


def test_sarif_is_valid_and_points_at_evidence():
    import jsonschema
    from shared_paths import SCHEMAS

    p = sd("diagnose", "--format", "sarif", str(SEED))
    assert p.returncode == 1, p.stderr
    log = json.loads(p.stdout)
    jsonschema.validate(log, json.loads((SCHEMAS / "sarif-2.1.0.json").read_text()))
    first = log["runs"][0]["results"][0]
    assert first["ruleId"] == "worker_not_in_socket_group"
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
