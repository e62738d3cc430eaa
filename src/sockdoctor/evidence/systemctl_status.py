"""`systemctl status UNIT...` output -> LogFact records (+ CommandLine, + the journal tail's facts).

Per unit:
- LogFact unit_status (unit, description, path, load, active, sub, result, since, main_pid, status,
  code, listen, drop_ins, triggered_by): always; ``path`` is the unit file from `Loaded:`.
- LogFact unit_failed (unit, status, reason, result, path, main_pid): when `Active:` is failed, or
  the unit is restarting after its main process exited with an error (`activating (auto-restart)`).
  ``status`` is e.g. '216/GROUP' from `Main PID:`/`Process:`; ``reason`` is `Result:` (exit-code,
  oom-kill, ...).
- CommandLine for each `Process: N ExecStart=...` line and each CGroup process running an app server.
The log lines printed under the status block are read with ``journal.parse_line``.
"""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence import journal
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.cmdline import parse_command
from sockdoctor.evidence.records import LogFact

KIND = "systemctl_status"

_HEAD = _lazyre.compile(r"^\s*(?:[●×○↻*x]\s*)?(?P<unit>[\w@.:\\-]+\.(?:service|socket|mount|timer|path|slice|scope|target|"
                        r"automount|swap|device))(?: - (?P<desc>.*))?\s*$")
_FIELD = _lazyre.compile(r"^\s{0,12}(?P<key>Loaded|Active|Process|Main PID|Drop-In|TriggeredBy|Triggers|Listen|Tasks|Memory|"
                         r"CPU|CGroup|Docs|Status|IP|IO|Accepted|Connected|Trigger|Invocation|Mem peak|Notify"
                         r"(?:\s\w+)?): ?(?P<val>.*)$")
_LOADED = _lazyre.compile(r"^(?P<load>[\w-]+)(?: \((?P<path>[^;)]+)(?:;[^)]*)?\))?")
_ACTIVE = _lazyre.compile(r"^(?P<active>[\w-]+)(?: \((?P<sub>[^)]*)\))?(?: since (?P<since>[^;]+))?")
_EXIT = _lazyre.compile(r"\(code=(?P<code>\w+), (?:status|signal)=(?P<status>[^)]+)\)")
_PROCESS = _lazyre.compile(r"^(?P<pid>\d+) (?P<which>Exec\w+)=(?P<cmd>.*?)(?: \(code=\w+, (?:status|signal)=[^)]+\))?\s*$")
_MAINPID = _lazyre.compile(r"^(?P<pid>\d+)(?: \((?P<what>[^)]*)\))?")
_CGROUP_PROC = _lazyre.compile(r"^\s*[│├└─ ]+(?P<pid>\d+) (?P<cmd>.+)$")
_LOG_LINE = _lazyre.compile(r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d)")


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:100_000].split("\n")[:200]
    heads = sum(1 for ln in lines if _HEAD.match(ln))
    loaded = sum(1 for ln in lines if re.match(r"^\s+Loaded: ", ln))
    active = sum(1 for ln in lines if re.match(r"^\s+Active: ", ln))
    if not (loaded and active):
        return None
    score = 0.95 if heads else 0.9
    verb, _, _ = ct.systemctl_units(chunk.command)
    if verb == "status":
        score = 0.98
    return Detection(KIND, score, f"`Loaded:`/`Active:` lines of {max(heads, 1)} unit(s)")


