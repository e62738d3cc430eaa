"""A Fix turned into ordered, executable steps: file edits, group changes, checks, reloads.

Only a few command shapes are understood (nginx -t / reload, usermod -aG, gpasswd -a/-d,
systemctl when systemd is PID 1, php-fpm -t). Anything else becomes an ``unsupported`` entry:
the plan still prints, but ``--apply`` refuses it rather than running text from a config.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import shutil

from sockdoctor._dataclass import dataclass, field
from sockdoctor.apply import patch
from sockdoctor.policy import forbidden_in

q = shlex.quote


@dataclass
class FileEdit:
    path: str  # the path the fix names (/etc/nginx/nginx.conf)
    real: str  # where it is on this machine (under --root)
    diff: str
    sha256: str | None  # of the file when the plan was made; None: file absent
    state: str  # pending | done
    new_text: str | None = None
    kind: str = "edit"

    def describe(self) -> str:
        return f"edit {self.path}"


@dataclass
class GroupChange:
    op: str  # add | remove
    user: str
    group: str
    kind: str = "group"

    def describe(self) -> str:
        return f"{'add' if self.op == 'add' else 'remove'} {self.user} {'to' if self.op == 'add' else 'from'} group {self.group}"

    def argv(self, undo: bool = False) -> list[str]:
        add = (self.op == "add") != undo
        return ["usermod", "-aG", self.group, self.user] if add else ["gpasswd", "-d", self.user, self.group]


@dataclass
class ServiceAction:
    role: str  # check | reload | systemd
    service: str
    argv: list[str]
    kind: str = "service"

    def describe(self) -> str:
        return " ".join(q(a) for a in self.argv)


@dataclass
class Plan:
    title: str
    finding: str
    edits: list[FileEdit] = field(default_factory=list)
    groups: list[GroupChange] = field(default_factory=list)
    checks: list[ServiceAction] = field(default_factory=list)
    reloads: list[ServiceAction] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # "command: why"
    refusals: list[str] = field(default_factory=list)  # policy hits and diffs that do not fit
    root: str | None = None
    socket: str | None = None

    @property
    def steps(self) -> list:
        """Changes first, then checks before any reload (issue 5)."""
        return [*self.edits, *self.groups, *self.checks, *self.reloads]

    def problems(self) -> list[str]:
        return [*self.refusals, *(f"cannot apply automatically: {u}" for u in self.unsupported)]


@dataclass
class Services:
    """How to reach the services on this host (facts.md §2)."""
    systemd: bool
    nginx: list[str] = field(default_factory=lambda: ["nginx"])  # argv prefix incl. -p/-c
    nginx_reload: list[str] | None = None  # e.g. ["kill", "-HUP", "<master pid>"] on a live host

    @classmethod
    def live(cls, master_pid: int | None, master_words: list[str], nginx_conf: str | None) -> "Services":
        """The running master's own -p/-c; reload by SIGHUP to it when systemd is not PID 1."""
        from sockdoctor.live.collect import nginx_args

        args = nginx_args(master_words[1:] if master_words else [])
        argv = ["nginx"]
        if args.get("-p"):
            argv += ["-p", args["-p"]]
        if args.get("-c") or nginx_conf:
            argv += ["-c", args.get("-c") or nginx_conf]
        systemd = os.path.isdir("/run/systemd/system")
        reload = None if systemd or master_pid is None else ["kill", "-HUP", str(master_pid)]
        return cls(systemd=systemd, nginx=argv, nginx_reload=reload)

    @classmethod
    def detect(cls, root: str | None = None, nginx_conf: str | None = None,
               nginx_prefix: str | None = None) -> "Services":
        argv = ["nginx"]
        if root and not nginx_conf:
            nginx_conf = os.path.join(root, "etc/nginx/nginx.conf")
        if nginx_conf and not nginx_prefix:
            nginx_prefix = os.path.dirname(nginx_conf) + "/"
        if nginx_prefix:
            argv += ["-p", nginx_prefix]
        if nginx_conf:
            argv += ["-c", nginx_conf]
        explicit = bool(root or nginx_conf)
        return cls(systemd=not explicit and os.path.isdir("/run/systemd/system"), nginx=argv)


