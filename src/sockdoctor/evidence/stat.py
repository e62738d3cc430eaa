"""`stat` output: the default multi-line format (GNU and busybox) and common `-c` forms.

For `-c`/`--format`/`--printf` the format is taken from the command when the paste shows it;
without the command the fields are recognised by their shape (mode string, octal mode,
`user:group`, path) and anything left ambiguous is reported, not guessed.
"""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import FileNode, ReadWarning

KIND = "stat"

_FILE = _lazyre.compile(r"^\s*File: (?P<name>.+)$")
_SIZE = _lazyre.compile(r"^\s*Size: \d+.*?\s(?P<type>socket|directory|regular empty file|regular file|symbolic link|fifo|character special file|block special file|weird file)\s*$")
_ACCESS = _lazyre.compile(r"^\s*Access: \((?P<oct>[0-7]{3,4})/(?P<mode>" + co.MODE_RE + r")\)\s+Uid: \(\s*(?P<uid>\d+)/\s*(?P<user>[^)]*?)\)\s+Gid: \(\s*(?P<gid>\d+)/\s*(?P<group>[^)]*?)\)")
_INODE = _lazyre.compile(r"Inode: (?P<ino>\d+)")
_CONTEXT = _lazyre.compile(r"^\s*Context: (?P<label>\S+)")
_CANNOT = _lazyre.compile(r"^stat: (?:cannot stat(?:x)? |can't stat )?['‘\"]?(?P<path>.+?)['’\"]?: (?P<why>.+)$")
_TYPE_WORDS = "|".join(sorted(co.STAT_TYPES, key=len, reverse=True))
_SHORT_SIG = _lazyre.compile(r"(?:^|\s)(?:" + co.MODE_RE + r"|" + _TYPE_WORDS + r")(?:\s|$)")

_DIRECTIVES = {
    "F": "(?P<F>" + _TYPE_WORDS + r"|\S+)",
    "A": "(?P<A>" + co.MODE_RE + r")",
    "a": r"(?P<a>[0-7]{1,4})",
    "U": r"(?P<U>\S+)", "G": r"(?P<G>\S+)",
    "u": r"(?P<u>\d+)", "g": r"(?P<g>\d+)",
    "n": r"(?P<n>.+?)", "N": r"(?P<N>.+?)",
    "i": r"(?P<i>\d+)", "C": r"(?P<C>\S+)", "s": r"(?P<s>\d+)",
    "h": r"(?:\d+)", "b": r"(?:\d+)", "f": r"(?:[0-9a-f]+)", "d": r"(?:\d+)", "D": r"(?:[0-9a-f]+)",
    "x": r"(?:.+?)", "y": r"(?:.+?)", "z": r"(?:.+?)", "w": r"(?:.+?)", "X": r"(?:\d+)", "Y": r"(?:\d+)",
    "Z": r"(?:\d+)", "W": r"(?:\d+)", "o": r"(?:\d+)", "B": r"(?:\d+)", "t": r"(?:[0-9a-f]+)", "T": r"(?:[0-9a-f]+)",
    "m": r"(?:\S+)",
}


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    hits = 0
    default = 0
    for line in lines:
        if _FILE.match(line) or _ACCESS.match(line) or _SIZE.match(line) or _CANNOT.match(line):
            hits += 1
            default += 1
        elif _INODE.search(line) and "Device:" in line or _CONTEXT.match(line) or re.match(r"^\s*(Modify|Change|Birth|Access): \d{4}-", line):
            hits += 1
        elif re.match(r"^(?:" + _TYPE_WORDS + r")\s+" + co.MODE_RE + r"(?:\s|$)", line.strip()):
            hits += 1
            default += 1
    score = co.content_score(hits, len(lines), base=0.55, span=0.4) if default else 0.0
    return co.detection(KIND, score, f"{default} `stat` line(s) (File:/Access:, or %F %A)", chunk, programs=("stat",))


def _format(chunk: Chunk) -> str | None:
    seg = co.producer(chunk.command)
    if seg is None or seg.program != "stat":
        return None
    argv = list(seg.argv)
    for i, a in enumerate(argv):
        if a in ("-c", "--format", "--printf") and i + 1 < len(argv):
            return argv[i + 1]
        for pre in ("--format=", "--printf=", "-c"):
            if a.startswith(pre) and len(a) > len(pre):
                return a[len(pre):]
    return None


def _format_regex(fmt: str) -> re.Pattern | None:
    parts = []
    seen = set()
    i = 0
    fmt = fmt.replace("\\n", "\n").rstrip("\n")
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            i += 2
            if d == "%":
                parts.append("%")
                continue
            pat = _DIRECTIVES.get(d, r"(?:.+?)")
            if d in seen:  # a directive used twice: only the first one captures
                pat = re.sub(r"\(\?P<\w+>", "(?:", pat)
            seen.add(d)
            parts.append(pat)
        else:
            parts.append(r"\s+" if ch.isspace() else re.escape(ch))
            i += 1
    try:
        return re.compile("^" + "".join(parts) + r"\s*$")
    except re.error:
        return None


def read(chunk: Chunk) -> list:
    fmt = _format(chunk)
    if fmt is not None:
        return _read_format(chunk, fmt)
    lines = chunk.lines()
    if any(_FILE.match(line) for line in lines[:2000]):
        return _read_default(chunk)
    return _read_guess(chunk)


def _missing(chunk: Chunk, idx: int, line: str):
    m = _CANNOT.match(line.strip())
    if not m:
        return None
    src = chunk.source(idx, line)
    if "No such file" in m.group("why"):
        return FileNode(m.group("path"), "missing", None, None, None, src, tool="stat")
    return ReadWarning(src, f"stat could not read {m.group('path')}: {m.group('why')}")


