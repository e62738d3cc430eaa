"""journalctl / syslog / container / application log lines -> LogFact records.

Line framing understood (and stripped): syslog and `journalctl` short/short-precise/short-iso
prefixes (`May 21 09:14:06 host ident[pid]: `), `docker compose logs` (`api-1  | `), `docker logs -t`
timestamps, gunicorn's `[time] [pid] [LEVEL] `, supervisord's `2025-03-11 14:05:31,102 INFO `.

Facts (LogFact.kind, data keys):
- usermod_group_add (user, group, tool): `usermod[..]: add 'www-data' to group 'x'`, gpasswd's form
- group_added (group, gid): `groupadd[..]: new group: name=x, GID=n`
- unit_failed (unit, status, reason, + code/result/step/program when shown): systemd's
  `Main process exited, code=exited, status=216/GROUP`, `Failed to determine group credentials: ...`,
  `Failed at step GROUP spawning ...`, `Failed with result '...'`, the OOM-killer notice,
  `Start request repeated too quickly`, socket units' `Failed to create listening socket (...)`;
  supervisord's `exited: x (exit status 1; not expected)` / `gave up: x entered FATAL state`
- mount_namespace_missing (unit, path): `Failed to set up mount namespacing: /x: No such file...`
- uwsgi_chmod_666 (): `chmod() socket to 666 for lazy and brave users`
- app_listening (program, address, path, pid): gunicorn `Listening at: unix:/x (pid)`, uWSGI
  `uwsgi socket 0 bound to UNIX address /x fd 3`, puma `* Listening on unix:///x` /
  `* Activated unix:///x`, unicorn `listening on addr=/x fd=3`; path is None for TCP
- listen_queue_full (program, socket, queue, backlog): uWSGI `*** uWSGI listen queue ... full !!!`
- listen_backlog (program, backlog): uWSGI `your server socket listen backlog is limited to N`
- chown_failed (path, program, reason): uWSGI `chown(): Operation not permitted`, PHP-FPM
  `failed to chown() the socket '/x'`
- bind_failed (program, address, path, reason): gunicorn `Connection in use: ...`/`Can't connect
  to ...`, PHP-FPM `unable to bind listening socket for address '/x': ...`, uWSGI `bind(): ...`,
  Python `PermissionError: [Errno 13] Permission denied: '/x.sock'`
- app_privileges (program, when | uid | gid): uWSGI `dropping root privileges ...`, `setuid() to n`
- app_config (program, path): uWSGI `getting INI configuration from /x`
- config_load_failed (program, path): uWSGI `unable to load configuration from x`
- group_lookup_failed (group, program), user_lookup_failed (user, program): PHP-FPM `cannot get
  gid for group 'x'`
- fpm_acl_ignores_owner (pool, setting), fpm_not_root (pool, directive)
- oom_kill (pid, comm): kernel OOM lines that appear in a journal

nginx error-log lines in the same log (a compose or container log mixes both) are handed to
``error_log.parse_line`` and kernel AppArmor lines to ``kernel_log.parse_apparmor``, so a chunk
classified as a journal still yields its ErrorLogEvent/AppArmorDenial records; nothing else is
emitted for them. ``parse_line`` is public so other readers can do the reverse.
"""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import LogFact, Source

KIND = "journal"

_COMPOSE = _lazyre.compile(r"^(?P<svc>[\w.-]+)\s+\|\s?(?P<rest>.*)$")
_SYSLOG = _lazyre.compile(r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*) "
                          r"(?P<host>\S+) (?P<ident>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$")
_DOCKER_TS = _lazyre.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)? ")
_GUNICORN = _lazyre.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [+-]\d{4})?\] \[(?P<pid>\d+)\] \[(?P<level>[A-Z]+)\] "
                            r"(?P<msg>.*)$")
_SUPERVISORD = _lazyre.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?P<level>[A-Z]+) (?P<msg>.*)$")
_FPM = _lazyre.compile(r"^\[\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d(?:\.\d+)?\] (?P<level>[A-Z]+): (?P<msg>.*)$")
_NGINX_ERR = _lazyre.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?:debug|info|notice|warn|error|crit|alert|emerg)\] ")
_NGINX_STDERR = _lazyre.compile(r"^nginx: \[(?:warn|error|crit|alert|emerg)\] ")
_ACCESS = _lazyre.compile(r'^\S+ - \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:[^\]]+\] "')

_UNIT_MSG = _lazyre.compile(r"^(?P<unit>[\w@.:\\-]+\.(?:service|socket|mount|timer|scope|slice|path)): (?P<rest>.*)$")

