"""The engine's front door: texts in, report out. Pure Python (runs in Pyodide too).

    report = diagnose({"nginx.conf": "...", "ls.txt": "..."})

Nothing here touches the system; `check` gathers texts/records from the host and calls the same
functions.
"""
from __future__ import annotations

from collections.abc import Iterable

from sockdoctor._dataclass import dataclass, field
from sockdoctor.evidence import registry
from sockdoctor.evidence.base import Chunk
from sockdoctor.evidence.records import CommandRun, ReadWarning, Source, Unrecognized


@dataclass
class Piece:
    """One classified piece of an input (see evidence/split.py)."""
    chunk: Chunk
    kind: str | None
    score: float
    reason: str
    last_line: int = 0


@dataclass
class Evidence:
    records: list = field(default_factory=list)
    pieces: dict[str, list[Piece]] = field(default_factory=dict)  # input name -> pieces
    line_counts: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def of(self, cls):
        return [r for r in self.records if isinstance(r, cls)]


def read_inputs(inputs: Iterable[tuple[str, str]]) -> Evidence:
    from sockdoctor.evidence import split

    ev = Evidence()
    for name, text in inputs:
        ev.texts[name] = text
        ev.line_counts[name] = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        pieces = split.split(name, text)
        ev.pieces[name] = pieces
        for piece in pieces:
            ev.records.extend(read_piece(piece))
    return ev


def read_piece(piece: Piece) -> list:
    chunk = piece.chunk
    out: list = []
    if chunk.command:
        out.append(CommandRun(chunk.command, piece.kind or "unknown", not chunk.text.strip(),
                              Source(chunk.name, max(chunk.first_line - 1, 1), 0, "$ " + chunk.command)))
    if piece.kind is None:
        if chunk.text.strip():
            out.append(Unrecognized(chunk.source(0, chunk.lines()[0][:200]), len(chunk.lines()), piece.reason))
        return out
    mod = registry.reader(piece.kind)
    if mod is None:
        out.append(ReadWarning(chunk.source(0), f"no reader for {piece.kind}"))
        return out
    try:
        out.extend(mod.read(chunk))
    except Exception as exc:  # a reader bug must not take the whole diagnosis down
        out.append(ReadWarning(chunk.source(0), f"{piece.kind} reader failed: {type(exc).__name__}: {exc}"))
    return out


def diagnose(inputs, *, distro: str | None = None, nginx_user: str | None = None,
             extra_records: list | None = None):
    """Diagnose ``inputs`` ({name: text} or [(name, text)]) and return a sockdoctor.report.Report.

    ``extra_records`` lets `check` add records it collected from the host directly."""
    items = list(inputs.items()) if isinstance(inputs, dict) else list(inputs)
    ev = read_inputs(items)
    if extra_records:
        ev.records.extend(extra_records)
    return diagnose_evidence(ev, distro=distro, nginx_user=nginx_user)


def diagnose_evidence(ev: Evidence, *, distro: str | None = None, nginx_user: str | None = None,
                      static_only: bool = False):
    from sockdoctor import analysis

    return analysis.analyse(ev, distro=distro, nginx_user=nginx_user, static_only=static_only)


def diagnose_json(inputs: dict, **options) -> dict:
    """The browser's entry point: {name: text} in, the contract's JSON dict out."""
    return diagnose(inputs, **options).to_json()
