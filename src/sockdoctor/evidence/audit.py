"""audit.log / `ausearch` lines (raw and `-i` interpreted), AVC and USER_AVC denials, AppArmor
records in audit.log, `<no matches>`, and `audit2why` / `audit2allow -w` explanations."""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import AvcDenial, LogFact, ReadWarning, Source

KIND = "audit"

_TYPE = _lazyre.compile(r"^(?:node=\S+ )?type=(?P<type>[A-Z_]+) msg=audit\((?P<stamp>[^)]*)\)\s*:")
_AVC = _lazyre.compile(r"avc:\s+(?P<verdict>denied|granted)\s+\{\s*(?P<perms>[^}]*)\}\s+for\s+(?P<rest>.*)$")
_SEP = _lazyre.compile(r"^----\s*$|^time->")
_NOMATCH = _lazyre.compile(r"^<no matches>$")
_WHY_HEAD = _lazyre.compile(r"^\s*Was caused by:\s*$")
_BOOL = _lazyre.compile(r"The boolean (?P<b>\w+) was set incorrectly|setsebool -P (?P<b2>\w+) (?:1|on|true)")


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    types = sum(1 for ln in lines if _TYPE.match(ln.strip()))
    avcs = sum(1 for ln in lines if "avc:" in ln and "denied" in ln)
    seps = sum(1 for ln in lines if _SEP.match(ln.strip()) or _NOMATCH.match(ln.strip()))
    why = sum(1 for ln in lines if _WHY_HEAD.match(ln))
    if not (types or why or avcs):
        det = co.detection(KIND, 0.0, "", chunk, programs=("ausearch", "audit2why", "audit2allow"))
        if det is None and lines and all(_NOMATCH.match(ln.strip()) for ln in lines) and not chunk.command:
            return Detection(KIND, 0.4, "`<no matches>` (ausearch)")
        return det
    score = co.content_score(types + seps + why, len(lines), base=0.55, span=0.43)
    return co.detection(KIND, score, f"{types} `type=... msg=audit(...)` line(s), {avcs} AVC denial(s)", chunk,
                        programs=("ausearch", "audit2why", "audit2allow", "aureport"))


def parse_avc(line: str, source: Source) -> AvcDenial | None:
    """An `avc:  denied { ... } for ...` record from any log (audit.log, dmesg, journal)."""
    m = _AVC.search(line)
    if not m or m.group("verdict") != "denied":
        return None
    kv = co.kv_pairs(m.group("rest"))
    pid = kv.get("pid")
    return AvcDenial(tuple(m.group("perms").split()), kv.get("tclass", ""), source, comm=kv.get("comm"),
                     pid=int(pid) if pid and pid.isdigit() else None, name=kv.get("name"), path=kv.get("path"),
                     scontext=kv.get("scontext"), tcontext=kv.get("tcontext"), permissive=kv.get("permissive") == "1")


def read(chunk: Chunk) -> list:
    from sockdoctor.evidence.kernel_log import parse_apparmor  # shared parser, avoids a cycle at import

    out: list = []
    lines = chunk.lines()
    why_lines: list[str] = []
    why_src: Source | None = None
    for idx, raw in enumerate(lines):
        line = raw.rstrip("\r")
        s = line.strip()
        if not s:
            continue
        src = chunk.source(idx, line)
        if _WHY_HEAD.match(line):
            why_src, why_lines = src, []
            continue
        if why_src is not None and (line.startswith(("\t", " ")) and not _TYPE.match(s)):
            why_lines.append(s)
            continue
        if why_src is not None:
            out.append(_why_fact(why_lines, why_src))
            why_src = None
        if _SEP.match(s):
            continue
        if _NOMATCH.match(s):
            out.append(LogFact("ausearch_empty", {"command": chunk.command}, src))
            continue
        avc = parse_avc(s, src)
        if avc is not None:
            out.append(avc)
            continue
        if 'apparmor="' in s:
            rec = parse_apparmor(s, src)
            if rec is not None:
                out.append(rec)
                continue
        m = _TYPE.match(s)
        if m:
            if m.group("type") == "SYSCALL":
                kv = co.kv_pairs(s)
                if kv.get("success") == "no":
                    out.append(LogFact("syscall_failed", {k: kv.get(k) for k in ("syscall", "exit", "pid", "uid", "comm", "subj")}, src))
            continue
        out.append(ReadWarning(src, "line not understood as audit output"))
    if why_src is not None:
        out.append(_why_fact(why_lines, why_src))
    return out


def _why_fact(lines: list[str], src: Source) -> LogFact:
    text = " ".join(lines)
    m = _BOOL.search(text)
    reason = "boolean" if m else "missing_allow_rule" if "Missing type enforcement" in text else \
        "constraint" if "constraint" in text.lower() else "other"
    return LogFact("audit2why", {"reason": reason, "boolean": (m.group("b") or m.group("b2")) if m else None,
                                 "text": text[:500]}, src)
