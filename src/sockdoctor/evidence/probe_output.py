"""Output of probes run as the nginx user (or another user) against the socket:
`curl --unix-socket`, `setpriv ... curl`, `sudo -u nginx python3 -c 'socket.connect(...)'`,
`sudo -u X test -w`, `socat`, `nc -U`.

LogFact kinds: ``curl_ok`` (user, socket, status), ``curl_failed`` (user, socket, code, message),
``setpriv_probe`` (user, ok, errno, socket) for any probe run under changed credentials."""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import LogFact, ReadWarning, Source

KIND = "probe_output"

_HTTP = _lazyre.compile(r"^HTTP/\d(?:\.\d)? (?P<status>\d{3})")
_CURL_ERR = _lazyre.compile(r"^curl: \((?P<code>\d+)\) (?P<msg>.*)$")
_ERRNO = _lazyre.compile(r"(?P<exc>\b[A-Z]\w{0,40}Error): \[Errno (?P<errno>\d+)\] (?P<msg>[^:\n]*)")
_TRACEBACK = _lazyre.compile(r"^Traceback \(most recent call last\):")
_NC_ERR = _lazyre.compile(r"^(?:nc|ncat|socat)(?:\[\d+\])?.*?: (?P<msg>.*(?:Permission denied|No such file|Connection refused).*)$")
_ERRTEXT = {"Permission denied": 13, "No such file or directory": 2, "Connection refused": 111,
            "Resource temporarily unavailable": 11}
_PROBES = ("curl", "python3", "python", "socat", "nc", "ncat", "test", "wget")


def _probe(chunk: Chunk):
    for seg in co.segments(chunk.command):
        if seg.program in _PROBES or seg.program.startswith("python"):
            return seg
    return None


def _socket_of(chunk: Chunk, seg) -> str | None:
    argv = list(seg.argv) if seg else []
    for i, a in enumerate(argv):
        if a == "--unix-socket" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--unix-socket="):
            return a.split("=", 1)[1]
        if a.startswith(("UNIX-CONNECT:", "UNIX-CLIENT:", "unix-connect:")):
            return a.split(":", 1)[1]
    m = re.search(r"connect\(\s*['\"](?P<p>[^'\"]+)['\"]", chunk.command or "")
    if m:
        return m.group("p")
    if seg and seg.program in ("nc", "ncat") and "-U" in argv and argv.index("-U") + 1 < len(argv):
        return argv[argv.index("-U") + 1]
    if seg and seg.program == "test":
        return argv[-1] if len(argv) > 2 else None
    return None


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    sig = sum(1 for ln in lines if _HTTP.match(ln) or _CURL_ERR.match(ln) or _TRACEBACK.match(ln) or _ERRNO.search(ln)
              or _NC_ERR.match(ln))
    seg = _probe(chunk)
    sock = _socket_of(chunk, seg) if seg else None
    if seg and (sock or seg.as_user):
        reason = f"probe `{seg.program}`" + (f" on {sock}" if sock else "") + (f" as {seg.as_user}" if seg.as_user else "")
        return Detection(KIND, 0.9 if sig else 0.75, reason)
    if not sig:
        return None
    score = co.content_score(sig, len(lines), base=0.35, span=0.3)
    return Detection(KIND, score, f"{sig} probe result line(s) (HTTP status, curl error, [Errno N])")


def read(chunk: Chunk) -> list:
    seg = _probe(chunk)
    user = seg.as_user if seg else None
    if user is None:
        for s in co.segments(chunk.command):
            if s.as_user:
                user = s.as_user
    sock = _socket_of(chunk, seg) if seg else None
    changed_creds = bool(chunk.command and re.search(r"\b(setpriv|sudo|runuser|su)\b", chunk.command) and user)
    lines = chunk.lines()
    status = None
    err: tuple[int | None, str] | None = None
    first_src: Source | None = None
    curl_code = None
    for idx, raw in enumerate(lines):
        line = raw.rstrip("\r")
        s = line.strip()
        if not s:
            continue
        src = chunk.source(idx, line)
        first_src = first_src or src
        m = _HTTP.match(s)
        if m and status is None:
            status, first_src = int(m.group("status")), src
            continue
        m = _CURL_ERR.match(s)
        if m:
            curl_code = int(m.group("code"))
            errno = next((v for k, v in _ERRTEXT.items() if k in m.group("msg")), None)
            err, first_src = (errno, m.group("msg")), src
            continue
        m = _ERRNO.search(s)
        if m:
            err, first_src = (int(m.group("errno")), m.group("msg").strip()), src
            continue
        m = _NC_ERR.match(s)
        if m:
            errno = next((v for k, v in _ERRTEXT.items() if k in m.group("msg")), None)
            err, first_src = (errno, m.group("msg")), src
    out: list = []
    if first_src is None:
        first_src = Source(chunk.name, max(chunk.first_line - 1, 1), 0, "$ " + (chunk.command or ""))
    if seg is None and status is None and err is None:
        return [ReadWarning(first_src, "probe output without a recognisable result")]
    ok = err is None and (status is not None or any(ln.strip() for ln in lines) or (seg is not None and seg.program == "test"))
    if seg is not None and seg.program == "curl" or status is not None or curl_code is not None:
        if ok:
            out.append(LogFact("curl_ok", {"user": user, "socket": sock, "status": status}, first_src))
        else:
            out.append(LogFact("curl_failed", {"user": user, "socket": sock, "code": curl_code,
                                               "errno": err[0] if err else None, "message": err[1] if err else None},
                               first_src))
    if changed_creds or err is not None and seg is not None and seg.program.startswith("python"):
        out.append(LogFact("setpriv_probe", {"user": user, "ok": ok, "errno": err[0] if err else None, "socket": sock,
                                             "tool": seg.program if seg else None}, first_src))
    return out
