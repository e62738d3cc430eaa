import posixpath

from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "runtime_directory_lifecycle"
KIND = "failure"
SEVERITY = "high"
ERRNOS = (2, 13)
STATIC = True
DOC = {
    "what": "systemd's RuntimeDirectory= of a service removes (on stop) or re-owns (on start) the directory holding a .socket unit's socket.",
    "why": "The socket vanishes (ENOENT) or changes owner while the .socket unit still looks active.",
    "bad": "# app.socket\nListenStream=/run/app/app.sock\n# app.service\nRuntimeDirectory=app",
    "good": "# app.socket\nListenStream=/run/app-sock/app.sock\nDirectoryMode=0755",
    "fix": "Give the socket its own directory not managed by the service's RuntimeDirectory=, or RuntimeDirectoryPreserve=yes.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        for p in info.producers:
            if p.component != "systemd" or p.unit is None:
                continue
            rd = p.unit.get("RuntimeDirectory")
            if not rd or not rd.value:
                continue
            for d in rd.value.split():
                if posixpath.dirname(info.path) == "/run/" + d or info.path.startswith("/run/" + d + "/"):
                    out.append(C.make(globals(), info.path,
                                      f"{info.path} (created by {p.config.path}) lies in /run/{d}, the RuntimeDirectory= of {p.unit.path}: "
                                      f"systemd re-owns it at service start and deletes it at stop.",
                                      evidence=[p.setting.source, rd.source], origin=Origin("systemd", "RuntimeDirectory", p.unit.path),
                                      errno=2, confidence=0.8))
    return out
