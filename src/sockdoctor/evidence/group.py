"""/etc/group and `getent group` lines (`name:x:gid:member,member`).

With `getent group a b` in the paste, names asked for but not printed become LogFact
``group_lookup_failed`` (getent exits 2 and prints nothing for them). `exit=N` / `$?` lines
printed by the user are accepted silently."""
from __future__ import annotations

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import GroupRecord, LogFact, ReadWarning, Source

KIND = "group"

_GROUP = _lazyre.compile(r"^(?P<name>[\w.][\w.-]*\$?):(?P<pw>[^:\s]*):(?P<gid>\d+):(?P<members>[^:\s]*)$")
_EXIT = _lazyre.compile(r"^(?:exit(?: status)?[=:]\s*)?\d{1,3}$")


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    hits = sum(1 for ln in lines if _GROUP.match(ln.strip()))
    exits = sum(1 for ln in lines if _EXIT.match(ln.strip()))
    score = co.content_score(hits + exits, len(lines), base=0.45, span=0.5) if hits else 0.0
    det = co.detection(KIND, score, f"{hits} `name:x:gid:members` line(s)", chunk, programs=())
    if _getent_keys(chunk) is not None:
        if det:
            return Detection(KIND, min(1.0, det.score + 0.3), det.reason + "; command `getent group`")
        return Detection(KIND, 0.5, "command `getent group` printed it")
    if det and chunk.command and "/etc/group" in chunk.command:
        return Detection(KIND, min(1.0, det.score + 0.3), det.reason + "; command reads /etc/group")
    return det


def _getent_keys(chunk: Chunk, db: str = "group") -> list[str] | None:
    seg = co.producer(chunk.command)
    if seg is None or seg.program != "getent" or len(seg.argv) < 2 or seg.argv[1] != db:
        return None
    return [a for a in seg.argv[2:] if not a.startswith("-")]


def read(chunk: Chunk) -> list:
    out: list = []
    seen: set[str] = set()
    for line, s, src in co.content_lines(chunk, skip_comments=True):
        m = _GROUP.match(s)
        if m:
            members = tuple(x.strip() for x in m.group("members").split(",") if x.strip())
            out.append(GroupRecord(m.group("name"), int(m.group("gid")), members, src))
            seen.add(m.group("name"))
            seen.add(m.group("gid"))
            continue
        if _EXIT.match(s):
            continue
        out.append(ReadWarning(src, "line not understood as a group entry"))
    keys = _getent_keys(chunk)
    if keys:
        src = Source(chunk.name, max(chunk.first_line - 1, 1), 0, "$ " + (chunk.command or ""))
        for key in keys:
            if key not in seen:
                out.append(LogFact("group_lookup_failed", {"group": key, "tool": "getent"}, src))
    return out
