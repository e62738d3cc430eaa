from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "broad_group_membership"
KIND = "insecure"
SEVERITY = "high"
ERRNOS = ()
STATIC = False
DOC = {
    "what": "The worker user is in a privileged group that grants far more than the socket: root, docker, sudo, wheel, adm, shadow, disk.",
    "why": "A compromised worker inherits what the group grants (docker = root).",
    "bad": "usermod -aG docker www-data",
    "good": "groupadd --system app-sock && usermod -aG app-sock www-data",
    "fix": "Remove the membership (gpasswd -d USER GROUP), reload nginx, and use a socket-only group instead.",
}


def check(host):
    w = host.worker
    names = set(w.creds.group_names or ()) if w.creds else set()
    for g in host.groups:
        if w.user and w.user in g.members:
            names.add(g.name)
    bad = sorted(n for n in names if n in C.BROAD_GROUPS and n != w.user)
    if not bad:
        return []
    return [C.make(globals(), None,
                   f"The nginx worker user {w.user} is in {', '.join(bad)}, which grants far more than socket access.",
                   evidence=list(w.evidence), origin=Origin("group database", f"membership of {w.user}"), confidence=0.85)]
