"""One planner per cause: finding → ranked Fix plans (commands, diffs against the user's files, verify)."""
from __future__ import annotations

import posixpath
import shlex

from sockdoctor import fixes as F
from sockdoctor.evidence import records as R
from sockdoctor.fixes import edit
from sockdoctor.report import Fix

q = shlex.quote
BROAD = ("root", "docker", "sudo", "wheel", "adm", "shadow", "disk")


def _info(host, finding):
    return host.sockets.get(finding.socket) if finding.socket else None


def _producer(info, *components):
    for p in (info.producers if info else []):
        if not components or p.component in components:
            return p
    return None


def _cfg_diff(p, changes, section=None, sep=" = "):
    cfg = p.config
    if isinstance(cfg, R.ConfigFile):
        return edit.ini_edit(cfg, changes, section=section, sep=sep)
    return None


# --- EACCES ------------------------------------------------------------------------------------

def group_access(host, finding, *, mode_only=False):
    """Make the socket's group one the workers have, with 0660, at the creator."""
    info = _info(host, finding)
    if info is None:
        return []
    wg, wu = F.worker_group(host), F.worker_user(host)
    node = info.node
    out: list[Fix] = []
    p = _producer(info, "systemd", "php-fpm", "uwsgi", "gunicorn", "puma", "unicorn")
    verify = F.verify_socket(host, info.path)
    lost = "A chown/chmod/setfacl on the live socket is lost the next time its creator re-creates the node."
    if p is not None and p.component == "systemd":
        ch = {"SocketMode": "0660"} if mode_only else {"SocketGroup": wg, "SocketMode": "0660"}
        d = _cfg_diff(p, ch, section="Socket", sep="=")
        out.append(Fix("", 0, f"Create the socket with group {wg}, mode 0660, in {F.unit_name(p.config.path)}",
                       commands=F.restart_for(host, p), diffs=[d] if d else [], verify=verify, layer="systemd",
                       notes=["systemd creates the node: no group membership changes anywhere.", lost]))
        if not mode_only and node and node.group and node.group not in BROAD and node.group != wg:
            d2 = _cfg_diff(p, {"SocketUser": node.owner or "root", "SocketGroup": node.group, "SocketMode": "0660"},
                           section="Socket", sep="=")
            out.append(Fix("", 0, f"Keep group {node.group} and add {wu} to it",
                           commands=[f"usermod -aG {q(node.group)} {F.positional(wu)}"] + F.restart_for(host, p) + F.nginx_reload(host),
                           diffs=[d2] if d2 else [], verify=verify, layer="systemd",
                           notes=[f"{wu} gains everything else group {node.group} can read or write on this host."]))
    elif p is not None and p.component == "php-fpm":
        ch = {"listen.mode": "0660"} if mode_only else {"listen.owner": wu, "listen.group": wg, "listen.mode": "0660"}
        d = _cfg_diff(p, ch)
        out.append(Fix("", 0, f"Have PHP-FPM create the socket as {wu}:{wg} 0660",
                       commands=F.restart_for(host, p) + F.nginx_reload(host), diffs=[d] if d else [], verify=verify,
                       layer="php-fpm", notes=["The PHP-FPM master must run as root to chown the socket.", lost]))
    elif p is not None and p.component == "uwsgi":
        app = _uwsgi_user(p) or (node.owner if node else None) or "app"
        ch = {"chmod-socket": "660"} if mode_only or (node and node.group == wg) else {"chown-socket": f"{app}:{wg}", "chmod-socket": "660"}
        d = _cfg_diff(p, ch, section="uwsgi")
        out.append(Fix("", 0, "Have uWSGI create the socket group-writable (chmod-socket = 660)",
                       commands=F.restart_for(host, p), diffs=[d] if d else [], verify=verify, layer="uwsgi",
                       notes=["Never a bare chmod-socket: uWSGI reads it as 666.", lost]))
        if mode_only:
            d2 = _cfg_diff(p, {"umask": "007"}, section="uwsgi")
            out.append(Fix("", 0, "Or set uWSGI's umask to 007 so the socket is created rwxrwx---",
                           commands=F.restart_for(host, p), diffs=[d2] if d2 else [], verify=verify, layer="uwsgi"))
    elif p is not None and p.component in ("gunicorn", "puma", "unicorn"):
        unit = p.unit or F._service_running(host, p)
        diffs = []
        if unit is not None:
            d = edit.ini_edit(unit, {"Group": wg}, section="Service", sep="=")
            if d:
                diffs.append(d)
        out.append(Fix("", 0, f"Run {p.component} with group {wg} and umask 007 so it creates the socket {{app}}:{wg} 0770",
                       commands=F.restart_for(host, p), diffs=diffs, verify=verify, layer=p.component,
                       notes=[f"{p.component} chowns its socket to its own user and group and applies its own umask (--umask 007)."]))
    if not out and node is not None and node.group and node.group not in BROAD:
        out.append(Fix("", 0, f"Add {wu} to the socket's group {node.group}",
                       commands=[f"usermod -aG {q(node.group)} {F.positional(wu)}"] + F.nginx_reload(host),
                       verify=verify, layer="group database",
                       notes=[f"{wu} gains everything else group {node.group} can reach.",
                              "Find the component that creates the socket and give it the nginx group there; " + lost]))
    return out


