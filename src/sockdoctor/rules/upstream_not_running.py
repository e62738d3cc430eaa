from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "upstream_not_running"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (2,)
STATIC = False
DOC = {
    "what": "Nothing created the socket: the app server is stopped, crashed, or never started.",
    "why": "connect() fails with ENOENT; every request is a 502.",
    "bad": "Group=nginx   # on Ubuntu there is no group nginx: the unit fails with 216/GROUP",
    "good": "Group=www-data",
    "fix": "Start the app server and fix why it does not start (the journal says); prefer a .socket unit so the node outlives app restarts.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        if 2 not in info.errnos or info.path.startswith("@"):
            continue
        if info.node is not None and info.node.type not in ("missing",):
            continue
        fails = [f for f in host.facts if f.kind in ("unit_failed", "unit_status") and _failed(f)]
        origin = None
        ev = [f.source for f in fails]
        for f in fails:
            reason = str(f.data)
            if "GROUP" in reason or "group" in reason:
                unit = _unit_of(host, info)
                origin = Origin("systemd", "Group", unit.path if unit else f.data.get("unit"))
                g = unit.get("Group") if unit else None
                if g:
                    ev.append(g.source)
            elif "USER" in reason:
                unit = _unit_of(host, info)
                origin = Origin("systemd", "User", unit.path if unit else f.data.get("unit"))
        out.append(C.make(globals(), info.path,
                          f"Nothing has created {info.path}: the app server is not running" +
                          (f" ({fails[-1].source.text.strip()[:120]})." if fails else "."),
                          evidence=C.evidence_for(host, info, ev), origin=origin, errno=2,
                          confidence=0.9 if fails else 0.6))
    return out


def _failed(f):
    d = f.data
    text = " ".join(str(v) for v in d.values()).lower()
    return any(w in text for w in ("fail", "exited", "216", "inactive", "dead", "activating (auto-restart)"))


def _unit_of(host, info):
    for p in info.producers:
        if p.unit is not None:
            return p.unit
    for c in host.configs:
        if c.kind == "systemd_unit" and c.path.endswith(".service"):
            ex = c.get("ExecStart")
            if ex and info.path in (ex.value or ""):
                return c
    return None
