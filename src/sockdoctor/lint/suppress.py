"""Inline suppressions: `# sockdoctor: ignore[cause, ...] -- reason` (also after `;` or `//`).

A suppression at the end of a line covers that line; on a line of its own it covers the next line
that is neither blank nor a comment. A suppression without a reason, or naming no cause, is reported
as `invalid_suppression`; one that covers no finding as `unused_suppression`. Both are lint-only
diagnostics (not causes of domain/causes.md) and cannot themselves be suppressed.
"""
from __future__ import annotations

import re

from sockdoctor._dataclass import dataclass, field

_MARK = re.compile(r"(?:#|;|//)\s*sockdoctor:\s*ignore(?P<bracket>\[(?P<causes>[^\]]*)\])?(?P<rest>.*)$")
_REASON = re.compile(r"^\s*--\s*(?P<reason>\S.*?)\s*$")
_COMMENT_ONLY = re.compile(r"^\s*(?:#|;|//)")

INVALID = "invalid_suppression"
UNUSED = "unused_suppression"
LINT_ONLY = {
    INVALID: {
        "severity": "medium",
        "DOC": {
            "what": "A `sockdoctor: ignore` comment that names no cause or gives no reason.",
            "why": "A suppression is a decision someone must be able to review later: it needs the cause "
                   "it silences and why that is acceptable here.",
            "bad": "listen.mode = 0666  ; sockdoctor: ignore[world_writable_socket]",
            "good": "listen.mode = 0666  ; sockdoctor: ignore[world_writable_socket] -- socket lives in a "
                    "0750 directory only nginx can enter",
            "fix": "Name the cause in brackets and add ` -- reason` after it.",
        },
    },
    UNUSED: {
        "severity": "low",
        "DOC": {
            "what": "A `sockdoctor: ignore[...]` comment that suppresses no finding.",
            "why": "Stale suppressions hide the next real finding on that line.",
            "bad": "user www-data;  # sockdoctor: ignore[worker_runs_as_root] -- legacy",
            "good": "user www-data;",
            "fix": "Delete the comment (or correct the cause name).",
        },
    },
}


@dataclass
class Suppression:
    input: str
    line: int  # line of the comment
    column: int  # 1-based column of the comment marker
    target: int  # line it covers
    causes: list[str] = field(default_factory=list)
    reason: str = ""
    text: str = ""
    used: bool = False
    problem: str = ""  # why it is invalid ("" when valid)


def parse(name: str, text: str, known_causes: set[str] | None = None) -> list[Suppression]:
    lines = text.split("\n")
    out: list[Suppression] = []
    pending: list[Suppression] = []
    for i, line in enumerate(lines, start=1):
        if "sockdoctor:" in line and (m := _MARK.search(line)):
            causes = [c.strip() for c in (m.group("causes") or "").split(",") if c.strip()]
            reason_m = _REASON.match(m.group("rest"))
            s = Suppression(name, i, m.start() + 1, i, causes, reason_m.group("reason") if reason_m else "",
                            line.strip())
            if not m.group("bracket") or not causes:
                s.problem = "names no cause: write ignore[cause] -- reason"
            elif not s.reason:
                s.problem = "gives no reason: add ' -- why this is acceptable'"
            elif known_causes is not None and (bad := [c for c in causes if c not in known_causes]):
                s.problem = f"names unknown cause(s): {', '.join(bad)}"
            out.append(s)
            if not line[: m.start()].strip():
                pending.append(s)
                continue
        if pending and line.strip() and not _COMMENT_ONLY.match(line):
            for s in pending:
                s.target = i
            pending = []
    return out


def covers(s: Suppression, cause: str, input_name: str, lines: set[int]) -> bool:
    return not s.problem and s.input == input_name and cause in s.causes and (s.target in lines or s.line in lines)
