from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "not_a_socket"
KIND = "failure"
SEVERITY = "high"
ERRNOS = (111,)
STATIC = False
DOC = {
    "what": "The path nginx connects to is a regular file or FIFO, not a socket (copied, touched, or left by a tool).",
    "why": "connect() gets ECONNREFUSED (or EACCES if not writable).",
    "bad": "-rw-r--r-- 1 app app 0 /run/app/app.sock",
    "good": "srw-rw---- 1 app www-data 0 /run/app/app.sock",
    "fix": "Remove the file and let the server (or systemd) create the socket.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        n = info.node
        if n is None or n.type not in ("file", "fifo"):
            continue
        if info.errnos and not set(info.errnos) & {111, 13}:
            continue
        out.append(C.make(globals(), info.path,
                          f"{info.path} is a {n.type}, not a socket; connect() is refused.",
                          evidence=C.evidence_for(host, info), origin=Origin("filesystem", info.path), errno=111, confidence=0.9))
    return out
