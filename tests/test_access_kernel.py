"""The access model against the kernel itself (issue 3).

As root: create real users and groups, a scratch tree with a listening AF_UNIX socket, and for
many permission combinations (modes, owners, groups, ACL entries and masks, sticky directories
with symlinks, non-sockets, missing paths) connect() from child processes that took their
credentials the way an nginx worker does (setgid, initgroups, setuid). decide() sees what a live
check would see (lstat + the ACL xattr) and must predict the same errno, both when it is given
numeric ids and when it is given names only.
"""
from __future__ import annotations

import errno as E
import itertools
import os
import secrets
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
from dataclasses import dataclass

import pytest

from sockdoctor.access import Creds, Node, components_for, decide, worker_credentials

pytestmark = [pytest.mark.root]

if os.geteuid() != 0:
    pytest.skip("needs root (creates users, groups, chowns files)", allow_module_level=True)
for _tool in ("setfacl", "getfacl", "useradd", "groupadd", "userdel", "groupdel"):
    if shutil.which(_tool) is None:
        pytest.skip(f"{_tool} missing (scripts/install-system-deps.sh installs acl, passwd)",
                    allow_module_level=True)

PROTECTED = "/proc/sys/fs/protected_symlinks"


# --- the ACL xattr (system.posix_acl_access) ----------------------------------------------------

_ACL_TAGS = {0x01: "user", 0x02: "user", 0x04: "group", 0x08: "group", 0x10: "mask",
             0x20: "other"}


def read_acl(path: str) -> tuple[tuple[str, str, str], ...] | None:
    """Decode the access ACL xattr: u32 version 2, then (u16 tag, u16 perm, u32 id) entries."""
    try:
        raw = os.getxattr(path, "system.posix_acl_access", follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (E.ENODATA, E.EOPNOTSUPP, E.EPERM):
            return None
        raise
    (version,) = struct.unpack_from("<I", raw, 0)
    assert version == 2, version
    entries = []
    for off in range(4, len(raw), 8):
        tag, perm, ident = struct.unpack_from("<HHI", raw, off)
        qualifier = str(ident) if tag in (0x02, 0x08) else ""
        perms = "".join(c if perm & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))
        entries.append((_ACL_TAGS[tag], qualifier, perms))
    return tuple(entries)


def getfacl_entries(path: str) -> tuple[tuple[str, str, str], ...]:
    out = subprocess.run(["getfacl", "-pn", "--", path], capture_output=True, text=True,
                         check=True).stdout
    entries = []
    for line in out.splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("default:"):
            tag, qualifier, perms = line.split(":")
            entries.append((tag, qualifier, perms))
    return tuple(entries)


# --- users, groups, databases ---------------------------------------------------------------------

def read_db(path: str, fields: int) -> list[list[str]]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split(":") for line in f if line.count(":") >= fields - 1]


def passwd_rows() -> list[tuple[str, int, int]]:
    return [(r[0], int(r[2]), int(r[3])) for r in read_db("/etc/passwd", 7)]


def group_rows() -> list[tuple[str, int, tuple[str, ...]]]:
    return [(r[0], int(r[2]), tuple(m for m in r[3].split(",") if m))
            for r in read_db("/etc/group", 4)]


@dataclass
class Ids:
    worker: str
    app: str
    g_worker: str  # the group named like the worker: nginx's setgid() target
    g_primary: str  # the worker's passwd primary group (must NOT count)
    g_sock: str  # the worker is a member
    g_app: str  # the app user's group; the worker is not a member
    uid: dict[str, int]
    gid: dict[str, int]


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture(scope="module")
def ids():
    tag = "sdt" + secrets.token_hex(3)
    w, a = f"{tag}w", f"{tag}a"
    gw, gp, gs, ga = w, f"{tag}p", f"{tag}s", a
    made_users: list[str] = []
    made_groups: list[str] = []
    try:
        for g in (gw, gp, gs, ga):
            _run("groupadd", g)
            made_groups.append(g)
        _run("useradd", "-M", "-N", "-g", gp, "-G", gs, "-s", "/usr/sbin/nologin", w)
        made_users.append(w)
        _run("useradd", "-M", "-N", "-g", ga, "-s", "/usr/sbin/nologin", a)
        made_users.append(a)
        users = {n: uid for n, uid, _ in passwd_rows()}
        groups = {n: gid for n, gid, _ in group_rows()}
        yield Ids(w, a, gw, gp, gs, ga, {w: users[w], a: users[a], "root": 0},
                  {g: groups[g] for g in (gw, gp, gs, ga)} | {"root": 0})
    finally:
        for u in made_users:
            subprocess.run(["userdel", u], capture_output=True)
        for g in made_groups:
            subprocess.run(["groupdel", g], capture_output=True)