def _uwsgi_user(p):
    cfg = p.config
    if isinstance(cfg, R.ConfigFile):
        s = cfg.get("uid")
        return s.value if s else None
    return None


def worker_not_in_socket_group(host, finding):
    return group_access(host, finding)


def socket_mode_too_strict(host, finding):
    return group_access(host, finding, mode_only=True)


def stale_worker_groups(host, finding):
    info = _info(host, finding)
    u = F.worker_user(host)
    return [Fix("", 0, "Reload nginx so new workers call initgroups() again",
                commands=["nginx -t", "systemctl reload nginx  # or: nginx -s reload"] if host.worker.master_root is not False
                else ["nginx -t", "systemctl restart nginx"],
                verify=["for W in $(pgrep -P \"$(cat /run/nginx.pid)\"); do grep -E '^(Uid|Gid|Groups)' /proc/$W/status; done"
                        "  # new worker PIDs list the socket's gid in Groups"] + (F.verify_socket(host, info.path) if info else []),
                layer="nginx", notes=[f"The group database already grants {u} the group; running workers keep the groups they started with.",
                                      "If nscd or sssd caches groups: nscd -i group / sss_cache -E before the reload."])]


def container_id_mismatch(host, finding):
    info = _info(host, finding)
    out = []
    comp = next((c for c in host.containers if c.kind == "compose_service" and not (c.image or "").startswith("nginx")), None)
    web = next((c for c in host.containers if (c.image or "").startswith("nginx")), None)
    node = info.node if info else None
    nginx_gid = host.worker.creds.gid if host.worker.creds and host.worker.creds.gid is not None else 101
    diffs = []
    if comp is not None and comp.lines:
        lines = list(comp.lines)
        new = list(lines)
        for s in comp.settings:
            if s.key == "user":
                i = s.source.line - comp.first_line
                if 0 <= i < len(new):
                    uid = (comp.user or "1000").split(":")[0]
                    new[i] = new[i].split("user:")[0] + f'user: "{uid}:{nginx_gid}"'
        if web is not None:
            for s in web.settings:
                if s.key == "group_add":
                    i = s.source.line - comp.first_line
                    j = i + 1
                    while j < len(new) and new[j].strip().startswith("- "):
                        new[j] = None
                        j += 1
                    if 0 <= i < len(new):
                        new[i] = None
        new = [l for l in new if l is not None]
        if new != lines:
            diffs.append(edit.diff_lines(comp.path, lines, new))
    out.append(Fix("", 0, f"Create the socket with nginx's gid {nginx_gid} (api runs as user \"UID:{nginx_gid}\")",
                   commands=["docker compose up -d --force-recreate"], diffs=diffs,
                   verify=["docker compose exec web ls -ln /sock", "docker compose exec web grep Groups /proc/$(pgrep -f 'nginx: worker' | head -1)/status",
                           "curl -sS -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:8080/"],
                   layer="docker-compose",
                   notes=["Keep --umask 007: the socket stays closed to other users.",
                          "group_add reaches only nginx's root master; each worker's initgroups() replaces it, so remove it."]))
    gid = node.gid if node and node.gid is not None else 1000
    out.append(Fix("", 0, f"Or give nginx a group with the socket's gid {gid} inside the nginx image",
                   commands=[f"# in the nginx image's Dockerfile (Alpine): RUN addgroup -g {F.one_line(gid)} appsock && addgroup nginx appsock",
                             "docker compose up -d --build"],
                   verify=["docker compose exec web id nginx"], layer="container image"))
    return out


