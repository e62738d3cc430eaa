from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "worker_not_in_socket_group"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (13,)
STATIC = True
DOC = {
    "what": "The socket's group has write permission, but the nginx worker is neither its owner nor in its group, and 'other' has no write bit.",
    "why": "Every proxied request fails with `connect() ... (13: Permission denied)` and nginx answers 502.",
    "bad": "user nginx;  # workers run as nginx\n# socket: srw-rw---- www-data www-data /run/gunicorn/app.sock",
    "good": "# gunicorn.socket\nSocketGroup=nginx\nSocketMode=0660",
    "fix": "Create the socket with a group the workers already have (SocketGroup=, listen.group, chown-socket, gunicorn --group), mode 0660. Adding the worker to the socket's group also works but grants whatever else that group can reach.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        d = C.decision(host, info)
        if not C.denied_at_socket(d) or d.why != "other_class" or not C.failing_13(host, info):
            continue
        gbits = C.socket_group_bits(info)
        if gbits is None or not gbits & 2:
            continue
        n = info.node
        origin = None
        for p in info.producers:
            path = getattr(p.config, "path", None) or p.config.source.input
            if p.component == "systemd":
                origin = Origin("systemd", "SocketGroup", path)
            elif p.component == "php-fpm" and origin is None:
                origin = Origin("php-fpm", "listen.group", path)
            elif p.component == "uwsgi" and origin is None:
                origin = Origin("uwsgi", "chown-socket", path)
            elif p.component in ("gunicorn", "puma", "unicorn") and origin is None:
                origin = Origin(p.component, "group", path)
        out.append(C.make(
            globals(), info.path,
            f"nginx workers ({host.worker.creds.label()}) are not owner or group of {info.path} "
            f"({n.owner}:{n.group}, group-writable, nothing for others), so connect() is refused (EACCES).",
            evidence=C.evidence_for(host, info), trace=C.creds_line(host) + C.node_trace(d),
            origin=origin or Origin("nginx", "user", _user_ref(host)), errno=13, confidence=0.95))
    return out


def _user_ref(host):
    ud = host.user_directive
    if ud and ud[2]:
        return f"{ud[2][0]}:{ud[2][1]}"
    return None
