from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "private_namespace"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (2,)
STATIC = True
DOC = {
    "what": "The socket exists, but in another mount namespace: PrivateTmp= (RHEL/Fedora ship nginx with it), ProtectHome=, or a container that does not share the directory.",
    "why": "nginx gets ENOENT while `ls` in your shell shows the socket. `sockdoctor check` looks for the socket under the worker's /proc/PID/root and probes it from the worker's mount namespace.",
    "bad": "listen = /tmp/wiki.sock   ; nginx.service has PrivateTmp=true",
    "good": "listen = /run/php-fpm/wiki.sock",
    "fix": "Move the socket out of /tmp and /home into /run/<app>/. Do not turn PrivateTmp off. Elsewhere (a container, TemporaryFileSystem=), share only the socket's directory with nginx: BindPaths= in a drop-in, or the same volume in both containers.",
}


PRIVATE_TMP = ("/tmp/", "/var/tmp/")  # what PrivateTmp= replaces
PROTECTED_HOME = ("/home/", "/root/", "/run/user/")  # what ProtectHome= hides


def _private(host):
    for c in host.configs:
        if c.kind in ("systemctl_show", "systemd_unit") and "nginx" in c.path:
            for key in ("PrivateTmp", "ProtectHome"):
                s = c.get(key)
                if s and (s.value or "").lower() in ("yes", "true", "1", "read-only", "tmpfs"):
                    return key, s
    for f in host.fact("privatetmp"):
        if str(f.data.get("value", "")).lower() in ("yes", "true", "1") and "nginx" in str(f.data.get("unit", "nginx")):
            return "PrivateTmp", f
    return None


def unseen_by_worker(host, path: str):
    """The live check's fact that ``path`` is here but not under the worker's /proc/PID/root
    (the journal's fact of that kind names a unit instead of a pid)."""
    return next((f for f in host.fact("mount_namespace_missing")
                 if f.data.get("pid") is not None and f.data.get("path") == path), None)


def check(host):
    out = []
    priv = _private(host)
    for info in host.sockets.values():
        if info.errnos and 2 not in info.errnos:
            continue
        unseen = unseen_by_worker(host, info.path)
        if unseen is not None:
            pid = unseen.data["pid"]
            n = info.node
            shown = f"{n.owner}:{n.group} {n.mode & 0o7777:04o}" if n is not None and n.mode is not None else "exists"
            out.append(C.make(globals(), info.path,
                              f"{info.path} exists in this mount namespace but not in the one of the nginx worker "
                              f"(pid {pid}), so nginx gets ENOENT: a private mount (PrivateTmp=, ProtectHome=, "
                              f"TemporaryFileSystem=) or a container that does not share the directory hides it.",
                              evidence=C.evidence_for(host, info, [unseen.source]),
                              trace=[f"{info.path}  {shown}  (this namespace)",
                                     f"/proc/{pid}/root{info.path}  missing  (the worker's namespace) → ENOENT"],
                              errno=2, confidence=0.95))
            continue
        in_tmp = info.path.startswith(PRIVATE_TMP)
        in_home = info.path.startswith(PROTECTED_HOME)
        if not (in_tmp or in_home):
            continue
        key = "PrivateTmp" if in_tmp else "ProtectHome"
        if priv is None or (priv[0] != key and not host.static_only):
            continue
        src = priv[1].source
        origin = None
        for p in info.producers:
            origin = Origin(p.component, p.setting.key if p.setting else "bind", getattr(p.config, "path", None))
        out.append(C.make(globals(), info.path,
                          f"{info.path} is in {('/tmp' if in_tmp else '/home')}, which nginx sees through its own private namespace ({key}=yes): "
                          f"the socket exists for the app but not for nginx (ENOENT).",
                          evidence=C.evidence_for(host, info, [src]), trace=[f"nginx.service {key}=yes ({src.ref()})"],
                          origin=origin, errno=2, confidence=0.9))
    return out
