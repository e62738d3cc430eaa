"""One model of the host, built from all evidence whatever its source (paste, files, live host).

The rules read only this. Gaps are filled with the defaults from domain/facts.md and every
assumption is written to ``Host.assumptions`` so the trace can say so.
"""
from __future__ import annotations

import posixpath

from sockdoctor._dataclass import dataclass, field
from sockdoctor import access
from sockdoctor.evidence import records as R

DISTRO_NGINX_USER = {"debian": "www-data", "rhel": "nginx", "alpine": "nginx", "nginx.org": "nginx"}
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")


@dataclass
class Producer:
    """A component configured to create (bind) a socket path."""
    component: str  # systemd php-fpm uwsgi gunicorn puma unicorn docker-compose kubernetes
    path: str | None
    config: object  # ConfigFile, CommandLine or ContainerSpec
    setting: R.Setting | None = None  # the setting that names the path
    unit: R.ConfigFile | None = None  # systemd .service that runs it, when known


@dataclass
class SocketInfo:
    path: str
    refs: list[R.NginxSocketRef] = field(default_factory=list)
    events: list[R.ErrorLogEvent] = field(default_factory=list)
    node: R.FileNode | None = None
    acl: R.AclRecord | None = None
    listeners: list[R.Listener] = field(default_factory=list)
    producers: list[Producer] = field(default_factory=list)

    @property
    def errnos(self) -> list[int]:
        if not self.events:
            return []
        return [e.errno for e in self.events if e.errno is not None]

    @property
    def errno(self) -> int | None:
        errs = self.errnos
        return errs[-1] if errs else None


@dataclass
class Worker:
    user: str | None
    creds: access.Creds | None  # what the running workers have (proc status when shown)
    db_creds: access.Creds | None  # what a fresh worker would get from the group database
    basis: str  # how creds were learned
    evidence: list[R.Source] = field(default_factory=list)
    master_root: bool | None = True
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Host:
    ev: object
    nginx: list[R.NginxConfigRecord]
    sockets: dict[str, SocketInfo]
    worker: Worker
    distro: str | None
    distro_basis: str
    assumptions: list[str]
    configs: list[R.ConfigFile]
    commands: list[R.CommandLine]
    containers: list[R.ContainerSpec]
    facts: list[R.LogFact]
    nodes: dict[str, R.FileNode]
    basename_nodes: dict[str, list[R.FileNode]]
    user_directive: tuple[tuple[str, ...], R.Source | None, tuple[str, int] | None] | None
    notices: list[R.NginxNotice]
    groups: list[R.GroupRecord]
    passwd: list[R.PasswdRecord]
    ids: list[R.IdRecord]
    proc: list[R.ProcStatus]
    processes: list[R.ProcessRecord]
    avcs: list[R.AvcDenial]
    apparmor: list[R.AppArmorDenial]
    mac: list[R.MacStatus]
    sysctl: dict[str, R.SysctlRecord]
    commands_run: list[R.CommandRun]
    static_only: bool = False

    def fact(self, kind: str) -> list[R.LogFact]:
        return [f for f in self.facts if f.kind == kind]

    def units(self, suffix: str) -> list[R.ConfigFile]:
        return [c for c in self.configs if c.kind == "systemd_unit" and c.path.endswith(suffix)]


def _norm(path: str | None) -> str | None:
    if not path:
        return path
    return posixpath.normpath(path) if path.startswith("/") else path


