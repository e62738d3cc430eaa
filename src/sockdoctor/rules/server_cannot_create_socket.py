from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "server_cannot_create_socket"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (2,)
STATIC = False
DOC = {
    "what": "The app server runs but cannot bind or chown its socket: its directory is not writable for it, the filesystem has no socket support, its sandbox forbids the path, or a non-root server cannot chown to the requested group.",
    "why": "No socket appears (ENOENT for nginx) or it keeps the wrong owner.",
    "bad": "chown-socket = app:www-data   ; uWSGI not started as root",
    "good": "# app.socket\nSocketGroup=www-data\nSocketMode=0660",
    "fix": "Let systemd (a .socket unit) or a root master create the socket, or give the server a directory it may write (RuntimeDirectory=).",
}
KINDS = ("bind_failed", "chown_failed", "fpm_not_root")


def check(host):
    out = []
    facts = [f for f in host.facts if f.kind in KINDS]
    for info in host.sockets.values():
        if info.errnos and 2 not in info.errnos:
            continue
        mine = [f for f in facts if info.path in str(f.data) or C.basename(info.path) in f.source.text]
        if not mine:
            continue
        origin = None
        for p in info.producers:
            origin = Origin(p.component, p.setting.key if p.setting else "bind", getattr(p.config, "path", None))
        out.append(C.make(globals(), info.path,
                          f"The app server could not create {info.path}: {mine[-1].source.text.strip()[:160]}",
                          evidence=[f.source for f in mine], origin=origin, errno=2, confidence=0.85))
    return out
