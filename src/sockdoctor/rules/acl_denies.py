from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "acl_denies"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (13,)
STATIC = False
DOC = {
    "what": "A POSIX ACL entry or the ACL mask denies write to the worker (a named entry without w, mask::r--, PHP-FPM listen.acl_users not naming the worker).",
    "why": "With an ACL the kernel uses the ACL algorithm; the worker gets EACCES although the mode bits may look fine.",
    "bad": "listen.acl_users = apache,nginx   ; but nginx runs as www-data",
    "good": "listen.acl_users = apache,nginx,www-data",
    "fix": "Fix the ACL at its creator (PHP-FPM listen.acl_users, the creator's umask for the mask), not with setfacl on the live node.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        d = C.decision(host, info)
        if not (d and d.allowed is False and d.errno == 13) or not C.failing_13(host, info):
            continue
        if not (d.why or "").startswith("acl"):
            continue
        origin = None
        for p in info.producers:
            if p.component == "php-fpm":
                s = p.config.get("listen.acl_users")
                origin = Origin("php-fpm", "listen.acl_users", p.config.path)
        ev = [info.acl.source] if info.acl else []
        out.append(C.make(globals(), info.path,
                          f"The ACL on {info.path} gives no write to the nginx workers ({host.worker.creds.label()}).",
                          evidence=C.evidence_for(host, info, ev), trace=C.creds_line(host) + C.node_trace(d),
                          origin=origin, errno=13, confidence=0.9))
    return out
