from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "parent_dir_no_search"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (13,)
STATIC = True
DOC = {
    "what": "A directory on the socket's path lacks search (x) for the worker's class, e.g. a 0700/0750 home directory.",
    "why": "The path lookup fails before the socket is even looked at: EACCES whatever the socket's mode.",
    "bad": "socket = /home/app/run/uwsgi.sock   # /home/app is drwx------",
    "good": "socket = /run/app/uwsgi.sock",
    "fix": "Move the socket to /run/<app>/ (RuntimeDirectory= or a .socket unit). Never chmod the home directory open.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        d = C.decision(host, info)
        if not (d and d.allowed is False and d.errno == 13 and d.reason == "dir_no_search") or not C.failing_13(host, info):
            continue
        origin = None
        for p in info.producers:
            key = p.setting.key if p.setting else ("bind" if p.component != "uwsgi" else "socket")
            origin = Origin(p.component, key, getattr(p.config, "path", None) or p.config.source.input)
        bad = d.trace[d.failing_component].path if d.failing_component is not None else "a directory"
        out.append(C.make(globals(), info.path,
                          f"The nginx workers ({host.worker.creds.label()}) cannot search {bad}, so {info.path} is unreachable (EACCES) whatever its own mode.",
                          evidence=C.evidence_for(host, info, [n.source for p, n in host.nodes.items() if info.path.startswith(p + "/")]),
                          trace=C.creds_line(host) + C.node_trace(d), origin=origin, errno=13, confidence=0.95))
    return out
