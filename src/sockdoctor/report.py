"""Findings, fixes and the report: the plain data every front end renders (contract.md JSON)."""
from __future__ import annotations

from sockdoctor._dataclass import dataclass, field, field_values
from sockdoctor.evidence.records import Source

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from typing import Any

SCHEMA_VERSION = 1
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass
class Origin:
    component: str  # nginx systemd php-fpm uwsgi gunicorn puma docker-compose kubernetes selinux apparmor ...
    setting: str
    source: str | None = None  # "file:line" when the config was given


@dataclass
class Finding:
    cause: str
    severity: str
    confidence: float
    socket: str | None
    summary: str
    evidence: list[Source] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    origin: Origin | None = None
    id: str = ""
    failure: bool = True  # False for insecure-configuration findings
    explains_errno: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cause": self.cause,
            "severity": self.severity,
            "confidence": round(self.confidence, 2),
            "socket": self.socket,
            "summary": self.summary,
            "origin": field_values(self.origin) if self.origin else None,
            "evidence": [{"input": s.input, "line": s.line, "text": s.text} for s in self.evidence],
            "trace": list(self.trace),
        }


@dataclass
class Diff:
    path: str
    diff: str


@dataclass
class Fix:
    finding: str
    rank: int
    title: str
    commands: list[str] = field(default_factory=list)
    diffs: list[Diff] = field(default_factory=list)
    verify: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    layer: str = ""  # the component the plan changes

    def to_json(self) -> dict[str, Any]:
        return {
            "finding": self.finding,
            "rank": self.rank,
            "title": self.title,
            "commands": list(self.commands),
            "diffs": [{"path": d.path, "diff": d.diff} for d in self.diffs],
            "verify": list(self.verify),
            "notes": list(self.notes),
        }


@dataclass
class InputInfo:
    name: str
    kind: str
    lines: int
    pieces: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    inputs: list[InputInfo] = field(default_factory=list)
    sockets: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {
            "schema_version": SCHEMA_VERSION,
            "inputs": [{"name": i.name, "kind": i.kind, "lines": i.lines, **({"pieces": i.pieces} if i.pieces else {})}
                       for i in self.inputs],
            "sockets": self.sockets,
            "findings": [f.to_json() for f in self.findings],
            "fixes": [f.to_json() for f in self.fixes],
            "warnings": list(self.warnings),
        }
        out.update(self.extra)
        return out

    def exit_status(self) -> int:
        return 1 if self.findings else 0
