"""Lint settings: `[tool.sockdoctor]` in pyproject.toml, or `.sockdoctor.toml` (top level).

    [tool.sockdoctor]
    distro = "debian"            # the distro the repo deploys to (facts the files cannot show)
    nginx_user = "www-data"      # when no nginx config in the repo names it
    include = ["deploy/**"]      # globs on repo-relative paths; default: everything
    exclude = ["tests/**"]
    disable = ["socket_in_shared_tmp"]
    fail_on = "medium"           # lowest severity that fails the run (default "low")

`.sockdoctor.toml` wins over pyproject.toml in the same directory; the search goes from the start
directory up to the filesystem root and stops at the first directory holding either.
"""
from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

from sockdoctor._dataclass import dataclass, field
from sockdoctor.report import SEVERITIES

CONFIG_FILES = (".sockdoctor.toml", "pyproject.toml")


class ConfigError(ValueError):
    """A bad configuration file: the message names the file."""


@dataclass
class LintConfig:
    distro: str | None = None
    nginx_user: str | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    fail_on: str = "low"
    source: str | None = None  # the file the settings came from


def find_config(start: Path) -> Path | None:
    start = start.resolve()
    for d in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        for name in CONFIG_FILES:
            f = d / name
            if f.is_file() and (name != "pyproject.toml" or _has_section(f)):
                return f
        if (d / ".git").exists():
            return None
    return None


def _has_section(path: Path) -> bool:
    try:
        return "sockdoctor" in tomllib.loads(path.read_text("utf-8")).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True  # let load_config report it


def load_config(path: Path | None) -> LintConfig:
    if path is None:
        return LintConfig()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("sockdoctor", {})
    return from_mapping(data, str(path))


def from_mapping(data: dict, source: str = "<config>") -> LintConfig:
    known = {f.name for f in fields(LintConfig)} - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    cfg = LintConfig(source=source)
    for key in ("distro", "nginx_user", "fail_on"):
        if key in data:
            if not isinstance(data[key], str):
                raise ConfigError(f"{source}: {key} must be a string")
            setattr(cfg, key, data[key])
    for key in ("include", "exclude", "disable"):
        if key in data:
            value = data[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: {key} must be a list of strings")
            setattr(cfg, key, list(value))
    if cfg.fail_on not in SEVERITIES:
        raise ConfigError(f"{source}: fail_on must be one of {', '.join(SEVERITIES)}, not {cfg.fail_on!r}")
    return cfg
