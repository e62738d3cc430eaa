from sockdoctor.evidence.cmdline import has_option, option
from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "world_writable_socket"
KIND = "insecure"
SEVERITY = "high"
ERRNOS = ()
STATIC = True
DOC = {
    "what": "Any local user can connect to the socket and bypass nginx: mode 0666/0777, SocketMode=0666 (also systemd's default), listen.mode = 0666, a bare chmod-socket, or gunicorn/puma/unicorn's default umask 0.",
    "why": "Every local process (other tenants, a compromised service) can talk to the app directly, without nginx's TLS, auth, rate limits or header sanitising; for PHP-FPM, run PHP as the pool user (CVE-2014-0185).",
    "bad": "[Socket]\nListenStream=/run/app/app.sock\nSocketMode=0666",
    "good": "[Socket]\nListenStream=/run/app/app.sock\nSocketGroup=www-data\nSocketMode=0660",
    "fix": "Create the socket with the nginx group and mode 0660 (or umask 007) at its creator.",
}


def _mode(v):
    try:
        return int(str(v).strip().strip("'\""), 8) if not str(v).strip().startswith("0o") else int(str(v).strip(), 0)
    except ValueError:
        return None


def _umask(v):
    try:
        s = str(v).strip().strip("'\"")
        return int(s, 0) if s.startswith(("0o", "0x")) else int(s, 8)
    except ValueError:
        return None


def producer_world_writable(p):
    """(setting name, source, why) when the producer's configuration makes the socket world-writable."""
    cfg = p.config
    if p.component == "systemd":
        m = cfg.get("SocketMode")
        if m is None:
            return ("SocketMode", p.setting.source, "SocketMode= is absent: systemd's default is 0666")
        if (_mode(m.value) or 0) & 0o002:
            return ("SocketMode", m.source, f"SocketMode={m.value}")
        return None
    if p.component == "php-fpm":
        m = cfg.get("listen.mode")
        if m and (_mode(m.value) or 0) & 0o002:
            return ("listen.mode", m.source, f"listen.mode = {m.value}")
        return None
    if p.component == "uwsgi":
        if hasattr(cfg, "get_all"):
            for s in cfg.get_all("chmod-socket"):
                if s.value is None or s.value.strip() in ("", "1") or (_mode(s.value) or 0) & 0o002:
                    return ("chmod-socket", s.source, "bare chmod-socket means 666" if not s.value else f"chmod-socket = {s.value}")
        elif has_option(cfg, "chmod-socket"):
            v = option(cfg, "chmod-socket")
            if v is None or (_mode(v) or 0) & 0o002:
                return ("chmod-socket", cfg.source, "chmod-socket without value means 666")
        return None
    if p.component in ("gunicorn", "puma", "unicorn"):
        umask = None
        if hasattr(cfg, "get"):
            s = cfg.get("umask") or cfg.get("bind.umask") or cfg.get("listen.umask")
            umask = s.value if s else None
            if p.component == "puma" and p.setting and "umask=" in (p.setting.value or ""):
                umask = p.setting.value.split("umask=")[1].split("&")[0]
        else:
            umask = option(cfg, "umask")
        if umask is None:
            src = p.setting.source if p.setting else cfg.source
            return ("umask (default 0)", src, f"{p.component}'s umask defaults to 0: the socket is srwxrwxrwx")
        u = _umask(umask)
        if u is not None and not u & 0o002:
            return ("umask", p.setting.source if p.setting else cfg.source, f"umask {umask} leaves the socket world-writable")
    return None


def check(host):
    out = []
    for info in host.sockets.values():
        if info.path.startswith("@"):
            continue
        shown = []
        n = info.node
        if n is not None and n.tool != "predicted" and n.type == "socket" and n.mode is not None and n.mode & 0o002:
            shown.append(n.source)
        reasons = []
        socket_units = [p for p in info.producers if p.component == "systemd"]
        for p in info.producers:
            if p.component in ("gunicorn", "puma", "unicorn") and socket_units:
                continue  # the .socket unit creates the node; the app's own umask is irrelevant
            r = producer_world_writable(p)
            if r:
                reasons.append((p, r))
        if not shown and not reasons:
            continue
        if reasons:
            p, (setting, src, why) = reasons[0]
            path = getattr(p.config, "path", None) or src.input
            origin = Origin(p.component, setting, path)
            summary = f"{info.path} is world-writable: {why}. Any local user can bypass nginx and talk to the app."
        else:
            origin = None
            summary = f"{info.path} is world-writable ({oct(n.mode)[2:].zfill(4)}): any local user can bypass nginx."
        out.append(C.make(globals(), info.path, summary,
                          evidence=shown + [r[1][1] for r in reasons], origin=origin, confidence=0.95))
    return out
