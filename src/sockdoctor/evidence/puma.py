"""puma.rb / unicorn.rb (Ruby DSL, read as text, never evaluated).

One ConfigFile, kind 'puma' or 'unicorn' (decided by the directives used: `listen`,
`worker_processes` -> unicorn). Each known directive line gives Setting(section '', key =
directive, value = its first string argument, or the argument text when there is no string:
`workers 2` -> '2', `threads 5, 5` -> '5, 5'). Keyword options become their own settings:
`listen "/x.sock", umask: 0007, backlog: 64` -> ('listen.umask', '0007'), ('listen.backlog', '64');
a bind URL's query likewise: `bind "unix:///x.sock?umask=0007&mode=0660"` -> ('bind.umask', '0007'),
('bind.mode', '0660'). Ruby interpolation (`"unix://#{dir}/puma.sock"`) is kept as written.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ConfigFile, Setting

KIND = "puma"

PUMA = {"bind", "port", "workers", "threads", "environment", "pidfile", "state_path", "daemonize", "preload_app!",
        "plugin", "activate_control_app", "stdout_redirect", "rackup", "directory", "worker_timeout", "tag", "quiet",
        "ssl_bind", "prune_bundler", "fork_worker", "silence_single_worker_warning", "persistent_timeout",
        "first_data_timeout", "worker_boot_timeout", "worker_shutdown_timeout", "max_threads", "min_threads",
        "wait_for_less_busy_worker", "control_url", "set_remote_address", "queue_requests", "log_requests",
        "early_hints", "max_fast_inline", "restart_command", "on_worker_boot", "before_fork", "on_restart",
        "lowlevel_error_handler", "umask"}
UNICORN = {"listen", "worker_processes", "working_directory", "pid", "stderr_path", "stdout_path", "timeout",
           "preload_app", "user", "before_fork", "after_fork", "before_exec", "check_client_connection",
           "logger", "rewindable_input", "client_body_buffer_size", "after_worker_ready", "after_worker_exit"}
_STRONG = {"bind", "threads", "workers", "worker_processes", "listen", "pidfile", "stdout_redirect", "state_path",
           "activate_control_app", "working_directory", "stderr_path", "preload_app!", "environment", "port"}
_LINE = _lazyre.compile(r"^\s*(?P<name>[a-z_]+!?)(?:(?:\s*\(\s*|\s+)(?P<args>[^=\s].*?))?\s*\)?\s*$")
_STRING = _lazyre.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'')
_KWARG = _lazyre.compile(r"(?:(?<![:\w])(\w+):\s*|:(\w+)\s*=>\s*)([^,)]+)")


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == "\\":
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and not (i + 1 < len(line) and line[i + 1] == "{"):
            return line[:i].rstrip()
    return line.rstrip()


def _directives(lines: list[str]) -> list[tuple[int, str, str, str]]:
    """(index, name, args text, line) of known directive lines."""
    out = []
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r")
        code = _strip_comment(line)
        if not code.strip() or code.rstrip().endswith((";", "{")):
            continue
        m = _LINE.match(code)
        if not m:
            continue
        name = m.group("name")
        if name in PUMA or name in UNICORN:
            args = (m.group("args") or "").strip()
            args = re.sub(r"(?:^|\s+)do(?:\s*\|[^|]*\|)?$", "", args).strip()
            out.append((i, name, args, line))
    return out


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:200_000].split("\n")[:1000]
    found = _directives(lines)
    names = {n for _, n, _, _ in found}
    strong = names & _STRONG
    if len(found) < 2 or not strong:
        return None
    code = sum(1 for ln in lines if _strip_comment(ln).strip())
    ratio = len(found) / max(code, 1)
    score = 0.45 + 0.45 * ratio + (0.05 if any('"unix://' in a or "'unix://" in a for _, _, a, _ in found) else 0)
    return Detection(KIND, round(min(score, 0.95), 3),
                     f"Ruby DSL directives {', '.join(sorted(strong)[:4])} ({len(found)} of {code} line(s))")


def _value(args: str) -> str:
    m = _STRING.search(args)
    if m and args.lstrip().startswith(("'", '"')):
        return m.group(1) if m.group(1) is not None else m.group(2)
    return re.split(r",\s*(?=:?\w+\s*(?::(?!:)|=>))", args)[0].strip()


def _read(chunk: Chunk) -> list:
    lines = ct.file_lines(chunk.text)
    found = _directives(lines)
    settings: list[Setting] = []
    for idx, name, args, line in found:
        src = chunk.source(idx, line)
        value = _value(args)
        settings.append(Setting("", name, value if args else None, src))
        rest = args
        m = _STRING.match(args.lstrip())
        if m:
            rest = args.lstrip()[m.end():]
        for km in _KWARG.finditer(rest):
            key = km.group(1) or km.group(2)
            settings.append(Setting("", f"{name}.{key}", km.group(3).strip().strip("'\""), src))
        if name in ("bind", "ssl_bind") and "?" in value and "://" in value:
            for key, val in parse_qsl(value.split("?", 1)[1], keep_blank_values=True):
                settings.append(Setting("", f"{name}.{key}", val, src))
    names = {n for _, n, _, _ in found}
    unicorn = len(names & (UNICORN - PUMA)) > len(names & (PUMA - UNICORN))
    path, known = ct.file_identity(chunk, lines)
    return [ConfigFile("unicorn" if unicorn else "puma", path, tuple(settings), tuple(lines),
                       chunk.source(0, lines[0] if lines else ""), first_line=chunk.first_line, path_known=known)]


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
