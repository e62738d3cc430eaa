"""One positive and one near-miss (`fp`) fixture per cause in domain/causes.md.

tests/data/causes/<cause>/positive*/ : the cause is reported (for failure causes: first).
tests/data/causes/<cause>/fp*/       : a near-miss; the cause must not be reported.
Each fixture directory holds the files a user would paste (configs, ls -la, id, error.log...).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sockdoctor import engine
from sockdoctor.rules import FAILURE_CAUSES, INSECURE_CAUSES
from shared_paths import SHARED_STR  # noqa: E402

DATA = Path(__file__).parent / "data" / "causes"
CAUSES_MD = Path(__file__).resolve().parents[1].parent / "shared" / "domain" / "causes.md"
if not CAUSES_MD.is_file():
    CAUSES_MD = Path(os.environ.get("SOCKDOCTOR_DOMAIN", SHARED_STR + "/domain")) / "causes.md"


def causes_from_md(text: str) -> list[str]:
    """The cause names in the first column of causes.md's tables."""
    names = []
    for line in text.splitlines():
        m = re.match(r"^\|\s*`([a-z0-9_]+)`\s*\|", line)
        if m:
            names.append(m.group(1))
    return names


def fixtures(prefix: str) -> list[Path]:
    return sorted(p for p in DATA.glob(f"*/{prefix}*") if p.is_dir())


def diagnose_dir(d: Path):
    inputs = {p.name: p.read_text() for p in sorted(d.iterdir()) if p.is_file()}
    return engine.diagnose(inputs).to_json()


def test_causes_md_parsed():
    if not CAUSES_MD.is_file():
        pytest.skip(f"{CAUSES_MD} not available")
    names = causes_from_md(CAUSES_MD.read_text())
    assert len(names) >= 20
    assert "worker_not_in_socket_group" in names and "socket_in_shared_tmp" in names


def test_every_cause_has_both_fixtures():
    if not CAUSES_MD.is_file():
        pytest.skip(f"{CAUSES_MD} not available")
    names = causes_from_md(CAUSES_MD.read_text())
    missing = [f"{c}/{kind}" for c in names for kind in ("positive", "fp")
               if not any(p.is_dir() for p in (DATA / c).glob(f"{kind}*"))]
    assert not missing, f"causes without fixtures: {missing}"
    unknown = sorted({p.name for p in DATA.iterdir() if p.is_dir()} - set(names))
    assert not unknown, f"fixture directories naming no cause in causes.md: {unknown}"


@pytest.mark.parametrize("d", fixtures("positive"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_positive(d):
    cause = d.parent.name
    report = diagnose_dir(d)
    causes = [f["cause"] for f in report["findings"]]
    assert cause in causes, f"{cause} not reported; got {causes}"
    if cause in FAILURE_CAUSES:
        failures = [c for c in causes if c not in INSECURE_CAUSES]
        assert failures[0] == cause, f"{cause} is not the first failure finding; got {causes}"
        assert causes[0] == cause, f"{cause} is not the first finding; got {causes}"


@pytest.mark.parametrize("d", fixtures("fp"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_false_positive(d):
    cause = d.parent.name
    report = diagnose_dir(d)
    causes = [f["cause"] for f in report["findings"]]
    assert cause not in causes, f"{cause} reported on a near-miss; got {causes}"