def worker_user_unexpected(host, finding):
    ud = host.user_directive
    out = []
    if ud and ud[2]:
        path, line = ud[2]
        lines = None
        for n in host.nginx:
            lines = n.files.get(path) if hasattr(n.files, "get") else None
            if lines:
                break
        user = ud[0][0]
        info = _info(host, finding)
        group = info.node.group if info and info.node and info.node.group else "www-data"
        for new in (f"user {user} {group};", f"user {group};" if group not in BROAD else None):
            if not new:
                continue
            d = edit.line_edit(path, lines, line - 1, new) if lines else edit.snippet(path, [f"user {user};"], [new])
            out.append(Fix("", 0, f"Name the group explicitly: `{new}`", commands=F.nginx_reload(host) + ["systemctl reload nginx"],
                           diffs=[d] if d else [], verify=["ps -o user,group,pid -C nginx"] + (F.verify_socket(host, info.path) if info else []),
                           layer="nginx", notes=["`user X;` without a group makes nginx use the group NAMED X, never X's passwd primary group."]))
    return out


def acl_denies(host, finding):
    info = _info(host, finding)
    p = _producer(info, "php-fpm")
    wu = F.worker_user(host)
    out = []
    if p is not None:
        cur = p.config.get("listen.acl_users")
        users = [u.strip() for u in (cur.value if cur and cur.value else "").split(",") if u.strip()]
        if wu not in users:
            users.append(wu)
        d = _cfg_diff(p, {"listen.acl_users": ",".join(users)})
        out.append(Fix("", 0, f"Add {wu} to PHP-FPM's listen.acl_users",
                       commands=["php-fpm -t", "systemctl restart php-fpm"], diffs=[d] if d else [],
                       verify=[f"getfacl -p {q(info.path)}"] + F.verify_socket(host, info.path), layer="php-fpm"))
        named = [u for u in users if u != wu]
        ud = host.user_directive
        if named and ud and ud[2]:
            path, line = ud[2]
            lines = next((n.files.get(path) for n in host.nginx if hasattr(n.files, "get") and n.files.get(path)), None)
            alt = "nginx" if "nginx" in named else named[0]
            d2 = edit.line_edit(path, lines, line - 1, f"user {alt};") if lines else None
            out.append(Fix("", 0, f"Or run the nginx workers as {alt}, whom the ACL already names",
                           commands=F.nginx_reload(host), diffs=[d2] if d2 else [], verify=F.verify_socket(host, info.path), layer="nginx"))
    elif info:
        out.append(Fix("", 0, "Fix the ACL where the socket is created",
                       commands=[f"getfacl -p {q(info.path)}"], verify=F.verify_socket(host, info.path), layer="acl",
                       notes=["setfacl on the live node is lost when the socket is re-created; set the creator's mode/umask so the mask keeps w."]))
    return out


