from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "socket_path_mismatch"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (2,)
STATIC = True
DOC = {
    "what": "nginx and the app server name different socket paths, or nginx names an abstract socket (`unix:@name`), which stock nginx treats as a relative path.",
    "why": "connect() fails with ENOENT: nothing exists where nginx looks.",
    "bad": "uwsgi_pass unix:@tally;",
    "good": "uwsgi_pass unix:/run/tally/uwsgi.sock;",
    "fix": "Make nginx and the server agree on one pathname socket under /run/<app>/.",
}


def check(host):
    out = []
    producers_by_path = {}
    for info in host.sockets.values():
        for p in info.producers:
            producers_by_path.setdefault(info.path, []).append(p)
    for info in host.sockets.values():
        if not info.refs and not info.events:
            continue
        if info.errnos and 2 not in info.errnos:
            continue
        if info.path.startswith("@") or any(r.abstract for r in info.refs):
            prod = producers_by_path.get(info.path, [])
            origin = Origin(prod[0].component, prod[0].setting.key if prod and prod[0].setting else "socket",
                            getattr(prod[0].config, "path", None)) if prod else Origin("nginx", info.refs[0].directive if info.refs else "upstream")
            out.append(C.make(globals(), info.path,
                              f"nginx names the abstract socket {info.path}; stock nginx passes '@' literally as a relative path, so connect() gets ENOENT.",
                              evidence=C.evidence_for(host, info, [r.source for r in info.refs] + [p.setting.source for p in prod if p.setting]),
                              trace=[f"nginx: {r.directive} {r.raw} ({r.source.ref()})" for r in info.refs], origin=origin,
                              errno=2, confidence=0.95))
            continue
        if info.producers or not info.refs:
            continue
        others = [p for path, ps in producers_by_path.items() if path != info.path and not host.sockets[path].refs for p in ps]
        if not others:
            continue
        if info.node is not None and info.node.type not in ("missing",):
            continue
        p = others[0]
        out.append(C.make(globals(), info.path,
                          f"nginx connects to {info.path} but {p.component} binds {p.path}.",
                          evidence=C.evidence_for(host, info, [r.source for r in info.refs] + ([p.setting.source] if p.setting else [])),
                          trace=[f"nginx: {r.directive} {r.raw}" for r in info.refs] + [f"{p.component}: {p.path}"],
                          origin=Origin(p.component, p.setting.key if p.setting else "bind", getattr(p.config, "path", None)),
                          errno=2, confidence=0.85))
    return out
