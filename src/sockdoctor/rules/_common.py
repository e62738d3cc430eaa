"""Helpers shared by the rule modules: the access decision per socket, and finding construction."""
from __future__ import annotations

import posixpath

from sockdoctor._dataclass import replace
from sockdoctor import access, model
from sockdoctor.evidence import records as R
from sockdoctor.report import Finding, Origin

DENY_CLASSES = {"owner_class": "owner", "group_class": "group", "other_class": "other"}
BROAD_GROUPS = ("root", "docker", "sudo", "wheel", "adm", "shadow", "disk")


def decision(host: model.Host, info: model.SocketInfo, creds: access.Creds | None = None) -> access.Decision | None:
    creds = creds or host.worker.creds
    if creds is None or not info.path.startswith("/"):
        return None
    cache = host.__dict__.setdefault("_decisions", {})
    key = (info.path, creds)
    if key in cache:
        return cache[key]
    if info.node is None and not info.events and not _ancestor_shown(host, info.path):
        cache[key] = None  # nothing shown about this path: a walk of unknowns decides nothing
    else:
        comps = model.components(host, info.path)
        stale = model.listener_known(host, info)
        if stale is False and comps and comps[-1].type == "socket":
            comps[-1] = replace(comps[-1], listening=False)
        cache[key] = access.decide(creds, comps, protected_symlinks=protected_symlinks(host))
    return cache[key]


def protected_symlinks(host: model.Host) -> bool | None:
    s = host.sysctl.get("fs.protected_symlinks")
    if s is None:
        return True
    return s.value.strip() == "1"


def denied_at_socket(d: access.Decision | None) -> bool:
    return bool(d and d.allowed is False and d.errno == 13 and d.reason in ("socket_no_write", "no_write"))


def reported(info: model.SocketInfo, *errnos: int) -> bool:
    return any(e in errnos for e in info.errnos)


def failing_13(host: model.Host, info: model.SocketInfo) -> bool:
    """EACCES reported, or (no log at all) predicted."""
    if info.errnos:
        return 13 in info.errnos
    return True


def node_trace(d: access.Decision | None) -> list[str]:
    if not d:
        return []
    return [s.text for s in d.trace] + [f"to settle what is not shown: {cmd}" for cmd in d.settle]


def creds_line(host: model.Host) -> list[str]:
    w = host.worker
    if w.creds is None:
        return ["nginx worker credentials: unknown"]
    return [f"nginx worker: {w.creds.label()} (from {w.basis})"] + [f"assumed: {a}" for a in host.assumptions]


def evidence_for(host: model.Host, info: model.SocketInfo, extra=()) -> list[R.Source]:
    out: list[R.Source] = []
    for e in info.events[-1:]:
        out.append(e.source)
    if info.node is not None:
        out.append(info.node.source)
    out.extend(host.worker.evidence)
    out.extend(extra)
    seen, uniq = set(), []
    for s in out:
        k = (s.input, s.line)
        if k not in seen:
            seen.add(k)
            uniq.append(s)
    return uniq


def make(rule: dict, info_path: str | None, summary: str, *, confidence: float = 0.9, evidence=(), trace=(),
         origin: Origin | None = None, errno: int | None = None) -> Finding:
    """``rule`` is the rule module's globals() (CAUSE, SEVERITY, KIND)."""
    return Finding(cause=rule["CAUSE"], severity=rule["SEVERITY"], confidence=confidence, socket=info_path,
                   summary=summary, evidence=list(evidence), trace=list(trace), origin=origin,
                   failure=rule["KIND"] == "failure", explains_errno=errno)


def socket_group_bits(info: model.SocketInfo) -> int | None:
    n = info.node
    if n is None or n.mode is None:
        return None
    return (n.mode >> 3) & 7


def basename(p: str) -> str:
    return posixpath.basename(p)


def socket_ok(d: access.Decision | None) -> bool:
    """The socket step passes (directories may still be unknown)."""
    if d is None:
        return False
    if d.allowed is True:
        return True
    return d.allowed is None and bool(d.trace) and d.trace[-1].needed == "w" and d.trace[-1].verdict == "ok"


def _ancestor_shown(host: model.Host, path: str) -> bool:
    if not host.nodes:
        return False
    p = posixpath.dirname(path)
    while p not in ("/", ""):
        if p in host.nodes:
            return True
        p = posixpath.dirname(p)
    return False
