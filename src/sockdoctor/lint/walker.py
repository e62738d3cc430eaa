"""Find the files of a repository that sockdoctor's readers understand.

A file is linted when its *name* makes it a candidate (config-like extension or a well-known name
such as `Dockerfile`, `Procfile`, `*.service`) AND its *content* is classified by the readers as a
configuration kind (see LINT_KINDS). Inside a git work tree the walk honours `.gitignore` through
`git ls-files -co --exclude-standard` (imported lazily:
lint_texts stays pure Python); `all_files=True` (or no git) walks the directory itself,
skipping VCS and dependency directories.

Jinja templates (`*.j2`, `*.jinja`, `*.jinja2`): `{{ expr }}` becomes UNKNOWN (a value nobody knows
at lint time) and `{% ... %}` / `{# ... #}` tags become empty text; line numbers are kept.
"""
from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path, PurePosixPath

from sockdoctor._dataclass import dataclass

UNKNOWN = "sockdoctor-unknown"
TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
LINT_KINDS = frozenset({
    "nginx_config", "systemd_unit", "tmpfiles", "php_fpm", "uwsgi", "gunicorn", "puma", "supervisord",
    "dockerfile", "compose", "k8s", "apparmor_profile",
})
MAX_BYTES = 2_000_000
_CONFIG_SUFFIXES = {
    ".conf", ".cfg", ".ini", ".service", ".socket", ".timer", ".path", ".mount", ".target", ".yml", ".yaml",
    ".py", ".rb", ".nginx", ".site", ".vhost", ".dockerfile", ".containerfile",
}
_CONFIG_NAMES = {"dockerfile", "containerfile", "procfile", "nginx", "default", "www", "fastcgi_params",
                 "uwsgi_params", "gunicorn.conf.py", "puma.rb", "unicorn.rb"}
_CONFIG_DIRS = {"sites-available", "sites-enabled", "conf.d", "nginx", "pool.d", "php-fpm.d", "tmpfiles.d",
                "systemd", "vassals", "apps-enabled", "apps-available", "snippets"}
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
              ".pytest_cache", "site-packages", "dist", "build"}
_EXPR = re.compile(r"\{\{.*?\}\}", re.S)
_TAGS = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)


@dataclass(frozen=True)
class LintFile:
    path: Path  # on disk
    name: str  # posix path relative to the walk root: the input name in reports
    template: bool = False


def is_template(name: str) -> bool:
    return name.lower().endswith(TEMPLATE_SUFFIXES)


def untemplate(text: str) -> str:
    """Jinja text with expressions made UNKNOWN and tags removed, newlines kept (same line numbers)."""
    text = _TAGS.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return _EXPR.sub(lambda m: UNKNOWN + "\n" * m.group(0).count("\n"), text)


def name_is_candidate(rel: str) -> bool:
    """Whether a path's name makes it worth reading (content decides afterwards)."""
    p = PurePosixPath(rel.lower())
    name = p.name
    for suffix in TEMPLATE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    base = PurePosixPath(name)
    if name in _CONFIG_NAMES or name.startswith(("dockerfile", "containerfile")):
        return True
    if base.suffix in _CONFIG_SUFFIXES or name.endswith(".conf.py"):
        return True
    if not base.suffix and any(part in _CONFIG_DIRS for part in p.parts[:-1]):
        return True
    return base.suffix.startswith(".conf")  # nginx.conf.default, www.conf.dpkg-dist


_KINDS_BY_SUFFIX = {
    ".py": {"gunicorn"}, ".rb": {"puma"}, ".yml": {"compose", "k8s"}, ".yaml": {"compose", "k8s"},
    ".ini": {"uwsgi", "supervisord", "php_fpm", "systemd_unit"},
    **{sfx: {"systemd_unit"} for sfx in (".service", ".socket", ".timer", ".path", ".mount", ".target")},
    ".dockerfile": {"dockerfile"}, ".containerfile": {"dockerfile"},
}


def allowed_kinds(name: str) -> frozenset[str]:
    """The kinds a file of this name may hold: a `.py` file is a gunicorn config or nothing, a
    `.yaml` file compose or Kubernetes, a Dockerfile a Dockerfile; `.conf` and bare names anything."""
    base = PurePosixPath(name.lower()).name
    for suffix in TEMPLATE_SUFFIXES:
        base = base.removesuffix(suffix)
    if base.startswith(("dockerfile", "containerfile")):
        return frozenset({"dockerfile"})
    if base == "procfile":
        return frozenset({"gunicorn", "puma"})
    return frozenset(_KINDS_BY_SUFFIX.get(PurePosixPath(base).suffix, LINT_KINDS))


def _git_root(path: Path) -> Path | None:
    import shutil
    import subprocess

    if not shutil.which("git"):
        return None
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def _git_files(directory: Path) -> list[Path] | None:
    """Tracked and untracked-but-not-ignored files under ``directory``; None outside a git tree."""
    import subprocess

    if _git_root(directory) is None:
        return None
    try:
        out = subprocess.run(["git", "-C", str(directory), "ls-files", "-co", "--exclude-standard", "-z", "--", "."],
                             capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    names = [n for n in out.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
    return [directory / n for n in names if (directory / n).is_file()]


def _plain_files(directory: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        out += [Path(root) / f for f in sorted(files)]
    return out


def _matches(rel: str, patterns) -> bool:
    return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, pat.rstrip("/") + "/*") for pat in patterns)


def walk(paths: list[str | Path], *, all_files: bool = False, include=(), exclude=(),
         root: Path | None = None) -> list[LintFile]:
    """Candidate files under ``paths`` (files given explicitly are always candidates).

    Names are relative to ``root`` (default: the current directory, or the path itself when the
    file lies outside it). ``include``/``exclude`` are glob patterns on those names."""
    root = (root or Path.cwd()).resolve()
    seen: dict[Path, LintFile] = {}
    for given in paths:
        p = Path(given)
        if p.is_file():
            files, explicit = [p], True
        elif p.is_dir():
            tracked = None if all_files else _git_files(p)
            files = _plain_files(p) if tracked is None else tracked
            explicit = False
        else:
            raise FileNotFoundError(str(given))
        for f in files:
            resolved = f.resolve()
            try:
                rel = resolved.relative_to(root).as_posix()
            except ValueError:
                rel = f.as_posix()
            if not explicit:
                if include and not _matches(rel, include):
                    continue
                if _matches(rel, exclude) or not name_is_candidate(rel):
                    continue
            seen.setdefault(resolved, LintFile(f, rel, is_template(rel)))
    return sorted(seen.values(), key=lambda lf: lf.name)


def read_text(lf: LintFile) -> str | None:
    """The file's text (untemplated for templates), or None for binary/oversized files."""
    try:
        data = lf.path.read_bytes()
    except OSError:
        return None
    if len(data) > MAX_BYTES or b"\0" in data[:8192]:
        return None
    text = data.decode("utf-8", "replace")
    return untemplate(text) if lf.template else text


def classify(name: str, text: str) -> list:
    """The pieces of ``text`` the readers classify as a configuration kind (LINT_KINDS)."""
    from sockdoctor.evidence import split

    kinds = allowed_kinds(name)
    return [piece for piece in split.split(name, text) if piece.kind in kinds]
