from sockdoctor import access
from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "worker_user_unexpected"
KIND = "failure"
SEVERITY = "high"
ERRNOS = (13,)
STATIC = True
DOC = {
    "what": "The workers do not run as the identity everything else assumes: `user X;` takes the group NAMED X (not X's primary group), the `user` directive is ignored because the master is not root, or there is no `user` directive (compiled default nobody).",
    "why": "The socket is set up for one identity and the workers have another, so connect() gets EACCES.",
    "bad": "user publisher;   # primary group www-data, but nginx uses the group named publisher",
    "good": "user publisher www-data;",
    "fix": "Name the group in the directive (`user U G;`), or go back to the distro default user.",
}


def check(host):
    w = host.worker
    ud = host.user_directive
    out = []
    for info in host.sockets.values():
        d = C.decision(host, info)
        if not (d and d.allowed is False and d.errno == 13) or not C.failing_13(host, info):
            continue
        reason = None
        if ud and len(ud[0]) == 1 and w.creds:
            user = ud[0][0]
            primary = _primary(host, user)
            if primary and primary[1] is not None and primary[1] != w.creds.gid:
                alt = access.Creds(uid=w.creds.uid, gid=primary[1], groups=(w.creds.groups or frozenset()) | {primary[1]},
                                   user=user, group=primary[0], group_names=(w.creds.group_names or frozenset()) | {primary[0]})
                if C.socket_ok(C.decision(host, info, alt)):
                    reason = (f"`user {user};` names no group, so nginx uses the group named {user} "
                              f"(gid {w.creds.gid}), not {user}'s primary group {primary[0]} ({primary[1]}), which the socket expects")
        if any(n.kind == "user_ignored" for n in host.notices):
            reason = "the master does not run as root, so the `user` directive is ignored and workers keep the master's identity"
        if reason:
            ref = f"{ud[2][0]}:{ud[2][1]}" if ud and ud[2] else None
            out.append(C.make(globals(), info.path,
                              f"nginx workers run as {w.creds.label()}: {reason}.",
                              evidence=C.evidence_for(host, info, [ud[1]] if ud and ud[1] else []),
                              trace=C.creds_line(host) + C.node_trace(d),
                              origin=Origin("nginx", "user", ref), errno=13, confidence=0.9))
    return out


def _primary(host, user):
    for pw in host.passwd:
        if pw.name == user:
            name = next((g.name for g in host.groups if g.gid == pw.gid), None)
            for i in host.ids:
                if i.gid == pw.gid and i.group:
                    name = name or i.group
            return (name, pw.gid)
    for i in host.ids:
        if i.user == user:
            return (i.group, i.gid)
    return None
