"""nginx error.log lines: connect() failures to Unix sockets and the notices that explain them.

Lines may carry container or journal prefixes (`web-1  | `, `Jan 15 03:42:17 host nginx[1]: `).
Huge logs are streamed with ``scan_file``: blocks are searched for a few marker substrings at C
speed and only the lines holding one are decoded and parsed, so memory stays flat in the file's
size. ``parse_line`` is public so other readers (journal, container logs) can delegate nginx lines.
"""
from __future__ import annotations

import io
import os
import re
from typing import BinaryIO, Iterator

from sockdoctor import limits
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ErrorLogEvent, LogFact, NginxNotice, ReadWarning, Source

KIND = "error_log"

_HEAD = re.compile(
    r"(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>[a-z]+)\] (?P<pid>\d+)#(?P<tid>\d+): "
    r"(?:\*(?P<conn>\d+) )?(?P<msg>.*)$")
_STDERR = re.compile(r"(?:nginx: )?\[(?P<level>emerg|alert|crit|error|warn|notice|info)\] (?P<msg>.*)$")
_CONNECT = re.compile(r"connect\(\) to unix:(?P<sock>.+?) failed \((?P<errno>\d+): (?P<errtext>[^)]*)\)")
_SYSCALL_FAIL = re.compile(r"^(?P<call>\w+)\(\) failed \((?P<errno>\d+): (?P<errtext>[^)]*)\)")
_TIMEOUT = re.compile(r"^upstream timed out \((?P<errno>\d+): (?P<errtext>[^)]*)\)")
_UPSTREAM = re.compile(r'upstream: "(?P<v>[^"]*)"')
_UNIX_IN_UPSTREAM = re.compile(r"^[a-z]+://unix:(?P<sock>.*?):(?:/.*)?$|^unix:(?P<sock2>.*?):?$")
# nginx writes the request context in this order (ngx_http_log_error_handler, stream likewise)
_CONTEXT = re.compile(r', client: (?P<client>[^,]*)(?:, server: (?P<server>[^,]*))?'
                      r'(?:, request: "(?P<request>(?:[^"\\]|\\.)*)")?(?:, subrequest: "[^"]*")?'
                      r'(?:, upstream: "(?P<upstream>[^"]*)")?(?:, host: "(?P<host>[^"]*)")?')
_GETPW = re.compile(r'(?P<fn>getpwnam|getgrnam)\("(?P<name>[^"]*)"\) failed')
_INITGROUPS = re.compile(r"initgroups\((?P<name>[^,)]*)(?:, ?\d+)?\) failed")
_BIND = re.compile(r"bind\(\) to (?P<addr>\S+) failed")
_USER_IGNORED = '"user" directive makes sense only if the master process runs with super-user privileges'

# Cheap substring tests before any regex (the fast path of scan_file).
MARKERS = ("unix:", "[emerg]", '"user" directive')
_BMARKERS = tuple(m.encode() for m in MARKERS)


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
    if not ("unix:" in line or "[emerg]" in line or '"user" directive' in line):
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
    if _USER_IGNORED in msg:
        return NginxNotice("user_ignored", None, source, msg)
    g = _GETPW.search(msg) if 'nam("' in msg else None
    if g:
        return NginxNotice(f"{g.group('fn')}_failed", g.group("name"), source, msg)
    g = _INITGROUPS.search(msg) if "initgroups(" in msg else None
    if g:
        return NginxNotice("initgroups_failed", g.group("name").strip() or None, source, msg)
    g = _BIND.search(msg) if "bind() to" in msg else None
    if g:
        addr = g.group("addr")
        return NginxNotice("bind_failed", addr[5:] if addr.startswith("unix:") else addr, source, msg)
    ctx = _CONTEXT.search(msg)
    upstream = ctx.group("upstream") if ctx else _val(_UPSTREAM, msg)
    c = _CONNECT.match(msg) if msg.startswith("connect() to unix:") else _CONNECT.search(msg) if "connect() to unix:" in msg else None
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


# --- streaming -------------------------------------------------------------------------------

