"""Collect evidence from the host `sockdoctor check` runs on (or from a filesystem tree).

Read-only. Every source that is missing or unreadable becomes a warning, never an exception:

    col = collect()                       # the live host
    col = collect(root="/mnt/image")      # a tree: configs, passwd/group, file metadata only
    report = engine.diagnose(col.inputs, extra_records=col.records)

Texts a reader already understands (``nginx -T``, /etc/passwd, /etc/group, ``ss -xl``, ``ps``,
``getenforce``) go into ``inputs``; facts read straight from the kernel (lstat, xattrs,
/proc/PID/status, /proc/net/unix) become records with the source input ``live:...``.
"""
from __future__ import annotations

import glob
import os
import posixpath
import re
import stat
import struct
import subprocess
from collections.abc import Callable

from sockdoctor._dataclass import dataclass, field
from sockdoctor import nginx
from sockdoctor.access import dir_walk, plain_path
from sockdoctor.evidence.records import (
    AclEntry, AclRecord, FileNode, Listener, LogFact, NginxConfigRecord, ProcessRecord, ProcStatus, Source,
)
from sockdoctor.nginx import fs as nginx_fs
from sockdoctor.nginx.parser import Payload

DEFAULT_CONF = "/etc/nginx/nginx.conf"
COMMAND_TIMEOUT = 10.0
ERROR_LOG_TAIL = 1024 * 1024  # bytes of nginx's error log read from its end
LSTAT = "live:lstat"


@dataclass
class SocketUse:
    """An upstream Unix socket nginx connects to, with the directive that names it."""
    path: str
    directive: str
    where: str  # "file:line" of the directive


@dataclass
class Worker:
    pid: int | None
    uid: int
    gid: int
    groups: tuple[int, ...]


@dataclass
class Collection:
    inputs: list[tuple[str, str]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # input name -> reader kind, when known
    read: dict[str, list] = field(default_factory=dict)  # input name -> its records, when already read
    procs: dict[int, list[str]] = field(default_factory=dict)  # pid -> command line, read once
    records: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sockets: list[SocketUse] = field(default_factory=list)
    nodes: dict[str, FileNode] = field(default_factory=dict)  # host path -> lstat record
    acls: dict[str, AclRecord] = field(default_factory=dict)
    dir_walks: dict[str, list[str] | None] = field(default_factory=dict)  # directory -> its walk, None if not plain
    master_pid: int | None = None
    pid_file: str | None = None  # nginx's pid file (`-g "pid ...;"`, the config's `pid`)
    worker: Worker | None = None
    users: dict[int, str] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)
    root: str | None = None
    config: NginxConfigRecord | None = None

    def add_input(self, name: str, text: str, kind: str | None = None) -> None:
        """An input text; ``kind`` spares the engine from classifying what we know (a 1,000-site
        ``nginx -T`` dump costs seconds to classify)."""
        self.inputs.append((name, text))
        if kind:
            self.kinds[name] = kind


# --- small helpers ---------------------------------------------------------------------------

def _under(root: str | None, path: str) -> str:
    return path if not root else posixpath.join(root, path.lstrip("/"))


def _read(path: str, limit: int | None = None) -> str | None:
    try:
        with open(path, "rb") as f:
            data = f.read(limit) if limit else f.read()
    except OSError:
        return None
    return data.decode("utf-8", "replace")


def _run(argv: list[str], timeout: float = COMMAND_TIMEOUT) -> tuple[int, str, str] | None:
    """(status, stdout, stderr) of a fixed command; None when it cannot run."""
    return _finish(_start(argv), timeout)


def _start(argv: list[str]) -> subprocess.Popen | None:
    """A fixed command started now and read later with _finish (its run overlaps our work);
    None when it cannot start (not installed: FileNotFoundError)."""
    try:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    except OSError:
        return None


def _finish(proc: subprocess.Popen | None, timeout: float = COMMAND_TIMEOUT) -> tuple[int, str, str] | None:
    if proc is None:
        return None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _cmdline(pid: int) -> list[str] | None:
    raw = _read_bytes(f"/proc/{pid}/cmdline")
    if raw is None:
        return None
    return [a.decode("utf-8", "replace") for a in raw.rstrip(b"\0").split(b"\0")] if raw else []


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _pids() -> list[int]:
    try:
        return sorted(int(n) for n in os.listdir("/proc") if n.isdigit())
    except OSError:
        return []


