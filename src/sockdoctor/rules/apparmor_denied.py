from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "apparmor_denied"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (13,)
STATIC = False
DOC = {
    "what": "DAC allows the connection, AppArmor does not: apparmor=\"DENIED\" for the socket path in nginx's profile.",
    "why": "nginx gets EACCES; people disable the profile instead of allowing one path.",
    "bad": "apparmor=\"DENIED\" operation=\"connect\" profile=\"/usr/sbin/nginx\" name=\"/run/app/app.sock\"",
    "good": "# /etc/apparmor.d/local/usr.sbin.nginx\n/run/app/app.sock rw,",
    "fix": "Add exactly the socket path with rw to the profile's local include and reload the profile with apparmor_parser -r.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        dens = [a for a in host.apparmor if a.name == info.path]
        if not dens or not C.failing_13(host, info):
            continue
        d = C.decision(host, info)
        if d and d.allowed is False:
            continue
        a = dens[-1]
        local = next((c for c in host.configs if c.kind == "apparmor_profile" and "/local/" in c.path), None)
        out.append(C.make(globals(), info.path,
                          f"AppArmor profile {a.profile} denies nginx {a.denied or a.requested} on {info.path}; the permission bits allow it.",
                          evidence=C.evidence_for(host, info, [x.source for x in dens]),
                          trace=C.creds_line(host) + C.node_trace(d) + [f"AppArmor: {a.source.text.strip()[:200]}"],
                          origin=Origin("apparmor", "nginx profile rules", local.path if local else None),
                          errno=13, confidence=0.95))
    return out
