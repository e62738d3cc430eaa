"""`lint`: read a repository's config files together and report the static findings, located.

The files are read like one big paste of separate inputs (engine.read_inputs semantics), and the
analysis runs with ``static_only=True``: only rules decidable from configuration alone. Findings
that rest on a template's unknown value (walker.UNKNOWN) are dropped: unknown is not wrong.
"""
from __future__ import annotations

import re
from pathlib import Path

from sockdoctor._dataclass import dataclass, field
from sockdoctor.engine import Evidence, read_piece
from sockdoctor.evidence.records import Source
from sockdoctor.lint import suppress, walker
from sockdoctor.lint.catalog import rule_info, rule_modules
from sockdoctor.lint.config import LintConfig
from sockdoctor.report import SEVERITIES, Finding, Report


@dataclass(frozen=True)
class Location:
    input: str
    line: int
    column: int = 1  # 1-based


@dataclass
class LintResult:
    files: list[walker.LintFile]
    report: Report
    locations: dict[str, Location] = field(default_factory=dict)  # finding id -> where to change it
    texts: dict[str, str] = field(default_factory=dict)
    analysed: bool = True
    fail_on: str = "low"

    def failing(self) -> list[Finding]:
        limit = SEVERITIES.index(self.fail_on)
        return [f for f in self.report.findings
                if SEVERITIES.index(f.severity if f.severity in SEVERITIES else "info") <= limit]

    def exit_status(self) -> int:
        return 1 if self.failing() else 0


def analysis_available() -> bool:
    try:
        import sockdoctor.analysis  # noqa: F401
    except ImportError:
        return False
    return True


def lint_paths(paths: list[str | Path], config: LintConfig | None = None, *, all_files: bool = False,
               root: Path | None = None) -> LintResult:
    config = config or LintConfig()
    files = walker.walk(paths, all_files=all_files, include=config.include, exclude=config.exclude, root=root)
    inputs = []
    for lf in files:
        text = walker.read_text(lf)
        if text is not None:
            inputs.append((lf.name, text))
    result = lint_texts(inputs, config)
    result.files = [lf for lf in files if lf.name in result.texts]
    return result


def lint_texts(inputs: list[tuple[str, str]], config: LintConfig | None = None, *,
               analyse: bool = True) -> LintResult:
    """Lint already-read (name, text) pairs; files the readers do not take as config are left out.

    ``analyse=False`` checks only the suppression comments (no rule runs)."""
    config = config or LintConfig()
    ev = Evidence()
    for name, text in inputs:
        pieces = walker.classify(name, text)
        if not pieces:
            continue
        ev.texts[name] = text
        ev.line_counts[name] = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        ev.pieces[name] = pieces
        for piece in pieces:
            ev.records.extend(read_piece(piece))
    modules = rule_modules()
    known = set(modules) if modules else None
    analysed = analyse and analysis_available()
    if analysed and ev.texts:
        from sockdoctor.engine import diagnose_evidence

        report = diagnose_evidence(ev, distro=config.distro, nginx_user=config.nginx_user, static_only=True)
    else:
        report = Report()
        if analyse and not analysed:
            report.warnings.append("analysis not available: only suppression comments were checked")
    result = LintResult([], report, texts=ev.texts, analysed=analysed, fail_on=config.fail_on)
    _filter_and_locate(result, config)
    _apply_suppressions(result, known)
    _number(result)
    return result


def _filter_and_locate(result: LintResult, config: LintConfig) -> None:
    report, texts = result.report, result.texts
    kept = []
    for i, f in enumerate(report.findings):
        if not f.id:
            f.id = f"F{i + 1}"
        if f.cause in config.disable:
            continue
        loc = locate(f, texts)
        if any(walker.UNKNOWN in (s.text or "") for s in f.evidence) or (
                loc and walker.UNKNOWN in _line(texts, loc)):
            continue
        if loc:
            result.locations[f.id] = loc
        kept.append(f)
    ids = {f.id for f in kept}
    report.findings = kept
    report.fixes = [x for x in report.fixes if x.finding in ids]


def _line(texts: dict[str, str], loc: Location) -> str:
    lines = texts.get(loc.input, "").split("\n")
    return lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""


def locate(f: Finding, texts: dict[str, str]) -> Location | None:
    """Where to change it: the origin's file:line when it is a linted file, else the first evidence line."""
    if f.origin and f.origin.source and (m := re.match(r"^(?P<input>.+):(?P<line>\d+)$", f.origin.source)):
        if m.group("input") in texts:
            loc = Location(m.group("input"), int(m.group("line")))
            return Location(loc.input, loc.line, _column(_line(texts, loc), f.origin.setting, 0))
    for s in f.evidence:
        if s.input in texts and s.line > 0:
            loc = Location(s.input, s.line)
            return Location(s.input, s.line, _column(_line(texts, loc), f.origin.setting if f.origin else "", s.column))
    return None


def _column(line: str, setting: str, given: int) -> int:
    if given > 0:
        return given
    key = (setting or "").rsplit(".", 1)[-1] if setting and setting not in line else setting
    if key and (i := line.find(key)) >= 0:
        return i + 1
    return len(line) - len(line.lstrip()) + 1


def _lines_of(f: Finding, loc: Location | None) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    if loc:
        out.setdefault(loc.input, set()).add(loc.line)
    for s in f.evidence:
        out.setdefault(s.input, set()).add(s.line)
    return out


def _apply_suppressions(result: LintResult, known: set[str] | None) -> None:
    sups = [s for name, text in result.texts.items() for s in suppress.parse(name, text, known)]
    kept = []
    for f in result.report.findings:
        where = _lines_of(f, result.locations.get(f.id))
        hit = [s for s in sups if s.input in where and suppress.covers(s, f.cause, s.input, where[s.input])]
        for s in hit:
            s.used = True
        if not hit:
            kept.append(f)
    ids = {f.id for f in kept}
    result.report.findings = kept
    result.report.fixes = [x for x in result.report.fixes if x.finding in ids]
    for n, s in enumerate(sups):
        if s.problem:
            cause, summary = suppress.INVALID, f"suppression {s.problem}"
        elif not s.used and result.analysed:
            cause, summary = suppress.UNUSED, f"suppression of {', '.join(s.causes)} matches no finding"
        else:
            continue
        fid = f"L{n + 1}"
        result.report.findings.append(Finding(cause, rule_info(cause)["severity"], 1.0, None, summary,
                                              [Source(s.input, s.line, s.column, s.text)], id=fid, failure=False))
        result.locations[fid] = Location(s.input, s.line, s.column)


def _number(result: LintResult) -> None:
    """Stable order (file, line, column, cause) and ids F1..Fn; fixes follow their findings."""
    def key(f: Finding):
        loc = result.locations.get(f.id)
        return (loc.input, loc.line, loc.column) if loc else ("", 0, 0), f.cause
    old_to_new = {}
    findings = sorted(result.report.findings, key=key)
    locations = {}
    for i, f in enumerate(findings, start=1):
        new = f"F{i}"
        old_to_new[f.id] = new
        if f.id in result.locations:
            locations[new] = result.locations[f.id]
        f.id = new
    result.report.findings = findings
    result.locations = locations
    for x in result.report.fixes:
        x.finding = old_to_new.get(x.finding, x.finding)
