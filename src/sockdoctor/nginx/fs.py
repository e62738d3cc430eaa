"""Filesystem access for parse_tree, for the edges (CLI, live checks, benchmarks).

Kept apart from the parser so the engine does no I/O of its own."""
from __future__ import annotations

import glob as _glob


def read_file(path: str) -> str | None:
    """The file's text (invalid UTF-8 replaced), or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return None


def list_glob(pattern: str) -> list[str]:
    """Files matching an include pattern, sorted as nginx's glob() returns them."""
    return sorted(_glob.glob(pattern))
