"""`find` output: plain paths (`find /tmp -name x.sock`), `find -ls`, and `find:` errors.

A plain path says only that the object exists; its type is taken from `-type` in the command
when the paste shows it."""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import FileNode, LogFact, ReadWarning

KIND = "find"

_PATH = _lazyre.compile(r"^(?:/|\./)\S(?:.*\S)?$|^/$")
_LS = _lazyre.compile(r"^\s*(?P<inode>\d+)\s+\d+\s+(?P<mode>" + co.MODE_RE + r")[.+]?\s+\d+\s+(?P<owner>\S+)\s+(?P<group>\S+)\s+"
                      r"(?:\d+|\d+,\s*\d+)\s+\S+\s+\S+\s+\S+\s+(?P<name>.+)$")
_ERR = _lazyre.compile(r"^find: ['‘\"]?(?P<path>.+?)['’\"]?: (?P<why>.+)$")
_TYPES = {"s": "socket", "d": "dir", "f": "file", "l": "symlink", "p": "fifo", "c": "char", "b": "block"}


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    paths = sum(1 for ln in lines if _PATH.match(ln.strip()) and " " not in ln.strip())
    lsl = sum(1 for ln in lines if _LS.match(ln))
    errs = sum(1 for ln in lines if _ERR.match(ln))
    if lsl or errs:
        score = co.content_score(paths + lsl + errs, len(lines), base=0.55, span=0.4)
    elif paths == len(lines) and paths:
        score = 0.35  # bare paths: could be many things
    else:
        score = 0.0
    return co.detection(KIND, score, f"{paths} bare path(s), {lsl} `find -ls` line(s)", chunk,
                        programs=("find", "locate"), command_bonus=0.55)


def read(chunk: Chunk) -> list:
    seg = co.producer(chunk.command)
    ftype = "unknown"
    if seg and seg.program == "find" and "-type" in seg.argv:
        i = seg.argv.index("-type")
        if i + 1 < len(seg.argv):
            ftype = _TYPES.get(seg.argv[i + 1], "unknown")
    out: list = []
    for line, s, src in co.content_lines(chunk):
        m = _LS.match(line)
        if m:
            t, mode = co.parse_mode(m.group("mode"))
            name = m.group("name")
            target = None
            if t == "symlink" and " -> " in name:
                name, target = name.split(" -> ", 1)
            owner, uid = co.ident(m.group("owner"))
            group, gid = co.ident(m.group("group"))
            out.append(FileNode(name, t, mode, owner, group, src, uid=uid, gid=gid, link_target=target,
                                inode=int(m.group("inode")), has_acl="+" in line.split()[2], tool="find"))
            continue
        m = _ERR.match(s)
        if m:
            out.append(LogFact("access_denied" if "denied" in m.group("why") else "find_error",
                               {"path": m.group("path"), "tool": "find", "reason": m.group("why")}, src))
            continue
        if _PATH.match(s):
            out.append(FileNode(s, ftype, None, None, None, src, tool="find"))
            continue
        out.append(ReadWarning(src, "line not understood as `find` output"))
    return out
