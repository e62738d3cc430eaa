"""`namei -l` / `-lm` / `-om` / `-nom` / plain `namei` output.

Each `f: /path` block lists the path's components; every component gets an absolute path,
following symlinks the way namei prints them (the target's components are indented below the
link and continue from the link's directory).
"""
from __future__ import annotations

import posixpath
import re

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import FileNode, ReadWarning

KIND = "namei"

_HEADER = _lazyre.compile(r"^f: (?P<path>.+)$")
_MODE_LINE = _lazyre.compile(r"^(?P<indent>\s*)(?P<mode>" + co.MODE_RE + r")(?:\s+(?P<owner>\S+)\s+(?P<group>\S+))?\s+(?P<name>.+)$")
_TYPE_LINE = _lazyre.compile(r"^(?P<indent>\s*)(?P<t>[-dlspcb?])(?:\s+(?P<owner>\S+)\s+(?P<group>\S+))?\s+(?P<name>.+)$")
_ERROR = _lazyre.compile(r"^(?P<indent>\s*)(?P<name>\S.*?) - (?P<why>No such file or directory|Permission denied|Not a directory|.+)$")
_FAILED = _lazyre.compile(r"^namei: failed to (?:stat|lstat|get[^:]*): (?P<path>.+?): (?P<why>.+)$")
_TYPES = {"-": "file", "d": "dir", "l": "symlink", "s": "socket", "p": "fifo", "c": "char", "b": "block", "?": "unknown"}


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    headers = sum(1 for ln in lines if _HEADER.match(ln))
    comps = sum(1 for ln in lines if _MODE_LINE.match(ln) and not re.search(r"\s\d+\s+\S+\s+\S+\s+\d", ln)
                or re.match(r"^\s*[-dlspcb] \S", ln))
    if not headers:
        return co.detection(KIND, 0.0, "", chunk, programs=("namei",))
    score = co.content_score(headers + comps, len(lines), base=0.6, span=0.38)
    return co.detection(KIND, score, f"{headers} `f: /path` header(s) with {comps} component line(s)", chunk,
                        programs=("namei",))


def read(chunk: Chunk) -> list:
    out: list = []
    cur: str | None = None
    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        src = chunk.source(idx, line)
        m = _HEADER.match(line)
        if m:
            cur = None
            continue
        m = _FAILED.match(line.strip())
        if m:
            out.append(FileNode(m.group("path"), "missing" if "No such" in m.group("why") else "unknown",
                                None, None, None, src, tool="namei"))
            continue
        m = _MODE_LINE.match(line)
        if m:
            ftype, mode = co.parse_mode(m.group("mode"))
        else:
            m = _TYPE_LINE.match(line)
            if m:
                ftype, mode = _TYPES[m.group("t")], None
            else:
                e = _ERROR.match(line)
                if e:
                    path = co.join_path(cur, e.group("name")) if cur else e.group("name")
                    out.append(FileNode(path, "missing" if "No such" in e.group("why") else "unknown",
                                        None, None, None, src, tool="namei"))
                else:
                    out.append(ReadWarning(src, "line not understood as `namei` output"))
                continue
        name = m.group("name").strip()
        if " - " in name and ("No such" in name or "Permission denied" in name):
            name, why = name.split(" - ", 1)
            out.append(FileNode(co.join_path(cur, name) if cur else name,
                                "missing" if "No such" in why else "unknown", None, None, None, src, tool="namei"))
            continue
        target = None
        if ftype == "symlink" and " -> " in name:
            name, target = name.split(" -> ", 1)
        if name == "/":
            path = "/"
        elif cur is None:
            path = name if name.startswith("/") else None
        else:
            path = co.join_path(cur, name)
        if ftype != "symlink" and path is not None and path.startswith("/"):
            cur = path if ftype == "dir" else posixpath.dirname(path) or "/"
        elif path is None:
            path = name
        owner, uid = co.ident(m.groupdict().get("owner"))
        group, gid = co.ident(m.groupdict().get("group"))
        out.append(FileNode(path, ftype, mode, owner, group, src, uid=uid, gid=gid,
                            link_target=target, tool="namei"))
    return out
