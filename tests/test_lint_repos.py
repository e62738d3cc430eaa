"""Realistic repository fixtures (tests/data/repos/<name>/{bad,clean}): each bad tree has known
findings at known lines (expected.yaml), its clean variant has none. Needs the analysis."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from lint_helpers import need_analysis
from sockdoctor.lint import find_config, lint_paths, load_config
from sockdoctor.render import sarif
from shared_paths import SHARED_STR  # noqa: E402

REPOS = Path(__file__).parent / "data" / "repos"
NAMES = sorted(p.name for p in REPOS.iterdir() if (p / "expected.yaml").is_file())


def _lint(tree: Path):
    return lint_paths([tree], load_config(find_config(tree)), all_files=True, root=tree)


def test_fixtures_are_all_there():
    assert NAMES == ["compose", "django", "k8s", "k8s-configmap", "php", "uwsgi"]
    for name in NAMES:
        assert (REPOS / name / "bad").is_dir() and (REPOS / name / "clean").is_dir()


@pytest.mark.parametrize("name", NAMES)
def test_walker_finds_the_config_files(name):
    from sockdoctor.lint import lint_texts  # noqa: F401  (import check only)
    from sockdoctor.lint import walker

    tree = REPOS / name / "bad"
    files = [lf for lf in walker.walk([tree], root=tree, all_files=True) if walker.classify(lf.name, walker.read_text(lf))]
    expected = {at.split(":")[0] for item in yaml.safe_load((REPOS / name / "expected.yaml").read_text())["bad"]
                for at in item["at"]}
    assert expected <= {lf.name for lf in files}
    assert not any(lf.name.endswith((".php", ".txt", "manage.py", "wsgi.py")) for lf in files)


@pytest.mark.parametrize("name", NAMES)
def test_bad_tree_has_the_known_findings_at_known_lines(name):
    need_analysis()
    result = _lint(REPOS / name / "bad")
    got = {(f.cause, f"{result.locations[f.id].input}:{result.locations[f.id].line}")
           for f in result.report.findings if f.id in result.locations}
    expected = yaml.safe_load((REPOS / name / "expected.yaml").read_text())["bad"]
    for item in expected:
        assert any((item["cause"], at) in got for at in item["at"]), (item, sorted(got))
    assert {f.cause for f in result.report.findings} == {item["cause"] for item in expected}
    assert result.exit_status() == 1
    jsonschema.validate(sarif.render(result), json.loads(Path(SHARED_STR + "/schemas/sarif-2.1.0.json").read_text()))


@pytest.mark.parametrize("name", NAMES)
def test_clean_tree_has_no_findings(name):
    need_analysis()
    result = _lint(REPOS / name / "clean")
    assert [(f.cause, f.summary) for f in result.report.findings] == []
    assert result.exit_status() == 0


def test_configmap_fix_is_a_diff_of_the_manifest_that_applies(tmp_path):
    """The nginx configuration inside a ConfigMap: the fix edits the manifest at the block's line,
    with the manifest's own lines as context, so `git apply` takes it as it is."""
    if not shutil.which("git"):
        pytest.skip("git not installed")
    tree = tmp_path / "repo"
    shutil.copytree(REPOS / "k8s-configmap" / "bad", tree)
    result = _lint(tree)
    finding = next(f for f in result.report.findings if f.cause == "worker_runs_as_root")
    fix = next(x for x in result.report.fixes if x.finding == finding.id)
    diff = next(d for d in fix.diffs if d.path == "manifests/nginx-configmap.yaml")
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    (tmp_path / "fix.patch").write_text(diff.diff)
    subprocess.run(["git", "-C", str(tree), "apply", str(tmp_path / "fix.patch")], check=True, capture_output=True)
    fixed = (tree / "manifests" / "nginx-configmap.yaml").read_text().split("\n")
    assert fixed[8] == "  nginx.conf: |" and fixed[9].startswith("    user ") and fixed[9] != "    user root;"
    again = _lint(tree)
    assert "worker_runs_as_root" not in {f.cause for f in again.report.findings}


CONFIGMAP = Path(__file__).parent / "data" / "configs" / "configmap-php-fpm-nginx.yaml"


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_configmap_pool_fix_keeps_the_manifest_valid(tmp_path, trailing_newline):
    """A PHP-FPM pool and an nginx config in one ConfigMap: both read in the manifest's lines (the
    last block too, when the file does not end with a newline), the world-writable pool found at
    its line, and the fix (a changed key and two inserted ones) a diff that applies and leaves a
    manifest whose block holds the new keys at the block's indentation."""
    if not shutil.which("git"):
        pytest.skip("git not installed")
    need_analysis()
    tree = tmp_path / "repo"
    (tree / "manifests").mkdir(parents=True)
    text = CONFIGMAP.read_text()
    manifest = tree / "manifests" / "php.yaml"
    manifest.write_text(text if trailing_newline else text.rstrip("\n"))
    result = _lint(tree)
    assert result.report.warnings == []
    finding = next(f for f in result.report.findings if f.cause == "world_writable_socket")
    assert result.locations[finding.id].line == 11 and result.locations[finding.id].column == 5
    fix = next(x for x in result.report.fixes if x.finding == finding.id)
    diff = next(d for d in fix.diffs if d.path == "manifests/php.yaml")
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    (tmp_path / "fix.patch").write_text(diff.diff)
    subprocess.run(["git", "-C", str(tree), "apply", str(tmp_path / "fix.patch")], check=True, capture_output=True)
    pool = yaml.safe_load(manifest.read_text())["data"]["www.conf"].split("\n")
    assert "listen.mode = 0660" in pool and any(line.startswith("listen.group = ") for line in pool)
    assert yaml.safe_load(manifest.read_text())["data"]["nginx.conf"].rstrip().endswith("}")
    assert "world_writable_socket" not in {f.cause for f in _lint(tree).report.findings}