def sha256_of(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def resolve(path: str, root: str | None) -> str:
    if path.startswith("~") or not path.startswith("/"):
        raise ValueError(f"{path}: not an absolute path; edit it by hand")
    norm = os.path.normpath(path)
    return os.path.join(root, norm.lstrip("/")) if root else norm


def _read(real: str) -> str | None:
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read().decode("utf-8")


def plan_edit(path: str, diff: str, root: str | None) -> FileEdit:
    real = resolve(path, root)
    text = _read(real)
    hunks = patch.parse(diff)
    st, new = patch.state(text or "", hunks)
    return FileEdit(path, real, diff, sha256_of(real), st, new)


def _commands(cmd: str) -> list[list[str]]:
    """A fix command as argv lists: comments dropped, `a && b` split. Never run through a shell."""
    try:
        words = shlex.split(cmd, comments=True)
    except ValueError:
        return [[cmd]]
    out, cur = [], []
    for w in words:
        if w == "&&":
            out.append(cur)
            cur = []
        else:
            cur.append(w)
    if cur:
        out.append(cur)
    return out


def _add_step(plan: Plan, argv: list[str], cmd: str, svc: Services) -> None:
    if not argv:
        return
    prog, rest = argv[0], argv[1:]
    if prog == "usermod" and len(rest) == 3 and rest[0] in ("-aG", "-Ga") or \
            prog == "usermod" and len(rest) == 4 and rest[:2] in (["-a", "-G"], ["-G", "-a"]):
        plan.groups.append(GroupChange("add", rest[-1], rest[-2]))
    elif prog == "gpasswd" and len(rest) == 3 and rest[0] in ("-a", "--add"):
        plan.groups.append(GroupChange("add", rest[1], rest[2]))
    elif prog == "gpasswd" and len(rest) == 3 and rest[0] in ("-d", "--delete"):
        plan.groups.append(GroupChange("remove", rest[1], rest[2]))
    elif prog == "nginx" and rest == ["-t"]:
        plan.checks.append(ServiceAction("check", "nginx", [*svc.nginx, "-t"]))
    elif prog == "nginx" and rest == ["-s", "reload"] or \
            prog == "systemctl" and len(rest) == 2 and rest[0] in ("reload", "restart") and rest[1] in ("nginx", "nginx.service"):
        _nginx_reload(plan, svc, restart=rest[:1] == ["restart"])
    elif prog.startswith("php-fpm") and rest == ["-t"]:
        binary = next((b for b in ("php-fpm", *(f"php-fpm8.{n}" for n in range(5, -1, -1))) if shutil.which(b)), None)
        if binary:
            plan.checks.append(ServiceAction("check", "php-fpm", [binary, "-t"]))
        else:
            plan.unsupported.append(f"{cmd}: php-fpm is not installed here")
    elif prog == "systemctl" and rest:
        if svc.systemd:
            plan.reloads.append(ServiceAction("systemd", rest[-1], argv))
        else:
            plan.unsupported.append(f"{cmd}: systemd is not PID 1 here")
    else:
        plan.unsupported.append(f"{cmd}: not a step sockdoctor runs itself")


def _nginx_reload(plan: Plan, svc: Services, restart: bool = False) -> None:
    if any(r.service == "nginx" for r in plan.reloads):
        return
    if svc.systemd:
        argv = ["systemctl", "restart" if restart else "reload", "nginx"]
    elif svc.nginx_reload:
        argv = list(svc.nginx_reload)
    else:
        argv = [*svc.nginx, "-s", "reload"]
    plan.reloads.append(ServiceAction("reload", "nginx", argv))


def build(fix, *, root: str | None = None, services: Services | None = None, socket: str | None = None) -> Plan:
    """The Plan for ``fix`` (a sockdoctor.report.Fix) against the files as they are now."""
    svc = services or Services.detect(root)
    plan = Plan(fix.title, fix.finding, root=root, socket=socket)
    for text in [*fix.commands, *(d.diff for d in fix.diffs)]:
        plan.refusals.extend(f"never applied: {hit}" for hit in forbidden_in(text))
    for d in fix.diffs:
        try:
            plan.edits.append(plan_edit(d.path, d.diff, root))
        except (ValueError, patch.PatchError, UnicodeDecodeError, OSError) as exc:
            plan.refusals.append(f"{d.path}: {exc}")
    for cmd in fix.commands:
        for argv in _commands(cmd):
            _add_step(plan, argv, cmd, svc)
    if plan.edits and any(e.path.startswith("/etc/nginx/") for e in plan.edits) and not plan.checks:
        plan.checks.append(ServiceAction("check", "nginx", [*svc.nginx, "-t"]))
    if plan.checks and any(c.service == "nginx" for c in plan.checks):
        _nginx_reload(plan, svc)
    seen, unique = set(), []
    for s in plan.checks:
        if tuple(s.argv) not in seen:
            seen.add(tuple(s.argv))
            unique.append(s)
    plan.checks = unique
    return plan


def script(plan: Plan) -> str:
    """The plan as a reviewable shell script (patches referenced by number)."""
    out = ["#!/bin/sh", f"# sockdoctor fix: {plan.title}", "set -eu", ""]
    for i, e in enumerate(plan.edits, 1):
        note = "  # already applied" if e.state == "done" else ""
        out.append(f"patch -p1 -d {q(plan.root or '/')} < {i:02d}.patch{note}")
    for g in plan.groups:
        out.append(" ".join(q(a) for a in g.argv()))
    for s in [*plan.checks, *plan.reloads]:
        out.append(s.describe())
    for u in plan.unsupported:
        out.append(f"# by hand: {u}")
    for r in plan.refusals:
        out.append(f"# REFUSED: {r}")
    return "\n".join(out) + "\n"


def patches(plan: Plan) -> list[tuple[str, str]]:
    return [(f"{i:02d}.patch", e.diff) for i, e in enumerate(plan.edits, 1)]