def move_to_run(host, finding, *, reason: str):
    info = _info(host, finding)
    if info is None:
        return []
    app = F.app_name(host, info)
    new_dir = f"/run/{app}"
    new_path = f"{new_dir}/{posixpath.basename(info.path.lstrip('@')) if not info.path.startswith('@') else 'uwsgi.sock'}"
    wg = F.worker_group(host)
    p = _producer(info)
    diffs = []
    notes = [reason]
    cmds: list[str] = []
    if p is not None and p.component == "php-fpm":
        new_dir = "/run/php-fpm" if "php-fpm.d" in (p.config.path or "") else "/run/php"
        pool = next((st.section for st in p.config.settings if st.section and st.section != "global"), None)
        new_path = f"{new_dir}/{pool}.sock" if pool else f"{new_dir}/{posixpath.basename(info.path)}"
        d = _cfg_diff(p, {"listen": new_path, "listen.owner": F.worker_user(host), "listen.group": wg, "listen.mode": "0660"}) \
            if not p.config.get("listen.acl_users") else _cfg_diff(p, {"listen": new_path})
        if d:
            diffs.append(d)
        cmds = F.restart_for(host, p)
    elif p is not None and p.component == "uwsgi":
        d = _cfg_diff(p, {"socket": new_path, "chmod-socket": "660", "chown-socket": f"{_uwsgi_user(p) or app}:{wg}"}, section="uwsgi")
        if d:
            diffs.append(d)
        cmds = [f"install -d -m 0755 {q(new_dir)}  # or RuntimeDirectory={F.one_line(app)} in the unit"] + F.restart_for(host, p)
    elif p is not None and p.component in ("gunicorn", "puma", "unicorn"):
        cmds = F.restart_for(host, p)
        notes.append(f"Bind {p.component} to unix:{new_path} with umask 007 and group {wg}.")
    diffs += F.nginx_repoint(host, info, new_path)
    directive = info.refs[0].directive if info.refs else "proxy_pass"
    if not F.nginx_repoint(host, info, new_path):
        target = f"unix:{new_path}" if directive != "proxy_pass" else f"http://unix:{new_path}"
        cmds.append(F.one_line(f"# nginx: {directive} {target};"))
    cmds += F.nginx_reload(host)
    out = [Fix("", 0, f"Move the socket to {new_path}", commands=cmds, diffs=diffs,
               verify=F.verify_socket(host, new_path), layer=p.component if p else "nginx", notes=notes)]
    # socket activation: systemd creates the node with the nginx group
    sock_unit = f"[Socket]\nListenStream={new_path}\nSocketUser=root\nSocketGroup={wg}\nSocketMode=0660\nDirectoryMode=0755"
    unit_path = f"/etc/systemd/system/{app}.socket"
    if F.unit_safe(new_path, wg):  # a newline in a value would add lines to the unit
        out.append(Fix("", 0, f"Or let systemd create it: {app}.socket with SocketGroup={wg}, SocketMode=0660",
                       commands=[F.write_file(unit_path, f"{sock_unit}\n[Install]\nWantedBy=sockets.target"),
                                 "systemctl daemon-reload", f"systemctl enable --now {q(app + '.socket')}"] + F.nginx_reload(host),
                       diffs=[edit.snippet(unit_path, [], sock_unit.split("\n") + ["[Install]", "WantedBy=sockets.target"])],
                       verify=F.verify_socket(host, new_path), layer="systemd",
                       notes=["Remove the app's own socket= / --bind so it takes fd 3 from systemd."]))
    return out


def parent_dir_no_search(host, finding):
    out = move_to_run(host, finding, reason="A socket does not belong under a home directory; leave the home directory's mode alone.")
    return out


def protected_symlinks(host, finding):
    return move_to_run(host, finding, reason="Point nginx at the real path and remove the symlink in the sticky directory.")


