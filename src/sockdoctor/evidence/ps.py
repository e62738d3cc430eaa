"""`ps` output: `aux`, `-ef`, `-eo`/`-o` with any column header (user, group, pid, ppid, lstart,
label/-Z, args), busybox `ps`, and header-less `ps aux | grep` lines.

User names longer than the column are printed truncated with a `+` (`systemd+`): kept as shown
with ``user_truncated=True``. ``role`` tells nginx master/worker and app-server processes apart.
"""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ProcessRecord, ReadWarning

KIND = "ps"

# header name -> (field, number of tokens it spans)
_COLUMNS = {
    "USER": ("user", 1), "EUSER": ("user", 1), "RUSER": ("ruser", 1), "UID": ("uid", 1), "EUID": ("uid", 1),
    "GROUP": ("group", 1), "EGROUP": ("group", 1), "RGROUP": ("rgroup", 1), "GID": ("gid", 1),
    "PID": ("pid", 1), "PPID": ("ppid", 1), "STARTED": ("lstart", 5), "LSTART": ("lstart", 5),
    "START": ("start", 1), "STIME": ("start", 1), "LABEL": ("label", 1), "CONTEXT": ("label", 1),
    "COMMAND": ("cmd", -1), "CMD": ("cmd", -1), "ARGS": ("cmd", -1), "COMM": ("cmd", -1),
}
_KNOWN_HEAD = {"%CPU", "%MEM", "VSZ", "RSS", "TTY", "TT", "STAT", "S", "TIME", "C", "F", "PRI", "NI", "ADDR",
               "SZ", "WCHAN", "ELAPSED", "PSR", "NLWP", "LWP", "SID", "PGID", "TPGID", "VSIZE", "%C", "ETIME",
               "SUPGRP", "SUPGID", "FGROUP", "FUSER", "FUID", "FGID", "SGROUP", "SUSER", "SGID", "SUID", "RGID", "RUID"}
_AUX = _lazyre.compile(r"^(?P<user>\S+)\s+(?P<pid>\d+)\s+\d+(?:[.,]\d+)?\s+\d+(?:[.,]\d+)?\s+\d+\s+\d+\s+\S+\s+\S+\s+"
                       r"(?P<start>\S+)\s+\d+:\d\d(?::\d\d)?\s+(?P<cmd>.+)$")
_EF = _lazyre.compile(r"^(?P<user>\S+)\s+(?P<pid>\d+)\s+(?P<ppid>\d+)\s+\d+\s+(?P<start>\S+)\s+\S+\s+\d+:\d\d(?::\d\d)?\s+(?P<cmd>.+)$")
_BUSYBOX = _lazyre.compile(r"^\s*(?P<pid>\d+)\s+(?P<user>\S+)\s+\d+:\d\d\s+(?P<cmd>.+)$")


def _is_header(line: str) -> bool:
    toks = line.split()
    if len(toks) < 2 or "PID" not in toks and "CMD" not in toks and "COMMAND" not in toks:
        return False
    return all(t in _COLUMNS or t in _KNOWN_HEAD for t in toks)


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    header = any(_is_header(ln) for ln in lines[:5])
    rows = sum(1 for ln in lines if _AUX.match(ln) or _EF.match(ln) or _BUSYBOX.match(ln)
               or header and re.match(r"^\s*(?:\S+\s+){0,3}\d+\s+\S", ln) and not _is_header(ln))
    roles = sum(1 for ln in lines if "nginx: " in ln or "php-fpm" in ln or "gunicorn" in ln or "uwsgi" in ln)
    if not rows and not header:
        return co.detection(KIND, 0.0, "", chunk, programs=("ps", "pgrep"))
    score = co.content_score(rows + (1 if header else 0), len(lines), base=0.5 if header else 0.4, span=0.5)
    reason = ("`ps` column header; " if header else "") + f"{rows} process line(s)"
    if roles:
        reason += f", {roles} nginx/app-server process(es)"
    return co.detection(KIND, score, reason, chunk, programs=("ps", "pgrep"))