def _ppid(pid: int) -> int | None:
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    try:
        return int(text[text.rindex(")") + 2:].split()[1])
    except (ValueError, IndexError):
        return None


def id_names(text: str | None) -> dict[int, str]:
    """id -> name from /etc/passwd or /etc/group text (first entry wins, as getpwuid does)."""
    out: dict[int, str] = {}
    for line in (text or "").splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit() and not line.startswith("#"):
            out.setdefault(int(parts[2]), parts[0])
    return out


# --- nginx -----------------------------------------------------------------------------------

def nginx_args(argv: list[str]) -> dict[str, str]:
    """-p/-c/-g of an nginx command line (``nginx -p DIR -c FILE -g 'pid X;'``)."""
    out: dict[str, str] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-p", "-c") and i + 1 < len(argv):
            out[a] = argv[i + 1]
            i += 2
            continue
        if a == "-g" and i + 1 < len(argv):
            j = i + 1
            while j < len(argv) and (j == i + 1 or not argv[j].startswith("-")):
                j += 1
            out[a] = " ".join(argv[i + 1:j])  # the master's argv is one space-joined string
            i = j
            continue
        i += 1
    return out


def process_table() -> dict[int, list[str]]:
    """pid -> command line of every process we can read, read once per collection."""
    return {pid: argv for pid in _pids() if (argv := _cmdline(pid))}


def find_master(conf: str | None = None, procs: dict[int, list[str]] | None = None) -> tuple[int | None, list[str]]:
    """The nginx master's pid and the command line that started it (``nginx: master process ...``).
    With ``conf``, only a master started with ``-c conf`` (or the default config) counts."""
    for pid, argv in (process_table() if procs is None else procs).items():
        if not argv[0].startswith("nginx: master process"):
            continue
        words = " ".join(argv)[len("nginx: master process"):].split()
        args = nginx_args(words[1:])
        if conf is not None and args.get("-c", DEFAULT_CONF) != conf:
            continue
        return pid, words
    return None, []


def find_workers(master: int, procs: dict[int, list[str]] | None = None) -> list[int]:
    return [pid for pid, argv in (process_table() if procs is None else procs).items()
            if argv[0].startswith("nginx: worker process") and _ppid(pid) == master]


def dump_from_tree(main: str, root: str | None) -> tuple[str, Payload | None, list[str]]:
    """An ``nginx -T``-style dump of ``main`` and its includes, read from the filesystem (under
    ``root`` when given), and their parse, whose records cite each file and its own line numbers.
    Returns (text, payload, warnings)."""
    def read_file(path: str) -> str | None:
        return nginx_fs.read_file(_under(root, path))

    def list_glob(pattern: str) -> list[str]:
        found = nginx_fs.list_glob(_under(root, pattern))
        return [("/" + posixpath.relpath(p, root)) if root else p for p in found]

    payload = nginx.parse_tree(main, read_file, list_glob)
    if main not in payload.files:
        return "", None, [f"nginx config {main}: cannot read"]
    parts = [f"# configuration file {path}:\n{pf.text}\n" for path, pf in payload.files.items()]
    return "".join(parts), payload, [f"nginx config: {e}" for e in payload.all_errors()]


