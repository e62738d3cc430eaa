"""nginx access.log lines (combined / common format, optional container prefixes):
LogFact ``access_status`` (status, path, method, time, client) per request."""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import LogFact, ReadWarning

KIND = "access_log"

_LINE = _lazyre.compile(r'^(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<req>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+|-)'
                        r'(?: "(?P<ref>(?:[^"\\]|\\.)*)" "(?P<ua>(?:[^"\\]|\\.)*)")?')
MAX_FACTS = 5000


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    hits = sum(1 for ln in lines if _LINE.match(co.strip_log_prefix(ln)))
    score = co.content_score(hits, len(lines), base=0.45, span=0.5)
    det = co.detection(KIND, score, f"{hits} access.log line(s) (`client - - [time] \"request\" status`)", chunk, programs=())
    if det and chunk.command and "access" in chunk.command:
        det = Detection(KIND, min(1.0, det.score + 0.1), det.reason + "; command reads an access log")
    return det


def read(chunk: Chunk) -> list:
    out: list = []
    n = 0
    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        m = _LINE.match(co.strip_log_prefix(line))
        src = chunk.source(idx, line[:2000])
        if not m:
            out.append(ReadWarning(src, "line not understood as an access.log line"))
            continue
        n += 1
        if n > MAX_FACTS:
            continue
        parts = m.group("req").split()
        out.append(LogFact("access_status", {
            "status": int(m.group("status")), "method": parts[0] if parts else None,
            "path": parts[1] if len(parts) > 1 else None, "time": m.group("time"), "client": m.group("client")}, src))
    if n > MAX_FACTS:
        out.append(ReadWarning(chunk.source(0), f"{n - MAX_FACTS} more access.log lines not kept"))
    return out
