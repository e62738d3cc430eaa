"""`ls -l` / `-la` / `-ld` / `-lan` / `-laZ` output (GNU coreutils and busybox).

Paths are made absolute from the listed directory (the `ls` command's argument or a `/dir:`
header) when the evidence shows it: `app.sock` under `ls -la /run/ledger/` is
`/run/ledger/app.sock`, `.` the directory itself and `..` its parent. Dates are skipped, not
parsed, so localized months (`Jan.`, `janv.`, `1月`) and ISO styles all work.
"""
from __future__ import annotations

import posixpath
import re

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import FileNode, LogFact, ReadWarning

KIND = "ls"

_LONG = _lazyre.compile(
    r"^(?:\s*(?P<inode>\d+)\s+)?(?P<mode>" + co.MODE_RE + r")(?P<flag>[.+@]?)\s+(?P<links>\d+)\s+(?P<rest>.*)$")
_OLD_Z = _lazyre.compile(  # RHEL 6 `ls -Z`: mode owner group label name
    r"^(?P<mode>" + co.MODE_RE + r")(?P<flag>[.+@]?)\s+(?P<owner>\S+)\s+(?P<group>\S+)\s+"
    r"(?P<label>[\w.-]+:[\w.-]+:[\w.-]+(?::[\w.,:-]+)?)\s+(?P<name>.+)$")
_TOTAL = _lazyre.compile(r"^(?:total|insgesamt|totale?|合計|合计|итого|razem|totaal)\s+\d+[\d.,]*\s*[KMGkmg]?$", re.I)
_DIR_HEADER = _lazyre.compile(r"^(?P<dir>/.*|\.{1,2}(?:/.*)?|[^\s:]+(?:/[^\s:]*)*):$")
_CANNOT = _lazyre.compile(r"^(?:ls|busybox ls): (?:cannot access |cannot open directory )?['‘\"]?(?P<path>.+?)['’\"]?: (?P<why>.+)$")
_LABEL = _lazyre.compile(r"^[\w.-]+:[\w.-]+:[\w.-]+(?::[\w.,:-]+)?$|^\?$")
_ISO_DATE = _lazyre.compile(r"^\d{4}-\d\d-\d\d$")
_SIZE = _lazyre.compile(r"^\d+(?:[.,]\d+)?[KMGTPE]?$|^\d+,$")


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    hits = strong = 0
    for line in lines:
        s = line.strip()
        if _LONG.match(s) or _OLD_Z.match(s):
            hits += 1
            strong += 1
        elif _TOTAL.match(s) or _CANNOT.match(s) or _DIR_HEADER.match(s):
            hits += 1
            strong += 1 if _CANNOT.match(s) else 0
    score = co.content_score(hits, len(lines), base=0.55, span=0.4) if strong else 0.0
    return co.detection(KIND, score, f"{strong} `ls -l` line(s) (mode, links, owner, group)", chunk,
                        programs=("ls",))


def _split_fields(rest: str, has_label: bool):
    """owner group [label] size date... name, from the text after the link count."""
    toks = rest.split()
    if len(toks) < 4:
        return None
    owner, group = toks[0], toks[1]
    i = 2
    label = None
    if i < len(toks) and _LABEL.match(toks[i]) and (has_label or ":" in toks[i]) and len(toks) > i + 3:
        label = toks[i]
        i += 1
    # size (or major, minor for devices)
    if i < len(toks) and toks[i].endswith(",") and i + 1 < len(toks):
        i += 2
    elif i < len(toks) and _SIZE.match(toks[i]):
        i += 1
    else:
        # `ls -lo`/`-lg` drop a column: treat toks[1] as size when it is numeric
        if _SIZE.match(group):
            group = None
            i = 2
            if label is None and _LABEL.match(toks[i]) and ":" in toks[i]:
                i += 1
        else:
            return None
    # date: ISO (2 or 3 tokens) or 3 tokens in any locale
    if i < len(toks) and _ISO_DATE.match(toks[i]):
        i += 2
        if i < len(toks) and re.match(r"^[+-]\d{4}$", toks[i]):
            i += 1
    else:
        i += 3
    if i >= len(toks) + 1:
        return None
    # keep the name's original spacing: find where the name starts in ``rest``
    pos = 0
    for tok in toks[:i]:
        pos = rest.index(tok, pos) + len(tok)
    name = rest[pos:].strip()
    if not name:
        return None
    return owner, group, label, name