# (regex, kind, data builder) for application messages, tried in order on the unframed message.
_USERMOD = _lazyre.compile(r"add '(?P<user>[^']+)' to group '(?P<group>[^']+)'")
_GPASSWD = _lazyre.compile(r"user (?P<user>\S+) added by \S+ to group (?P<group>\S+)")
_GROUPADD = _lazyre.compile(r"new group: name=(?P<group>[^,\s]+), GID=(?P<gid>\d+)")
_UWSGI_BOUND = _lazyre.compile(r"uwsgi socket (?P<n>\d+) bound to (?P<fam>UNIX|TCP|UDP) address (?P<addr>\S+) fd (?P<fd>\d+)")
_UWSGI_QUEUE = _lazyre.compile(r"\*\*\* uWSGI listen queue of socket \"?(?P<sock>[^\"]*?)\"? \(fd: (?P<fd>\d+)\) full !!! "
                               r"\((?P<q>\d+)/(?P<b>\d+)\)")
_UWSGI_BACKLOG = _lazyre.compile(r"your server socket listen backlog is limited to (?P<b>\d+) connections")
_UWSGI_PRIV = _lazyre.compile(r"dropping root privileges (?P<when>.+)$")
_UWSGI_SETID = _lazyre.compile(r"^set(?P<which>uid|gid)\(\) to (?P<id>\d+)")
_UWSGI_INI = _lazyre.compile(r"getting (?P<fmt>INI|YAML|XML|JSON) configuration from (?P<path>\S+)")
_UWSGI_NOCONF = _lazyre.compile(r"unable to load configuration from (?P<path>\S+)")
_SYSCALL_ERR = _lazyre.compile(r"^(?P<call>chown|bind|chmod|listen|socket)\(\): (?P<reason>[^\[]+?)\s*\[(?P<where>[^\]]+)\]")
_GUNI_LISTEN = _lazyre.compile(r"^Listening at: (?P<addr>\S+)(?: \((?P<pid>\d+)\))?")
_GUNI_INUSE = _lazyre.compile(r"^Connection in use: (?P<addr>.+)$")
_GUNI_CANT = _lazyre.compile(r"^Can't connect to (?P<addr>.+)$")
_GUNI_INVALID = _lazyre.compile(r"^Invalid address: (?P<addr>.+)$")
_PY_OSERROR = _lazyre.compile(r"(?P<exc>PermissionError|FileNotFoundError|OSError|FileExistsError): \[Errno (?P<errno>\d+)\] "
                              r"(?P<reason>[^:]+): '(?P<path>[^']+)'")
_PUMA_LISTEN = _lazyre.compile(r"^\* (?:Listening on|Activated|Inherited) (?P<addr>\S+)")
_UNICORN_LISTEN = _lazyre.compile(r"listening on addr=(?P<addr>\S+) fd=(?P<fd>\d+)")
_FPM_BIND = _lazyre.compile(r"unable to bind listening socket for address '(?P<addr>[^']+)': (?P<reason>.+?)(?: \(\d+\))?$")
_FPM_CHOWN = _lazyre.compile(r"(?:\[pool (?P<pool>[^\]]+)\] )?failed to chown\(\) the socket '(?P<path>[^']+)'(?:: (?P<reason>.+))?")
_FPM_NOGID = _lazyre.compile(r"\[pool (?P<pool>[^\]]+)\] cannot get gid for group '(?P<group>[^']+)'")
_FPM_NOUID = _lazyre.compile(r"\[pool (?P<pool>[^\]]+)\] cannot get uid for user '(?P<user>[^']+)'")
_FPM_ACL = _lazyre.compile(r"\[pool (?P<pool>[^\]]+)\] ACL set, (?P<setting>listen\.(?:owner|group)) = '[^']*' is ignored")
_FPM_NOTROOT = _lazyre.compile(r"\[pool (?P<pool>[^\]]+)\] '(?P<directive>\w+)' directive is ignored when FPM is not running as root")
_SUP_EXITED = _lazyre.compile(r"^exited: (?P<name>\S+) \((?P<how>exit status (?P<status>\d+)|terminated by (?P<sig>\S+))"
                              r"; not expected\)")
_SUP_FATAL = _lazyre.compile(r"^gave up: (?P<name>\S+) entered FATAL state")
_OOM = _lazyre.compile(r"(?:Out of memory|Memory cgroup out of memory): Killed process (?P<pid>\d+) \((?P<comm>[^)]*)\)")