def selinux_denied(host, finding):
    info = _info(host, finding)
    d = posixpath.dirname(info.path) if info else "/run/app"
    return [Fix("", 0, f"Label {d} httpd_var_run_t persistently",
                commands=[f"semanage fcontext -a -t httpd_var_run_t {q(d + '(/.*)?')}", f"restorecon -Rv {q(d)}"],
                verify=[f"ls -Zd {q(d)}", "ausearch -m AVC,USER_AVC -c nginx -ts recent", "getenforce  # still Enforcing"]
                + (F.verify_socket(host, info.path)[3:4] if info else []),
                layer="selinux",
                notes=["If a { connectto } denial for the app's domain (unconfined_service_t) follows, allow exactly that with a reviewed "
                       "local module (ausearch -m AVC -c nginx --raw | audit2allow -M nginx_app_sock; read the .te; semodule -i), "
                       "or confine the app in its own domain.",
                       "Booleans such as httpd_can_network_connect are for TCP and do not help."])]


def apparmor_denied(host, finding):
    info = _info(host, finding)
    den = next((a for a in host.apparmor if a.name == finding.socket), None)
    prof_name = "usr.sbin.nginx"
    if den and den.profile and den.profile.startswith("/"):
        prof_name = den.profile.lstrip("/").replace("/", ".")
    local = f"/etc/apparmor.d/local/{prof_name}"
    rule_line = f"{info.path} rw,"
    diffs = []
    cfg = next((c for c in host.configs if c.kind == "apparmor_profile" and c.path.endswith("/local/" + prof_name)), None)
    if cfg is not None:
        diffs.append(edit.diff_lines(cfg.path, list(cfg.lines), list(cfg.lines) + [rule_line]))
    return [Fix("", 0, "Allow exactly this socket in nginx's AppArmor local include",
                commands=[f"echo {q(rule_line)} >> {q(local)}", f"apparmor_parser -r {q('/etc/apparmor.d/' + prof_name)}"],
                diffs=diffs, verify=["aa-status | grep -A3 nginx  # still in enforce mode",
                                     "dmesg | grep 'apparmor=\"DENIED\"' | tail  # no new line"] + F.verify_socket(host, info.path)[3:4],
                layer="apparmor")]


# --- ENOENT and friends --------------------------------------------------------------------------

def socket_path_mismatch(host, finding):
    info = _info(host, finding)
    if info and info.path.startswith("@"):
        return move_to_run(host, finding, reason="Stock nginx cannot reach abstract sockets; use a pathname socket.")
    p = next((p for s in host.sockets.values() if s is not info for p in s.producers), None)
    if p is None or info is None:
        return []
    return [Fix("", 0, f"Point nginx at {p.path}", commands=F.nginx_reload(host), diffs=F.nginx_repoint(host, info, p.path),
                verify=F.verify_socket(host, p.path), layer="nginx")]


def private_namespace(host, finding):
    from sockdoctor.rules.private_namespace import PRIVATE_TMP, PROTECTED_HOME, unseen_by_worker

    info = _info(host, finding)
    unseen = unseen_by_worker(host, info.path) if info else None
    if unseen is None or info.path.startswith(PRIVATE_TMP + PROTECTED_HOME):
        return move_to_run(host, finding, reason="nginx has a private /tmp (PrivateTmp=); keep it and move the socket to /run.")
    pid = int(unseen.data["pid"])
    pid_file = unseen.data.get("pid_file")
    # after the fix nginx has new workers (and, restarted, a new master): ask the pid file then
    seen_by = f'"$(cat {q(pid_file)})"' if pid_file and pid_file.startswith("/") else str(pid)
    d = posixpath.dirname(info.path) or "/"
    return [Fix("", 0, f"Let nginx see {d} as the app server does",
                commands=[f"findmnt -N {pid} --target {q(d)}  # what nginx's worker sees there",
                          f"findmnt --target {q(d)}  # what this shell sees",
                          "systemctl show nginx -p PrivateTmp -p ProtectHome -p ProtectSystem -p TemporaryFileSystem "
                          "-p InaccessiblePaths -p BindPaths -p RootDirectory"],
                verify=[f"nsenter -t {seen_by} -m test -S {q(info.path)} && echo 'nginx sees the socket'"],
                layer="systemd",
                notes=["The mount that findmnt shows for nginx but not for this shell hides the socket.",
                       f"Share only {d} with nginx: BindPaths={d} in a drop-in of nginx.service, or the same "
                       f"volume at {d} in both containers; do not turn PrivateTmp= or ProtectHome= off.",
                       "After changing nginx.service: systemctl daemon-reload && systemctl restart nginx "
                       "(a reload keeps the old namespace)."])]