# --- callers: child processes with a worker's credentials ------------------------------------------

class Caller:
    """A forked child that drops privileges like an nginx worker, then connect()s on request."""

    parent_fds: set[int] = set()  # other callers' pipe ends: a child must not keep them open

    def __init__(self, user: str | None, gid: int | None, uid: int | None):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 0
            try:
                for fd in Caller.parent_fds | {self._to_child, self._from_child}:
                    os.close(fd)
                if user is not None:
                    os.setgid(gid)
                    os.initgroups(user, gid)
                    os.setuid(uid)
                out = os.fdopen(from_child_w, "w", buffering=1)
                out.write(f"{os.getuid()} {os.getgid()} "
                          f"-{','.join(map(str, sorted(os.getgroups())))}\n")
                for line in os.fdopen(to_child_r):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.setblocking(False)
                    try:
                        s.connect(line.rstrip("\n"))
                        result = 0
                    except OSError as exc:
                        result = exc.errno
                    finally:
                        s.close()
                    out.write(f"{result}\n")
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(to_child_r)
        os.close(from_child_w)
        self.pid = pid
        Caller.parent_fds |= {self._to_child, self._from_child}
        self._out = os.fdopen(self._to_child, "w", buffering=1)
        self._in = os.fdopen(self._from_child)
        uid_s, gid_s, groups_s = self._in.readline().split()
        self.uid, self.gid = int(uid_s), int(gid_s)
        self.groups = frozenset(int(g) for g in groups_s[1:].split(",") if g)

    def connect(self, path: str) -> int:
        self._out.write(path + "\n")
        reply = self._in.readline()
        assert reply, "caller process died"
        return int(reply)

    def close(self) -> None:
        Caller.parent_fds -= {self._to_child, self._from_child}
        self._out.close()
        os.waitpid(self.pid, 0)
        self._in.close()


# --- what a live check sees -----------------------------------------------------------------------