def _clean_name(name: str, classify: bool) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        name = name[1:-1]
    if classify and name and name[-1] in "=/@|*>":
        name = name[:-1]
    return name


def _context(chunk: Chunk) -> tuple[list[str], bool, bool, bool]:
    seg = co.producer(chunk.command)
    if seg is None or seg.program != "ls":
        return [], False, False, False
    opts = "".join(a[1:] for a in seg.argv[1:] if a.startswith("-") and not a.startswith("--"))
    longs = [a for a in seg.argv[1:] if a.startswith("--")]
    args = [a for a in seg.argv[1:] if not a.startswith("-")]
    return args, "d" in opts or "--directory" in longs, "F" in opts or "p" in opts or any(
        a.startswith("--classify") or a.startswith("--indicator-style") for a in longs), "Z" in opts or "--context" in longs


def read(chunk: Chunk) -> list:
    out: list = []
    args, dir_flag, classify, has_label = _context(chunk)
    # Directory being listed: a single non -d argument (`ls -la /run/ledger/`); refined by headers.
    current_dir = None
    if len(args) == 1 and not dir_flag and args[0].startswith("/"):
        current_dir = posixpath.normpath(args[0]) if args[0] != "/" else "/"
    pending: list[tuple[int, str, dict]] = []
    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r")
        s = line.strip()
        if not s:
            continue
        if _TOTAL.match(s):
            continue
        m = _CANNOT.match(s)
        if m:
            path = m.group("path")
            why = m.group("why")
            src = chunk.source(idx, line)
            if "No such file" in why or "not found" in why.lower():
                out.append(FileNode(path.rstrip("/") or "/", "missing", None, None, None, src, tool="ls"))
            else:
                out.append(LogFact("access_denied", {"path": path, "tool": "ls", "reason": why}, src))
            continue
        m = _LONG.match(s)
        fields = None
        label = None
        if m:
            fields = _split_fields(m.group("rest"), has_label or m.group("flag") == ".")
        else:
            m = _OLD_Z.match(s)
            if m:
                fields = (m.group("owner"), m.group("group"), m.group("label"), m.group("name"))
        if m is None or fields is None:
            h = _DIR_HEADER.match(s)
            if h:
                d = h.group("dir")
                current_dir = co.join_path(current_dir, d) if current_dir and not d.startswith("/") else d
                continue
            out.append(ReadWarning(chunk.source(idx, line), "line not understood as `ls -l` output"))
            continue
        owner, group, label, name = fields
        pending.append((idx, line, {"m": m, "owner": owner, "group": group, "label": label,
                                    "name": _clean_name(name, classify), "dir": current_dir}))
    for idx, line, f in pending:
        m = f["m"]
        mode_text = m.group("mode")
        ftype, mode = co.parse_mode(mode_text)
        name = f["name"]
        target = None
        if ftype == "symlink" and " -> " in name:
            name, target = name.split(" -> ", 1)
        base = f["dir"]
        if name.startswith("/"):
            path = posixpath.normpath(name) if name != "/" else "/"
        elif base is not None and base.startswith("/"):
            path = co.join_path(base, name)
        else:
            path = None if name in (".", "..") else name  # relative: the directory is not shown
        owner, uid = co.ident(f["owner"])
        group, gid = co.ident(f["group"])
        flag = m.group("flag")
        label = f["label"]
        out.append(FileNode(path, ftype, mode, owner, group, chunk.source(idx, line), uid=uid, gid=gid,
                            has_acl=flag == "+", selinux_label=label if label and label != "?" else None,
                            link_target=target, inode=co.int_or_none(m.groupdict().get("inode")), tool="ls"))
    return out
