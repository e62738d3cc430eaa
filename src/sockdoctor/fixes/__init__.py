"""Least-privilege fix plans per finding, at the layer that creates the socket.

Each planner returns ranked ``Fix`` objects; ``plans`` numbers them and drops any plan that the
policy forbids (sockdoctor.policy), which is a safety net: planners never build such steps.
"""
from __future__ import annotations

import json
import posixpath
import shlex

from sockdoctor import policy
from sockdoctor.fixes import edit
from sockdoctor.report import Diff, Fix

q = shlex.quote


def one_line(text) -> str:
    """Text from the evidence made safe for a `# comment`: a newline would end the comment."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")


def positional(name: str) -> str:
    """A quoted positional argument; `--` first when it would read as an option (leading `-`)."""
    return f"-- {q(name)}" if name.startswith("-") else q(name)


def unit_safe(*values) -> bool:
    """True when no value would break out of its line in a generated config file."""
    return not any(c in str(v) for v in values for c in "\r\n")


def write_file(path: str, body: str) -> str:
    """`cat > PATH <<'DELIM'` with a delimiter that no line of ``body`` equals (a quoted heredoc
    expands nothing, so the body is literal)."""
    lines = set(body.split("\n"))
    delim, n = "EOF", 0
    while delim in lines:
        n += 1
        delim = f"EOF_{n}"
    return f"cat > {q(path)} <<'{delim}'\n{body}\n{delim}"


def plans(host, finding) -> list[Fix]:
    planner = PLANNERS.get(finding.cause)
    if planner is None:
        return []
    out = []
    for fix in planner(host, finding) or []:
        text = "\n".join(fix.commands)
        bad = policy.forbidden_in(text, diff=False) + [m for d in fix.diffs for m in policy.forbidden_in(d.diff, diff=True)]
        if bad:
            continue
        fix.finding = finding.id
        out.append(fix)
    for i, fix in enumerate(out, 1):
        fix.rank = i
    return out


# --- shared pieces ----------------------------------------------------------------------------

def worker_user(host) -> str:
    return host.worker.user or "www-data"


def worker_group(host) -> str:
    c = host.worker.creds
    if c and c.group:
        return c.group
    ud = host.user_directive
    if ud and len(ud[0]) > 1:
        return ud[0][1]
    return worker_user(host)


def nginx_reload(host) -> list[str]:
    if host.worker.master_root is False:
        return ["nginx -t", "systemctl restart nginx  # a non-root master keeps its groups: restart, not reload"]
    return ["nginx -t && nginx -s reload"]


def verify_socket(host, path: str) -> list[str]:
    u, g = worker_user(host), worker_group(host)
    return [
        f"sudo -u {q(u)} test -w {q(path)} && echo ok",
        f"namei -l {q(path)}",
        f"setpriv --reuid={q(u)} --regid={q(g)} --init-groups python3 -c "
        + q(f"import socket; socket.socket(socket.AF_UNIX).connect({json.dumps(path)}); print(\"connect ok\")"),
        f"curl -sS --unix-socket {q(path)} http://localhost/ -o /dev/null -w '%{{http_code}}\\n'",
        f"sudo -u nobody python3 -c " + q(f"import socket; socket.socket(socket.AF_UNIX).connect({json.dumps(path)})")
        + "  # must fail with Permission denied",
    ]


def unit_name(path: str) -> str:
    return posixpath.basename(path)


def restart_for(host, producer) -> list[str]:
    """How to make the creator re-create the socket."""
    sup = [c for c in host.configs if c.kind == "supervisord"]
    comp = producer.component
    if comp == "systemd":
        sock = unit_name(producer.config.path)
        svc = unit_name(producer.unit.path) if producer.unit else sock[:-7] + ".service"
        return ["systemctl daemon-reload", f"systemctl stop {q(svc)}", f"systemctl restart {q(sock)}",
                f"systemctl start {q(svc)}"]
    if sup:
        prog = next((s.section.split(":", 1)[1] for c in sup for s in c.settings if s.section.startswith("program:")
                     and comp.replace("-", "") in (s.value or "").replace("-", "")), None) or comp
        cmds = [f"supervisorctl restart {q(prog)}"]
        if host.containers:
            cmds.insert(0, "docker compose up -d --build  # rebuild the image with the changed file")
        return cmds
    if host.containers:
        return ["docker compose up -d --build"]
    unit = producer.unit or _service_running(host, producer)
    if unit is not None:
        return ["systemctl daemon-reload", f"systemctl restart {q(unit_name(unit.path))}"]
    if comp == "php-fpm":
        return ["systemctl restart php-fpm  # or phpX.Y-fpm"]
    return [f"systemctl restart {q(comp)}  # restart the service that runs {one_line(comp)}"]


def app_service(host):
    """The app's .service unit when the evidence shows one (the last one given)."""
    units = host.units(".service")
    return units[-1] if units else None


def _service_running(host, producer):
    path = getattr(producer.config, "path", None)
    for c in host.units(".service"):
        ex = " ".join(s.value or "" for s in c.get_all("ExecStart"))
        if path and path in ex or producer.path and producer.path in ex:
            return c
        if producer.component in ex and len(host.units(".service")) == 1:
            return c
    return None


def _nginx_line(host, ref):
    """(path, lines, index) of an nginx directive when the file was given (a text of that name too
    short for the reference's line, e.g. an excerpt whose header did not read, is not that file)."""
    for n in host.nginx:
        lines = n.files.get(ref.file) if hasattr(n.files, "get") else None
        if lines and 0 < ref.file_line <= len(lines):
            return ref.file, lines, ref.file_line - 1
    return None


def nginx_repoint(host, info, new_path: str) -> list[Diff]:
    diffs = []
    for ref in info.refs:
        where = _nginx_line(host, ref)
        if not where:
            continue
        path, lines, i = where
        old = lines[i]
        new = old.replace(info.path, new_path)
        if new == old:
            new = old.replace("unix:" + info.path, "unix:" + new_path)
        d = edit.line_edit(path, lines, i, new)
        if d:
            diffs.append(d)
    return diffs


def app_name(host, info) -> str:
    for p in info.producers:
        base = posixpath.basename(getattr(p.config, "path", "") or "")
        stem = base.rsplit(".", 1)[0]
        if stem and stem not in ("www", "uwsgi", "gunicorn", "gunicorn.conf", "app", "default"):
            return stem
    parts = [x for x in info.path.split("/") if x and x not in ("run", "var", "tmp", "home", "sock")]
    for x in parts:
        if "." not in x and not x.startswith("@"):
            return x
    return info.path.lstrip("@").split(".")[0].split("/")[-1] or "app"


from sockdoctor.fixes import planners as _planners  # noqa: E402

PLANNERS = _planners.PLANNERS
