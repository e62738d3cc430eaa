"""Try ``connect()`` to a Unix socket exactly as an nginx worker would.

A forked child enters the worker's mount namespace when it is not ours (PrivateTmp=, containers:
a path names another file there, or none), drops to the worker's supplementary groups, gid and
uid (in that order, as nginx's ``ngx_worker_process_init`` does), opens a non-blocking AF_UNIX
stream socket like nginx's upstream code, connects, and reports the errno through a pipe. No
byte is ever sent. Needs root.
"""
from __future__ import annotations

import _socket  # the C module: `socket` would cost 3-5 ms of every start making its enums
import errno as errno_mod
import os
import select
import struct

from sockdoctor._dataclass import dataclass

TIMEOUT = 5.0


@dataclass(frozen=True)
class ProbeResult:
    path: str
    errno: int | None  # 0 connected; None when the probe did not run
    skipped: str | None = None  # why it did not run

    def text(self) -> str:
        if self.skipped:
            return f"skipped: {self.skipped}"
        if self.errno == 0:
            return "connected"
        name = errno_mod.errorcode.get(self.errno or 0, "?")
        return f"{name} ({self.errno}: {os.strerror(self.errno or 0)})"


def _connect(path: str) -> int:
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.setblocking(False)  # as nginx does: a full backlog gives EAGAIN, not a wait
        code = s.connect_ex(path)
        return errno_mod.EAGAIN if code == errno_mod.EINPROGRESS else code
    except OSError as exc:
        return exc.errno or 254
    finally:
        s.close()


CLONE_NEWNS = 0x00020000
CRED_FAILED = -1
_INT = struct.Struct("<i")


def same_mount_namespace(pid: int) -> bool:
    """Whether process ``pid`` resolves paths in our mount namespace (OSError if it cannot be told)."""
    mine, theirs = os.stat("/proc/self/ns/mnt"), os.stat(f"/proc/{pid}/ns/mnt")
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def _setns(fd: int, nstype: int) -> None:
    if hasattr(os, "setns"):  # Python 3.12+
        os.setns(fd, nstype)
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _enter_mount_namespace(pid: int | None) -> int:
    """0 when the paths already mean what they mean to ``pid`` (or there is no pid), 1 after
    entering its mount namespace (which also moves our root and cwd to that namespace's root),
    -errno when that failed."""
    if pid is None:
        return 0
    try:
        if same_mount_namespace(pid):
            return 0
        fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
        try:
            _setns(fd, CLONE_NEWNS)
        finally:
            os.close(fd)
    except OSError as exc:
        return -(exc.errno or 1)
    return 1


def _child(paths: list[str], uid: int, gid: int, groups: tuple[int, ...], w: int, namespace_of: int | None) -> None:
    try:
        entered = _enter_mount_namespace(namespace_of)
        os.write(w, _INT.pack(entered))
        if entered < 0:
            return
        try:
            os.setgroups(list(groups))
            os.setgid(gid)
            os.setuid(uid)
        except Exception:  # EPERM, EINVAL (too many groups), OverflowError for ids out of range
            os.write(w, _INT.pack(CRED_FAILED))
            return
        for path in paths:
            os.write(w, _INT.pack(_connect(path)))
    finally:
        os._exit(0)


class PendingProbe:
    """A probe child that is running: ``results()`` waits for it (at most ``timeout`` seconds of
    silence) and reaps it, and leaves in ``notes`` where the connects ran when that was not this
    process's mount namespace. Starting the child early lets the connects overlap other work."""

    def __init__(self, paths: list[str], pid: int, fd: int, timeout: float, namespace_of: int | None = None):
        self.paths, self.pid, self.fd, self.timeout = paths, pid, fd, timeout
        self.namespace_of = namespace_of
        self.notes: list[str] = []

    def results(self) -> dict[str, ProbeResult]:
        data = b""
        want = 4 + 4 * len(self.paths)
        try:
            while len(data) < want:
                ready, _, _ = select.select([self.fd], [], [], self.timeout)
                chunk = os.read(self.fd, 65536) if ready else b""
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(self.fd)
            if len(data) < want:
                try:
                    os.kill(self.pid, 9)
                except ProcessLookupError:
                    pass
            os.waitpid(self.pid, 0)
        entered = _INT.unpack(data[:4])[0] if len(data) >= 4 else 0
        codes = data[4:]
        if entered == 1:
            self.notes.append(f"probe: connected from the mount namespace of pid {self.namespace_of} "
                              f"(it is not this one's: PrivateTmp=, a container)")
        out: dict[str, ProbeResult] = {}
        for i, path in enumerate(self.paths):
            chunk = codes[4 * i:4 * i + 4]
            if entered < 0:
                out[path] = ProbeResult(path, None, f"could not enter the mount namespace of pid {self.namespace_of} "
                                        f"({errno_mod.errorcode.get(-entered, '?')}: {os.strerror(-entered)})")
            elif codes[:4] == _INT.pack(CRED_FAILED):
                out[path] = ProbeResult(path, None, "could not take the worker's credentials")
            elif len(chunk) < 4:
                out[path] = ProbeResult(path, None, f"no answer within {self.timeout:g}s")
            else:
                code = _INT.unpack(chunk)[0]
                out[path] = ProbeResult(path, code) if code != 254 else ProbeResult(path, None, "socket() failed")
        return out


def start_many(paths: list[str], uid: int, gid: int, groups: tuple[int, ...] | list[int],
               timeout: float = TIMEOUT, namespace_of: int | None = None) -> PendingProbe:
    """Fork the child that connects to each path as uid/gid/groups (needs root), in the mount
    namespace of process ``namespace_of`` (the worker) when given."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(list(paths), uid, gid, tuple(groups), w, namespace_of)
    os.close(w)
    return PendingProbe(list(paths), pid, r, timeout, namespace_of)


def probe_many(paths: list[str], uid: int, gid: int, groups: tuple[int, ...] | list[int],
               timeout: float = TIMEOUT, namespace_of: int | None = None) -> dict[str, ProbeResult]:
    """connect() to each path as uid/gid/groups, all from one child process."""
    if os.geteuid() != 0:
        return {p: ProbeResult(p, None, "not root") for p in paths}
    return start_many(paths, uid, gid, groups, timeout, namespace_of).results()


def probe(path: str, uid: int, gid: int, groups: tuple[int, ...] | list[int],
          timeout: float = TIMEOUT) -> ProbeResult:
    """connect() to ``path`` as uid/gid/groups; the errno (0 = connected)."""
    return probe_many([path], uid, gid, groups, timeout)[path]
