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
from dataclasses import dataclass

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


def _child(path: str, uid: int, gid: int, groups: tuple[int, ...], w: int) -> None:
    code = 255
    try:
        try:
            os.setgroups(list(groups))
            os.setgid(gid)
            os.setuid(uid)
        except OSError:
            return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        code = s.connect_ex(path)
        if code == errno_mod.EINPROGRESS:
            code = errno_mod.EAGAIN
        s.close()
    except OSError as exc:
        code = exc.errno or 254
    finally:
        os.write(w, struct.pack("<i", code))
        os._exit(0)


def probe(path: str, uid: int, gid: int, groups: tuple[int, ...] | list[int],
          timeout: float = TIMEOUT) -> ProbeResult:
    """connect() to ``path`` as uid/gid/groups; the errno (0 = connected)."""
    if os.geteuid() != 0:
        return ProbeResult(path, None, "not root")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(path, uid, gid, tuple(groups), w)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], timeout)
        data = os.read(r, 4) if ready else b""
    finally:
        os.close(r)
        if not data:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
    if len(data) != 4:
        return ProbeResult(path, None, f"no answer within {timeout:g}s")
    code = struct.unpack("<i", data)[0]
    if code in (254, 255):
        return ProbeResult(path, None, "could not take the worker's credentials")
    return ProbeResult(path, code)