def _units(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each unit block: a header line followed by `Loaded:`."""
    starts = [i for i, ln in enumerate(lines)
              if _HEAD.match(ln) and i + 1 < len(lines) and re.match(r"^\s+Loaded: ", lines[i + 1])]
    if not starts:
        first = next((i for i, ln in enumerate(lines) if re.match(r"^\s+Loaded: ", ln)), 0)
        starts = [max(first - 1, 0)] if first else [0]
    return [(s, starts[n + 1] if n + 1 < len(starts) else len(lines)) for n, s in enumerate(starts)]


def _read(chunk: Chunk) -> list:
    lines = [ln.rstrip("\r") for ln in chunk.text.split("\n")]
    out: list = []
    for start, end in _units(lines):
        out.extend(_read_unit(chunk, lines, start, end))
    return out


def _read_unit(chunk: Chunk, lines: list[str], start: int, end: int) -> list:
    out: list = []
    data: dict = {"unit": None, "description": None, "path": None, "load": None, "active": None, "sub": None,
                  "result": None, "since": None, "main_pid": None, "status": None, "code": None,
                  "listen": [], "drop_ins": [], "triggered_by": None}
    m = _HEAD.match(lines[start])
    if m:
        data["unit"], data["description"] = m.group("unit"), m.group("desc")
    head_src = chunk.source(start, lines[start])
    active_src = head_src
    field = None
    drop_dir = ""
    in_log = False
    for i in range(start, end):
        line = lines[i]
        if not line.strip():
            if field is not None:
                in_log = True
            field = None
            continue
        src = chunk.source(i, line)
        if in_log or (_LOG_LINE.match(line) and not line.startswith(" ")):
            out.extend(journal.parse_line(line, src))
            continue
        f = _FIELD.match(line)
        if f:
            field, val = f.group("key"), f.group("val").strip()
            if field == "Loaded":
                lm = _LOADED.match(val)
                if lm:
                    data["load"], data["path"] = lm.group("load"), lm.group("path")
            elif field == "Active":
                am = _ACTIVE.match(val)
                if am:
                    data["active"], data["since"] = am.group("active"), am.group("since")
                    sub = am.group("sub") or ""
                    rm = re.match(r"^Result: ([\w-]+)", sub)
                    data["result"] = rm.group(1) if rm else None
                    data["sub"] = None if rm else sub or None
                active_src = src
            elif field == "Main PID":
                pm = _MAINPID.match(val)
                if pm:
                    data["main_pid"] = int(pm.group("pid"))
                em = _EXIT.search(val)
                if em:
                    data["code"], data["status"] = em.group("code"), em.group("status")
            elif field == "Process":
                pm = _PROCESS.match(val)
                if pm:
                    em = _EXIT.search(val)
                    if em and data["status"] is None:
                        data["code"], data["status"] = em.group("code"), em.group("status")
                    if pm.group("which") == "ExecStart":
                        cmd = parse_command(pm.group("cmd"), src)
                        if cmd is not None:
                            out.append(cmd)
            elif field == "Drop-In":
                drop_dir = val
            elif field == "Listen":
                data["listen"].append(re.sub(r"\s*\([^)]*\)\s*$", "", val))
            elif field == "TriggeredBy":
                data["triggered_by"] = val.lstrip("●×○ ").strip() or None
            elif field == "CGroup":
                pass
            continue
        if field == "Drop-In":
            names = line.strip().lstrip("└─├│ ")
            if names.startswith("/"):
                drop_dir = names
            else:
                data["drop_ins"].extend(f"{drop_dir}/{n.strip()}" for n in names.split(",") if n.strip())
        elif field == "Listen":
            data["listen"].append(re.sub(r"\s*\([^)]*\)\s*$", "", line.strip()))
        elif field == "CGroup":
            cm = _CGROUP_PROC.match(line)
            if cm:
                cmd = parse_command(cm.group("cmd"), src)
                if cmd is not None and cmd.program != "other":
                    out.append(cmd)
    out.insert(0, LogFact("unit_status", dict(data), active_src))
    restarting = data["active"] == "activating" and (data["sub"] or "").startswith("auto-restart")
    bad_exit = data["status"] is not None and data["status"] not in ("0/SUCCESS", "0")
    if data["active"] == "failed" or (restarting and bad_exit):
        out.insert(1, LogFact("unit_failed", {"unit": data["unit"], "status": data["status"],
                                              "reason": data["result"], "result": data["result"],
                                              "path": data["path"], "main_pid": data["main_pid"]}, active_src))
    return out


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