def collect_nginx(col: Collection, conf: str | None, master_argv: list[str]) -> str | None:
    """Reads the configuration (the files themselves; ``nginx -T`` when they do not parse cleanly)
    into input ``nginx config MAIN``; returns the -g pid hint if any.

    Reading the files costs a fraction of ``nginx -T``, which as root also opens (and creates)
    every log file and temp directory the configuration names."""
    from sockdoctor.evidence import nginx_config
    from sockdoctor.evidence.base import Chunk

    args = nginx_args(master_argv[1:]) if master_argv else {}
    main = conf or args.get("-c") or DEFAULT_CONF
    if args.get("-p") and not main.startswith("/"):
        main = posixpath.join(args["-p"], main)
    name = f"nginx config {main}"
    text, payload, warns = dump_from_tree(main, col.root)
    if col.root is None and (warns or not text):
        argv = ["nginx", "-T", "-c", main]
        if args.get("-p"):
            argv += ["-p", args["-p"]]
        if args.get("-g"):
            argv += ["-g", args["-g"]]
        ran = _run(argv)
        if ran is not None and ran[0] == 0 and "# configuration file" in ran[1]:
            text, payload, name = ran[1], None, "nginx -T"
            warns = [f"{warns[0]}; using `nginx -T`" if warns else "nginx config: files not readable; using `nginx -T`"]
        elif ran is not None:
            last = (ran[2].strip().splitlines() or ["no output"])[-1]
            warns.append(f"nginx -T failed too ({last})")
    col.warnings.extend(warns)
    if not text:
        col.warnings.append(f"nginx config {main}: not readable; no sockets to check")
        return None
    col.add_input(name, text, "nginx_config")
    chunk = Chunk(name, text)
    col.read[name] = nginx_config.records_of(payload, True, chunk) if payload else nginx_config.read(chunk)
    record = col.read[name][0]
    col.config = record
    seen = set()
    for ref in record.sockets:
        if ref.listen or ref.abstract or ref.variable or not ref.path:
            continue
        key = (ref.path, ref.directive, ref.file, ref.file_line)
        if key in seen:
            continue
        seen.add(key)
        col.sockets.append(SocketUse(ref.path, ref.directive, f"{ref.file}:{ref.file_line}"))
    g = args.get("-g", "")
    for stmt in g.split(";"):
        words = stmt.split()
        if len(words) == 2 and words[0] == "pid":
            return words[1]
    return None


# --- processes -------------------------------------------------------------------------------

def parse_status(text: str, pid: int | None, name: str) -> ProcStatus:
    fields: dict[str, tuple[int, str]] = {}
    for i, line in enumerate(text.splitlines(), 1):
        key, _, val = line.partition(":")
        fields[key] = (i, val.strip())

    def ints(key: str) -> tuple[int, ...]:
        return tuple(int(v) for v in fields.get(key, (0, ""))[1].split() if v.isdigit())

    line = fields.get("Uid", (1, ""))[0]
    shown = " ".join(f"{k}: {fields[k][1]}" for k in ("Uid", "Gid", "Groups") if k in fields)
    return ProcStatus(pid, fields.get("Name", (0, None))[1], ints("Uid"), ints("Gid"),
                      ints("Groups") if "Groups" in fields else None, Source(name, line, 0, shown))


def collect_processes(col: Collection, master: int | None) -> None:
    if master is None:
        col.warnings.append("no nginx master process found; worker credentials come from the config")
        return
    workers = find_workers(master, col.procs)
    if not workers:
        col.warnings.append(f"nginx master {master} has no worker processes")
    for pid, role in [(master, "nginx_master")] + [(w, "nginx_worker") for w in workers[:1]]:
        text = _read(f"/proc/{pid}/status")
        if text is None:
            col.warnings.append(f"/proc/{pid}/status: not readable")
            continue
        name = f"live:/proc/{pid}/status"
        st = parse_status(text, pid, name)
        col.records.append(st)
        argv = _cmdline(pid) or []
        uid = st.uids[1] if len(st.uids) > 1 else None
        col.records.append(ProcessRecord(pid, col.users.get(uid, str(uid)) if uid is not None else None,
                                         " ".join(argv), role, Source(f"live:/proc/{pid}/cmdline", 1),
                                         ppid=_ppid(pid)))
        if role == "nginx_worker" and len(st.uids) >= 4 and len(st.gids) >= 4:
            col.worker = Worker(pid, st.uids[3], st.gids[3], tuple(st.groups or ()))


def collect_id(col: Collection) -> "Callable[[], None]":
    """`id USER` for the worker user: the groups a freshly started worker would get (NSS, as
    initgroups() sees them), to compare with the running worker's /proc status. Started now;
    the returned function adds its output."""
    from sockdoctor.nginx import user_and_group

    user = col.users.get(col.worker.uid) if col.worker else None
    if user is None and col.config is not None:
        user = user_and_group(col.config.user)[0]
    if not user:
        return lambda: None
    proc = _start(["id", "--", user])

    def finish() -> None:
        ran = _finish(proc, timeout=5)
        if ran is None or ran[0] != 0:
            col.warnings.append(f"id {user}: failed")
        else:
            col.add_input(f"id {user}", ran[1], "id")
    return finish


APP_SERVERS = ("gunicorn", "uwsgi", "php-fpm", "puma", "unicorn")
MAX_APP_CONFIGS = 50
_FPM_INCLUDE = re.compile(r"^\s*include\s*=\s*(\S+)", re.M)


