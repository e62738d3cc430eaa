from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "stale_worker_groups"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (13,)
STATIC = False
DOC = {
    "what": "The group database grants the worker the socket's group, but the running workers' credentials lack it: they started before the change.",
    "why": "Supplementary groups are fixed when a process starts; `usermod -aG` changes nothing for running workers, so nginx keeps failing with EACCES.",
    "bad": "usermod -aG app-sock www-data   # and nothing else",
    "good": "usermod -aG app-sock www-data && nginx -t && nginx -s reload",
    "fix": "With a root master, reload nginx: new workers call initgroups() again. A non-root master (container USER, systemd User=) needs a restart.",
}


def check(host):
    w = host.worker
    if w.creds is None or w.db_creds is None or w.creds == w.db_creds or not w.basis.startswith("/proc"):
        return []
    out = []
    for info in host.sockets.values():
        now = C.decision(host, info, w.creds)
        fresh = C.decision(host, info, w.db_creds)
        if now and fresh and now.allowed is False and now.errno == 13 and C.socket_ok(fresh) and C.failing_13(host, info):
            extra = [f.source for f in host.fact("usermod_group_add")]
            out.append(C.make(globals(), info.path,
                              f"The group database gives {w.user} access to {info.path}, but the running nginx workers "
                              f"({w.creds.label()}) started before that change; reload nginx so new workers pick it up.",
                              evidence=C.evidence_for(host, info, extra),
                              trace=C.creds_line(host) + [f"a fresh worker would have: {w.db_creds.label()}"] + C.node_trace(now),
                              origin=Origin("nginx", "running worker processes (credentials fixed at fork)"),
                              errno=13, confidence=0.9))
    return out
