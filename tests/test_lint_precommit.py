"""pre-commit (from PyPI) runs this checkout's `sockdoctor-lint` hook in a scratch git repository.

The hook definition is read from .pre-commit-hooks.yaml and used as a `repo: local` hook with
`language: system` pointing at this venv's `sockdoctor`, so the test needs no network; everything
else (files regex, args, pass_filenames) is the manifest's own."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORLD_WRITABLE_POOL = "[app]\nuser = app\nlisten = /run/php/app.sock\nlisten.owner = app\nlisten.group = www-data\nlisten.mode = 0660\n"


def _hook() -> dict:
    [hook] = [h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text()) if h["id"] == "sockdoctor-lint"]
    return hook


def _scratch(tmp_path: Path) -> tuple[Path, dict]:
    if not shutil.which("git") or not (BIN / "pre-commit").exists():
        pytest.skip("git or pre-commit not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x", "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    hook = _hook()
    local = {k: v for k, v in hook.items() if k not in ("language", "entry")}
    local.update(language="system", entry=str(BIN / "sockdoctor") + hook["entry"].removeprefix("sockdoctor"))
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]}))
    # the only finding without the rules: a suppression without a reason
    (repo / ".sockdoctor.toml").write_text('fail_on = "low"\n')
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "init", "--no-verify"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    subprocess.run([str(BIN / "pre-commit"), "install"], cwd=repo, env=env, check=True, capture_output=True)
    return repo, env


def _commit(repo: Path, env: dict, name: str, text: str) -> subprocess.CompletedProcess:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    subprocess.run(["git", "add", name], cwd=repo, env=env, check=True)
    return subprocess.run(["git", "commit", "-qm", f"add {name}"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300)


def test_hook_blocks_a_bad_commit_and_passes_a_good_one(tmp_path):
    repo, env = _scratch(tmp_path)
    bad = _commit(repo, env, "pool.d/app.conf", WORLD_WRITABLE_POOL + "pm = static ; sockdoctor: ignore[world_writable_socket]\n")
    assert bad.returncode != 0, bad.stdout + bad.stderr
    assert "invalid_suppression" in bad.stdout + bad.stderr
    assert "pool.d/app.conf:7" in bad.stdout + bad.stderr
    good = _commit(repo, env, "pool.d/app.conf", WORLD_WRITABLE_POOL)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "sockdoctor lint" in good.stdout + good.stderr  # the hook ran (Passed), not skipped
    log = subprocess.run(["git", "log", "--oneline"], cwd=repo, env=env, capture_output=True, text=True).stdout
    assert log.count("\n") == 2


def test_hook_manifest_matches_config_files_only():
    import re

    rx = re.compile(_hook()["files"])
    for name in ("etc/nginx/nginx.conf", "deploy/app.service", "k8s/pod.yaml", "Dockerfile", "roles/x/pool.conf.j2",
                 "Procfile", "docker-compose.yml"):
        assert rx.search(name), name
    for name in ("README.md", "src/index.php", "static/logo.png"):
        assert not rx.search(name), name
