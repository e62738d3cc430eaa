"""Local redaction of secrets, with typed stable placeholders. Pure Python (runs in Pyodide too).

    result = redact(text)                  # result.text, result.findings, result.mapping
    result2 = redact(other, mapping=result.mapping)   # same secret -> same placeholder
    original = restore(llm_answer, result.mapping)

Spans are 1-based: ``line``/``column`` is the first character of the secret, ``end_line`` and
``end_column`` the position just after its last character (in the original text).
"""
from __future__ import annotations

from sockdoctor._dataclass import dataclass, field
from sockdoctor.redact import detectors
from sockdoctor.redact.placeholders import PLACEHOLDER_RE, Entry, Mapping
from sockdoctor.redact.restore import restore

__all__ = ["redact", "restore", "RedactResult", "Span", "Mapping", "Entry", "PLACEHOLDER_RE"]


@dataclass(frozen=True)
class Span:
    kind: str
    line: int
    column: int
    end_line: int
    end_column: int
    placeholder: str


@dataclass
class RedactResult:
    text: str
    findings: list[Span] = field(default_factory=list)
    mapping: Mapping = field(default_factory=Mapping)


def redact(text: str, *, hosts: bool = False, mapping: Mapping | None = None) -> RedactResult:
    """Replace every secret found in ``text`` by its placeholder; ``mapping`` is extended in place."""
    if mapping is None:
        mapping = Mapping()
    if "<<SECRET:" in text:
        mapping.reserve_numbers_in(text)
    candidates = detectors.find(text, hosts=hosts)
    line_starts = _line_starts(text)
    pieces: list[str] = []
    findings: list[Span] = []
    cursor = 0
    for cand in candidates:
        value = text[cand.start:cand.end]
        entry = mapping.placeholder_for(cand.kind, value)
        pieces.append(text[cursor:cand.start])
        pieces.append(entry.placeholder + "\n" * value.count("\n"))
        cursor = cand.end
        line, column = _position(line_starts, cand.start)
        end_line, end_column = _position(line_starts, cand.end)
        findings.append(Span(entry.kind, line, column, end_line, end_column, entry.placeholder))
    pieces.append(text[cursor:])
    return RedactResult("".join(pieces), findings, mapping)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    index = text.find("\n")
    while index != -1:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    return starts


def _position(line_starts: list[int], offset: int) -> tuple[int, int]:
    from bisect import bisect_right
    index = bisect_right(line_starts, offset) - 1
    return index + 1, offset - line_starts[index] + 1