_SIGNATURES = ("*** Starting uWSGI", "uwsgi socket", "spawned uWSGI", "uWSGI is running", "uWSGI http bound",
               "Listening at:", "Booting worker", "Starting gunicorn", "Puma starting", "* Listening on",
               "Use Ctrl-C", "listening on addr=", "Main process exited", "Failed with result", "Failed to determine",
               "entered RUNNING state", "fpm is running", "ready to handle connections", "Scheduled restart job",
               "Deactivated successfully", "WSGI app",
               "dropping root privileges", "chmod() socket", "listen queue", "getting INI configuration",
               "detected binary path", "your memory page size", "detected max file descriptor", "lock engine:",
               "thunder lock:", "Python version:", "Python main interpreter", "your mercy for graceful",
               "Operational MODE", "chdir() to", "setgid() to", "setuid() to", "clock source:", "nodename:",
               "compiled with version:", "detected number of CPU cores", "current working directory:",
               "*** Python threads support", "Using worker:", "Handling signal:", "Worker exiting",
               "Shutting down: Master", "[pid: ", "WSGI app 0")


def _unix_path(addr: str | None) -> str | None:
    if not addr:
        return None
    a = addr.strip().strip("'\"")
    if a.startswith("unix://"):
        a = a[len("unix://"):].split("?", 1)[0]
        return a or None
    if a.startswith("unix:"):
        return a[5:] or None
    if a.startswith("/") or a.startswith("@") or a.startswith("./"):
        return a
    return None


def unframe(line: str) -> tuple[str, str | None, int | None]:
    """(message, ident, pid) with compose/syslog/docker/gunicorn/supervisord framing removed."""
    ident = pid = None
    m = _COMPOSE.match(line)
    if m and not line.startswith(("[", "*")):
        line = m.group("rest")
        ident = re.sub(r"[-_]\d+$", "", m.group("svc"))
    m = _SYSLOG.match(line)
    if not m:
        ts = _DOCKER_TS.match(line)
        if ts:
            line = line[ts.end():]
            m = _SYSLOG.match(line)
    if m:
        line, ident = m.group("msg"), m.group("ident")
        pid = int(m.group("pid")) if m.group("pid") else None
    m = _GUNICORN.match(line)
    if m:
        return m.group("msg"), ident or "gunicorn", int(m.group("pid"))
    m = _SUPERVISORD.match(line)
    if m:
        return m.group("msg"), "supervisord", pid
    m = _FPM.match(line)
    if m:
        return m.group("msg"), ident or "php-fpm", pid
    return line, ident, pid


def _fact(kind: str, source: Source, **data) -> LogFact:
    return LogFact(kind, data, source)


def _unit_fact(unit: str, rest: str, src: Source) -> list:
    def failed(**extra) -> LogFact:
        data = {"unit": unit, "status": None, "reason": None}
        data.update(extra)
        return LogFact("unit_failed", data, src)

    m = re.match(r"^(?:Main|Control) process exited, code=(?P<code>\w+), status=(?P<status>\S+)", rest)
    if m:
        if m.group("status") in ("0/SUCCESS", "0"):
            return []
        return [failed(status=m.group("status"), code=m.group("code"), reason=rest)]
    m = re.match(r"^Failed to determine (?P<what>user|group) credentials: (?P<why>.*)$", rest)
    if m:
        status = "216/GROUP" if m.group("what") == "group" else "217/USER"
        return [failed(status=status, reason=rest)]
    m = re.match(r"^Failed at step (?P<step>\S+) spawning (?P<prog>\S+): (?P<why>.*)$", rest)
    if m:
        return [failed(step=m.group("step"), program=m.group("prog"), reason=rest)]
    m = re.match(r"^Failed with result '(?P<result>[^']+)'", rest)
    if m:
        return [failed(result=m.group("result"), reason=rest)]
    if "killed by the OOM killer" in rest:
        return [failed(result="oom-kill", reason=rest)]
    if rest.startswith("Start request repeated too quickly"):
        return [failed(reason=rest)]
    m = re.match(r"^Failed to set up mount namespacing: (?P<path>/[^:]*): (?P<why>.*)$", rest)
    if m:
        return [_fact("mount_namespace_missing", src, unit=unit, path=m.group("path"), reason=m.group("why")),
                failed(reason=rest)]
    m = re.match(r"^Failed to create listening socket \((?P<addr>[^)]+)\): (?P<why>.*)$", rest)
    if m:
        return [failed(reason=rest),
                _fact("bind_failed", src, program="systemd", address=m.group("addr"),
                      path=_unix_path(m.group("addr")), reason=m.group("why"))]
    if rest.startswith("Failed to listen on sockets") or rest.startswith("Failed to receive listening socket"):
        return [failed(reason=rest)]
    return []


