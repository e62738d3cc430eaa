"""GitHub workflow commands: one `::error file=...,line=...,col=...::message` line per finding."""
from __future__ import annotations

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "notice", "info": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(result) -> str:
    """Annotation lines for a lint.LintResult (empty string when there is nothing to say)."""
    out = []
    for f in result.report.findings:
        props = []
        loc = result.locations.get(f.id)
        if loc:
            props += [f"file={_prop(loc.input)}", f"line={loc.line}", f"col={max(loc.column, 1)}"]
        props.append(f"title={_prop(f'sockdoctor {f.cause} ({f.severity})')}")
        out.append(f"::{LEVEL.get(f.severity, 'warning')} {','.join(props)}::{_data(f.summary)}")
    return "".join(line + "\n" for line in out)
