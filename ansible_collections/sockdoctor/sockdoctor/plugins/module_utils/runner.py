# -*- coding: utf-8 -*-
"""Run `sockdoctor check` on the target and hand back its JSON report as plain data.

The package is imported when the module's interpreter has it (the role `sockdoctor` installs
it into a venv; point `ansible_python_interpreter` at that venv's python). Without it the
modules fail with a message naming the role.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

MISSING = ("sockdoctor is not importable by {python}; install it with the role "
           "sockdoctor.sockdoctor.sockdoctor and set ansible_python_interpreter to its venv")


def sockdoctor_available():
    try:
        import sockdoctor.commands.check  # noqa: F401
    except ImportError:
        return False
    return True


def check_report(root=None, socket=None, nginx_user=None, probe=True, nginx_conf=None):
    """The `sockdoctor check --format json` report as a dict, plus its exit status."""
    data, status, _ = check(root, socket, nginx_user, probe, nginx_conf)
    return data, status


def check(root=None, socket=None, nginx_user=None, probe=True, nginx_conf=None):
    """(JSON report as a dict, exit status, sockdoctor.report.Report) of `sockdoctor check`.

    Raises RuntimeError with a one-line message when the package or the tree is missing."""
    if not sockdoctor_available():
        raise RuntimeError(MISSING.format(python=sys.executable))
    from sockdoctor import engine
    from sockdoctor.commands import check as cmd
    from sockdoctor.live.collect import collect

    if root and not os.path.isdir(root):
        raise RuntimeError("root %s: not a directory" % root)
    col = collect(root=os.path.abspath(root) if root else None, conf=nginx_conf, socket=socket)
    probes, probe_notes = cmd.run_probes(col) if probe else ({}, ["probe skipped: probe=false"])
    rows = cmd.socket_rows(col, probes)
    notes = cmd.disagreements(rows)
    report = engine.diagnose(col.inputs, extra_records=col.records, nginx_user=nginx_user)
    data = json.loads(cmd.render("json", rows, report, col.warnings + probe_notes, notes))
    return data, cmd.exit_status(rows, report), report


def summary(data):
    """One line per socket: verdict, first cause, first fix title (what the fleet table shows)."""
    fixes = {}
    for fix in data.get("fixes", []):
        fixes.setdefault(fix.get("finding"), fix)
    out = []
    rows = data.get("check", {}).get("sockets", [])
    paths = [r["path"] for r in rows] or sorted({f.get("socket") for f in data.get("findings", []) if f.get("socket")})
    for path in paths:
        row = next((r for r in rows if r["path"] == path), {})
        found = [f for f in data.get("findings", []) if f.get("socket") in (path, None)]  # None: host-wide
        first = found[0] if found else None
        fix = fixes.get(first["id"]) if first else None
        out.append({
            "socket": path,
            "verdict": row.get("verdict", "unknown"),
            "causes": [f["cause"] for f in found],
            "cause": first["cause"] if first else None,
            "fix": fix["title"] if fix else None,
        })
    return out
