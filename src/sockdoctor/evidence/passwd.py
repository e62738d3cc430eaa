"""/etc/passwd and `getent passwd` lines (`name:x:uid:gid:gecos:home:shell`)."""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.group import _EXIT, _getent_keys
from sockdoctor.evidence.records import LogFact, PasswdRecord, ReadWarning, Source

KIND = "passwd"

_PASSWD = _lazyre.compile(r"^(?P<name>[\w.][\w.-]*\$?):(?P<pw>[^:\s]*):(?P<uid>\d+):(?P<gid>\d+):(?P<gecos>[^:]*):(?P<home>[^:]*):(?P<shell>[^:]*)$")


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    hits = sum(1 for ln in lines if _PASSWD.match(ln.strip()))
    score = co.content_score(hits, len(lines), base=0.55, span=0.43) if hits else 0.0
    det = co.detection(KIND, score, f"{hits} `name:x:uid:gid:gecos:home:shell` line(s)", chunk, programs=())
    if _getent_keys(chunk, "passwd") is not None:
        if det:
            return Detection(KIND, min(1.0, det.score + 0.3), det.reason + "; command `getent passwd`")
        return Detection(KIND, 0.5, "command `getent passwd` printed it")
    return det


def read(chunk: Chunk) -> list:
    out: list = []
    seen: set[str] = set()
    for line, s, src in co.content_lines(chunk, skip_comments=True):
        m = _PASSWD.match(s)
        if m:
            out.append(PasswdRecord(m.group("name"), int(m.group("uid")), int(m.group("gid")), m.group("gecos"),
                                    m.group("home"), m.group("shell"), src))
            seen.update((m.group("name"), m.group("uid")))
            continue
        if _EXIT.match(s):
            continue
        out.append(ReadWarning(src, "line not understood as a passwd entry"))
    for key in _getent_keys(chunk, "passwd") or []:
        if key not in seen:
            out.append(LogFact("user_lookup_failed", {"user": key, "tool": "getent"},
                               Source(chunk.name, max(chunk.first_line - 1, 1), 0, "$ " + (chunk.command or ""))))
    return out