_TYPES = ((stat.S_ISDIR, "dir"), (stat.S_ISSOCK, "socket"), (stat.S_ISREG, "file"),
          (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"))


def listening_paths() -> set[str]:
    """Paths of listening AF_UNIX sockets, from /proc/net/unix (flags bit __SO_ACCEPTCON)."""
    paths = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            cols = line.split()
            if len(cols) >= 8 and int(cols[3], 16) & 0x10000:
                paths.add(cols[7])
    return paths


class LiveView:
    """lstat + ACL xattr → Node, with ids, or (names=True) with names only."""

    def __init__(self, names: dict[int, str], gnames: dict[int, str], by_name: bool):
        self.names, self.gnames, self.by_name = names, gnames, by_name

    def __call__(self, path: str) -> Node | None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return Node(path, "missing")
        kind = next((k for test, k in _TYPES if test(st.st_mode)), "unknown")
        acl = read_acl(path)
        target = os.readlink(path) if kind == "symlink" else None
        listening = path in listening_paths() if kind == "socket" else None
        if not self.by_name:
            return Node(path, kind, stat.S_IMODE(st.st_mode), str(st.st_uid), str(st.st_gid),
                        st.st_uid, st.st_gid, acl=acl, link_target=target, listening=listening)
        if acl is not None:
            acl = tuple((t, self._qual(t, q), p) for t, q, p in acl)
        return Node(path, kind, stat.S_IMODE(st.st_mode), self.names[st.st_uid],
                    self.gnames[st.st_gid], acl=acl, link_target=target, listening=listening)

    def _qual(self, tag: str, q: str) -> str:
        if not q:
            return q
        return self.names[int(q)] if tag == "user" else self.gnames[int(q)]


@dataclass
class Subject:
    caller: Caller
    by_id: Creds
    by_name: Creds


# --- the scratch world ------------------------------------------------------------------------------

class World:
    def __init__(self, ids: Ids, base: str):
        self.ids, self.base = ids, base
        self.names = {uid: n for n, uid, _ in passwd_rows()}
        self.gnames = {gid: n for n, gid, _ in group_rows()}
        self.views = (LiveView(self.names, self.gnames, False),
                      LiveView(self.names, self.gnames, True))
        self.trials = 0
        self.mismatches: list[str] = []
        self.listeners: list[socket.socket] = []

    def listen(self, path: str) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(256)
        s.setblocking(False)
        self.listeners.append(s)

    def drain(self) -> None:
        for s in self.listeners:
            while True:
                try:
                    conn, _ = s.accept()
                except BlockingIOError:
                    break
                conn.close()

    def setup(self, path: str, mode: int, owner: str, group: str,
              acl: str | None = None) -> None:
        os.lchown(path, self.ids.uid[owner], self.ids.gid[group])
        try:
            os.removexattr(path, "system.posix_acl_access")
        except OSError as exc:
            if exc.errno != E.ENODATA:
                raise
        os.chmod(path, mode)
        if acl is not None:
            subprocess.run(["setfacl", "-n", "--set", acl, "--", path], check=True,
                           capture_output=True)

    def check(self, subjects: list[Subject], path: str, label: str,
              protected: bool) -> None:
        for subject in subjects:
            got = subject.caller.connect(path)
            self.trials += 1
            for view, creds in zip(self.views, (subject.by_id, subject.by_name)):
                walk = components_for(path, view)
                d = decide(creds, walk, protected_symlinks=protected)
                want = None if got in (0, E.EAGAIN) else got
                if d.allowed is None or d.errno != want or d.allowed != (got == 0):
                    self.mismatches.append(
                        f"{label} as {creds.label()} ({'names' if view.by_name else 'ids'}): "
                        f"kernel errno {got}, model allowed={d.allowed} errno={d.errno}\n    "
                        + "\n    ".join(d.text().splitlines()))
        self.drain()


@pytest.fixture(scope="module")
def world(ids):
    base = tempfile.mkdtemp(prefix="sdtest-")
    os.chmod(base, 0o755)
    w = World(ids, base)
    callers: list[Caller] = []
    try:
        os.makedirs(f"{base}/d1/d2")
        w.listen(f"{base}/d1/d2/s.sock")
        pw, gr = passwd_rows(), group_rows()
        subjects = []
        for user in (ids.worker, ids.app):
            cred = worker_credentials(user, None, pw, gr)
            assert not cred.errors, cred.errors
            c = cred.creds
            caller = Caller(user, c.gid, c.uid)
            callers.append(caller)
            # the §2.3 formula equals what setgid+initgroups+setuid really produced
            assert (caller.uid, caller.gid, caller.groups) == (c.uid, c.gid, c.groups)
            by_name = Creds(user=c.user, group=c.group, group_names=c.group_names)
            subjects.append(Subject(caller, c, by_name))
        root = Caller(None, None, None)
        callers.append(root)
        root_names = frozenset(w.gnames[g] for g in root.groups | {root.gid})
        subjects.append(Subject(root, Creds(uid=0, gid=root.gid, groups=root.groups, user="root"),
                                Creds(user="root", group=w.gnames[root.gid],
                                      group_names=root_names)))
        w.subjects = subjects
        yield w
    finally:
        for c in callers:
            c.close()
        for s in w.listeners:
            s.close()
        shutil.rmtree(base, ignore_errors=True)


def test_worker_groups_follow_initgroups_not_passwd_primary(ids, world):
    worker = world.subjects[0]
    assert ids.gid[ids.g_primary] not in worker.caller.groups
    assert worker.caller.groups == {ids.gid[ids.g_worker], ids.gid[ids.g_sock]}


def _report(world: World, before: int, combinations: int) -> None:
    assert world.trials - before == combinations * len(world.subjects)
    assert not world.mismatches, (f"{len(world.mismatches)} of {world.trials} disagree:\n"
                                  + "\n".join(world.mismatches[:15]))


OWNERS = ("worker", "app", "root")
FILLERS = (0o000, 0o444, 0o111)


def _owner(ids: Ids, which: str) -> str:
    return {"worker": ids.worker, "app": ids.app, "root": "root"}[which]


def _groups(ids: Ids) -> tuple[str, ...]:
    return (ids.g_worker, ids.g_primary, ids.g_sock, ids.g_app)


def test_socket_modes_owners_groups(ids, world):
    before = world.trials
    sock = f"{world.base}/d1/d2/s.sock"
    for d in (f"{world.base}/d1", f"{world.base}/d1/d2"):
        world.setup(d, 0o755, "root", "root")
    for wbits, filler, owner, group in itertools.product(range(8), range(3), OWNERS,
                                                         _groups(ids)):
        mode = sum(0o2 << (3 * i) for i in range(3) if wbits >> i & 1) | FILLERS[filler]
        world.setup(sock, mode, _owner(ids, owner), group)
        world.check(world.subjects, sock, f"socket {mode:04o} {owner}:{group}", False)
    _report(world, before, 8 * 3 * 3 * 4)


def test_directory_search(ids, world):
    before = world.trials
    sock = f"{world.base}/d1/d2/s.sock"
    d1, d2 = f"{world.base}/d1", f"{world.base}/d1/d2"
    world.setup(sock, 0o666, ids.app, ids.g_app)
    world.setup(d2, 0o755, "root", "root")
    for xbits, rbits, owner, group in itertools.product(range(8), (0, 0o444), OWNERS,
                                                        _groups(ids)):
        mode = sum(0o1 << (3 * i) for i in range(3) if xbits >> i & 1) | rbits | 0o200
        world.setup(d1, mode, _owner(ids, owner), group)
        world.check(world.subjects, sock, f"dir {mode:04o} {owner}:{group}", False)
    # two levels at once
    levels = ((0o711, "root", "root"), (0o750, ids.app, ids.g_sock),
              (0o705, ids.worker, ids.g_app), (0o2770, ids.app, ids.g_worker))
    sockets = ((0o660, ids.app, ids.g_sock), (0o602, ids.app, ids.g_app),
               (0o200, ids.worker, ids.g_app))
    for a, b, s in itertools.product(levels, levels, sockets):
        world.setup(d1, *a)
        world.setup(d2, *b)
        world.setup(sock, *s)
        world.check(world.subjects, sock, f"dirs {a} {b} socket {s}", False)
    _report(world, before, 8 * 2 * 3 * 4 + 4 * 4 * 3)


def test_socket_acls(ids, world):
    before = world.trials
    sock = f"{world.base}/d1/d2/s.sock"
    for d in (f"{world.base}/d1", f"{world.base}/d1/d2"):
        world.setup(d, 0o755, "root", "root")
    named_user = (None, "rw-", "r--")
    named_sock = (None, "rw-", "---")
    named_app = (None, "rw-")
    for n, (owner, group, nu, gobj, ns, na, mask, other) in enumerate(itertools.product(
            (ids.app, ids.worker), (ids.g_sock, ids.g_app), named_user, ("rw-", "r--"),
            named_sock, named_app, ("rw-", "r--", "---"), ("rw-", "---"))):
        spec = ["u::rw-"]
        if nu:
            spec.append(f"u:{ids.worker}:{nu}")
        spec.append(f"g::{gobj}")
        if ns:
            spec.append(f"g:{ids.g_sock}:{ns}")
        if na:
            spec.append(f"g:{ids.g_app}:{na}")
        spec += [f"m::{mask}", f"o::{other}"]
        acl = ",".join(spec)
        world.setup(sock, 0o600, owner, group, acl)
        if n % 37 == 0:  # the xattr decoder agrees with getfacl
            assert read_acl(sock) == getfacl_entries(sock)
        world.check(world.subjects, sock, f"socket {owner}:{group} acl {acl}", False)
    _report(world, before, 2 * 2 * 3 * 2 * 3 * 2 * 3 * 2)


def test_directory_acls(ids, world):
    before = world.trials
    sock = f"{world.base}/d1/d2/s.sock"
    d1 = f"{world.base}/d1"
    world.setup(f"{world.base}/d1/d2", 0o755, "root", "root")
    world.setup(sock, 0o666, "root", "root")
    for nu, ns, gobj, mask, other in itertools.product(
            (None, "--x", "r--"), (None, "--x", "---"), ("--x", "---"), ("--x", "---", "rwx"),
            ("--x", "---")):
        spec = ["u::rwx"] + ([f"u:{ids.worker}:{nu}"] if nu else []) + [f"g::{gobj}"]
        spec += ([f"g:{ids.g_sock}:{ns}"] if ns else []) + [f"m::{mask}", f"o::{other}"]
        acl = ",".join(spec)
        world.setup(d1, 0o700, ids.app, ids.g_app, acl)
        world.check(world.subjects, sock, f"dir acl {acl}", False)
    _report(world, before, 3 * 3 * 2 * 3 * 2)


def test_not_sockets_missing_stale(ids, world):
    before = world.trials
    base = world.base
    reg, fifo, dird, stale = (f"{base}/reg", f"{base}/fifo", f"{base}/dird", f"{base}/stale.sock")
    for p in (reg,):
        open(p, "w").close()
    os.mkfifo(fifo)
    os.mkdir(dird)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()  # the file stays, nobody listens
    for path, mode, owner, group in itertools.product(
            (reg, fifo, dird), (0o666, 0o644, 0o622, 0o060), OWNERS, _groups(ids)):
        world.setup(path, mode, _owner(ids, owner), group)
        world.check(world.subjects, path, f"{os.path.basename(path)} {mode:04o} {owner}:{group}",
                    False)
    world.setup(stale, 0o666, "root", "root")
    for path in (stale, f"{base}/absent.sock", f"{base}/absent/x.sock", f"{reg}/x.sock"):
        world.check(world.subjects, path, path, False)
    _report(world, before, 3 * 4 * 3 * 4 + 4)


def test_symlinks_and_protected_symlinks(ids, world):
    before = world.trials
    base, sock = world.base, f"{world.base}/d1/d2/s.sock"
    for d in (f"{base}/d1", f"{base}/d1/d2"):
        world.setup(d, 0o755, "root", "root")
    world.setup(sock, 0o666, "root", "root")
    t = f"{base}/t"
    os.mkdir(t)
    links = {
        "final": (f"{t}/final", sock, f"{t}/final"),
        "final-relative": (f"{t}/rel", "../d1/d2/s.sock", f"{t}/rel"),
        "middle": (f"{t}/mid", f"{base}/d1", f"{t}/mid/d2/s.sock"),
        "dangling": (f"{t}/dangling", f"{base}/nowhere.sock", f"{t}/dangling"),
    }
    for link, target, _ in links.values():
        os.symlink(target, link)
    with open(PROTECTED) as f:
        original = f.read().strip()
    settings = [original == "1"]
    try:
        with open(PROTECTED, "w") as f:
            f.write(original)
        settings = [False, True]
    except OSError:
        pass  # not writable here: test the host's current setting only
    try:
        for protected in settings:
            with open(PROTECTED, "w") if len(settings) == 2 else open(os.devnull, "w") as f:
                f.write("1" if protected else "0")
            for tmode, towner, lowner, (name, (link, _, path)) in itertools.product(
                    (0o1777, 0o0777, 0o1775, 0o1733), OWNERS, OWNERS, links.items()):
                world.setup(t, tmode, _owner(ids, towner), "root")
                os.lchown(link, ids.uid[_owner(ids, lowner)], 0)
                world.check(world.subjects, path,
                            f"{name} link by {lowner} in {tmode:04o} dir of {towner}, "
                            f"protected_symlinks={int(protected)}", protected)
    finally:
        if len(settings) == 2:
            with open(PROTECTED, "w") as f:
                f.write(original)
    _report(world, before, 4 * 3 * 3 * len(links) * len(settings))