def upstream_not_running(host, finding):
    info = _info(host, finding)
    unit = F.app_service(host)
    out = []
    if unit is not None:
        name = F.unit_name(unit.path)
        diffs = []
        g = unit.get("Group")
        reason = " ".join(f.source.text for f in host.facts if f.kind in ("unit_failed", "unit_status"))
        if g and ("GROUP" in reason or "group" in reason.lower()):
            d = edit.ini_edit(unit, {"Group": F.worker_group(host)}, section="Service", sep="=")
            if d:
                diffs.append(d)
        out.append(Fix("", 0, f"Fix and start {name}",
                       commands=["systemctl daemon-reload", f"systemctl reset-failed {q(name)}", f"systemctl restart {q(name)}",
                                 f"journalctl -u {q(name)} -n 20 --no-pager"],
                       diffs=diffs, verify=[f"systemctl is-active {q(name)}"] + (F.verify_socket(host, info.path) if info else []),
                       layer="systemd", notes=["Keep --umask 007 so the socket is not world-writable."]))
    elif info:
        out.append(Fix("", 0, "Start the app server that creates the socket", commands=["systemctl --failed"],
                       verify=[f"ss -xlp | grep -F {q(info.path)}"], layer="service"))
    return out


def stale_socket_no_listener(host, finding):
    info = _info(host, finding)
    unit = F.app_service(host)
    out = []
    if unit is not None:
        name = F.unit_name(unit.path)
        diffs = []
        if not unit.get("Restart"):
            d = edit.ini_edit(unit, {"Restart": "on-failure", "RestartSec": "2"}, section="Service", sep="=")
            if d:
                diffs.append(d)
        out.append(Fix("", 0, f"Start {name} again and let systemd restart it after a crash",
                       commands=["systemctl daemon-reload", f"systemctl restart {q(name)}"], diffs=diffs,
                       verify=[f"ss -xlp | grep -F {q(info.path)}"] + F.verify_socket(host, info.path)[3:4],
                       layer="systemd",
                       notes=(["The kernel OOM-killed the server: look at its memory use (workers, threads, MemoryMax=, host size)."]
                              if host.fact("oom_kill") else []) + ["Bind-mount directories, not single socket files."]))
    elif info:
        out.append(Fix("", 0, "Restart the app server so something listens again",
                       commands=[f"ss -xlp | grep -F {q(info.path)}", "# restart the service that binds " + F.one_line(info.path)],
                       verify=[f"ss -xlp | grep -F {q(info.path)}"], layer="service"))
    return out


def not_a_socket(host, finding):
    info = _info(host, finding)
    return [Fix("", 0, f"Remove the non-socket file {info.path} and restart its creator",
                commands=[f"rm -- {q(info.path)}", "# restart the app server (or its .socket unit)"],
                verify=[f"stat -c %F {q(info.path)}  # socket"], layer="filesystem")]


def listen_backlog_full(host, finding):
    info = _info(host, finding)
    p = _producer(info)
    somax = host.sysctl.get("net.core.somaxconn")
    limit = int(somax.value) if somax and somax.value.strip().isdigit() else 4096
    backlog = min(1024, limit)
    out = []
    if p is not None and p.component == "uwsgi":
        d = _cfg_diff(p, {"listen": str(backlog), "harakiri": "30"}, section="uwsgi")
        out.append(Fix("", 0, f"Raise uWSGI's accept queue to {backlog} and stop stuck requests from holding workers",
                       commands=F.restart_for(host, p), diffs=[d] if d else [],
                       verify=[f"ss -xl | grep -F {q(info.path)}  # Send-Q shows the new backlog"], layer="uwsgi",
                       notes=[f"The backlog must stay within net.core.somaxconn ({limit}).",
                              "This is capacity, not permissions: leave the socket's owner and mode alone; add workers if the load needs them."]))
    else:
        key = {"gunicorn": "--backlog", "php-fpm": "listen.backlog", "systemd": "Backlog="}.get(p.component if p else "", "backlog")
        out.append(Fix("", 0, f"Raise the listener's backlog ({key}) within net.core.somaxconn ({limit}) and add capacity",
                       commands=[F.one_line(f"# set {key} {backlog}"), "# then restart the app server"],
                       verify=[f"ss -xl | grep -F {q(info.path)}"], layer=p.component if p else "service"))
    return out


