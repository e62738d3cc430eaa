"""dmesg / kern.log / journal kernel lines: AppArmor DENIED records and the OOM killer.

SELinux AVC lines that reach the kernel log are read too (with audit.parse_avc)."""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import AppArmorDenial, LogFact, ReadWarning, Source

KIND = "kernel_log"

_DMESG = _lazyre.compile(r"^\[\s*\d+\.\d+\]|^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d [\d:]{8} \d{4}\]")
_KERN = _lazyre.compile(r"^(?:[A-Z][a-z]{2} [ \d]\d [\d:]{8}|\d{4}-\d\d-\d\dT\S+) \S+ kernel: ")
_KILLED = _lazyre.compile(r"(?:Out of memory|Memory cgroup out of memory): Killed process (?P<pid>\d+) \((?P<comm>[^)]*)\)(?P<rest>.*)$")
_OOMKILL = _lazyre.compile(r"oom-kill:(?P<kv>\S+)")


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    framed = sum(1 for ln in lines if _DMESG.match(ln) or _KERN.match(ln))
    signals = sum(1 for ln in lines if 'apparmor="DENIED"' in ln or 'apparmor="ALLOWED"' in ln or "Killed process" in ln
                  or "invoked oom-killer" in ln or "oom-kill:" in ln)
    if not framed and not signals:
        return co.detection(KIND, 0.0, "", chunk, programs=("dmesg",))
    base = 0.5 if signals else 0.35
    score = co.content_score(max(framed, signals), len(lines), base=base, span=0.45)
    return co.detection(KIND, score, f"{framed} kernel log line(s), {signals} AppArmor/OOM record(s)", chunk,
                        programs=("dmesg",))


def parse_apparmor(line: str, source: Source) -> AppArmorDenial | LogFact | None:
    kv = co.kv_pairs(line)
    verdict = kv.get("apparmor")
    if verdict is None:
        return None
    if verdict != "DENIED":
        return LogFact("apparmor_" + verdict.lower(), {k: kv.get(k) for k in ("operation", "profile", "name", "requested_mask", "comm")}, source)

    def num(k):
        v = kv.get(k)
        return int(v) if v and v.isdigit() else None
    return AppArmorDenial(kv.get("operation"), kv.get("profile"), kv.get("name"), source,
                          requested=kv.get("requested_mask"), denied=kv.get("denied_mask"), comm=kv.get("comm"),
                          fsuid=num("fsuid"), ouid=num("ouid"))


def read(chunk: Chunk) -> list:
    from sockdoctor.evidence.audit import parse_avc

    out: list = []
    memcg: dict[str, dict] = {}
    for line, s, src in co.content_lines(chunk):
        if 'apparmor="' in s:
            rec = parse_apparmor(s, src)
            if rec is not None:
                out.append(rec)
                continue
        avc = parse_avc(s, src)
        if avc is not None:
            out.append(avc)
            continue
        m = _OOMKILL.search(s) if "oom-kill:" in s else None
        if m:
            kv = dict(p.split("=", 1) for p in m.group("kv").split(",") if "=" in p)
            if kv.get("pid"):
                memcg[kv["pid"]] = kv
            continue
        m = _KILLED.search(s) if "Killed process" in s else None
        if m:
            extra = memcg.get(m.group("pid"), {})
            uid = re.search(r"UID:(\d+)", m.group("rest"))
            out.append(LogFact("oom_kill", {"pid": int(m.group("pid")), "comm": m.group("comm"),
                                            "uid": int(uid.group(1)) if uid else co.int_or_none(extra.get("uid")),
                                            "memcg": extra.get("task_memcg")}, src))
            continue
        if "invoked oom-killer" in s or _DMESG.match(s) or _KERN.match(s):
            continue  # other kernel lines: not evidence for this tool
        out.append(ReadWarning(src, "line not understood as a kernel log line"))
    return out