def app_config_files(argv: list[str]) -> list[str]:
    """Config files an app server was started with: PHP-FPM's master title
    ``php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)`` and its ``include=`` pool files,
    uWSGI's ``--ini FILE`` / ``FILE.ini``, gunicorn's ``-c FILE``."""
    out: list[str] = []
    title = " ".join(argv)
    m = re.match(r"php-fpm[\d.]*: master process \((/[^)]+)\)", title)
    if m:
        out.append(m.group(1))
        text = _read(m.group(1), 1024 * 1024) or ""
        base = posixpath.dirname(m.group(1))
        for pattern in _FPM_INCLUDE.findall(text):
            pattern = pattern if pattern.startswith("/") else posixpath.join(base, pattern)
            out.extend(sorted(glob.glob(pattern))[:MAX_APP_CONFIGS])
        return out
    words = title.split() if len(argv) == 1 else argv
    for i, w in enumerate(words):
        if w in ("--ini", "-c", "--config") and i + 1 < len(words) and words[i + 1].startswith("/"):
            out.append(words[i + 1])
        elif w.endswith(".ini") and w.startswith("/"):
            out.append(w)
    return out


def collect_app_servers(col: Collection) -> None:
    """App-server processes as ``ps -eo user,pid,ppid,args`` text (the ps reader reads it)."""
    rows: list[str] = []
    configs: list[str] = []
    for pid, argv in col.procs.items():
        cmd = " ".join(argv)
        if not any(s in cmd for s in APP_SERVERS):
            continue
        st = _read(f"/proc/{pid}/status") or ""
        uid = next((ln.split()[2] for ln in st.splitlines() if ln.startswith("Uid:")), "?")
        user = col.users.get(int(uid), uid) if uid.isdigit() else uid
        rows.append(f"{user} {pid} {_ppid(pid) or 0} {cmd}")
        for path in app_config_files(argv):
            if path not in configs:
                configs.append(path)
    for path in configs[:MAX_APP_CONFIGS]:
        text = _read(path, 1024 * 1024)
        if text is None:
            col.warnings.append(f"{path}: app server config not readable")
        else:
            col.add_input(path, text)
    if rows:
        col.add_input("ps -eo user,pid,ppid,args", "USER PID PPID COMMAND\n" + "\n".join(rows) + "\n", "ps")


# --- files -----------------------------------------------------------------------------------

_TYPES = {stat.S_IFSOCK: "socket", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink", stat.S_IFREG: "file",
          stat.S_IFIFO: "fifo", stat.S_IFCHR: "char", stat.S_IFBLK: "block"}
_ACL_TAGS = {0x01: "user", 0x02: "user", 0x04: "group", 0x08: "group", 0x10: "mask", 0x20: "other"}


def decode_acl(data: bytes, users: dict[int, str], groups: dict[int, str]) -> tuple[AclEntry, ...] | None:
    """``system.posix_acl_access`` xattr: u32 version 2, then (u16 tag, u16 perm, u32 id) entries."""
    if len(data) < 4 or struct.unpack_from("<I", data)[0] != 2 or (len(data) - 4) % 8:
        return None
    out = []
    for off in range(4, len(data), 8):
        tag, perm, ident = struct.unpack_from("<HHI", data, off)
        name = _ACL_TAGS.get(tag)
        if name is None:
            return None
        qualifier = ""
        if tag == 0x02:
            qualifier = users.get(ident, str(ident))
        elif tag == 0x08:
            qualifier = groups.get(ident, str(ident))
        perms = ("r" if perm & 4 else "-") + ("w" if perm & 2 else "-") + ("x" if perm & 1 else "-")
        out.append(AclEntry(name, qualifier, perms))
    return tuple(out)


