from sockdoctor import model
from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "stale_socket_no_listener"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (111,)
STATIC = False
DOC = {
    "what": "A socket file exists but nothing listens on it: the server died without unlinking, a .socket unit is stopped, or a single-file bind mount points at an old inode.",
    "why": "connect() gets ECONNREFUSED (111); every request is a 502.",
    "bad": "srwxrwx--- 1 app www-data 0 /run/app/puma.sock   # but `ss -xl` does not list it",
    "good": "Restart=on-failure   # in the app's unit",
    "fix": "Start the server again; make crashes recover by themselves (Restart=on-failure) and bind-mount directories, not socket files.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        if 111 not in info.errnos:
            continue
        n = info.node
        if n is not None and n.type in ("file", "fifo", "missing"):
            continue
        listening = model.listener_known(host, info)
        if listening is True and info.listeners:
            continue
        unit = None
        for c in host.configs:
            if c.kind == "systemd_unit" and c.path.endswith(".service"):
                unit = c
        origin = Origin("systemd", "Restart (absent)" if unit and not unit.get("Restart") else "Restart", unit.path) if unit else None
        ev = [f.source for f in host.fact("oom_kill")]
        out.append(C.make(globals(), info.path,
                          f"{info.path} exists but nothing listens on it (the server is gone); connect() is refused (ECONNREFUSED).",
                          evidence=C.evidence_for(host, info, ev), origin=origin, errno=111,
                          confidence=0.9 if listening is False else 0.75))
    return out
