from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "socket_in_shared_tmp"
KIND = "insecure"
SEVERITY = "medium"
ERRNOS = ()
STATIC = True
DOC = {
    "what": "The socket or a directory on its path is in a world-writable sticky directory (/tmp, /var/tmp, /dev/shm).",
    "why": "Another user can pre-create or replace the path; private /tmp namespaces make it vanish for nginx.",
    "bad": "listen = /tmp/php-fpm.sock",
    "good": "listen = /run/php-fpm/www.sock",
    "fix": "Move the socket to /run/<app>/.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        if info.path.startswith(("/tmp/", "/var/tmp/", "/dev/shm/")):
            origin = None
            for p in info.producers:
                origin = Origin(p.component, p.setting.key if p.setting else "bind", getattr(p.config, "path", None))
            ev = [r.source for r in info.refs] + [p.setting.source for p in info.producers if p.setting]
            out.append(C.make(globals(), info.path,
                              f"{info.path} lives in a shared world-writable directory; move it to /run/<app>/.",
                              evidence=ev, origin=origin, confidence=0.9))
    return out
