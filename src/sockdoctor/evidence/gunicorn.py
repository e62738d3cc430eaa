"""gunicorn.conf.py (read as text with the ast module, never executed) or a gunicorn command line.

Config file: one ConfigFile(kind='gunicorn'); each top-level `name = literal` becomes a Setting
(section ''). Strings give their text; numbers keep their spelling (`umask = 0o007` -> '0o007',
parse with int(v, 0)); booleans 'True'/'False'; a list/tuple of strings (`bind = ["unix:/a",
"127.0.0.1:8000"]`) gives one Setting per element. An assignment that is not a literal is skipped,
with a ReadWarning when it is a setting that decides the socket (bind, umask, user, group,
initgroups, backlog). A file that is not valid Python falls back to a line scan plus a warning
naming the line.

Command line (`gunicorn --bind unix:/x app:app`, a Procfile `web: gunicorn ...`, a shell wrapper
script): one CommandLine per line that starts an app server.
"""
from __future__ import annotations

import ast
import re

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.cmdline import parse_command
from sockdoctor.evidence.records import ConfigFile, Setting, Source

KIND = "gunicorn"

SETTINGS = {"bind", "workers", "worker_class", "threads", "worker_connections", "timeout", "graceful_timeout",
            "keepalive", "umask", "user", "group", "initgroups", "backlog", "daemon", "pidfile", "accesslog",
            "errorlog", "loglevel", "capture_output", "chdir", "wsgi_app", "raw_env", "preload_app", "reload",
            "max_requests", "max_requests_jitter", "proc_name", "forwarded_allow_ips", "proxy_protocol",
            "worker_tmp_dir", "tmp_upload_dir", "secure_scheme_headers", "access_log_format", "logconfig",
            "syslog", "statsd_host", "certfile", "keyfile", "reuse_port", "sendfile", "pythonpath", "limit_request_line"}
SOCKET_SETTINGS = {"bind", "umask", "user", "group", "initgroups", "backlog"}
_ASSIGN = _lazyre.compile(r"^([A-Za-z_]\w*)\s*=\s*(.+?)\s*$")
_NOWHERE = Source("", 0)
_PROCFILE = _lazyre.compile(r"^[\w-]+:\s+(?P<cmd>.+)$")


def _command_lines(lines: list[str]) -> list[tuple[int, str]]:
    """(index, command) for lines that start gunicorn/uWSGI/... (backslash continuations joined)."""
    out = []
    i = 0
    while i < len(lines):
        start = i
        line = lines[i].rstrip("\r")
        i += 1
        while line.endswith("\\") and i < len(lines):
            line = line[:-1] + " " + lines[i].rstrip("\r").strip()
            i += 1
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        m = _PROCFILE.match(text)
        if m and not text.startswith(("http:", "https:", "unix:")):
            text = m.group("cmd")
        text = re.sub(r"^\$\s+", "", text)
        cmd = parse_command(text, _NOWHERE)
        if cmd is not None and cmd.program == "gunicorn" and cmd.options:
            out.append((start, text))
    return out


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:200_000].split("\n")[:1000]
    assigned = []
    other = 0
    for line in lines:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = _ASSIGN.match(line)
        if m and not line[:1].isspace():
            if m.group(1) in SETTINGS:
                assigned.append(m.group(1))
            elif not m.group(1).isupper():
                other += 1
        elif not line[:1].isspace() and not s.startswith(("import ", "from ", "def ", "if ", "else", "for ",
                                                            "return", "@", "try", "except", ")", "]", "}")):
            other += 1
    known = set(assigned)
    if len(known) >= 2 and (known & {"bind", "workers", "worker_class", "umask", "wsgi_app", "accesslog"}):
        score = 0.6 + min(0.35, 0.07 * len(known)) - min(0.3, 0.05 * other)
        if score >= 0.3:
            return Detection(KIND, round(score, 3), f"gunicorn settings assigned: {', '.join(sorted(known)[:5])}")
    cmds = _command_lines(lines)
    if cmds:
        nonblank = sum(1 for ln in lines if ln.strip() and not ln.strip().startswith("#"))
        score = 0.5 + 0.4 * len(cmds) / max(nonblank, 1)
        return Detection(KIND, round(score, 3), f"{len(cmds)} gunicorn command line(s)")
    return None


def _literal(node: ast.AST, text: str) -> list[str] | None:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, str):
            return [v]
        if isinstance(v, bool) or v is None:
            return [repr(v)]
        if isinstance(v, (int, float)):
            seg = ast.get_source_segment(text, node)
            return [seg if seg else repr(v)]
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        seg = ast.get_source_segment(text, node)
        return [seg] if seg else None
    if isinstance(node, (ast.List, ast.Tuple)):
        out: list[str] = []
        for elt in node.elts:
            sub = _literal(elt, text)
            if sub is None:
                return None
            out.extend(sub)
        return out
    return None


def _read_conf(chunk: Chunk, lines: list[str]) -> list:
    text = "\n".join(ln.rstrip("\r") for ln in lines)
    out: list = []
    settings: list[Setting] = []
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        line = (exc.lineno or 1) - 1
        out.append(ct.warning(chunk, line, f"not valid Python ({exc.msg}); read `name = value` lines only",
                              lines[line] if line < len(lines) else ""))
        for i, raw in enumerate(lines):
            m = _ASSIGN.match(raw.rstrip("\r"))
            if m and m.group(1) in SETTINGS:
                try:
                    vals = _literal(ast.parse(m.group(2), mode="eval").body, m.group(2))
                except SyntaxError:
                    vals = None
                for v in vals or []:
                    settings.append(Setting("", m.group(1), v, chunk.source(i, raw.rstrip("\r"))))
    else:
        for node in tree.body:
            targets: list[ast.expr] = []
            value = None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if not names or value is None:
                continue
            idx = node.lineno - 1
            src = chunk.source(idx, lines[idx].rstrip("\r") if idx < len(lines) else "")
            vals = _literal(value, text)
            if vals is None:
                if set(names) & SOCKET_SETTINGS:
                    seg = ast.get_source_segment(text, value) or "?"
                    out.append(ct.warning(chunk, idx, f"{names[0]} = {seg[:80]} is not a literal; its value "
                                                      "is unknown without running the file (never done)",
                                          lines[idx] if idx < len(lines) else ""))
                continue
            for name in names:
                for v in vals:
                    settings.append(Setting("", name, v, src))
    path, known = ct.file_identity(chunk, lines)
    cfg = ConfigFile(KIND, path, tuple(settings), tuple(lines), chunk.source(0, lines[0] if lines else ""),
                     first_line=chunk.first_line, path_known=known)
    return [cfg, *out]


def _read(chunk: Chunk) -> list:
    lines = ct.file_lines(chunk.text)
    cmds = _command_lines(lines)
    assigns = sum(1 for ln in lines if (m := _ASSIGN.match(ln)) and m.group(1) in SETTINGS)
    if cmds and not assigns:
        out = []
        for idx, text in cmds:
            cmd = parse_command(text, chunk.source(idx, lines[idx].rstrip("\r")))
            if cmd is not None:
                out.append(cmd)
        return out
    return _read_conf(chunk, lines)


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
