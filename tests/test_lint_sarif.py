"""SARIF 2.1.0 and GitHub annotation output of `sockdoctor lint`."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from lint_helpers import POOL_DIFF, synthetic_result
from sockdoctor.render import github, sarif
from shared_paths import SHARED_STR  # noqa: E402

SCHEMA = Path(SHARED_STR + "/schemas/sarif-2.1.0.json")
NPM_DIR = Path(__file__).parent / ".npm"
MULTITOOL = NPM_DIR / "node_modules" / ".bin" / "sarif-multitool"


def _schema():
    if not SCHEMA.is_file():
        pytest.skip(f"{SCHEMA} missing")
    return json.loads(SCHEMA.read_text())


def test_sarif_validates_against_schema_and_carries_rules_locations_and_fixes():
    log = sarif.render(synthetic_result("listen.backlog = 1  ; sockdoctor: ignore\n"))
    jsonschema.validate(log, _schema())
    run = log["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert {"world_writable_socket", "invalid_suppression"} <= set(rules)
    for r in rules.values():
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"]
        assert r["help"]["text"] and r["help"]["markdown"].startswith(f"## {r['id']}")
        assert 0.0 <= float(r["properties"]["security-severity"]) <= 10.0
        assert "sockdoctor" in r["properties"]["tags"]
    by_rule = {res["ruleId"]: res for res in run["results"]}
    ww = by_rule["world_writable_socket"]
    assert run["tool"]["driver"]["rules"][ww["ruleIndex"]]["id"] == "world_writable_socket"
    region = ww["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (7, 1)
    assert ww["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pool.d/shop.conf"
    change = ww["fixes"][0]["artifactChanges"][0]
    assert change["replacements"] == [{"deletedRegion": {"startLine": 7, "startColumn": 1, "endLine": 8, "endColumn": 1},
                                       "insertedContent": {"text": "listen.mode = 0660\n"}}]
    inv = by_rule["invalid_suppression"]["locations"][0]["physicalLocation"]["region"]
    assert inv["startLine"] == 8 and inv["startColumn"] == len("listen.backlog = 1  ") + 1


def test_diff_replacements_apply_to_the_original_text():
    from lint_helpers import POOL

    reps = sarif.diff_replacements(POOL_DIFF)
    lines = POOL.split("\n")
    for rep in reversed(reps):
        r = rep["deletedRegion"]
        new = rep.get("insertedContent", {}).get("text", "").split("\n")[:-1]
        lines[r["startLine"] - 1:r["endLine"] - 1] = new
    assert "\n".join(lines) == POOL.replace("0666", "0660")


def test_pure_insertion_and_deletion_hunks():
    add = "--- a/x\n+++ b/x\n@@ -2,0 +3,1 @@\n+umask = 0117\n"
    assert sarif.diff_replacements(add) == [{"deletedRegion": {"startLine": 3, "startColumn": 1, "endLine": 3,
                                                               "endColumn": 1},
                                             "insertedContent": {"text": "umask = 0117\n"}}]
    rm = "--- a/x\n+++ b/x\n@@ -1,3 +1,2 @@\n a\n-user root;\n b\n"
    assert sarif.diff_replacements(rm) == [{"deletedRegion": {"startLine": 2, "startColumn": 1, "endLine": 3,
                                                              "endColumn": 1}}]


def test_github_annotations_escape_and_locate():
    result = synthetic_result()
    result.report.findings[0].summary = "50% of\nsockets"
    out = github.render(result).splitlines()
    assert out == ["::error file=pool.d/shop.conf,line=7,col=1,title=sockdoctor world_writable_socket (high)"
                   "::50%25 of%0Asockets"]


@pytest.fixture(scope="module")
def multitool():
    if not MULTITOOL.exists():
        if not shutil.which("npm"):
            pytest.skip("npm not installed: cannot fetch @microsoft/sarif-multitool")
        NPM_DIR.mkdir(exist_ok=True)
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR),
                               "@microsoft/sarif-multitool@5.7.0"], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not MULTITOOL.exists():
            pytest.skip(f"@microsoft/sarif-multitool did not install: {proc.stderr[-300:]}")
    for native in NPM_DIR.glob("node_modules/@microsoft/sarif-multitool-*/Sarif.Multitool"):
        native.chmod(0o755)  # its postinstall chmod may not have run
    probe = subprocess.run([str(MULTITOOL), "--version"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"})
    if probe.returncode != 0:
        pytest.skip(f"sarif-multitool cannot run here: {(probe.stderr or probe.stdout)[-300:]}")
    return MULTITOOL


def _validate(multitool, path: Path, tmp_path: Path) -> list:
    out = tmp_path / "validation.sarif"
    subprocess.run([str(multitool), "validate", str(path), "-o", str(out), "--log", "ForceOverwrite"],
                   capture_output=True, text=True, timeout=300,
                   env={**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"})
    assert out.is_file(), "validator wrote no result"
    return [r for r in json.loads(out.read_text())["runs"][0].get("results", [])
            if r.get("level", "warning") in ("error", "warning")]


def test_microsoft_sarif_validator_accepts_our_log(multitool, tmp_path):
    path = tmp_path / "lint.sarif"
    path.write_text(json.dumps(sarif.render(synthetic_result("user = x ; sockdoctor: ignore[\n"))))
    problems = _validate(multitool, path, tmp_path)
    assert problems == [], problems


def test_microsoft_sarif_validator_catches_a_broken_log(multitool, tmp_path):
    log = sarif.render(synthetic_result())
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    path = tmp_path / "broken.sarif"
    path.write_text(json.dumps(log))
    assert any(r.get("level") == "error" for r in _validate(multitool, path, tmp_path))


def test_real_lint_sarif_fix_applies_and_validates(multitool, tmp_path):
    from lint_helpers import need_analysis
    from sockdoctor.lint import lint_paths

    need_analysis()
    tree = Path(__file__).parent / "data" / "repos" / "django" / "bad"
    log = sarif.render(lint_paths([tree], all_files=True, root=tree))
    jsonschema.validate(log, _schema())
    [res] = [r for r in log["runs"][0]["results"] if r["ruleId"] == "socket_path_mismatch"]
    [change] = res["fixes"][0]["artifactChanges"]
    lines = (tree / change["artifactLocation"]["uri"]).read_text().split("\n")
    for rep in reversed(change["replacements"]):
        r = rep["deletedRegion"]
        lines[r["startLine"] - 1:r["endLine"] - 1] = rep.get("insertedContent", {}).get("text", "").split("\n")[:-1]
    assert "server unix:/run/gunicorn/site.sock fail_timeout=0;" in "\n".join(lines)
    path = tmp_path / "django.sarif"
    path.write_text(json.dumps(log))
    assert _validate(multitool, path, tmp_path) == []