def parse_line(line: str, source: Source) -> list:
    """Facts in one log line (framing allowed). Empty for lines that say nothing of interest."""
    line = line.rstrip("\r")
    if not line.strip():
        return []
    msg, ident, pid = unframe(line)
    if _NGINX_ERR.match(msg) or _NGINX_STDERR.match(msg):
        return _nginx(line, source)
    if 'apparmor="' in msg:
        return _kernel(msg, source)
    if _ACCESS.match(msg):
        return []
    low_ident = (ident or "").lower()
    out: list = []
    m = _UNIT_MSG.match(msg)
    if m and (low_ident in ("systemd", "init", "") or low_ident.startswith("systemd")):
        return _unit_fact(m.group("unit"), m.group("rest"), source)
    if low_ident in ("usermod", "useradd", "gpasswd") or "to group '" in msg:
        m = _USERMOD.search(msg)
        if m and " shadow group " not in msg:
            return [_fact("usermod_group_add", source, user=m.group("user"), group=m.group("group"), tool="usermod")]
        m = _GPASSWD.search(msg)
        if m:
            return [_fact("usermod_group_add", source, user=m.group("user"), group=m.group("group"), tool="gpasswd")]
        return []
    m = _GROUPADD.search(msg)
    if m:
        return [_fact("group_added", source, group=m.group("group"), gid=int(m.group("gid")))]
    if "chmod() socket to 666" in msg:
        return [_fact("uwsgi_chmod_666", source)]
    m = _UWSGI_BOUND.search(msg)
    if m:
        addr = m.group("addr")
        return [_fact("app_listening", source, program="uwsgi", address=addr,
                      path=addr if m.group("fam") == "UNIX" else None, pid=pid)]
    m = _UWSGI_QUEUE.search(msg)
    if m:
        return [_fact("listen_queue_full", source, program="uwsgi", socket=m.group("sock"),
                      queue=int(m.group("q")), backlog=int(m.group("b")))]
    m = _UWSGI_BACKLOG.search(msg)
    if m:
        return [_fact("listen_backlog", source, program="uwsgi", backlog=int(m.group("b")))]
    m = _SYSCALL_ERR.match(msg)
    if m:
        program = "uwsgi" if "core/" in m.group("where") or "uwsgi" in low_ident else (ident or None)
        kind = {"chown": "chown_failed", "bind": "bind_failed"}.get(m.group("call"), m.group("call") + "_failed")
        data = {"program": program, "reason": m.group("reason"), "path": None}
        if kind == "bind_failed":
            data["address"] = None
        return [LogFact(kind, data, source)]
    m = _UWSGI_PRIV.search(msg)
    if m and ("uwsgi" in low_ident or "root privileges" in msg):
        return [_fact("app_privileges", source, program="uwsgi", when=m.group("when").strip())]
    m = _UWSGI_SETID.match(msg)
    if m:
        return [_fact("app_privileges", source, program="uwsgi", **{m.group("which"): int(m.group("id"))})]
    m = _UWSGI_INI.search(msg)
    if m:
        return [_fact("app_config", source, program="uwsgi", path=m.group("path"))]
    m = _UWSGI_NOCONF.search(msg)
    if m:
        return [_fact("config_load_failed", source, program="uwsgi", path=m.group("path"))]
    m = _GUNI_LISTEN.match(msg)
    if m:
        addr = m.group("addr")
        return [_fact("app_listening", source, program="gunicorn", address=addr, path=_unix_path(addr),
                      pid=int(m.group("pid")) if m.group("pid") else pid)]
    for rx, why in ((_GUNI_INUSE, "Connection in use"), (_GUNI_CANT, "Can't connect"), (_GUNI_INVALID, "Invalid address")):
        m = rx.match(msg)
        if m:
            addr = m.group("addr").strip()
            return [_fact("bind_failed", source, program="gunicorn", address=addr, path=_unix_path(addr), reason=why)]
    m = _PUMA_LISTEN.match(msg)
    if m:
        addr = m.group("addr")
        return [_fact("app_listening", source, program="puma", address=addr, path=_unix_path(addr), pid=pid)]
    m = _UNICORN_LISTEN.search(msg)
    if m:
        addr = m.group("addr")
        return [_fact("app_listening", source, program="unicorn", address=addr, path=_unix_path(addr), pid=pid)]
    m = _FPM_BIND.search(msg)
    if m:
        addr = m.group("addr")
        return [_fact("bind_failed", source, program="php-fpm", address=addr, path=_unix_path(addr),
                      reason=m.group("reason"))]
    m = _FPM_CHOWN.search(msg)
    if m:
        return [_fact("chown_failed", source, program="php-fpm", path=m.group("path"), pool=m.group("pool"),
                      reason=m.group("reason"))]
    m = _FPM_NOGID.search(msg)
    if m:
        return [_fact("group_lookup_failed", source, group=m.group("group"), program="php-fpm", pool=m.group("pool"))]
    m = _FPM_NOUID.search(msg)
    if m:
        return [_fact("user_lookup_failed", source, user=m.group("user"), program="php-fpm", pool=m.group("pool"))]
    m = _FPM_ACL.search(msg)
    if m:
        return [_fact("fpm_acl_ignores_owner", source, pool=m.group("pool"), setting=m.group("setting"))]
    m = _FPM_NOTROOT.search(msg)
    if m:
        return [_fact("fpm_not_root", source, pool=m.group("pool"), directive=m.group("directive"))]
    m = _PY_OSERROR.search(msg)
    if m and (".sock" in m.group("path") or "bind" in msg):
        return [_fact("bind_failed", source, program=ident, address=m.group("path"), path=m.group("path"),
                      reason=m.group("reason"), errno=int(m.group("errno")))]
    m = _SUP_EXITED.match(msg)
    if m and ident == "supervisord":
        return [_fact("unit_failed", source, unit=m.group("name"), status=m.group("status") or m.group("sig"),
                      reason=msg, manager="supervisord")]
    m = _SUP_FATAL.match(msg)
    if m and ident == "supervisord":
        return [_fact("unit_failed", source, unit=m.group("name"), status=None, reason=msg, manager="supervisord")]
    m = _OOM.search(msg)
    if m:
        return [_fact("oom_kill", source, pid=int(m.group("pid")), comm=m.group("comm"))]
    return out