def socket_type_mismatch(host, finding):
    info = _info(host, finding)
    p = _producer(info, "systemd")
    diffs = []
    if p is not None and p.setting:
        i = p.setting.source.line - p.config.first_line
        d = edit.line_edit(p.config.path, p.config.lines, i, f"ListenStream={info.path}")
        if d:
            diffs.append(d)
    return [Fix("", 0, "Use a stream socket (ListenStream=)", commands=F.restart_for(host, p) if p else [], diffs=diffs,
                verify=[f"ss -xl | grep -F {q(info.path)}  # u_str"], layer="systemd")]


def runtime_directory_lifecycle(host, finding):
    info = _info(host, finding)
    app = F.app_name(host, info)
    new_path = f"/run/{app}-sock/{posixpath.basename(info.path)}"
    p = _producer(info, "systemd")
    diffs = []
    if p is not None:
        d = _cfg_diff(p, {"ListenStream": new_path, "DirectoryMode": "0755"}, section="Socket", sep="=")
        if d:
            diffs.append(d)
    diffs += F.nginx_repoint(host, info, new_path)
    return [Fix("", 0, f"Give the socket its own directory ({posixpath.dirname(new_path)})",
                commands=(F.restart_for(host, p) if p else []) + F.nginx_reload(host), diffs=diffs,
                verify=F.verify_socket(host, new_path), layer="systemd")]


def duplicate_socket_owner(host, finding):
    return [Fix("", 0, "Give each server its own socket path and remove the stale configuration",
                commands=["# disable the old pool/unit, then restart the remaining server"], layer="service")]


def server_cannot_create_socket(host, finding):
    return move_to_run(host, finding, reason="Let systemd (a .socket unit) or a root master create the socket in /run.")


# --- insecure ------------------------------------------------------------------------------------

