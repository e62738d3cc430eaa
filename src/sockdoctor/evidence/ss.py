"""`ss -xl` / `-xlp` / `-xa` output, `/proc/net/unix`, and counts such as
`ss -xl | grep -c app.sock` -> `0` (LogFact ``listener_count``).

A filtered `ss` (a `grep` after it, or `src PATH`) also yields ``listener_count`` with the number
of matching rows, so "ss shows no listener on this path" is evidence, not an absence."""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import Listener, LogFact, ReadWarning, Source

KIND = "ss"

_STATES = r"LISTEN|ESTAB|UNCONN|CONNECTED|SYN-SENT|SYN-RECV|CLOSE-WAIT|LAST-ACK|CLOSING|FIN-WAIT-1|FIN-WAIT-2|TIME-WAIT|CLOSED|UNKNOWN"
_ROW = _lazyre.compile(r"^(?:(?P<netid>u_str|u_dgr|u_seq|u_seqpacket|unix|u_strm|u_dgrm)\s+)?(?P<state>" + _STATES + r")\s+"
                       r"(?P<rq>\d+)\s+(?P<sq>\d+)\s+(?P<local>.+?)\s+(?P<ino>\d+|\*)\s+(?P<peer>\S+)\s+(?P<pino>\d+|\*)"
                       r"(?:\s+(?P<proc>users:.*))?\s*$")
_HEADER = _lazyre.compile(r"^(?:Netid\s+)?State\s+Recv-Q\s+Send-Q\s+Local Address:Port\s+Peer Address:Port", re.I)
_PROC_HEAD = _lazyre.compile(r"^Num\s+RefCount\s+Protocol\s+Flags\s+Type\s+St\s+Inode(?:\s+Path)?")
_PROC_ROW = _lazyre.compile(r"^(?P<num>[0-9a-fA-F]+):\s+(?P<ref>[0-9a-fA-F]+)\s+(?P<proto>[0-9a-fA-F]+)\s+(?P<flags>[0-9a-fA-F]+)\s+"
                            r"(?P<type>[0-9a-fA-F]{4})\s+(?P<st>[0-9a-fA-F]{2})\s+(?P<ino>\d+)(?:\s+(?P<path>.+))?$")
_TYPES = {"u_str": "stream", "u_strm": "stream", "u_dgr": "dgram", "u_dgrm": "dgram", "u_seq": "seqpacket",
          "u_seqpacket": "seqpacket"}
_PROC_TYPES = {"0001": "stream", "0002": "dgram", "0005": "seqpacket"}


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    rows = sum(1 for ln in lines if _ROW.match(ln.strip()) or _PROC_ROW.match(ln.strip()))
    heads = sum(1 for ln in lines if _HEADER.match(ln.strip()) or _PROC_HEAD.match(ln.strip()))
    if rows or heads:
        score = co.content_score(rows + heads, len(lines), base=0.55, span=0.43)
        return co.detection(KIND, score, f"{rows} unix socket row(s){', ss header' if heads else ''}", chunk,
                            programs=("ss",))
    if _is_count(chunk, lines):
        return Detection(KIND, 0.8, f"count of `{chunk.command}`")
    det = co.detection(KIND, 0.0, "", chunk, programs=("ss",))
    if det is None and chunk.command and "/proc/net/unix" in chunk.command:
        return Detection(KIND, 0.5, "command reads /proc/net/unix")
    return det


def _is_count(chunk: Chunk, lines: list[str]) -> bool:
    return ("ss" in co.programs(chunk.command) and co.grep_count_pattern(chunk.command) is not None
            and len(lines) == 1 and lines[0].strip().isdigit())


def _filter(chunk: Chunk) -> str | None:
    pats = co.grep_patterns(chunk.command)
    if pats:
        return pats[-1]
    seg = co.producer(chunk.command)
    if seg and seg.program == "ss":
        argv = list(seg.argv)
        for key in ("src", "sport", "dst"):
            if key in argv and argv.index(key) + 1 < len(argv):
                return argv[argv.index(key) + 1]
    return None


_STATE_NAMES = frozenset(_STATES.split("|"))


def _plain_row(s: str) -> tuple[str, ...] | None:
    """(netid, state, rq, sq, local, ino) of a row without spaces in its path nor a users: column
    (nearly every row, and what ``_ROW`` reads the same way at many times the cost); None for the
    others."""
    if not s.isascii():
        return None
    parts = s.split()
    if len(parts) == 8:
        if parts[0] not in _TYPES and parts[0] != "unix":
            return None
        netid = parts[0]
        del parts[0]
    elif len(parts) == 7:
        netid = ""
    else:
        return None
    state, rq, sq, local, ino, _peer, pino = parts
    if state not in _STATE_NAMES or not (rq.isdigit() and sq.isdigit() and (ino.isdigit() or ino == "*")
                                         and (pino.isdigit() or pino == "*")):
        return None
    return netid, state, rq, sq, local, ino


def read(chunk: Chunk) -> list:
    out: list = []
    lines = chunk.lines()
    nonempty = [ln for ln in lines if ln.strip()]
    cmd_src = Source(chunk.name, max(chunk.first_line - 1, 1), 0, "$ " + (chunk.command or ""))
    if _is_count(chunk, nonempty):
        idx = next(i for i, ln in enumerate(lines) if ln.strip())
        out.append(LogFact("listener_count", {"pattern": co.grep_count_pattern(chunk.command),
                                              "count": int(nonempty[0].strip()), "command": chunk.command},
                           chunk.source(idx, lines[idx].rstrip("\r"))))
        return out
    rows = 0
    for idx, raw in enumerate(lines):
        line = raw.rstrip("\r")
        s = line.strip()
        if not s:
            continue
        row = _plain_row(s)  # never a header: tried first, as nearly every line is a row
        if row is not None:
            netid, state, rq, sq, local, ino = row
            out.append(Listener(None if local == "*" else local, _TYPES.get(netid, "stream"), state, int(rq), int(sq),
                                chunk.source(idx, line), inode=None if ino == "*" else int(ino)))
            rows += 1
            continue
        if _HEADER.match(s) or _PROC_HEAD.match(s):
            continue
        src = chunk.source(idx, line)
        m = _ROW.match(s)
        if m:
            local = m.group("local")
            out.append(Listener(None if local == "*" else local, _TYPES.get(m.group("netid") or "", "stream"),
                                m.group("state"), int(m.group("rq")), int(m.group("sq")), src,
                                process=m.group("proc"), inode=co.int_or_none(m.group("ino"))))
            rows += 1
            continue
        m = _PROC_ROW.match(s)
        if m:
            flags = int(m.group("flags"), 16)
            state = "LISTEN" if flags & 0x10000 else ("ESTAB" if m.group("st") == "03" else "UNCONN")
            out.append(Listener(m.group("path"), _PROC_TYPES.get(m.group("type"), "stream"), state, None, None, src,
                                inode=int(m.group("ino"))))
            rows += 1
            continue
        out.append(ReadWarning(src, "line not understood as `ss -x` output"))
    flt = _filter(chunk)
    if flt is not None:
        out.append(LogFact("listener_count", {"pattern": flt, "count": rows, "command": chunk.command}, cmd_src))
    return out
