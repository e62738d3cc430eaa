"""Carry out a Plan as a transaction: preflight, backups + manifest, atomic writes, log, rollback.

Run directory layout:  manifest.json (written, fsynced, before any change), backups/NN (original
bytes), log.jsonl (one line per step event).  Metadata kept: mode, uid, gid and every xattr
(system.posix_acl_access = the ACL, security.selinux = the label).
"""
from __future__ import annotations

import base64
import fcntl
import grp
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time

from sockdoctor.apply.plan import FileEdit, GroupChange, Plan, ServiceAction, sha256_of

DEFAULT_RUNS = "/var/lib/sockdoctor/runs"
TMP_TAG = ".sockdoctor-tmp"


class ApplyError(Exception):
    """A step failed or the plan cannot be applied; the message is one line."""


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(tmp, path)
    _fsync_dir(os.path.dirname(path))


def _xattrs(fd: int) -> dict[str, str]:
    out = {}
    try:
        names = os.listxattr(fd)
    except OSError:
        return out
    for name in names:
        try:
            out[name] = base64.b64encode(os.getxattr(fd, name)).decode()
        except OSError:
            pass
    return out


def atomic_write(path: str, data: bytes, meta: dict | None, kill_before_rename: bool = False) -> None:
    """Replace ``path`` by ``data``: temp file in the same dir, metadata, fsync, rename, dir fsync."""
    directory, base = os.path.split(path)
    tmp = os.path.join(directory, f".{base}{TMP_TAG}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
        if meta:
            os.fchown(fd, meta["uid"], meta["gid"])
            os.fchmod(fd, meta["mode"])
            for name, value in meta.get("xattrs", {}).items():
                try:
                    os.setxattr(fd, name, base64.b64decode(value))
                except OSError:
                    pass
        else:
            os.fchmod(fd, 0o644)
        os.fsync(fd)
    finally:
        os.close(fd)
    if kill_before_rename:
        os.kill(os.getpid(), signal.SIGKILL)
    os.rename(tmp, path)
    _fsync_dir(directory)


def _meta(path: str) -> dict | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        return {"mode": st.st_mode & 0o7777, "uid": st.st_uid, "gid": st.st_gid, "xattrs": _xattrs(fd)}
    finally:
        os.close(fd)


def is_member(user: str, group: str) -> bool:
    try:
        return user in grp.getgrnam(group).gr_mem
    except KeyError:
        return False


class Run:
    def __init__(self, run_dir: str, json_log=None):
        self.dir = run_dir
        self.json_log = json_log

    def log(self, step: int, what: str, status: str, detail: str = "") -> None:
        event = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "step": step, "what": what,
                 "status": status, **({"detail": detail} if detail else {})}
        line = json.dumps(event)
        with open(os.path.join(self.dir, "log.jsonl"), "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if self.json_log:
            self.json_log(event)

    def manifest(self) -> dict:
        with open(os.path.join(self.dir, "manifest.json"), encoding="utf-8") as fh:
            return json.load(fh)

    def save(self, manifest: dict) -> None:
        _write_durable(os.path.join(self.dir, "manifest.json"), json.dumps(manifest, indent=2).encode())


def new_run_dir(base: str | None) -> str:
    base = base or DEFAULT_RUNS
    os.makedirs(base, mode=0o700, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(1000):
        path = os.path.join(base, stamp + (f"-{n}" if n else ""))
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise ApplyError(f"{base}: cannot create a run directory")


def preflight(plan: Plan) -> None:
    """Everything that can be checked before the first change; raises ApplyError."""
    problems = plan.problems()
    if problems:
        raise ApplyError(problems[0])
    for e in plan.edits:
        if sha256_of(e.real) != e.sha256:
            raise ApplyError(f"{e.path}: changed since the plan was made (checksum differs); plan again")
        if e.state == "pending":
            directory = os.path.dirname(e.real)
            probe = os.path.join(directory, f".sockdoctor-preflight-{os.getpid()}")
            try:
                os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
                os.unlink(probe)
            except OSError as exc:
                raise ApplyError(f"{e.path}: cannot write in {directory}: {exc.strerror}") from None
    for g in plan.groups:
        for prog in (g.argv()[0], g.argv(undo=True)[0]):
            if not shutil.which(prog):
                raise ApplyError(f"{g.describe()}: {prog} not found in PATH")
    for s in [*plan.checks, *plan.reloads]:
        if not shutil.which(s.argv[0]):
            raise ApplyError(f"{s.describe()}: {s.argv[0]} not found in PATH")


def _run_cmd(argv: list[str]) -> None:
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ApplyError(f"{' '.join(argv)}: {exc}") from None
    if res.returncode != 0:
        lines = (res.stderr or res.stdout).strip().splitlines()
        why = next((l for l in lines if "[emerg]" in l or "ERROR" in l), lines[-1] if lines else "")
        raise ApplyError(f"{' '.join(argv)} failed (exit {res.returncode}): {why}")


def _test_switch(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value and value.isdigit() else None


def apply(plan: Plan, runs_base: str | None = None, json_log=None, verify=None) -> tuple[str, bool]:
    """Apply ``plan``; returns (run_dir, changed). On any failure everything is rolled back and
    ApplyError (naming the run dir) is raised. ``verify()`` returns None or a failure message."""
    preflight(plan)
    os.makedirs(runs_base or DEFAULT_RUNS, mode=0o700, exist_ok=True)
    lock = os.open(os.path.join(runs_base or DEFAULT_RUNS, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        raise ApplyError(f"another sockdoctor fix is running (lock {runs_base or DEFAULT_RUNS}/.lock)") from None
    try:
        preflight(plan)  # again, under the lock
        return _apply_locked(plan, runs_base, json_log, verify)
    finally:
        os.close(lock)


def _apply_locked(plan: Plan, runs_base: str | None, json_log, verify) -> tuple[str, bool]:
    run = Run(new_run_dir(runs_base), json_log)
    os.makedirs(os.path.join(run.dir, "backups"), mode=0o700)
    manifest = {"version": 1, "title": plan.title, "root": plan.root, "status": "started",
                "files": [], "groups": [], "reloads": [r.argv for r in plan.reloads]}
    for i, e in enumerate(plan.edits):
        entry = {"path": e.path, "real": e.real, "existed": e.sha256 is not None, "sha256_before": e.sha256,
                 "sha256_after": hashlib.sha256((e.new_text or "").encode()).hexdigest(), "meta": _meta(e.real),
                 "backup": None}
        if e.sha256 is not None and e.state == "pending":
            entry["backup"] = f"backups/{i:02d}"
            fd = os.open(e.real, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as fh:
                _write_durable(os.path.join(run.dir, entry["backup"]), fh.read())
        manifest["files"].append(entry)
    manifest["groups"] = [{"user": g.user, "group": g.group, "op": g.op, "was_member": is_member(g.user, g.group)}
                          for g in plan.groups]
    run.save(manifest)
    fail_at, kill_at = _test_switch("SOCKDOCTOR_TEST_FAIL_AT"), _test_switch("SOCKDOCTOR_TEST_KILL_AT")
    changed = False
    try:
        for n, step in enumerate(plan.steps, 1):
            what = step.describe()
            if isinstance(step, ServiceAction) and not changed:
                run.log(n, what, "skipped", "nothing changed")
                continue
            run.log(n, what, "start")
            if kill_at == n and not isinstance(step, FileEdit):
                os.kill(os.getpid(), signal.SIGKILL)
            if fail_at == n:
                raise ApplyError(f"step {n} ({what}): injected failure (SOCKDOCTOR_TEST_FAIL_AT)")
            if isinstance(step, FileEdit):
                if step.state == "done":
                    run.log(n, what, "noop", "already applied")
                    continue
                entry = manifest["files"][plan.edits.index(step)]
                atomic_write(step.real, (step.new_text or "").encode(), entry["meta"], kill_before_rename=kill_at == n)
            elif isinstance(step, GroupChange):
                if is_member(step.user, step.group) == (step.op == "add"):
                    run.log(n, what, "noop", "already so")
                    continue
                _run_cmd(step.argv())
            else:
                _run_cmd(step.argv)
            changed = True
            run.log(n, what, "ok")
        if changed and verify is not None:
            problem = verify()
            run.log(len(plan.steps) + 1, "verify", "failed" if problem else "ok", problem or "")
            if problem:
                raise ApplyError(f"verification failed: {problem}")
    except (ApplyError, OSError) as exc:
        message = str(exc) if isinstance(exc, ApplyError) else f"{exc.filename}: {exc.strerror}"
        run.log(0, "apply", "failed", message)
        rollback(run.dir, json_log=json_log)
        raise ApplyError(f"{message}; rolled back (run {run.dir})") from None
    manifest["status"] = "applied" if changed else "nothing to do"
    run.save(manifest)
    return run.dir, changed


def rollback(run_dir: str, json_log=None) -> list[str]:
    """Undo a run (complete, failed or killed midway) in reverse order; reload what it reloaded."""
    run = Run(run_dir, json_log)
    try:
        manifest = run.manifest()
    except (OSError, ValueError) as exc:
        raise ApplyError(f"{run_dir}: no readable manifest.json ({exc})") from None
    errors: list[str] = []
    for g in reversed(manifest["groups"]):
        change = GroupChange(g["op"], g["user"], g["group"])
        if is_member(g["user"], g["group"]) != g["was_member"]:
            try:
                _run_cmd(change.argv(undo=True))
                run.log(0, f"undo: {change.describe()}", "undone")
            except ApplyError as exc:
                errors.append(str(exc))
    for f in reversed(manifest["files"]):
        real = f["real"]
        tmp = os.path.join(os.path.dirname(real), f".{os.path.basename(real)}{TMP_TAG}")
        if os.path.lexists(tmp):
            os.unlink(tmp)
        current = sha256_of(real)
        if current == f["sha256_before"]:
            continue
        if current != f["sha256_after"]:
            errors.append(f"{f['path']}: changed since the run (neither the old nor the new version); not restored")
            continue
        try:
            if not f["existed"]:
                os.unlink(real)
                _fsync_dir(os.path.dirname(real))
            elif f["backup"]:
                with open(os.path.join(run_dir, f["backup"]), "rb") as fh:
                    atomic_write(real, fh.read(), f["meta"])
            run.log(0, f"undo: edit {f['path']}", "undone")
        except OSError as exc:
            errors.append(f"{f['path']}: {exc.strerror}")
    log = os.path.join(run_dir, "log.jsonl")
    reloaded = os.path.exists(log) and any(json.loads(l).get("status") == "start" and l.find("reload") >= 0
                                           for l in open(log, encoding="utf-8"))
    if reloaded or any(g for g in manifest["groups"]):
        for argv in manifest.get("reloads", []):
            try:
                _run_cmd(argv)
                run.log(0, "reload after rollback: " + " ".join(argv), "ok")
            except ApplyError as exc:
                errors.append(str(exc))
    manifest["status"] = "rolled back" if not errors else "rollback incomplete"
    run.save(manifest)
    if errors:
        raise ApplyError("rollback incomplete: " + "; ".join(errors))
    return errors