def _unix_from_bind(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip().strip("'\"")
    for prefix in ("unix://", "unix:"):
        if v.startswith(prefix):
            return _norm(v[len(prefix):].split("?")[0])
    if v.startswith("/") or v.startswith("@"):
        return _norm(v)
    return None


def _producers(configs, commands, containers) -> list[Producer]:
    out: list[Producer] = []
    services = {c.path.rsplit("/", 1)[-1]: c for c in configs if c.kind == "systemd_unit" and c.path.endswith(".service")}
    for c in configs:
        if c.kind == "systemd_unit" and c.path.endswith(".socket"):
            for s in c.get_all("ListenStream") + c.get_all("ListenDatagram") + c.get_all("ListenSequentialPacket"):
                svc_name = (c.get("Service").value if c.get("Service") else c.path.rsplit("/", 1)[-1][:-7] + ".service")
                out.append(Producer("systemd", _norm(s.value), c, s, services.get(svc_name)))
        elif c.kind == "php_fpm":
            for s in c.get_all("listen"):
                if s.value and (s.value.startswith("/") or s.value.startswith("@")):
                    out.append(Producer("php-fpm", _norm(s.value), c, s))
        elif c.kind == "uwsgi":
            for key in ("socket", "uwsgi-socket", "http-socket", "fastcgi-socket", "shared-socket"):
                for s in c.get_all(key):
                    p = _unix_from_bind(s.value)
                    if p:
                        out.append(Producer("uwsgi", p, c, s))
        elif c.kind == "gunicorn":
            for s in c.get_all("bind"):
                for v in _gunicorn_binds(s.value):
                    p = _unix_from_bind(v)
                    if p:
                        out.append(Producer("gunicorn", p, c, s))
        elif c.kind in ("puma", "unicorn"):
            for key in ("bind", "listen"):
                for s in c.get_all(key):
                    p = _unix_from_bind(s.value)
                    if p:
                        out.append(Producer(c.kind, p, c, s))
    for cmd in commands:
        keys = {"gunicorn": ("bind",), "uwsgi": ("socket", "uwsgi-socket", "http-socket"), "puma": ("bind",),
                "unicorn": ("listen",)}.get(cmd.program, ())
        for name, value in cmd.options:
            if name in keys:
                p = _unix_from_bind(value)
                if p:
                    unit = None
                    for svc in services.values():
                        if any(s.source == cmd.source for s in svc.settings):
                            unit = svc
                    out.append(Producer(cmd.program, p, cmd, None, unit))
    return out


def _gunicorn_binds(value: str | None) -> list[str]:
    if not value:
        return []
    v = value.strip()
    if v.startswith("["):
        return [x.strip().strip("'\"") for x in v.strip("[]").split(",") if x.strip()]
    return [v.strip("'\"")]


def _infer_distro(ev, nginx, processes, configs, containers, explicit: str | None) -> tuple[str | None, str]:
    if explicit:
        return explicit, "given with --distro"
    texts = []
    for c in configs:
        texts.append(c.path)
    for p in processes:
        texts.append(p.command)
    for n in nginx:
        texts.extend(n.files.keys() if hasattr(n.files, "keys") else [])
    blob = " ".join(texts)
    for cont in containers:
        img = (cont.image or "").lower()
        if "alpine" in img:
            return "alpine", f"image {cont.image} ({cont.source.ref()})"
        if img.startswith("nginx"):
            return "nginx.org", f"image {cont.image} ({cont.source.ref()})"
    if "/etc/php-fpm.d/" in blob:
        return "rhel", "PHP-FPM pool under /etc/php-fpm.d/"
    if "sites-enabled" in blob or "/etc/php/" in blob:
        return "debian", "Debian-style paths (sites-enabled, /etc/php/X.Y)"
    return None, "no distro evidence"


def build(ev, *, distro: str | None = None, nginx_user: str | None = None, static_only: bool = False) -> Host:
    by_type: dict[type, list] = {}
    for r in ev.records:  # records are plain classes (no subclasses): one pass instead of one per kind
        by_type.setdefault(type(r), []).append(r)

    def of(cls: type) -> list:
        return list(by_type.get(cls, ()))
    nginx = of(R.NginxConfigRecord)
    configs = of(R.ConfigFile)
    commands = of(R.CommandLine)
    containers = of(R.ContainerSpec)
    processes = of(R.ProcessRecord)
    facts = of(R.LogFact)
    assumptions: list[str] = []

    nodes: dict[str, R.FileNode] = {}
    basename_nodes: dict[str, list[R.FileNode]] = {}
    for n in of(R.FileNode):
        if n.path and n.path.startswith("/"):
            p = _norm(n.path)
            # namei/stat/ls of the same path: the later, more detailed record wins unless it knows less
            if p not in nodes or nodes[p].mode is None or n.type == "missing" and nodes[p].type == "missing":
                nodes[p] = n
            elif n.mode is not None:
                nodes[p] = n
        if n.path and n.path not in (".", ".."):
            basename_nodes.setdefault(posixpath.basename(n.path), []).append(n)

    distro_name, distro_basis = _infer_distro(ev, nginx, processes, configs, containers, distro)

    user_directive = None
    for n in nginx:
        if n.user:
            user_directive = (n.user, n.user_source, n.user_file_line)

    sockets: dict[str, SocketInfo] = {}

    def sock(path: str) -> SocketInfo:
        path = _norm(path)
        if path not in sockets:
            sockets[path] = SocketInfo(path)
        return sockets[path]

    for n in nginx:
        for ref in n.sockets:
            if ref.listen:
                continue
            if ref.path:
                sock(ref.path).refs.append(ref)
    for e in of(R.ErrorLogEvent):
        if e.socket:
            sock(e.socket).events.append(e)
    producers = _producers(configs, commands, containers)
    for p in producers:
        if p.path and (p.path in sockets or not sockets):
            sock(p.path).producers.append(p)
        elif p.path:
            # a producer of a path nginx does not name: keep it for mismatch/insecure checks
            sock(p.path).producers.append(p)
    for lst in of(R.Listener):
        if lst.path and _norm(lst.path) in sockets:
            sockets[_norm(lst.path)].listeners.append(lst)
    acls = of(R.AclRecord)
    for path, info in sockets.items():
        node = nodes.get(path)
        if node is None:
            cands = [c for c in basename_nodes.get(posixpath.basename(path), []) if not (c.path or "").startswith("/")]
            node = cands[-1] if cands else None
        info.node = node
        for a in acls:
            if a.path and (_norm(a.path) == path or posixpath.basename(a.path) == posixpath.basename(path)):
                info.acl = a
    for info in sockets.values():
        if info.node is None:
            info.node = _predicted_node(info)
    worker = _worker(ev, of, user_directive, processes, nginx_user, distro_name, assumptions, static_only)

    return Host(
        ev=ev, nginx=nginx, sockets=sockets, worker=worker, distro=distro_name, distro_basis=distro_basis,
        assumptions=assumptions, configs=configs, commands=commands, containers=containers, facts=facts,
        nodes=nodes, basename_nodes=basename_nodes, user_directive=user_directive,
        notices=of(R.NginxNotice), groups=of(R.GroupRecord), passwd=of(R.PasswdRecord), ids=of(R.IdRecord),
        proc=of(R.ProcStatus), processes=processes, avcs=of(R.AvcDenial), apparmor=of(R.AppArmorDenial),
        mac=of(R.MacStatus), sysctl={s.key: s for s in of(R.SysctlRecord)}, commands_run=of(R.CommandRun),
        static_only=static_only,
    )


def _group_names(of) -> dict[int, str]:
    names: dict[int, str] = {}
    for g in of(R.GroupRecord):
        if g.gid is not None:
            names[g.gid] = g.name
    for i in of(R.IdRecord):
        for gid, name in i.groups:
            if gid is not None and name:
                names.setdefault(gid, name)
        if i.gid is not None and i.group:
            names.setdefault(i.gid, i.group)
    return names


def _full_databases(of, user) -> bool:
    """A whole /etc/passwd and /etc/group (a --root tree, `getent group` without names) rather than an
    excerpt: then a group that does not list the user really does not have it as a member."""
    if any(f.kind == "group_database_complete" for f in of(R.LogFact)):
        return True
    groups, passwd = of(R.GroupRecord), of(R.PasswdRecord)
    return len(groups) >= 8 and any(p.name == user for p in passwd) and any(g.name == "root" for g in groups)


def _predicted_node(info: SocketInfo) -> R.FileNode | None:
    """The socket its creator's configuration would make, when no listing of the live node is given.

    Used by lint and by pastes without `ls`: systemd .socket (SocketUser/SocketGroup/SocketMode,
    default root:root 0666) and PHP-FPM pools (listen.owner/group/mode, default master:master 0660)."""
    for p in info.producers:
        cfg = p.config
        if p.component == "systemd" and isinstance(cfg, R.ConfigFile):
            user = cfg.get("SocketUser")
            group = cfg.get("SocketGroup")
            mode = cfg.get("SocketMode")
            src = (mode or group or p.setting).source
            try:
                bits = int(mode.value, 8) if mode and mode.value else 0o666
            except ValueError:
                return None
            return R.FileNode(info.path, "socket", bits, user.value if user else "root",
                              group.value if group else (user.value if user else "root"), src, tool="predicted")
        if p.component == "php-fpm" and isinstance(cfg, R.ConfigFile) and not cfg.get("listen.acl_users"):
            owner, group, mode = cfg.get("listen.owner"), cfg.get("listen.group"), cfg.get("listen.mode")
            if owner is None and group is None:
                return None
            try:
                bits = int(mode.value, 8) if mode and mode.value else 0o660
            except ValueError:
                return None
            src = (group or owner).source
            return R.FileNode(info.path, "socket", bits, owner.value if owner else "root",
                              group.value if group else (owner.value if owner else "root"), src, tool="predicted")
    return None


def _worker(ev, of, user_directive, processes, nginx_user, distro, assumptions, static_only=False) -> Worker:
    notes: list[str] = []
    evidence: list[R.Source] = []
    worker_pids = {p.pid for p in processes if p.role == "nginx_worker" and p.pid is not None}
    master = [p for p in processes if p.role == "nginx_master"]
    master_pids = {p.pid for p in master}
    ps_users = [p.user for p in processes if p.role == "nginx_worker" and p.user and not p.user_truncated]
    master_root = None
    if master:
        master_root = master[0].user in ("root", "0")
    notices = of(R.NginxNotice)
    if any(n.kind == "user_ignored" for n in notices):
        master_root = False

    directive_user = user_directive[0][0] if user_directive else None
    directive_group = user_directive[0][1] if user_directive and len(user_directive[0]) > 1 else None
    user = nginx_user or directive_user or (ps_users[0] if ps_users else None)
    basis = ""
    if nginx_user:
        basis = "--nginx-user"
    elif directive_user:
        basis = f"`user` directive ({user_directive[1].ref() if user_directive[1] else 'nginx config'})"
    elif ps_users:
        basis = "ps shows the worker user"
    if user is None:
        if distro in DISTRO_NGINX_USER:
            user = DISTRO_NGINX_USER[distro]
            basis = f"assumed: {distro} default"
            assumptions.append(f"nginx worker user assumed to be {user} ({distro} default; no user directive or ps shown)")
        else:
            basis = "unknown"

    names = _group_names(of)
    # running workers' credentials from /proc/PID/status
    proc_creds = None
    procs = of(R.ProcStatus)
    worker_proc = [p for p in procs if p.pid in worker_pids] or [p for p in procs if p.pid not in master_pids and p.uids and p.uids[1] != 0]
    if worker_proc:
        p = worker_proc[-1]
        uid = p.uids[1] if len(p.uids) > 1 else (p.uids[0] if p.uids else None)
        gid = p.gids[1] if len(p.gids) > 1 else (p.gids[0] if p.gids else None)
        groups = frozenset(p.groups or ()) | ({gid} if gid is not None else set())
        proc_creds = access.Creds(uid=uid, gid=gid, groups=groups, user=user,
                                  group=names.get(gid) if gid is not None else None,
                                  group_names=frozenset(names[g] for g in groups if g in names))
        evidence.append(p.source)

    # what the group database would give a fresh worker
    passwd = [(pw.name, pw.uid, pw.gid) for pw in of(R.PasswdRecord)]
    groups_db: dict[str, list] = {}
    for g in of(R.GroupRecord):
        groups_db[g.name] = [g.name, g.gid, list(g.members)]
    id_rec = None
    for i in of(R.IdRecord):
        if i.user == user or (i.user is None and user is None):
            id_rec = i
    if id_rec is None and len(of(R.IdRecord)) == 1 and user is None:
        id_rec = of(R.IdRecord)[0]
        user = id_rec.user
    if id_rec is not None:
        evidence.append(id_rec.source)
        if not any(p[0] == id_rec.user for p in passwd):
            passwd.append((id_rec.user, id_rec.uid, id_rec.gid))
        for gid, gname in id_rec.groups:
            if gname is None:
                continue
            row = groups_db.setdefault(gname, [gname, gid, []])
            if gid != id_rec.gid and id_rec.user not in row[2]:
                row[2].append(id_rec.user)
        if id_rec.group and id_rec.group not in groups_db:
            groups_db[id_rec.group] = [id_rec.group, id_rec.gid, []]
    db_creds = None
    errors: list[str] = []
    if user:
        group_opt = directive_group
        if directive_user is None and not nginx_user:
            group_opt = None
        wc = access.worker_credentials(
            user if (directive_user or nginx_user) else user, group_opt, passwd,
            [tuple(v) for v in groups_db.values()], master_is_root=master_root is not False,
            databases_complete=(id_rec is not None and id_rec.user == user) or _full_databases(of, user))
        db_creds = wc.creds
        notes.extend(wc.notes)
        errors.extend(wc.errors)
        if directive_user is None and ps_users and id_rec is not None and db_creds is None:
            gid = id_rec.gid
            groups = frozenset(g for g, _ in id_rec.groups if g is not None)
            db_creds = access.Creds(uid=id_rec.uid, gid=gid, groups=groups, user=user, group=id_rec.group,
                                    group_names=frozenset(n for _, n in id_rec.groups if n))
    if proc_creds is None and db_creds is None and user:
        # names only: the worker is known by name, its groups by the group named like it
        gname = directive_group or user
        db_creds = access.Creds(uid=None, gid=None, groups=None, user=user, group=gname,
                                group_names=frozenset([gname]), groups_complete=static_only)
        assumptions.append(f"worker groups not shown; assumed group {gname} only (add `id {user}` to be sure)")
    creds = proc_creds or db_creds
    return Worker(user=user, creds=creds, db_creds=db_creds, basis=basis if not proc_creds else "/proc/PID/status of a worker",
                  evidence=evidence, master_root=master_root, notes=notes, errors=errors)


def _known_nodes(host: Host) -> dict[str, access.Node]:
    """Every node the evidence shows, as access.Node, computed once per host."""
    cached = host.__dict__.get("_known")
    if cached is None:
        acls = {_norm(a.path): a for a in host.ev.records if isinstance(a, R.AclRecord) and a.path}
        cached = {p: access.node_from_record(n, acls.get(p)) for p, n in host.nodes.items()}
        host.__dict__["_known"] = cached
        host.__dict__["_acls"] = acls
    return cached


def components(host: Host, path: str) -> list[access.Node]:
    """The kernel's walk for ``path`` from what the evidence shows."""
    base = _known_nodes(host)
    acls = host.__dict__["_acls"]
    known: dict[str, access.Node] = {}
    info = host.sockets.get(path)
    if info and info.node is not None and path not in base:
        n = info.node
        known[path] = access.node_from_record(R.FileNode(path, n.type, n.mode, n.owner, n.group, n.source, n.uid,
                                                         n.gid, n.has_acl, n.selinux_label, n.link_target,
                                                         n.inode, n.tool), acls.get(path) or info.acl)
    # `ls -la DIR` without the DIR in the command: '.' is the socket's directory
    parent = posixpath.dirname(path)
    if parent not in base and info and info.node is not None and not (info.node.path or "").startswith("/"):
        for n in host.ev.records:
            if isinstance(n, R.FileNode) and n.path is None and n.type == "dir" and n.source.input == info.node.source.input \
                    and n.source.text.rstrip().endswith(" ."):
                known[parent] = access.node_from_record(R.FileNode(parent, n.type, n.mode, n.owner, n.group,
                                                                   n.source, n.uid, n.gid, n.has_acl))
    def lookup(p: str):
        return known.get(p) or base.get(p) or _standard(host, p, path)
    if parent not in known and access.plain_path(path):
        head = access.dir_walk(host.__dict__.setdefault("_dir_walks", {}), path.rpartition("/")[0],
                               lambda p: _plain_dir(p, lookup))
        if head is not None:  # thousands of sockets share their upper directories
            node = lookup(path) or access.Node(path, "unknown")
            if node.type != "symlink":
                return [*head, node]
    return access.components_for(path, lookup)


def _plain_dir(path: str, lookup) -> access.Node | None:
    """The directory as the walk sees it when the walk goes through it plainly: a directory, or
    not shown (``components_for`` walks on through unknowns too)."""
    node = lookup(path) or access.Node(path, "unknown")
    return node if node.type in ("dir", "unknown") else None


def _standard(host: Host, p: str, target: str) -> access.Node | None:
    mode = STANDARD_DIRS.get(p)
    if mode is None or not target.startswith(p.rstrip("/") + "/"):
        return None
    note = f"{p} taken as root:root {oct(mode)[2:].zfill(4)} (the standard mode; not shown)"
    if note not in host.assumptions:
        host.assumptions.append(note)
    return access.Node(p, "dir", mode, "root", "root", uid=0, gid=0, has_acl=False)


# System directories whose mode is the same on every distro; assumed when the evidence omits them.
STANDARD_DIRS = {"/": 0o755, "/run": 0o755, "/var": 0o755, "/var/run": 0o755, "/srv": 0o755,
                 "/home": 0o755, "/tmp": 0o1777, "/var/tmp": 0o1777, "/var/lib": 0o755, "/opt": 0o755}


def listener_known(host: Host, info: SocketInfo) -> bool | None:
    """True: something listens; False: evidence says nothing listens; None: not shown."""
    if info.listeners:
        return True
    for run in host.commands_run:
        if run.kind == "ss" or run.command.startswith("ss "):
            if info.path in run.command or run.empty or "-x" in run.command:
                return False
    for f in host.fact("listener_count"):
        if info.path in str(f.data) or posixpath.basename(info.path) in str(f.data):
            return int(f.data.get("count", 0) or 0) > 0
    return None