def _xattr(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except (OSError, AttributeError):
        return None


def _xattr_names(path: str) -> list[str]:
    try:
        return os.listxattr(path, follow_symlinks=False)
    except (OSError, AttributeError):
        return []


def lstat_node(col: Collection, path: str, line: int) -> FileNode:
    real = _under(col.root, path)
    src = Source(LSTAT, line, 0, path)
    try:
        st = os.lstat(real)
    except FileNotFoundError:
        return FileNode(path, "missing", None, None, None, src, tool="lstat")
    except OSError as exc:
        col.warnings.append(f"lstat {path}: {exc.strerror}")
        return FileNode(path, "unknown", None, None, None, src, tool="lstat")
    mode, uid, gid = st.st_mode, st.st_uid, st.st_gid
    kind = _TYPES.get(stat.S_IFMT(mode), "unknown")
    owner = col.users.get(uid)
    if owner is None:
        owner = str(uid)
    group = col.groups.get(gid)
    if group is None:
        group = str(gid)
    src = Source(LSTAT, line, 0, f"{stat.filemode(mode)} {owner}:{group} {path}")
    names = _xattr_names(real)
    acl_raw = label = target = None
    if names:
        acl_raw = _xattr(real, "system.posix_acl_access") if "system.posix_acl_access" in names else None
        label = _xattr(real, "security.selinux") if "security.selinux" in names else None
    if kind == "symlink":
        try:
            target = os.readlink(real)
        except OSError:
            pass
    node = FileNode(path, kind, mode & 0o7777, owner, group, src, uid, gid, acl_raw is not None,
                    label.rstrip(b"\0").decode("utf-8", "replace") if label else None, target, st.st_ino, "lstat")
    if acl_raw is not None:
        entries = decode_acl(acl_raw, col.users, col.groups)
        if entries is None:
            col.warnings.append(f"{path}: ACL xattr not understood")
        else:
            acl = AclRecord(path, node.owner, node.group, entries, Source("live:acl", line, 0, path))
            col.acls[path] = acl
            col.records.append(acl)
    return node


def walk_paths(path: str, col: Collection) -> list[str]:
    """Every path the kernel looks up for ``path``: each component, and symlink targets' walks."""
    if plain_path(path):
        head = dir_walk(col.dir_walks, path.rpartition("/")[0], lambda p: _plain_dir(col, p))
        if head is not None:  # every directory above is a real one, each lstat'ed once per collection
            node = col.nodes.get(path) or _remember(col, path)
            if node.type != "symlink":
                return head + [path]
    return _full_walk(path, col)


def _full_walk(path: str, col: Collection) -> list[str]:
    out: list[str] = []
    todo = [p for p in path.split("/") if p]
    cur = "/"
    out.append("/")
    hops = 0
    while todo:
        name = todo.pop(0)
        if name in (".", ""):
            continue
        nxt = posixpath.dirname(cur) if name == ".." else posixpath.join(cur, name)
        out.append(nxt)
        node = col.nodes.get(nxt) or _remember(col, nxt)
        if node.type == "symlink" and node.link_target and hops < 40:
            hops += 1
            target = node.link_target
            todo = [p for p in target.split("/") if p] + todo
            if target.startswith("/"):
                cur = "/"
            continue
        if node.type != "dir":
            break
        cur = nxt
    return out


def _plain_dir(col: Collection, path: str) -> str | None:
    """``path`` when it is a real directory (lstat'ed once per collection), else None."""
    node = col.nodes.get(path) or _remember(col, path)
    return path if node.type == "dir" else None


def _remember(col: Collection, path: str) -> FileNode:
    node = lstat_node(col, path, len(col.nodes) + 1)
    col.nodes[path] = node
    col.records.append(node)
    return node


def collect_files(col: Collection) -> None:
    if "/" not in col.nodes:
        _remember(col, "/")
    own_view = _same_mount_namespace(col)
    for sock in col.sockets:
        walk_paths(sock.path, col)
        if not own_view:
            _worker_view(col, sock.path)


def _same_mount_namespace(col: Collection) -> bool:
    """True when the worker sees the files we see (or there is no worker to ask)."""
    if not (col.worker and col.worker.pid and col.root is None):
        return True
    from sockdoctor.live.probe import same_mount_namespace

    try:
        return same_mount_namespace(col.worker.pid)
    except OSError as exc:
        col.warnings.append(f"/proc/{col.worker.pid}/ns/mnt: {exc.strerror}")
        return True


def _worker_view(col: Collection, path: str) -> None:
    """Does the worker's mount namespace see the socket the host sees (PrivateTmp=, containers)?"""
    try:
        seen = os.path.lexists(f"/proc/{col.worker.pid}/root{path}")
    except OSError as exc:
        col.warnings.append(f"/proc/{col.worker.pid}/root: {exc.strerror}")
        return
    host = col.nodes.get(path)
    if not seen and host is not None and host.type != "missing":
        col.records.append(LogFact("mount_namespace_missing", {"path": path, "pid": col.worker.pid, "pid_file": col.pid_file},
                                   Source(f"live:/proc/{col.worker.pid}/root", 1, 0, path)))


# --- listeners -------------------------------------------------------------------------------

_UNIX_TYPES = {"0001": "stream", "0002": "dgram", "0005": "seqpacket"}


def parse_proc_net_unix(text: str, name: str = "live:/proc/net/unix") -> list[Listener]:
    """Listening sockets (flag __SO_ACCEPTCON) with a path, from /proc/net/unix."""
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        parts = line.split(None, 7)
        if i == 1 or len(parts) < 8:
            continue
        try:
            listening = int(parts[3], 16) & 0x10000
        except ValueError:
            continue
        if listening and not parts[7].startswith("@"):
            out.append(Listener(parts[7], _UNIX_TYPES.get(parts[4], parts[4]), "LISTEN", None, None,
                                Source(name, i, 0, line), inode=int(parts[6]) if parts[6].isdigit() else None))
    return out


def collect_listeners(col: Collection, ss: subprocess.Popen | None = None) -> None:
    ran = _finish(ss) if ss is not None else _run(["ss", "-xl"])
    if ran is not None and ran[0] == 0:
        col.add_input("ss -xl", ran[1], "ss")
        return
    text = _read("/proc/net/unix")
    if text is None:
        col.warnings.append("neither ss -xl nor /proc/net/unix is available; listeners unknown")
        return
    col.warnings.append("ss not available; listeners from /proc/net/unix (no queue lengths)")
    col.records.extend(parse_proc_net_unix(text))


# --- logs and MAC ----------------------------------------------------------------------------

def collect_error_log(col: Collection, prefix: str | None) -> None:
    from sockdoctor.evidence.logscan import scan_file

    logs = list(col.config.error_logs) if col.config else []
    if not logs:
        logs = ["/var/log/nginx/error.log"]
    for log in logs:
        if not log.startswith("/"):
            log = posixpath.join(prefix or "/usr/share/nginx", log)
        real = _under(col.root, log)
        try:
            with open(real, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > ERROR_LOG_TAIL:
                    f.seek(size - ERROR_LOG_TAIL)
                    f.readline()
                col.records.extend(scan_file(f, f"live:{log}"))
        except OSError as exc:
            col.warnings.append(f"error log {log}: {exc.strerror}")


def collect_mac(col: Collection) -> None:
    for argv in (["getenforce"], ["aa-status"]):
        ran = _run(argv, timeout=5)
        if ran is not None and ran[1].strip():
            col.add_input(" ".join(argv), ran[1], "mac_status")


# --- the whole collection --------------------------------------------------------------------

def collect(root: str | None = None, conf: str | None = None, socket: str | None = None) -> Collection:
    """Gather everything `check` needs. ``root``: a filesystem tree (no processes, no commands).
    ``conf``: the nginx main config (default: the master's ``-c`` or /etc/nginx/nginx.conf).
    ``socket``: only this socket path."""
    col = Collection(root=root)
    ss = _start(["ss", "-xl"]) if root is None else None
    for path in ("/etc/passwd", "/etc/group"):
        text = _read(_under(root, path))
        if text is None:
            col.warnings.append(f"{path}: not readable")
            continue
        col.add_input(path if root is None else _under(root, path), text, path.rsplit("/", 1)[-1])
        (col.users if path == "/etc/passwd" else col.groups).update(id_names(text))
        if path == "/etc/group":
            col.records.append(LogFact("group_database_complete", {"path": path}, Source(path, 1, 0, "")))
    col.procs = {} if root else process_table()
    master, master_argv = (None, []) if root else find_master(conf, col.procs)
    pid_hint = collect_nginx(col, conf, master_argv)
    if socket:
        col.sockets = [s for s in col.sockets if s.path == socket] or [SocketUse(socket, "--socket", "command line")]
    col.pid_file = pid_hint or (col.config.pid_file if col.config else None)
    finish_id: Callable[[], None] = lambda: None  # noqa: E731
    if root is None:
        if master is None:
            text = _read(col.pid_file) if col.pid_file else None
            if text and text.strip().isdigit():
                master = int(text.strip())
        col.master_pid = master
        collect_processes(col, master)
        finish_id = collect_id(col)
        collect_app_servers(col)
        collect_listeners(col, ss)
        collect_mac(col)
    collect_files(col)
    finish_id()  # `id` ran alongside the walk
    prefix = nginx_args(master_argv[1:]).get("-p") if master_argv else None
    collect_error_log(col, prefix)
    return col
