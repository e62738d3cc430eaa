"""Edits of the user's own files, as unified diffs against the exact lines the evidence came from."""
from __future__ import annotations

import difflib
import shlex

from sockdoctor.evidence import records as R
from sockdoctor.report import Diff

q = shlex.quote


def _file_lines(cfg) -> list[str]:
    return list(cfg.lines)


def _index(cfg, setting: R.Setting) -> int:
    return setting.source.line - cfg.first_line


def diff_lines(path: str, old: list[str], new: list[str]) -> Diff:
    rel = path.lstrip("/")
    text = "".join(difflib.unified_diff([l + "\n" for l in old], [l + "\n" for l in new],
                                        f"a/{rel}", f"b/{rel}", n=2))
    return Diff(path=path, diff=text)


def ini_edit(cfg, changes: dict[str, str | None], *, section: str | None = None, sep: str = " = ") -> Diff | None:
    """Set (or remove, value None) keys in an ini-like ConfigFile; uncomment a commented key in place."""
    lines = _file_lines(cfg)
    if not lines:
        return None
    new = list(lines)
    inserts: list[str] = []
    for key, value in changes.items():
        live = [s for s in cfg.settings if s.key == key and not s.commented and (section is None or s.section == section)]
        commented = [s for s in cfg.settings if s.key == key and s.commented and (section is None or s.section == section)]
        target = live[-1] if live else (commented[-1] if commented else None)
        if target is not None:
            i = _index(cfg, target)
            if 0 <= i < len(new):
                if value is None:
                    new[i] = None  # type: ignore[call-overload]
                else:
                    indent = new[i][: len(new[i]) - len(new[i].lstrip())]
                    new[i] = f"{indent}{key}{sep}{value}"
                continue
        if value is not None:
            inserts.append(f"{key}{sep}{value}")
    if inserts:
        at = _insert_point(cfg, section, new)
        # the indentation of the line they follow: none in a plain file, the block's in a manifest
        before = next((new[i] for i in range(at - 1, -1, -1) if new[i] is not None), "")
        indent = before[: len(before) - len(before.lstrip())] if before.strip() else ""
        new[at:at] = [indent + line for line in inserts]
    new = [l for l in new if l is not None]
    if new == lines:
        return None
    return diff_lines(cfg.path, lines, new)


def _insert_point(cfg, section: str | None, lines: list) -> int:
    in_section = [s for s in cfg.settings if (section is None or s.section == section) and not s.commented]
    if in_section:
        last = _index(cfg, in_section[-1])
        return (_statement_end(lines, last) if cfg.kind == "gunicorn" else last) + 1
    if section:
        for i, l in enumerate(lines):
            if l is not None and l.strip() == f"[{section}]":
                return i + 1
    return len(lines)


def _statement_end(lines: list, index: int) -> int:
    """The last line of the Python statement that starts at ``index`` (a list, dict or call that
    spans lines, or a backslash continuation), so nothing is inserted inside it. Brackets inside
    strings are counted too: a string that opens more than it closes is taken to go on."""
    depth = 0
    for j in range(index, len(lines)):
        line = lines[j] or ""
        code = line.split("#", 1)[0]
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth <= 0 and not code.rstrip().endswith("\\"):
            return j
    return index


def line_edit(path: str, lines, index: int, new_line: str | None) -> Diff | None:
    old = list(lines)
    if not (0 <= index < len(old)):
        return None
    new = list(old)
    if new_line is None:
        del new[index]
    else:
        indent = old[index][: len(old[index]) - len(old[index].lstrip())]
        new[index] = indent + new_line.lstrip()
    if new == old:
        return None
    return diff_lines(path, old, new)


def snippet(path: str, old: list[str], new: list[str]) -> Diff:
    """A diff against a snippet when the whole file was not given."""
    return diff_lines(path, old, new)
