"""Resource limits for hostile input, in one place: defaults, environment and CLI overrides.

    limits.value("max_pieces")            # the effective limit
    limits.value("max_pieces", MAX_PIECES) # a module's own constant as the default

Each limit can be overridden with ``SOCKDOCTOR_<NAME>`` in the environment (e.g.
``SOCKDOCTOR_MAX_INPUT_BYTES=1000000``) or ``sockdoctor --limit NAME=N``; the CLI wins. Reading the
environment is plain ``os.environ`` (it works in Pyodide too). Every limit, when hit, yields one
line naming the input and line; nothing raises.
"""
from __future__ import annotations

import os

DEFAULTS: dict[str, int] = {
    "max_input_bytes": 64 * 1024 * 1024,  # one input file or stdin; larger is refused (exit 2)
    "max_line_length": 64 * 1024,  # characters; a longer line is cut, with a warning
    "max_nesting_depth": 100_000,  # nginx blocks; the parser is iterative, deeper text is ignored
    "max_include_count": 100_000,  # files one nginx configuration may pull in (a fleet has 50,000)
    "max_include_depth": 64,  # include chains longer than this are not followed
    "max_pieces": 2000,  # pieces one paste is cut into; the rest is one unclassified piece
    "max_error_log_lines": 20_000,  # error.log lines kept from one piece; the rest are counted
}
DESCRIPTIONS: dict[str, str] = {
    "max_input_bytes": "bytes in one input file or stdin",
    "max_line_length": "characters in one input line",
    "max_nesting_depth": "nested nginx blocks",
    "max_include_count": "files one nginx configuration includes",
    "max_include_depth": "levels of nginx include chains",
    "max_pieces": "pieces one paste is cut into",
    "max_error_log_lines": "error.log lines kept per piece",
}

_overrides: dict[str, int] = {}


def env_name(name: str) -> str:
    return "SOCKDOCTOR_" + name.upper()


def _parse(name: str, raw: str) -> int:
    try:
        n = int(raw.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not a whole number") from None
    if n < 1:
        raise ValueError(f"{name}: must be at least 1, not {n}")
    return n


def value(name: str, default: int | None = None) -> int:
    """The effective limit ``name``: CLI override, else environment, else ``default`` (a module's
    own constant, so tests that patch it keep working), else DEFAULTS. A malformed environment
    value is ignored (the CLI reports it through ``check_env``)."""
    if name not in DEFAULTS:
        raise KeyError(name)
    if name in _overrides:
        return _overrides[name]
    raw = os.environ.get(env_name(name))
    if raw:
        try:
            return _parse(name, raw)
        except ValueError:
            pass
    return DEFAULTS[name] if default is None else default


def set_override(spec: str) -> None:
    """Apply ``NAME=N`` from the command line (the full name or any unambiguous part of it,
    ``-`` or ``_``)."""
    name, sep, raw = spec.partition("=")
    name = name.strip().lower().replace("-", "_")
    if name not in DEFAULTS:
        matches = [k for k in DEFAULTS if name and name in k]  # `pieces`, `nesting`, `input-bytes`
        name = matches[0] if len(matches) == 1 else name
    if not sep or name not in DEFAULTS:
        raise ValueError(f"--limit {spec}: expected NAME=N with NAME one of {', '.join(DEFAULTS)}")
    _overrides[name] = _parse(name, raw)


def clear_overrides() -> None:
    _overrides.clear()


def check_env() -> list[str]:
    """One message per malformed SOCKDOCTOR_MAX_* environment variable."""
    out = []
    for name in DEFAULTS:
        raw = os.environ.get(env_name(name))
        if raw:
            try:
                _parse(name, raw)
            except ValueError as exc:
                out.append(f"{env_name(name)}: {exc}; using the default")
    return out


def effective() -> dict[str, int]:
    return {name: value(name) for name in DEFAULTS}
