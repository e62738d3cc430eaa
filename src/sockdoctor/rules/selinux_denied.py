from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "selinux_denied"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (13,)
STATIC = False
DOC = {
    "what": "DAC allows the connection, SELinux does not: an AVC for httpd_t on the sock_file ({ write }), the listener ({ connectto }) or a directory ({ search }).",
    "why": "nginx gets EACCES; permission bits look right, so people reach for setenforce 0.",
    "bad": "type=AVC ... denied { write } ... scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:var_run_t:s0 tclass=sock_file",
    "good": "semanage fcontext -a -t httpd_var_run_t '/run/app(/.*)?' && restorecon -Rv /run/app",
    "fix": "Label the socket's directory httpd_var_run_t persistently (semanage fcontext + restorecon); if a connectto denial follows, a reviewed one-rule local module.",
}


def _relevant(avc, info):
    if avc.permissive:
        return False
    if avc.scontext and "httpd_t" not in avc.scontext and (avc.comm or "") != "nginx":
        return False
    base = C.basename(info.path)
    if avc.path and avc.path == info.path:
        return True
    if avc.name and (avc.name == base or info.path.split("/").count(avc.name)):
        return True
    return avc.tclass == "unix_stream_socket"


def check(host):
    out = []
    for info in host.sockets.values():
        avcs = [a for a in host.avcs if _relevant(a, info)]
        if not avcs or not C.failing_13(host, info):
            continue
        d = C.decision(host, info)
        if d and d.allowed is False:
            continue  # DAC denies first; no AVC is even logged for that access
        a = avcs[-1]
        target_dir = info.path.rsplit("/", 1)[0]
        out.append(C.make(globals(), info.path,
                          f"SELinux denies nginx (httpd_t) {{ {' '.join(a.perms)} }} on {a.tclass} labelled {a.tcontext}; "
                          f"the permission bits allow it.",
                          evidence=C.evidence_for(host, info, [x.source for x in avcs]),
                          trace=C.creds_line(host) + C.node_trace(d) + [f"AVC: denied {{ {' '.join(a.perms)} }} tclass={a.tclass} tcontext={a.tcontext}"],
                          origin=Origin("selinux", f"file context of {target_dir} ({(a.tcontext or '').split(':')[2] if a.tcontext and a.tcontext.count(':') >= 2 else a.tcontext})"),
                          errno=13, confidence=0.95))
    return out
