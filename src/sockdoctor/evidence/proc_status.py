"""/proc/PID/status excerpts: `Uid:`/`Gid:`/`Groups:` (real, effective, saved, fs), also the
`grep ... /proc/*/status` form where each line starts with `/proc/PID/status:`."""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ProcStatus, ReadWarning

KIND = "proc_status"

_LINE = _lazyre.compile(r"^(?:(?P<file>/proc/(?P<pid>\d+|self)/status):)?(?P<key>[A-Za-z_]+):\s*(?P<val>.*)$")
_IDS = {"Uid", "Gid", "Groups"}
_KEYS = {"Name", "Umask", "State", "Tgid", "Ngid", "Pid", "PPid", "TracerPid", "FDSize", "NStgid", "NSpid",
         "NSpgid", "NSsid", "Kthread", "VmPeak", "VmSize", "VmRSS", "Threads", "CapInh", "CapPrm", "CapEff",
         "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Cpus_allowed", "Cpus_allowed_list", "voluntary_ctxt_switches",
         "nonvoluntary_ctxt_switches", "SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "Mems_allowed",
         "Mems_allowed_list", "VmLck", "VmPin", "VmHWM", "VmData", "VmStk", "VmExe", "VmLib", "VmPTE", "VmSwap",
         "RssAnon", "RssFile", "RssShmem", "HugetlbPages", "CoreDumping", "THP_enabled", "Speculation_Store_Bypass",
         "SpeculationIndirectBranch", "Seccomp_filters", "untag_mask", "x86_Thread_features",
         "x86_Thread_features_locked"} | _IDS


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    ids = 0
    known = 0
    for ln in lines:
        m = _LINE.match(ln.strip())
        if m and m.group("key") in _KEYS:
            known += 1
            if m.group("key") in ("Uid", "Gid") and re.fullmatch(r"\d+(\s+\d+){3}", m.group("val").strip()):
                ids += 1
    if not ids:
        return co.detection(KIND, 0.0, "", chunk, programs=())
    score = co.content_score(known, len(lines), base=0.6, span=0.38)
    return co.detection(KIND, score, f"{ids} `Uid:`/`Gid:` line(s) with 4 ids", chunk, programs=())


def _command_pids(chunk: Chunk) -> list[int]:
    return [int(p) for p in re.findall(r"/proc/(\d+)/status", chunk.command or "")]


def read(chunk: Chunk) -> list:
    out: list = []
    blocks: list[dict] = []
    by_file: dict[str, dict] = {}
    cur: dict | None = None
    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r")
        s = line.strip()
        if not s:
            continue
        m = _LINE.match(s)
        if not m or m.group("key") not in _KEYS:
            out.append(ReadWarning(chunk.source(idx, line), "line not understood as /proc/PID/status"))
            continue
        key, val = m.group("key"), m.group("val").strip()
        if m.group("file"):
            blk = by_file.get(m.group("file"))
            if blk is None:
                blk = by_file[m.group("file")] = {"pid": _int(m.group("pid")), "src": chunk.source(idx, line)}
                blocks.append(blk)
        else:
            if cur is None or key in cur:
                cur = {"src": chunk.source(idx, line)}
                blocks.append(cur)
            blk = cur
        blk[key] = val
    cmd_pids = _command_pids(chunk)
    plain = [b for b in blocks if "pid" not in b]
    for i, b in enumerate(blocks):
        pid = b.get("pid")
        if pid is None:
            pid = _int(b.get("Pid"))
        if pid is None and len(plain) == len(cmd_pids):
            pid = cmd_pids[plain.index(b)]
        uids = _ints(b.get("Uid"))
        gids = _ints(b.get("Gid"))
        if uids is None and gids is None:
            continue
        groups = _ints(b["Groups"]) if "Groups" in b else None
        out.append(ProcStatus(pid, b.get("Name"), uids or (), gids or (), groups, b["src"]))
    return out


def _int(t: str | None) -> int | None:
    return int(t) if t and t.isdigit() else None


def _ints(val: str | None) -> tuple[int, ...] | None:
    if val is None:
        return None
    return tuple(int(x) for x in val.split() if x.isdigit())
