"""`getenforce`, `sestatus` and `aa-status` / `apparmor_status` output."""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import LogFact, MacStatus, ReadWarning

KIND = "mac_status"

_GETENFORCE = _lazyre.compile(r"^(Enforcing|Permissive|Disabled)$")
_SESTATUS = _lazyre.compile(r"^(?P<key>SELinux status|Current mode|Mode from config file|Loaded policy name|SELinuxfs mount|"
                            r"SELinux root directory|Policy MLS status|Policy deny_unknown status|Memory protection checking|"
                            r"Max kernel policy version|Policy from config file):\s+(?P<val>.*)$")
_AA_HEAD = _lazyre.compile(r"^apparmor module is (?P<not>not )?loaded\.$")
_AA_COUNT = _lazyre.compile(r"^(?P<n>\d+) (?P<what>profiles|processes) (?:(?:are|is) )?(?:in (?P<mode>[\w-]+) mode|loaded|unconfined but have a profile defined|have profiles defined)\.?$")
_AA_PROC = _lazyre.compile(r"^(?P<exe>\S+) \((?P<pid>\d+)\)(?: (?P<profile>\S+))?$")


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    hits = sum(1 for ln in lines if _GETENFORCE.match(ln.strip()) or _SESTATUS.match(ln.strip())
               or _AA_HEAD.match(ln.strip()) or _AA_COUNT.match(ln.strip()))
    if not hits:
        return co.detection(KIND, 0.0, "", chunk, programs=("getenforce", "sestatus", "aa-status", "apparmor_status"))
    strong = any(_SESTATUS.match(ln.strip()) or _AA_HEAD.match(ln.strip()) for ln in lines)
    aa_body = sum(1 for ln in lines if ln.startswith("   ") or ln.strip() == "...")
    score = co.content_score(hits + aa_body, len(lines), base=0.55 if strong else 0.4, span=0.43)
    return co.detection(KIND, score, f"{hits} SELinux/AppArmor status line(s)", chunk,
                        programs=("getenforce", "sestatus", "aa-status", "apparmor_status"))


def read(chunk: Chunk) -> list:
    out: list = []
    se: dict[str, str] = {}
    se_src = None
    aa_src = None
    aa_loaded = True
    profiles: list[tuple[str, str]] = []
    section: tuple[str, str] | None = None  # (profiles|processes, mode)
    for line, s, src in co.content_lines(chunk):
        if _GETENFORCE.match(s):
            out.append(MacStatus("selinux", s.lower(), src))
            continue
        m = _SESTATUS.match(s)
        if m:
            se[m.group("key")] = m.group("val").strip()
            se_src = se_src or src
            continue
        m = _AA_HEAD.match(s)
        if m:
            aa_src, aa_loaded = src, not m.group("not")
            continue
        m = _AA_COUNT.match(s)
        if m:
            section = (m.group("what"), m.group("mode") or "")
            continue
        if s == "...":
            continue
        if section and line.startswith((" ", "\t")):
            what, mode = section
            if what == "profiles" and mode in ("enforce", "complain", "kill", "unconfined", "prompt"):
                profiles.append((s, mode))
                continue
            if what == "processes":
                p = _AA_PROC.match(s)
                if p:
                    out.append(LogFact("apparmor_process", {"exe": p.group("exe"), "pid": int(p.group("pid")),
                                                            "profile": p.group("profile") or p.group("exe"),
                                                            "mode": mode}, src))
                    continue
        if s == "<no matches>":
            out.append(LogFact("ausearch_empty", {"command": chunk.command}, src))
            continue
        out.append(ReadWarning(src, "line not understood as SELinux/AppArmor status"))
    if se:
        status = se.get("SELinux status", "")
        mode = se.get("Current mode") or ("disabled" if status == "disabled" else status or "unknown")
        out.insert(0, MacStatus("selinux", mode.lower(), se_src))
    if aa_src is not None:
        out.insert(0, MacStatus("apparmor", "enabled" if aa_loaded else "disabled", aa_src, tuple(profiles)))
    return out