def role_of(cmd: str) -> str:
    c = cmd.strip()
    low = c.lower()
    if low.startswith("nginx: master process") or re.match(r"^nginx: master\b", low):
        return "nginx_master"
    if low.startswith("nginx: worker process") or low.startswith("nginx: worker"):
        return "nginx_worker"
    if re.match(r"^php-fpm[\d.]*: master process", low):
        return "php_fpm_master"
    if re.match(r"^php-fpm[\d.]*: pool ", low):
        return "php_fpm_worker"
    argv = c.split()
    names = [a.rsplit("/", 1)[-1] for a in argv[:3]]
    first = names[0].strip("{}") if names else ""
    if "supervisord" in names or first == "supervisord":
        return "supervisord"
    if low.startswith("uwsgi") or "uwsgi" in names or re.match(r"^uwsgi(?:[\w.-]*)$", first) or \
            any(re.fullmatch(r"uwsgi[\d.]*", n) for n in names):
        return "uwsgi"
    if low.startswith("gunicorn") or "gunicorn" in names:
        return "gunicorn"
    if re.match(r"^puma[ :]", low) or "puma" in names or (len(names) > 2 and names[1] == "exec" and names[2] == "puma") \
            or re.search(r"\bbundle exec puma\b", low):
        return "puma"
    if re.match(r"^unicorn(_rails)?[ :]", low) or "unicorn" in names or "unicorn_rails" in names:
        return "unicorn"
    if re.match(r"^(?:/\S*/)?nginx\b", c) and "-g" in argv or first == "nginx":
        return "nginx_master" if "-t" not in argv else "other"
    return "other"


def _int(t: str | None) -> int | None:
    return int(t) if t and t.isdigit() else None


def read(chunk: Chunk) -> list:
    out: list = []
    header: list[tuple[str, int]] | None = None
    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        src = chunk.source(idx, line)
        if _is_header(line):
            header = [_COLUMNS.get(t, (t.lower(), 1)) for t in line.split()]
            continue
        rec = None
        if header:
            rec = _by_header(header, line, src)
        if rec is None:
            m = _AUX.match(line) or _EF.match(line) or _BUSYBOX.match(line.strip())
            if m:
                d = m.groupdict()
                rec = _record(d.get("user"), d.get("pid"), d.get("cmd"), src, ppid=d.get("ppid"), start=d.get("start"))
        if rec is None:
            out.append(ReadWarning(src, "line not understood as `ps` output"))
            continue
        out.append(rec)
    return out


def _by_header(header: list[tuple[str, int]], line: str, src) -> ProcessRecord | None:
    toks = line.split()
    fields: dict[str, str] = {}
    i = 0
    for name, span in header:
        if i >= len(toks):
            return None
        if span == -1:
            # keep the command's own spacing
            pos = 0
            for t in toks[:i]:
                pos = line.index(t, pos) + len(t)
            fields[name] = line[pos:].strip()
            i = len(toks)
            break
        fields[name] = " ".join(toks[i:i + span])
        i += span
    if "pid" in fields and not fields["pid"].isdigit():
        return None
    user = fields.get("user") or fields.get("uid")
    return _record(user, fields.get("pid"), fields.get("cmd", ""), src, ppid=fields.get("ppid"),
                   group=fields.get("group") or fields.get("gid"), start=fields.get("lstart") or fields.get("start"),
                   label=fields.get("label"))


def _record(user, pid, cmd, src, ppid=None, group=None, start=None, label=None) -> ProcessRecord:
    cmd = (cmd or "").strip()
    truncated = bool(user and user.endswith("+") and len(user) >= 8)
    return ProcessRecord(_int(pid), user, cmd, role_of(cmd), src, ppid=_int(ppid), group=group, started=start,
                         user_truncated=truncated, label=label)
