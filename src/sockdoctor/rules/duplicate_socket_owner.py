from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "duplicate_socket_owner"
KIND = "failure"
SEVERITY = "high"
ERRNOS = (2, 111)
STATIC = True
DOC = {
    "what": "Two servers or pools are configured to bind the same socket path (e.g. an old PHP version's pool left behind).",
    "why": "The one that wins is not the one nginx should reach, or they remove each other's socket.",
    "bad": "; /etc/php/7.4/fpm/pool.d/www.conf and /etc/php/8.2/fpm/pool.d/www.conf\nlisten = /run/php/php-fpm.sock",
    "good": "listen = /run/php/php8.2-fpm.sock   ; one pool per path",
    "fix": "Give each server its own path, remove the stale pool or unit.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        distinct = {}
        for p in info.producers:
            if p.component == "systemd":
                continue
            if hasattr(p.config, "options"):
                key = tuple(o for o in p.config.options)
            else:
                key = getattr(p.config, "path", None)
            distinct.setdefault((p.component, key), p)
        files = {getattr(p.config, "path", None) or p.config.source.input for p in distinct.values()}
        if len(files) > 1:
            ps = list(distinct.values())
            out.append(C.make(globals(), info.path,
                              f"{len(ps)} servers are configured to bind {info.path}: " + ", ".join(sorted(files)) + ".",
                              evidence=[p.setting.source for p in ps if p.setting] or [p.config.source for p in ps],
                              origin=Origin(ps[-1].component, "listen", sorted(files)[-1]), confidence=0.7))
    return out
