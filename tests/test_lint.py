"""`sockdoctor lint`: walking, templates, configuration, suppressions and the command's exit status."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lint_helpers import POOL, no_analysis  # noqa: F401 (fixture)
from sockdoctor import cli
from sockdoctor.lint import ConfigError, LintConfig, find_config, lint_texts, load_config
from sockdoctor.lint import suppress, walker

NGINX = "user www-data;\nevents {}\nhttp {\n  server {\n    listen 80;\n    location / { proxy_pass http://unix:/run/app.sock; }\n  }\n}\n"
UNIT = "[Unit]\nDescription=app\n\n[Service]\nUser=app\nExecStart=/usr/bin/gunicorn --bind unix:/run/app/app.sock app:app\n"


def _git(repo: Path, *args):
    if not shutil.which("git"):
        pytest.skip("git not installed")
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _tree(root: Path, files: dict[str, str]):
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_walk_picks_configs_by_name_and_content(tmp_path):
    _tree(tmp_path, {"deploy/nginx.conf": NGINX, "deploy/app.service": UNIT, "deploy/pool.d/shop.conf": POOL,
                     "README.conf": "just some prose about the project.\n", "src/app.py": "print('hi')\n",
                     "notes.txt": NGINX})
    files = walker.walk([tmp_path], root=tmp_path, all_files=True)
    names = [f.name for f in files]
    assert "notes.txt" not in names and "src/app.py" in names  # .py is a name candidate; content decides next
    picked = {name for name in names
              if walker.classify(name, walker.read_text(next(f for f in files if f.name == name)))}
    assert picked == {"deploy/nginx.conf", "deploy/app.service", "deploy/pool.d/shop.conf"}


def test_walk_honours_gitignore_unless_all(tmp_path):
    _git(tmp_path, "init", "-q")
    _tree(tmp_path, {".gitignore": "rendered/\n", "nginx.conf": NGINX, "rendered/nginx.conf": NGINX})
    assert [f.name for f in walker.walk([tmp_path], root=tmp_path)] == ["nginx.conf"]
    assert [f.name for f in walker.walk([tmp_path], root=tmp_path, all_files=True)] == ["nginx.conf",
                                                                                      "rendered/nginx.conf"]


def test_walk_include_exclude_and_explicit_files(tmp_path):
    _tree(tmp_path, {"a/nginx.conf": NGINX, "b/nginx.conf": NGINX, "tests/nginx.conf": NGINX, "x.txt": NGINX})
    names = [f.name for f in walker.walk([tmp_path], root=tmp_path, all_files=True, exclude=["tests/**"])]
    assert names == ["a/nginx.conf", "b/nginx.conf"]
    names = [f.name for f in walker.walk([tmp_path], root=tmp_path, all_files=True, include=["b/*"])]
    assert names == ["b/nginx.conf"]
    assert [f.name for f in walker.walk([tmp_path / "x.txt"], root=tmp_path)] == ["x.txt"]
    with pytest.raises(FileNotFoundError):
        walker.walk([tmp_path / "missing"], root=tmp_path)


def test_templates_make_expressions_unknown_and_keep_lines():
    text = "{# managed by ansible #}\nuser {{ nginx_user }};\n{% if tls %}\nlisten 443 ssl;\n{% endif %}\n"
    out = walker.untemplate(text)
    assert out.split("\n") == ["", f"user {walker.UNKNOWN};", "", "listen 443 ssl;", "", ""]
    multi = "a {{ x\n }} b\n{% for i in y\n %}c\n"
    assert walker.untemplate(multi).count("\n") == multi.count("\n")
    assert walker.is_template("roles/web/templates/pool.conf.j2")
    assert walker.name_is_candidate("roles/web/templates/app.service.j2")
    assert not walker.name_is_candidate("roles/web/templates/index.html.j2")


def test_template_is_read_as_its_kind(tmp_path):
    _tree(tmp_path, {"templates/pool.conf.j2": POOL.replace("shop.sock", "{{ app }}.sock")})
    [lf] = walker.walk([tmp_path], root=tmp_path, all_files=True)
    text = walker.read_text(lf)
    assert walker.UNKNOWN in text and "{{" not in text
    assert [p.kind for p in walker.classify(lf.name, text)] == ["php_fpm"]


def test_config_from_sockdoctor_toml_and_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.sockdoctor]\ndistro = "rhel"\n'
                                             'disable = ["socket_in_shared_tmp"]\nfail_on = "high"\n')
    (tmp_path / "sub").mkdir()
    cfg = load_config(find_config(tmp_path / "sub"))
    assert (cfg.distro, cfg.disable, cfg.fail_on) == ("rhel", ["socket_in_shared_tmp"], "high")
    (tmp_path / ".sockdoctor.toml").write_text('nginx_user = "nginx"\nexclude = ["tests/**"]\n')
    cfg = load_config(find_config(tmp_path))
    assert (cfg.nginx_user, cfg.exclude, cfg.fail_on) == ("nginx", ["tests/**"], "low")


def test_config_without_section_is_ignored_and_bad_config_is_an_error(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) is None
    for bad, msg in [('fail_on = "sometimes"\n', "fail_on"), ('colour = "red"\n', "unknown setting"),
                     ("disable = \"x\"\n", "list of strings"), ("distro = [\n", ".sockdoctor.toml")]:
        (tmp_path / ".sockdoctor.toml").write_text(bad)
        with pytest.raises(ConfigError, match=msg):
            load_config(find_config(tmp_path))


def test_suppression_parsing():
    text = ("listen.mode = 0666 ; sockdoctor: ignore[world_writable_socket] -- dir is 0750\n"
            "# sockdoctor: ignore[worker_runs_as_root, acl_denies] -- legacy box\n"
            "# another comment\n\n"
            "user root;\n"
            "x = 1  # sockdoctor: ignore[world_writable_socket]\n"
            "y = 2  # sockdoctor: ignore -- because\n"
            "z = 3  // sockdoctor: ignore[nonsense_cause] -- typo\n")
    s = suppress.parse("f", text, known_causes={"world_writable_socket", "worker_runs_as_root", "acl_denies"})
    assert [(x.line, x.target, x.causes, x.reason, bool(x.problem)) for x in s] == [
        (1, 1, ["world_writable_socket"], "dir is 0750", False),
        (2, 5, ["worker_runs_as_root", "acl_denies"], "legacy box", False),
        (6, 6, ["world_writable_socket"], "", True),
        (7, 7, [], "because", True),
        (8, 8, ["nonsense_cause"], "typo", True),
    ]
    assert "unknown cause" in s[4].problem
    assert suppress.covers(s[1], "worker_runs_as_root", "f", {5})
    assert not suppress.covers(s[1], "world_writable_socket", "f", {5})
    assert not suppress.covers(s[2], "world_writable_socket", "f", {6})


def test_invalid_suppressions_are_reported_where_they_are():
    text = POOL + "pm = static ; sockdoctor: ignore[world_writable_socket]\n"
    result = lint_texts([("shop.conf", text)], LintConfig(), analyse=False)
    [f] = result.report.findings
    assert f.cause == "invalid_suppression" and "no reason" in f.summary
    loc = result.locations[f.id]
    assert (loc.input, loc.line, loc.column) == ("shop.conf", 8, len("pm = static ") + 1)
    assert result.exit_status() == 1
    result.fail_on = "high"
    assert result.exit_status() == 0


def test_unused_suppression_is_reported_when_rules_ran():
    from lint_helpers import need_analysis

    need_analysis()
    text = NGINX.replace("listen 80;", "listen 80;  # sockdoctor: ignore[worker_runs_as_root] -- not root here")
    result = lint_texts([("nginx.conf", text)], LintConfig(nginx_user="www-data"))
    assert [f.cause for f in result.report.findings if f.cause.endswith("_suppression")] == ["unused_suppression"]


def _run(argv, capsys):
    code = cli.main(["lint", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_command_exit_status_and_formats(tmp_path, capsys, monkeypatch, no_analysis):
    monkeypatch.chdir(tmp_path)
    _tree(tmp_path, {"pool.d/shop.conf": POOL + "pm = static ; sockdoctor: ignore[world_writable_socket]\n",
                     ".sockdoctor.toml": 'disable = ["world_writable_socket"]\n'})
    code, out, _ = _run(["pool.d", "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 1 and data["findings"][-1]["cause"] == "invalid_suppression"
    assert data["findings"][-1]["location"] == {"file": "pool.d/shop.conf", "line": 8, "column": 13}
    assert "world_writable_socket" not in {f["cause"] for f in data["findings"]}
    code, out, _ = _run(["pool.d", "--fail-on", "high", "--format", "github"], capsys)
    assert code == 0 and out.startswith("::warning file=pool.d/shop.conf,line=8,col=13,")
    code, out, _ = _run([".", "--format", "sarif", "--output", "out.sarif"], capsys)
    assert code == 1 and out == "" and json.loads((tmp_path / "out.sarif").read_text())["version"] == "2.1.0"
    code, out, _ = _run(["."], capsys)
    assert "pool.d/shop.conf:8:13: medium: suppression gives no reason" in out


def test_command_usage_errors(tmp_path, capsys, monkeypatch, no_analysis):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(["nowhere"], capsys)
    assert code == 2 and err.strip() == "sockdoctor: nowhere: no such file or directory"
    (tmp_path / ".sockdoctor.toml").write_text('fail_on = "often"\n')
    code, _, err = _run(["."], capsys)
    assert code == 2 and ".sockdoctor.toml: fail_on must be one of" in err and "Traceback" not in err
    (tmp_path / ".sockdoctor.toml").write_text("")
    code, _, err = _run([".", "--output", str(tmp_path / "no" / "dir" / "x")], capsys)
    assert code == 2 and "cannot write" in err


def test_clean_tree_exits_zero(tmp_path, capsys, monkeypatch, no_analysis):
    monkeypatch.chdir(tmp_path)
    _tree(tmp_path, {"README.md": "# nothing to lint\n"})
    code, out, _ = _run(["."], capsys)
    assert code == 0 and "0 file(s) checked, 0 finding(s)" in out


def test_template_unknowns_are_not_findings():
    from lint_helpers import need_analysis

    need_analysis()
    pool = POOL.replace("listen.mode = 0666", "listen.mode = {{ php_socket_mode }}")
    nginx = NGINX.replace("user www-data;", "user {{ nginx_user }};").replace("/run/app.sock", "/run/php/shop.sock")
    files = [("roles/php/templates/shop.conf.j2", walker.untemplate(pool)),
             ("roles/nginx/templates/nginx.conf.j2", walker.untemplate(nginx))]
    result = lint_texts(files, LintConfig(distro="debian"))
    assert [(f.cause, f.summary) for f in result.report.findings] == []
    # the same files with the values filled in badly are reported
    bad = [(n.removesuffix(".j2"), t.replace(walker.UNKNOWN, v))
           for (n, t), v in zip(files, ["0666", "www-data"])]
    result = lint_texts(bad, LintConfig(distro="debian"))
    assert "world_writable_socket" in {f.cause for f in result.report.findings}


def test_walk_in_git_tree_where_everything_is_ignored(tmp_path):
    _git(tmp_path, "init", "-q")
    _tree(tmp_path, {".gitignore": "*.conf\n", "nginx.conf": NGINX})
    assert walker.walk([tmp_path], root=tmp_path) == []


def test_content_must_fit_the_name():
    unit_in_python = 'UNIT = """[Service]\nUser=app\nExecStart=/usr/bin/gunicorn --bind unix:/run/a.sock a:app\n"""\n'
    assert walker.classify("tests/test_units.py", unit_in_python) == []
    assert [p.kind for p in walker.classify("deploy/app.service", UNIT)] == ["systemd_unit"]
    assert walker.classify("deploy/app.yaml", NGINX) == []
    assert [p.kind for p in walker.classify("deploy/sites-enabled/app", NGINX)] == ["nginx_config"]
    assert walker.allowed_kinds("roles/x/templates/Dockerfile.j2") == {"dockerfile"}
