"""`id [USER]` output (any locale's `groups=` word, optional `context=`), and the `id -G`,
`id -Gn`, `id -u`, `id -g` forms when the command shows which one it was."""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import IdRecord, LogFact, ReadWarning

KIND = "id"

_ID = _lazyre.compile(r"^uid=(?P<uid>\d+)(?:\((?P<user>[^)]*)\))?\s+gid=(?P<gid>\d+)(?:\((?P<group>[^)]*)\))?"
                 r"(?:\s+[^\s=]+=(?P<groups>\S*))?(?:\s+context=(?P<ctx>\S+))?\s*$")
_ITEM = _lazyre.compile(r"(?P<id>\d+)(?:\((?P<name>[^)]*)\))?")
_NOUSER = _lazyre.compile(r"^id: ['‘\"]?(?P<user>[^'’\":]+)['’\"]?: (?:no such user|Benutzer nicht gefunden|utilisateur inexistant|.*)$")


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    hits = sum(1 for ln in lines if _ID.match(ln.strip()) or _NOUSER.match(ln.strip()))
    score = co.content_score(hits, len(lines), base=0.6, span=0.38)
    det = co.detection(KIND, score, f"{hits} `uid=N(name) gid=N(name)` line(s)", chunk, programs=("id",))
    if det is None and lines and _short_form(chunk) and all(re.fullmatch(r"[\w.$@+-]+(\s+[\w.$@+-]+)*", ln.strip()) for ln in lines):
        return Detection(KIND, 0.6, f"`{chunk.command}` form")
    return det


def _short_form(chunk: Chunk) -> tuple[str | None, str] | None:
    """(user, flags) for `id -G`/`-Gn`/`-u`/`-un`/`-g`/`-gn`."""
    seg = co.producer(chunk.command)
    if seg is None or seg.program != "id":
        return None
    flags = "".join(a.lstrip("-") for a in seg.argv[1:] if a.startswith("-") and not a.startswith("--"))
    args = co.path_args(seg.argv)
    if not any(f in flags for f in "Ggu"):
        return None
    return (args[0] if args else None), flags


def read(chunk: Chunk) -> list:
    seg = co.producer(chunk.command)
    cmd_users = co.path_args(seg.argv) if seg and seg.program == "id" else []
    out: list = []
    short = _short_form(chunk)
    n = 0
    for line, s, src in co.content_lines(chunk):
        m = _ID.match(s)
        if m:
            groups = tuple((int(g.group("id")), g.group("name")) for g in _ITEM.finditer(m.group("groups") or ""))
            user = m.group("user") or (cmd_users[n] if n < len(cmd_users) else None)
            out.append(IdRecord(user, int(m.group("uid")), int(m.group("gid")), m.group("group"), groups, src))
            n += 1
            continue
        m = _NOUSER.match(s)
        if m:
            out.append(LogFact("user_lookup_failed", {"user": m.group("user"), "tool": "id"}, src))
            n += 1
            continue
        if short:
            user, flags = short
            words = s.split()
            if "G" in flags:
                if "n" in flags:
                    groups = tuple((None, w) for w in words)
                else:
                    groups = tuple((int(w) if w.isdigit() else None, None) for w in words)
                first = groups[0] if groups else (None, None)
                out.append(IdRecord(user, None, first[0], first[1], groups, src))
                continue
            if "u" in flags:
                out.append(IdRecord(user if "n" not in flags else s, int(s) if s.isdigit() else None, None, None, (), src))
                continue
            if "g" in flags:
                out.append(IdRecord(user, None, int(s) if s.isdigit() else None, s if "n" in flags else None, (), src))
                continue
        out.append(ReadWarning(src, "line not understood as `id` output"))
    return out