def _nginx(line: str, source: Source) -> list:
    try:
        from sockdoctor.evidence import error_log
    except ImportError:  # the error_log reader is optional for this module
        return []
    rec = error_log.parse_line(line, source)
    return [rec] if rec is not None else []


def _kernel(msg: str, source: Source) -> list:
    try:
        from sockdoctor.evidence import kernel_log
    except ImportError:
        return []
    rec = kernel_log.parse_apparmor(msg, source)
    return [rec] if rec is not None else []


def detect(chunk: Chunk) -> Detection | None:
    lines = [ln.rstrip("\r") for ln in chunk.text[:200_000].split("\n")[:400] if ln.strip()]
    if not lines:
        return None
    if any(re.match(r"^\s*Active: \S+", ln) for ln in lines[:8]) and any("Loaded:" in ln for ln in lines[:8]):
        return None  # `systemctl status`
    framed = app = nginx = kernel = 0
    for ln in lines:
        msg, ident, _ = unframe(ln)
        if _NGINX_ERR.match(msg) or _NGINX_STDERR.match(msg):
            nginx += 1
            continue
        if ident == "kernel" or ident == "audit" or msg.startswith("type=AVC") or re.match(r"^\[\s*\d+\.\d+\]", ln):
            kernel += 1
            continue
        if msg is not ln or ident:
            framed += 1
        if any(sig in msg for sig in _SIGNATURES) or ident and ident.lower() in (
                "systemd", "usermod", "gunicorn", "uwsgi", "puma", "php-fpm", "gpasswd", "supervisord"):
            app += 1
    total = len(lines)
    if kernel > total / 2 or nginx > total / 2:
        return None
    if not framed and app < max(2, total * 0.3):
        return None
    ours = max(framed, app)
    score = (0.45 if framed else 0.3) + (0.45 if framed else 0.6) * ours / total
    if app == 0:
        score = min(score, 0.5)
    cmd = chunk.command or ""
    if re.search(r"\b(journalctl|docker(?:-compose)? (?:compose )?logs|docker logs|kubectl logs|podman logs)\b", cmd):
        score = min(0.98, score + 0.2)
    reason = f"{framed} framed log line(s), {app} app-server/systemd message(s)"
    if nginx:
        reason += f", {nginx} nginx error line(s) read with the error_log parser"
    return Detection(KIND, round(min(score, 0.95), 3), reason)


def _read(chunk: Chunk) -> list:
    out: list = []
    for idx, raw in enumerate(chunk.text.split("\n")):
        if not raw.strip():
            continue
        line = raw.rstrip("\r")
        out.extend(parse_line(line, chunk.source(idx, line[:2000])))
    return out


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
