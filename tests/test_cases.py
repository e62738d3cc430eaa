"""Every worked case in ../shared/cases, through the CLI, as separate files and as one paste on stdin."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from shared_paths import SHARED_STR  # noqa: E402

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "cases"
if not CASES.is_dir():
    CASES = Path(os.environ.get("SOCKDOCTOR_CASES", SHARED_STR + "/cases"))
CASE_DIRS = sorted(p for p in CASES.glob("[0-9]*") if p.is_dir())


def run_cli(args, stdin=None):
    proc = subprocess.run([sys.executable, "-m", "sockdoctor", "diagnose", "--format", "json", *args],
                          input=stdin, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr + proc.stdout[:2000]
    return json.loads(proc.stdout)


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def fix_text(report) -> str:
    parts = []
    for fx in report["fixes"]:
        parts += fx["commands"]
        for d in fx["diffs"]:
            parts += [l for l in d["diff"].splitlines() if not l.startswith("-")]
    return squash("\n".join(parts))


def check(report, spec, where):
    exp = spec["expected"]
    causes = [f["cause"] for f in report["findings"]]
    assert causes, f"{where}: no findings"
    assert causes[0] in exp["causes"], f"{where}: first cause {causes[0]}, expected {exp['causes']}; all {causes}"
    for bad in exp.get("must_not", []):
        assert bad not in causes, f"{where}: {bad} must not be reported; got {causes}"
    for ins in exp.get("insecure", []):
        assert ins in causes[1:] or ins == causes[0], f"{where}: insecure {ins} missing; got {causes}"
    text = fix_text(report)
    for never in exp.get("never", []):
        assert squash(never) not in text, f"{where}: fix contains forbidden {never!r}"
    for item in exp.get("fix_must_include", []):
        literals = re.findall(r"`([^`]+)`", item)
        if not literals:
            continue
        assert any(squash(lit) in text for lit in literals), f"{where}: fix lacks one of {literals}"
    first = report["findings"][0]
    origin = exp.get("origin") or {}
    if origin.get("component") and first.get("origin"):
        assert first["origin"]["component"] == origin["component"], f"{where}: origin {first['origin']} vs {origin}"


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_files(case):
    spec = yaml.safe_load((case / "case.yaml").read_text())
    files = [str(p) for p in sorted(case.iterdir()) if p.name not in ("case.yaml", "paste.txt")]
    check(run_cli(files), spec, f"{case.name} (files)")


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_paste(case):
    spec = yaml.safe_load((case / "case.yaml").read_text())
    check(run_cli([], stdin=(case / "paste.txt").read_text()), spec, f"{case.name} (paste)")
