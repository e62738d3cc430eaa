"""After a reload: connect() to the socket as the nginx worker would (sockdoctor.live.probe)."""
from __future__ import annotations

import grp
import os
import pwd


def creds(user: str) -> tuple[int, int, list[int]]:
    """uid, gid and supplementary groups as nginx's `user USER;` gives them (initgroups)."""
    pw = pwd.getpwnam(user)
    try:
        gid = grp.getgrnam(user).gr_gid  # nginx: getgrnam(user) when the directive names no group
    except KeyError:
        gid = pw.pw_gid
    return pw.pw_uid, gid, os.getgrouplist(user, gid)


def probe_socket(path: str, user: str):
    """A callable for txn.apply: None when ``user`` can connect to ``path``, else why not."""
    from sockdoctor.live.probe import probe

    def check() -> str | None:
        try:
            uid, gid, groups = creds(user)
        except KeyError:
            return f"no such user {user}"
        result = probe(path, uid, gid, groups)
        if result.errno == 0:
            return None
        return f"connect({path}) as {user}: {result.text()}"
    return check


def probe_live(path: str, conf: str | None, timeout: float = 8.0):
    """A callable for txn.apply: probe as the *new* nginx worker, found again after the reload.

    Old workers linger while they finish requests, so the probe is retried until it passes or
    ``timeout`` runs out; the last failure is the answer."""
    import time

    from sockdoctor.live.collect import collect
    from sockdoctor.live.probe import probe

    def check() -> str | None:
        end = time.monotonic() + timeout
        last = "no nginx worker running"
        while True:
            w = collect(conf=conf, socket=path).worker
            if w is not None:
                result = probe(path, w.uid, w.gid, tuple(w.groups))
                if result.errno == 0:
                    return None
                last = f"connect({path}) as worker uid {w.uid}: {result.text()}"
            if time.monotonic() > end:
                return last
            time.sleep(0.2)
    return check
