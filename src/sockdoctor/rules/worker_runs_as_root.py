from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "worker_runs_as_root"
KIND = "insecure"
SEVERITY = "critical"
ERRNOS = ()
STATIC = True
DOC = {
    "what": "`user root;` or a master that does not drop privileges: every request is handled with root's rights.",
    "why": "Any worker compromise is a root compromise; DAC is bypassed everywhere.",
    "bad": "user root;",
    "good": "user www-data;",
    "fix": "Run workers as the distro's unprivileged nginx user and give that user access to the socket by group.",
}


def check(host):
    ud = host.user_directive
    root_directive = ud and ud[0] and ud[0][0] in ("root", "0")
    root_proc = any(p.role == "nginx_worker" and p.user == "root" for p in host.processes)
    if not (root_directive or root_proc):
        return []
    ev = [ud[1]] if root_directive and ud[1] else [p.source for p in host.processes if p.role == "nginx_worker" and p.user == "root"]
    ref = f"{ud[2][0]}:{ud[2][1]}" if root_directive and ud[2] else None
    return [C.make(globals(), None, "nginx workers run as root: every request is handled with root's rights.",
                   evidence=ev, origin=Origin("nginx", "user", ref), confidence=0.95)]