BLOCK = 4 * 1024 * 1024
MAX_LINE = 64 * 1024


def iter_scan(src: str | os.PathLike | BinaryIO, name: str | None = None,
              block_size: int = BLOCK) -> Iterator:
    """Yield records from a log file or binary file object, line by line in bounded memory.

    Only lines holding a marker are decoded (UTF-8, invalid bytes replaced). A line longer than
    MAX_LINE is cut and reported."""
    own = isinstance(src, (str, os.PathLike))
    fh: BinaryIO = open(src, "rb") if own else src  # noqa: SIM115
    if name is None:
        name = os.fspath(src) if own else getattr(fh, "name", "<stream>")
        name = name if isinstance(name, str) else "<stream>"
    if isinstance(fh, io.TextIOBase):
        raise TypeError("iter_scan needs a binary file object")
    try:
        carry = b""
        line_base = 1  # line number of the first line in `buf`
        while True:
            data = fh.read(block_size)
            if not data:
                break
            buf = carry + data if carry else data
            cut = buf.rfind(b"\n")
            if cut == -1:
                if len(buf) > MAX_LINE:
                    yield ReadWarning(Source(name, line_base, 0, ""), f"line {line_base} is longer than {MAX_LINE} bytes; cut")
                    buf = buf[:MAX_LINE]
                carry = buf
                continue
            carry = buf[cut + 1:]
            yield from _scan_block(buf, name, line_base, cut + 1)
            line_base += buf.count(b"\n", 0, cut + 1)
        if carry:
            yield from _scan_block(carry, name, line_base, len(carry))
    finally:
        if own:
            fh.close()


def _scan_block(block: bytes, name: str, line_base: int, limit: int) -> Iterator:
    """Records of the complete lines in block[:limit] (no copy of the block)."""
    starts: set[int] = set()
    for marker in _BMARKERS:
        pos = block.find(marker, 0, limit)
        while pos != -1:
            starts.add(block.rfind(b"\n", 0, pos) + 1)
            end = block.find(b"\n", pos, limit)
            pos = block.find(marker, end, limit) if end != -1 else -1
    if not starts:
        return
    line_no = line_base
    last = 0
    for start in sorted(starts):
        line_no += block.count(b"\n", last, start)
        last = start
        end = block.find(b"\n", start, limit)
        raw = block[start:limit] if end == -1 else block[start:end]
        line = raw[:MAX_LINE].decode("utf-8", "replace").rstrip("\r")
        rec = parse_line(line, Source(name, line_no, 0, line[:2000]))
        if rec is not None:
            yield rec


def scan_file(src: str | os.PathLike | BinaryIO, name: str | None = None, keep: int = 50,
              block_size: int = BLOCK) -> list:
    """Records of a whole log in bounded memory.

    Every notice is kept; connect() failures are kept per (socket, errno): the first and last
    ``keep // 2`` of each, plus one LogFact ``connect_failures`` per group with the count, the
    first and last line and time (so a 1 GB log of failures still gives a small result)."""
    head = max(1, keep // 2)
    groups: dict[tuple, dict] = {}
    out_other: list = []
    for rec in iter_scan(src, name, block_size):
        if not isinstance(rec, ErrorLogEvent):
            out_other.append(rec)
            continue
        key = (rec.socket, rec.errno, rec.syscall)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"first": [], "last": [], "count": 0}
        g["count"] += 1
        if len(g["first"]) < head:
            g["first"].append(rec)
        else:
            g["last"].append(rec)
            if len(g["last"]) > head:
                g["last"].pop(0)
    events: list = []
    for (sock, errno, call), g in groups.items():
        kept = g["first"] + g["last"]
        events.extend(kept)
        first, last = kept[0], kept[-1]
        events.append(LogFact("connect_failures", {
            "socket": sock, "errno": errno, "syscall": call, "count": g["count"],
            "first_line": first.source.line, "last_line": last.source.line,
            "first_time": first.time, "last_time": last.time}, first.source))
    out = events + out_other
    out.sort(key=lambda r: (r.source.line, 0 if not isinstance(r, LogFact) else 1))
    return out
