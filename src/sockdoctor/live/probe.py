"""Try ``connect()`` to a Unix socket exactly as an nginx worker would.

A forked child drops to the worker's supplementary groups, gid and uid (in that order, as nginx's
``ngx_worker_process_init`` does), opens a non-blocking AF_UNIX stream socket like nginx's
upstream code, connects, and reports the errno through a pipe. No byte is ever sent. Needs root.
"""
from __future__ import annotations

import errno as errno_mod
import os
import select
import socket
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
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.setblocking(False)  # as nginx does: a full backlog gives EAGAIN, not a wait
        code = s.connect_ex(path)
        return errno_mod.EAGAIN if code == errno_mod.EINPROGRESS else code
    except OSError as exc:
        return exc.errno or 254
    finally:
        s.close()


def _child(paths: list[str], uid: int, gid: int, groups: tuple[int, ...], w: int) -> None:
    try:
        try:
            os.setgroups(list(groups))
            os.setgid(gid)
            os.setuid(uid)
        except Exception:  # EPERM, EINVAL (too many groups), OverflowError for ids out of range
            os.write(w, struct.pack("<i", CRED_FAILED))
            return
        for path in paths:
            os.write(w, struct.pack("<i", _connect(path)))
    finally:
        os._exit(0)


CRED_FAILED = -1


class PendingProbe:
    """A probe child that is running: ``results()`` waits for it (at most ``timeout`` seconds of
    silence) and reaps it. Starting the child early lets the connects overlap other work."""

    def __init__(self, paths: list[str], pid: int, fd: int, timeout: float):
        self.paths, self.pid, self.fd, self.timeout = paths, pid, fd, timeout

    def results(self) -> dict[str, ProbeResult]:
        data = b""
        want = 4 * len(self.paths)
        try:
            while len(data) < want:
                ready, _, _ = select.select([self.fd], [], [], self.timeout)
                chunk = os.read(self.fd, 65536) if ready else b""
                if not chunk:
                    break
                data += chunk
                if data[:4] == struct.pack("<i", CRED_FAILED):
                    break
        finally:
            os.close(self.fd)
            if len(data) < want:
                try:
                    os.kill(self.pid, 9)
                except ProcessLookupError:
                    pass
            os.waitpid(self.pid, 0)
        out: dict[str, ProbeResult] = {}
        for i, path in enumerate(self.paths):
            chunk = data[4 * i:4 * i + 4]
            if data[:4] == struct.pack("<i", CRED_FAILED):
                out[path] = ProbeResult(path, None, "could not take the worker's credentials")
            elif len(chunk) < 4:
                out[path] = ProbeResult(path, None, f"no answer within {self.timeout:g}s")
            else:
                code = struct.unpack("<i", chunk)[0]
                out[path] = ProbeResult(path, code) if code != 254 else ProbeResult(path, None, "socket() failed")
        return out


def start_many(paths: list[str], uid: int, gid: int, groups: tuple[int, ...] | list[int],
               timeout: float = TIMEOUT) -> PendingProbe:
    """Fork the child that connects to each path as uid/gid/groups (needs root)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(list(paths), uid, gid, tuple(groups), w)
    os.close(w)
    return PendingProbe(list(paths), pid, r, timeout)


def probe_many(paths: list[str], uid: int, gid: int, groups: tuple[int, ...] | list[int],
               timeout: float = TIMEOUT) -> dict[str, ProbeResult]:
    """connect() to each path as uid/gid/groups, all from one child process."""
    if os.geteuid() != 0:
        return {p: ProbeResult(p, None, "not root") for p in paths}
    return start_many(paths, uid, gid, groups, timeout).results()


def probe(path: str, uid: int, gid: int, groups: tuple[int, ...] | list[int],
          timeout: float = TIMEOUT) -> ProbeResult:
    """connect() to ``path`` as uid/gid/groups; the errno (0 = connected)."""
    return probe_many([path], uid, gid, groups, timeout)[path]
