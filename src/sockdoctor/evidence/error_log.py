"""nginx error.log lines: connect() failures to Unix sockets and the notices that explain them.

Lines may carry container or journal prefixes (`web-1  | `, `Jan 15 03:42:17 host nginx[1]: `).
Huge logs are streamed by sockdoctor.evidence.logscan. ``parse_line`` is public so other readers
(journal, container logs, the streamed scan) can delegate nginx lines.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from sockdoctor import _lazyre
from sockdoctor import limits
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ErrorLogEvent, NginxNotice, ReadWarning, Source

KIND = "error_log"

_HEAD = _lazyre.compile(
    r"(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>[a-z]+)\] (?P<pid>\d+)#(?P<tid>\d+): "
    r"(?:\*(?P<conn>\d+) )?(?P<msg>.*)$")
_STDERR = _lazyre.compile(r"(?:nginx: )?\[(?P<level>emerg|alert|crit|error|warn|notice|info)\] (?P<msg>.*)$")
_CONNECT = _lazyre.compile(r"connect\(\) to unix:(?P<sock>.+?) failed \((?P<errno>\d+): (?P<errtext>[^)]*)\)")
_SYSCALL_FAIL = _lazyre.compile(r"^(?P<call>\w+)\(\) failed \((?P<errno>\d+): (?P<errtext>[^)]*)\)")
_TIMEOUT = _lazyre.compile(r"^upstream timed out \((?P<errno>\d+): (?P<errtext>[^)]*)\)")
_UPSTREAM = _lazyre.compile(r'upstream: "(?P<v>[^"]*)"')
_UNIX_IN_UPSTREAM = _lazyre.compile(r"^[a-z]+://unix:(?P<sock>.*?):(?:/.*)?$|^unix:(?P<sock2>.*?):?$")
# nginx writes the request context in this order (ngx_http_log_error_handler, stream likewise)
_CONTEXT = _lazyre.compile(r', client: (?P<client>[^,]*)(?:, server: (?P<server>[^,]*))?'
                           r'(?:, request: "(?P<request>(?:[^"\\]|\\.)*)")?(?:, subrequest: "[^"]*")?'
                           r'(?:, upstream: "(?P<upstream>[^"]*)")?(?:, host: "(?P<host>[^"]*)")?')
_GETPW = _lazyre.compile(r'(?P<fn>getpwnam|getgrnam)\("(?P<name>[^"]*)"\) failed')
_INITGROUPS = _lazyre.compile(r"initgroups\((?P<name>[^,)]*)(?:, ?\d+)?\) failed")
_BIND = _lazyre.compile(r"bind\(\) to (?P<addr>\S+) failed")
USER_IGNORED = '"user" directive makes sense only if the master process runs with super-user privileges'

# Cheap substring tests before any regex (the fast path of scan_file). nginx writes a space after
# the level in both line formats (_HEAD, _STDERR), and the longer needle is found faster.
MARKERS = ("unix:", "[emerg] ", '"user" directive')


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    hits = failures = 0
    for line in lines:
        payload = co.strip_log_prefix(line)
        if _HEAD.match(payload) or _STDERR.match(payload) and payload.startswith("nginx: "):
            hits += 1
            if "connect() to unix:" in payload or "getpwnam(" in payload or "getgrnam(" in payload:
                failures += 1
    if not hits:
        return co.detection(KIND, 0.0, "", chunk, programs=())
    score = co.content_score(hits, len(lines), base=0.45, span=0.5)
    reason = f"{hits} nginx error.log line(s) (`YYYY/MM/DD hh:mm:ss [level] pid#tid:`)"
    if failures:
        reason += f", {failures} socket failure(s)"
    det = co.detection(KIND, score, reason, chunk, programs=())
    if det and chunk.command and "error" in chunk.command and "log" in chunk.command:
        det = Detection(KIND, min(1.0, det.score + 0.1), det.reason + "; command reads an error log")
    return det


def parse_line(line: str, source: Source) -> ErrorLogEvent | NginxNotice | None:
    """One error.log line (prefixes allowed) -> record, or None when it is not about sockets."""
    if not ("unix:" in line or "[emerg] " in line or '"user" directive' in line):
        return None
    payload = line if line[4:5] == "/" and line[:4].isdigit() else co.strip_log_prefix(line)
    m = _HEAD.match(payload)
    if m:
        level, msg = m.group("level"), m.group("msg")
        time, pid, conn = m.group("time"), int(m.group("pid")), m.group("conn")
    else:
        m = _STDERR.search(payload)
        if not m:
            return None
        level, msg, time, pid, conn = m.group("level"), m.group("msg"), None, None, None
    # nginx starts these messages with the call; a request URL quoting one is not a notice
    if msg.startswith("the ") and msg[4:4 + len(USER_IGNORED)] == USER_IGNORED:
        return NginxNotice("user_ignored", None, source, msg)
    g = _GETPW.match(msg)
    if g:
        return NginxNotice(f"{g.group('fn')}_failed", g.group("name"), source, msg)
    g = _INITGROUPS.match(msg)
    if g:
        return NginxNotice("initgroups_failed", g.group("name").strip() or None, source, msg)
    g = _BIND.match(msg)
    if g:
        addr = g.group("addr")
        return NginxNotice("bind_failed", addr[5:] if addr.startswith("unix:") else addr, source, msg)
    ctx = _CONTEXT.search(msg)
    upstream = ctx.group("upstream") if ctx else _val(_UPSTREAM, msg)
    # only at the start: a request URL quoting "connect() to unix:/x failed (13: ...)" is not one
    c = _CONNECT.match(msg) if msg.startswith("connect() to unix:") else None
    if c:
        sock, errno, errtext, call = c.group("sock"), int(c.group("errno")), c.group("errtext"), "connect"
    else:
        sock = None
        if upstream:
            u = _UNIX_IN_UPSTREAM.match(upstream)
            if u:
                sock = u.group("sock") if u.group("sock") is not None else u.group("sock2")
        if not sock:
            return None
        t = _TIMEOUT.match(msg)
        s = _SYSCALL_FAIL.match(msg)
        if t:
            errno, errtext, call = int(t.group("errno")), t.group("errtext"), "timeout"
        elif s:
            errno, errtext, call = int(s.group("errno")), s.group("errtext"), s.group("call")
        elif msg.startswith("upstream prematurely closed connection"):
            errno, errtext, call = None, None, "closed"
        elif msg.startswith("no live upstreams"):
            errno, errtext, call = None, None, "no_live_upstreams"
        else:
            return None
    return ErrorLogEvent(level, errno, errtext, sock, source, time=time, pid=pid,
                         connection=int(conn) if conn else None, upstream=upstream,
                         client=ctx.group("client") if ctx else None, server=ctx.group("server") if ctx else None,
                         request=ctx.group("request") if ctx else None, host=ctx.group("host") if ctx else None,
                         syscall=call)


def _val(rx: re.Pattern, text: str) -> str | None:
    m = rx.search(text)
    return m.group("v") if m else None


def read(chunk: Chunk) -> list:
    """Every socket-related line of the chunk (the text is already in memory)."""
    text = chunk.text
    out: list = []
    kept = limits.value("max_error_log_lines")
    dropped = 0
    for idx, line in _marked_lines(text):
        rec = parse_line(line.rstrip("\r"), chunk.source(idx, line.rstrip("\r")[:2000]))
        if rec is not None:
            if len(out) >= kept:
                dropped += 1
                continue
            out.append(rec)
    if dropped:
        out.append(ReadWarning(out[-1].source, f"{dropped} more error.log lines after this one not kept "
                               f"(limit max_error_log_lines, SOCKDOCTOR_MAX_ERROR_LOG_LINES)"))
    return out


def _marked_lines(text: str) -> Iterator[tuple[int, str]]:
    """(0-based line index, line) of lines holding a marker, found with str.find."""
    starts: set[int] = set()
    for marker in MARKERS:
        pos = text.find(marker)
        while pos != -1:
            start = text.rfind("\n", 0, pos) + 1
            starts.add(start)
            end = text.find("\n", pos)
            pos = text.find(marker, end) if end != -1 else -1
    line_no = 0
    last = 0
    for start in sorted(starts):
        line_no += text.count("\n", last, start)
        last = start
        end = text.find("\n", start)
        yield line_no, text[start:] if end == -1 else text[start:end]
