"""tmpfiles.d lines (`d /run/x 2750 user group -`) -> ConfigFile(kind='tmpfiles').

Each entry is a Setting with section = the type (`d`, `D`, `z`, `L+`, ...), key = the path and
value = the whole line as written; the fields can be split with ``fields()``.
"""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ConfigFile, Setting

KIND = "tmpfiles"

_ENTRY = _lazyre.compile(r"^(?P<type>[fFwdDevqQpLcbCxXrRzZtThHaA][+!=~^-]*)\s+(?P<path>/\S*|%\S+)"
                         r"(?:\s+(?P<mode>[~:]*(?:[0-7]{3,4}|-)))?(?:\s+(?P<user>\S+))?(?:\s+(?P<group>\S+))?"
                         r"(?:\s+(?P<age>\S+))?(?:\s+(?P<arg>.*))?$")


def fields(line: str) -> dict[str, str | None] | None:
    """type, path, mode, user, group, age, argument of one entry line ('-' kept as written)."""
    m = _ENTRY.match(line.strip())
    return m.groupdict() if m else None


def detect(chunk: Chunk) -> Detection | None:
    lines = [ln.rstrip("\r") for ln in chunk.text[:100_000].split("\n")[:500]]
    body = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        if "tmpfiles.d" in (chunk.command or "") or any("/tmpfiles.d/" in ln for ln in lines[:3]):
            return Detection(KIND, 0.5, "tmpfiles.d file with comments only")
        return None
    good = [ln for ln in body if (m := _ENTRY.match(ln.strip())) and m.group("mode")]
    if len(good) < len(body) * 0.8:
        return None
    score = 0.7 + 0.2 * len(good) / len(body)
    if "tmpfiles.d" in (chunk.command or "") or any("/tmpfiles.d/" in ln for ln in lines[:3]):
        score += 0.07
    return Detection(KIND, round(min(score, 0.97), 3), f"{len(good)} tmpfiles.d entry line(s) (`type path mode user group`)")


def _read(chunk: Chunk) -> list:
    lines = ct.file_lines(chunk.text)
    settings: list[Setting] = []
    out: list = []
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r")
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        f = fields(s)
        if f is None:
            out.append(ct.warning(chunk, i, "not a tmpfiles.d entry, ignored", line))
            continue
        settings.append(Setting(f["type"] or "", f["path"] or "", s, chunk.source(i, line)))
    path, known = ct.file_identity(chunk, lines)
    return [ConfigFile(KIND, path, tuple(settings), tuple(lines), chunk.source(0, lines[0] if lines else ""),
                       first_line=chunk.first_line, path_known=known), *out]


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
