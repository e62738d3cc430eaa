"""Redaction keeps what the diagnosis needs: for every case in shared/cases/, paths, users, groups,
modes and directives survive redaction, also with secrets mixed in and with --hosts; and when the
engine has `diagnose`, the diagnosis of the redacted text equals that of the original."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sockdoctor.redact import redact, restore
from sockdoctor.redact.detectors import _HOSTNAME, _TLDS
from shared_paths import SHARED_STR  # noqa: E402

CASES = Path(SHARED_STR) / "cases"
CASE_DIRS = sorted(p for p in CASES.glob("*") if p.is_dir()) if CASES.is_dir() else []

# One secret-bearing line per format; injected after every structural line of a case.
SECRET_LINES = [
    "    fastcgi_param DB_PASSWORD Qx7-mangrove-Secret;",
    'Environment="API_TOKEN=tok_5a4b3c2d1e0f9a8b7c6d"',
    '    proxy_set_header Authorization "Bearer eyJzdWIiOiJhcHAifQabcdefgh12";',
    "env[AWS_SECRET_ACCESS_KEY] = wJalrXUtnFEMIK7MDENGbPxRfiCYzz0000EXAMPLE",
    "DATABASE_URL=postgres://app:Pg-Secret-991@db.internal:5432/app",
    "export GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345",
]

_PATH = re.compile(r"(?<![\w.:/-])(?:unix:)?/[\w.@+-]+(?:/[\w.@+-]*)*")
_MODE = re.compile(r"(?<![\w-])[-dlcbsp][rwxsStT-]{9}[+.]?(?!\w)|(?<![\w.])0[0-7]{3}(?!\w)")
_NAMES = re.compile(
    r"^(?:\d+:)?\s*user\s+([\w-]+)(?:\s+([\w-]+))?\s*;"  # nginx (also from nginx -T | grep -n)
    r"|^([\w-]+):x:\d+:([\w,-]*)$"  # /etc/group
    r"|^\s*(?:User|Group|SocketUser|SocketGroup|SupplementaryGroups)=([\w -]+)$"  # systemd
    r"|^\s*(?:user|group|listen\.owner|listen\.group|uid|gid|chown-socket)\s*=\s*([\w:.-]+)"  # php-fpm / uwsgi
    r"|^[-dlcbsp][rwxsStT-]{9}[+.]?\s+\d+\s+([\w-]+)\s+([\w-]+)"  # ls -l
    r"|\b(?:uid|gid|groups)=\d+\(([\w-]+)\)")


def structural_tokens(line: str, hosts: bool) -> list[str]:
    tokens = [m.group(0) for m in _MODE.finditer(line)]
    for m in _NAMES.finditer(line):
        tokens += [g for g in m.groups() if g]
    for m in _PATH.finditer(line):
        path = m.group(0)
        if hosts and any(h.group("tld").lower() in _TLDS for h in _HOSTNAME.finditer(path)):
            continue  # with --hosts a hostname inside a path is masked on purpose
        tokens.append(path)
    return tokens


def case_inputs(case: Path) -> list[tuple[str, str]]:
    return [(p.name, p.read_text()) for p in sorted(case.iterdir())
            if p.is_file() and p.name != "case.yaml"]


pytestmark = pytest.mark.skipif(not CASE_DIRS, reason=f"no cases at {CASES}")


@pytest.mark.parametrize("case", CASE_DIRS, ids=lambda p: p.name[:2])
def test_structure_survives_with_secrets_mixed_in(case):
    checked = 0
    for name, text in case_inputs(case):
        lines = text.split("\n")
        mixed, structural = [], []
        for index, line in enumerate(lines):
            mixed.append(line)
            if structural_tokens(line, hosts=False):
                structural.append(len(mixed) - 1)
                mixed.append(SECRET_LINES[index % len(SECRET_LINES)])
        checked += len(structural)
        original = "\n".join(mixed)
        result = redact(original)
        out = result.text.split("\n")
        assert len(out) == len(mixed)
        for index in structural:
            assert out[index] == mixed[index], f"{case.name}/{name}:{index + 1}"
            injected = out[index + 1]
            assert "<<SECRET:" in injected and injected != mixed[index + 1], f"{case.name}/{name}: {mixed[index + 1]}"
        assert restore(result.text, result.mapping) == original
    assert checked >= 10, f"{case.name}: only {checked} lines with paths, users or modes; the check is too thin"


@pytest.mark.parametrize("case", CASE_DIRS, ids=lambda p: p.name[:2])
def test_structure_survives_host_masking(case):
    for name, text in case_inputs(case):
        result = redact(text, hosts=True)
        out = result.text.split("\n")
        for index, line in enumerate(text.split("\n")):
            for token in structural_tokens(line, hosts=True):
                assert token in out[index], f"{case.name}/{name}:{index + 1}: {token!r} lost in {out[index]!r}"


@pytest.mark.parametrize("case", CASE_DIRS, ids=lambda p: p.name[:2])
def test_diagnosis_of_redacted_text_equals_original(case):
    from sockdoctor import engine

    if not hasattr(engine, "diagnose"):
        pytest.skip("sockdoctor.engine.diagnose is not there yet (structure is checked above)")

    def summary(texts: dict[str, str]):
        report = engine.diagnose(texts)
        data = report.to_json() if hasattr(report, "to_json") else report
        return ([(f["cause"], f["socket"], f["severity"], (f.get("origin") or {}).get("setting"))
                 for f in data["findings"]],
                [(f["finding"], f["rank"], f["title"]) for f in data.get("fixes", [])])

    inputs = dict(case_inputs(case))
    expected = summary(inputs)
    mixed = {name: text + "\n" + "\n".join(SECRET_LINES[:2]) + "\n" for name, text in inputs.items()}
    assert summary({n: redact(t).text for n, t in mixed.items()}) == summary(mixed)
    assert summary({n: redact(t).text for n, t in inputs.items()}) == expected