def world_writable_socket(host, finding):
    info = _info(host, finding)
    if info is None:
        return []
    wg, wu = F.worker_group(host), F.worker_user(host)
    p = _producer(info, "systemd") or _producer(info)
    verify = F.verify_socket(host, info.path)
    if p is None:
        return [Fix("", 0, "Find the socket's creator and give it group access only",
                    commands=[f"stat -c '%A %U:%G' {q(info.path)}"], verify=verify, layer="unknown",
                    notes=["Set the creator's mode/umask (SocketMode=0660, listen.mode = 0660, chmod-socket = 660, --umask 007) and group."])]
    if p.component == "systemd":
        d = _cfg_diff(p, {"SocketGroup": wg, "SocketMode": "0660"}, section="Socket", sep="=")
        return [Fix("", 0, f"SocketGroup={wg}, SocketMode=0660 in {F.unit_name(p.config.path)}", commands=F.restart_for(host, p),
                    diffs=[d] if d else [], verify=verify, layer="systemd")]
    if p.component == "php-fpm":
        d = _cfg_diff(p, {"listen.owner": wu, "listen.group": wg, "listen.mode": "0660"})
        return [Fix("", 0, "listen.mode = 0660 with the nginx group", commands=F.restart_for(host, p), diffs=[d] if d else [],
                    verify=verify, layer="php-fpm")]
    if p.component == "uwsgi":
        if posixpath.dirname(info.path).startswith("/home/"):
            return []  # the move to /run (parent_dir_no_search) already sets chmod-socket = 660
        d = _cfg_diff(p, {"chmod-socket": "660", "chown-socket": f"{_uwsgi_user(p) or 'app'}:{wg}"}, section="uwsgi")
        return [Fix("", 0, "chmod-socket = 660 with the nginx group", commands=F.restart_for(host, p), diffs=[d] if d else [],
                    verify=verify, layer="uwsgi")]
    if p.component in ("gunicorn", "puma", "unicorn"):
        out = []
        app = F.app_name(host, info)
        sock_unit = f"[Socket]\nListenStream={info.path}\nSocketUser=root\nSocketGroup={wg}\nSocketMode=0660"
        if F.unit_safe(info.path, wg):  # a newline in a value would add lines to the unit
            out.append(Fix("", 0, f"Socket activation: {app}.socket with SocketGroup={wg}, SocketMode=0660",
                           commands=[F.write_file('/etc/systemd/system/' + app + '.socket', f"{sock_unit}\n[Install]\nWantedBy=sockets.target"),
                                     "systemctl daemon-reload", f"systemctl enable --now {q(app + '.socket')}",
                                     f"systemctl restart {q(app + '.service')}"],
                           diffs=[edit.snippet(f"/etc/systemd/system/{app}.socket", [], sock_unit.split("\n"))],
                           verify=verify, layer="systemd",
                           notes=[f"Drop the bind from the {p.component} config: it takes fd 3 from systemd and never chmods the node."]))
        diffs = []
        if isinstance(p.config, R.ConfigFile) and p.component == "gunicorn":
            d = edit.ini_edit(p.config, {"umask": "0o007"}, sep=" = ")
            if d:
                diffs.append(d)
        unit = p.unit or F._service_running(host, p)
        if unit is not None:
            d = edit.ini_edit(unit, {"Group": wg}, section="Service", sep="=")
            if d:
                diffs.append(d)
        out.append(Fix("", 0, f"Or: {p.component} umask 007 (--umask 007) and Group={wg} in its unit",
                       commands=["systemctl daemon-reload"] + ([f"systemctl restart {q(F.unit_name(unit.path))}"] if unit else []),
                       diffs=diffs, verify=verify, layer=p.component,
                       notes=[f"systemd's UMask= does not reach the socket: {p.component} sets its own umask around bind()."]))
        return out
    return []


def worker_runs_as_root(host, finding):
    ud = host.user_directive
    default = {"debian": "www-data"}.get(host.distro or "", "www-data" if not host.distro else "nginx")
    diffs = []
    if ud and ud[2]:
        path, line = ud[2]
        lines = next((n.files.get(path) for n in host.nginx if hasattr(n.files, "get") and n.files.get(path)), None)
        if lines:
            d = edit.line_edit(path, lines, line - 1, f"user {default};")
            if d:
                diffs.append(d)
    return [Fix("", 0, f"Run workers as {default}", commands=F.nginx_reload(host), diffs=diffs,
                verify=["ps -o user= -C nginx"], layer="nginx")]


def broad_group_membership(host, finding):
    u = F.worker_user(host)
    groups = [g for g in BROAD if g in finding.summary]
    return [Fix("", 0, f"Remove {u} from {', '.join(groups)}",
                commands=[f"gpasswd -d {q(u)} {F.positional(g)}" for g in groups] + F.nginx_reload(host),
                verify=[f"id {q(u)}"], layer="group database")]


def socket_in_shared_tmp(host, finding):
    if any(f for f in [finding] if host.sockets.get(finding.socket) and 2 in host.sockets[finding.socket].errnos):
        return []  # the ENOENT plan already moves it
    return move_to_run(host, finding, reason="Sockets belong in /run/<app>/, not in a world-writable sticky directory.")


PLANNERS = {name: fn for name, fn in globals().items()
            if callable(fn) and not name.startswith("_") and name in __import__("sockdoctor.rules", fromlist=["CAUSES"]).CAUSES}
