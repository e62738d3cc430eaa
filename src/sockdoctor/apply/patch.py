"""Unified diffs: parse the hunks and apply them with an exact context check (no fuzz)."""
from __future__ import annotations

import re

from sockdoctor._dataclass import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(Exception):
    """The diff does not fit the file as it is."""


@dataclass
class Hunk:
    old_start: int
    old: list[str] = field(default_factory=list)  # context + removed lines
    new: list[str] = field(default_factory=list)  # context + added lines


def parse(diff: str) -> list[Hunk]:
    hunks: list[Hunk] = []
    cur: Hunk | None = None
    for line in diff.split("\n"):
        m = _HUNK.match(line)
        if m:
            cur = Hunk(int(m.group(1)))
            hunks.append(cur)
        elif cur is None or line.startswith(("--- ", "+++ ")) and not cur.old and not cur.new:
            continue
        elif line.startswith(" "):
            cur.old.append(line[1:])
            cur.new.append(line[1:])
        elif line.startswith("-"):
            cur.old.append(line[1:])
        elif line.startswith("+"):
            cur.new.append(line[1:])
        elif line.startswith("\\"):
            continue
    if not hunks:
        raise PatchError("no hunks in the diff")
    return hunks


def _find(lines: list[str], block: list[str], near: int) -> int | None:
    """Index where ``block`` occurs, preferring ``near``; None when absent or ambiguous."""
    if not block:
        return near if 0 <= near <= len(lines) else None
    if lines[near:near + len(block)] == block:
        return near
    hits = [i for i in range(len(lines) - len(block) + 1) if lines[i:i + len(block)] == block]
    return hits[0] if len(hits) == 1 else None


def _run(lines: list[str], hunks: list[Hunk], reverse: bool) -> list[str]:
    out = list(lines)
    shift = 0
    for h in hunks:
        old, new = (h.new, h.old) if reverse else (h.old, h.new)
        if not old and h.old_start == 0 and out:
            raise PatchError("the diff creates the file, but it already has content")
        near = max(h.old_start - 1, 0) + shift if old else h.old_start + shift
        at = _find(out, old, near)
        if at is None:
            raise PatchError(f"hunk at line {h.old_start} does not match the file")
        out[at:at + len(old)] = new
        shift += len(new) - len(old)
    return out


def split(text: str) -> tuple[list[str], bool]:
    if not text:
        return [], True
    ends_nl = text.endswith("\n")
    lines = text.split("\n")
    if ends_nl:
        lines.pop()
    return lines, ends_nl


def join(lines: list[str], ends_nl: bool) -> str:
    return "\n".join(lines) + ("\n" if ends_nl and lines else "")


def apply(text: str, hunks: list[Hunk]) -> str:
    lines, nl = split(text)
    return join(_run(lines, hunks, reverse=False), nl)


def state(text: str, hunks: list[Hunk]) -> tuple[str, str]:
    """("pending", new_text) when the diff applies, ("done", text) when it is already applied."""
    try:
        return "pending", apply(text, hunks)
    except PatchError:
        lines, _ = split(text)
        _run(lines, hunks, reverse=True)  # raises PatchError when neither fits
        return "done", text
