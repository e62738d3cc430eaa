from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "protected_symlinks"
KIND = "failure"
SEVERITY = "high"
ERRNOS = (13,)
STATIC = False
DOC = {
    "what": "The socket path ends in a symlink in a sticky world-writable directory owned by someone else; fs.protected_symlinks=1 refuses to follow it.",
    "why": "connect() gets EACCES although the target socket is fine.",
    "bad": "proxy_pass http://unix:/tmp/app.sock;   # /tmp/app.sock -> /run/app/app.sock, owned by app",
    "good": "proxy_pass http://unix:/run/app/app.sock;",
    "fix": "Point nginx at the real path under /run/<app>/ and remove the symlink.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        d = C.decision(host, info)
        if d and d.allowed is False and d.reason == "protected_symlink" and C.failing_13(host, info):
            out.append(C.make(globals(), info.path,
                              f"{info.path} goes through a symlink in a sticky world-writable directory; fs.protected_symlinks refuses to follow it (EACCES).",
                              evidence=C.evidence_for(host, info), trace=C.creds_line(host) + C.node_trace(d),
                              origin=Origin("nginx", "socket path"), errno=13))
    return out
