from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "socket_mode_too_strict"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (13,)
STATIC = True
DOC = {
    "what": "The permission class that applies to the nginx worker lacks write on the socket, and joining a group would not help (e.g. 0755 socket whose group the worker is already in).",
    "why": "Classes are exclusive: a group member gets only the group bits, the owner only the owner bits. connect() needs w, so nginx gets EACCES and answers 502.",
    "bad": "[uwsgi]\nsocket = /run/app/uwsgi.sock\ngid = nginx\n# no chmod-socket: socket srwxr-xr-x app:nginx",
    "good": "[uwsgi]\nsocket = /run/app/uwsgi.sock\nchmod-socket = 660",
    "fix": "Give the group write at creation time: SocketMode=0660, listen.mode = 0660, chmod-socket = 660, gunicorn --umask 007.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        d = C.decision(host, info)
        if not C.denied_at_socket(d) or not C.failing_13(host, info) or d.why not in ("owner_class", "group_class", "other_class"):
            continue
        gbits = C.socket_group_bits(info)
        if d.why == "other_class" and (gbits is None or gbits & 2):
            continue
        n = info.node
        origin = _origin(info)
        out.append(C.make(globals(), info.path,
                          f"{info.path} is {n.owner}:{n.group} with mode {oct(n.mode)[2:].zfill(4)}: the {C.DENY_CLASSES.get(d.why, 'applicable')} "
                          f"class that applies to the nginx workers has no write bit, so connect() is refused (EACCES).",
                          evidence=C.evidence_for(host, info), trace=C.creds_line(host) + C.node_trace(d),
                          origin=origin, errno=13, confidence=0.9))
    return out


def _origin(info):
    for p in info.producers:
        if p.component == "uwsgi":
            return Origin("uwsgi", "chmod-socket", getattr(p.config, "path", None) or p.config.source.input)
        if p.component == "systemd":
            return Origin("systemd", "SocketMode", p.config.path)
        if p.component == "php-fpm":
            return Origin("php-fpm", "listen.mode", p.config.path)
        if p.component == "gunicorn":
            return Origin("gunicorn", "umask", getattr(p.config, "path", None) or p.config.source.input)
    return None