def _read_default(chunk: Chunk) -> list:
    out: list = []
    cur: dict | None = None

    def flush():
        if cur and "mode" in cur:
            out.append(FileNode(cur["path"], cur.get("type") or cur["mtype"], cur["mode"], cur["user"], cur["group"],
                                cur["src"], uid=cur["uid"], gid=cur["gid"], selinux_label=cur.get("label"),
                                link_target=cur.get("target"), inode=cur.get("inode"), tool="stat"))
        elif cur:
            out.append(ReadWarning(cur["src"], f"stat block for {cur['path']} has no Access: (mode) line"))

    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r")
        miss = _missing(chunk, idx, line)
        if miss is not None:
            out.append(miss)
            continue
        m = _FILE.match(line)
        if m:
            flush()
            name = m.group("name").strip()
            target = None
            if " -> " in name:
                name, target = name.split(" -> ", 1)
                target = target.strip("'‘’\"")
            cur = {"path": name.strip("'‘’\""), "target": target, "src": chunk.source(idx, line)}
            continue
        if cur is None:
            continue
        m = _SIZE.match(line)
        if m:
            cur["type"] = co.STAT_TYPES[m.group("type")]
        m = _INODE.search(line)
        if m and "Device" in line:
            cur["inode"] = int(m.group("ino"))
        m = _ACCESS.match(line)
        if m:
            mtype, mode = co.parse_mode(m.group("mode"))
            cur.update(mode=int(m.group("oct"), 8) if mode is None else mode, mtype=mtype,
                       uid=int(m.group("uid")), gid=int(m.group("gid")),
                       user=m.group("user").strip() or m.group("uid"), group=m.group("group").strip() or m.group("gid"))
            cur["src"] = chunk.source(idx, line)
        m = _CONTEXT.match(line)
        if m:
            cur["label"] = m.group("label")
    flush()
    return out


def _node_from_fields(d: dict, src, chunk_has_path: bool):
    ftype, mode = ("unknown", None)
    if d.get("A"):
        ftype, mode = co.parse_mode(d["A"])
    if d.get("a") and mode is None:
        mode = int(d["a"], 8)
    if d.get("F"):
        ftype = co.STAT_TYPES.get(d["F"], ftype)
    path = d.get("n") or d.get("N")
    target = None
    if path and " -> " in path:
        path, target = path.split(" -> ", 1)
    if path:
        path = path.strip("'‘’\"")
    owner, uid = d.get("U"), co.int_or_none(d.get("u"))
    group, gid = d.get("G"), co.int_or_none(d.get("g"))
    if owner is None and uid is not None:
        owner = str(uid)
    if group is None and gid is not None:
        group = str(gid)
    if owner and owner.isdigit():
        uid = int(owner)
    if group and group.isdigit():
        gid = int(group)
    return FileNode(path, ftype, mode, owner, group, src, uid=uid, gid=gid, selinux_label=d.get("C"),
                    link_target=target.strip("'‘’\"") if target else None, inode=co.int_or_none(d.get("i")), tool="stat")


def _read_format(chunk: Chunk, fmt: str) -> list:
    rx = _format_regex(fmt)
    seg = co.producer(chunk.command)
    args = [a for a in co.path_args(seg.argv) if a != fmt] if seg else []
    out: list = []
    n = 0
    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        miss = _missing(chunk, idx, line)
        if miss is not None:
            out.append(miss)
            continue
        m = rx.match(line.strip()) if rx else None
        if not m:
            out.append(ReadWarning(chunk.source(idx, line), f"line does not match the stat format {fmt!r}"))
            continue
        d = m.groupdict()
        if not (d.get("n") or d.get("N")) and n < len(args):
            d["n"] = args[n]  # paths in the order they were given
        n += 1
        out.append(_node_from_fields(d, chunk.source(idx, line), True))
    return out


def _read_guess(chunk: Chunk) -> list:
    """`-c` output without its command: recognise fields by shape, warn on leftovers."""
    out: list = []
    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r").strip()
        if not line:
            continue
        miss = _missing(chunk, idx, line)
        if miss is not None:
            out.append(miss)
            continue
        text = line
        d: dict = {}
        m = re.match(r"^(" + _TYPE_WORDS + r")\s+", text)
        if m:
            d["F"] = m.group(1)
            text = text[m.end():]
        words = text.split()
        names = []
        for w in words:
            if re.fullmatch(co.MODE_RE, w) and "A" not in d:
                d["A"] = w
            elif re.fullmatch(r"[0-7]{3,4}", w) and "a" not in d and "A" not in d:
                d["a"] = w
            elif w.startswith("/") and "n" not in d:
                d["n"] = w
            elif ":" in w and w.count(":") == 1 and "U" not in d:
                d["U"], d["G"] = w.split(":")
            elif re.fullmatch(r"\d{5,}", w) and "i" not in d and ("U" in d or names):
                d["i"] = w
            else:
                names.append(w)
        if "U" not in d and len(names) >= 2:
            d["U"], d["G"] = names[0], names[1]
            names = names[2:]
        if "A" not in d and "a" not in d:
            out.append(ReadWarning(chunk.source(idx, raw), "stat line without a mode; format unknown (show the command)"))
            continue
        src = chunk.source(idx, raw.rstrip("\r"))
        out.append(_node_from_fields(d, src, False))
        if names:
            out.append(ReadWarning(src, f"stat fields not understood without the -c format: {' '.join(names)}"))
    return out
