from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "listen_backlog_full"
KIND = "failure"
SEVERITY = "high"
ERRNOS = (11,)
STATIC = False
DOC = {
    "what": "The listener's accept queue is full (`Resource temporarily unavailable`): the server is saturated or its backlog is tiny.",
    "why": "Requests fail with 502 under load. Not a permission problem: do not touch modes.",
    "bad": "[uwsgi]\nlisten = 100   ; the default",
    "good": "[uwsgi]\nlisten = 1024\nharakiri = 30",
    "fix": "Raise the backlog (uWSGI listen, gunicorn --backlog, Backlog=, listen.backlog) within net.core.somaxconn, and add capacity.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        if 11 not in info.errnos:
            continue
        origin = None
        for p in info.producers:
            key = {"uwsgi": "listen", "gunicorn": "backlog", "php-fpm": "listen.backlog", "systemd": "Backlog"}.get(p.component, "backlog")
            origin = Origin(p.component, key, getattr(p.config, "path", None))
        ev = [l.source for l in info.listeners]
        q = [f"ss: Recv-Q {l.recv_q} / Send-Q (backlog) {l.send_q}" for l in info.listeners]
        out.append(C.make(globals(), info.path,
                          f"The accept queue of {info.path} is full (EAGAIN): the app server cannot keep up or its backlog is too small.",
                          evidence=C.evidence_for(host, info, ev), trace=q, origin=origin, errno=11, confidence=0.95))
    return out
