"""Evidence → host model → findings (ranked) → fixes → report."""
from __future__ import annotations

import gc

from sockdoctor import model
from sockdoctor.evidence import records as R
from sockdoctor.report import Finding, InputInfo, Report
from sockdoctor.rules import FAILURE_CAUSES, INSECURE_CAUSES, rule

# Causes that explain the same EACCES at the same socket from different angles: the most specific
# one (earliest in FAILURE_CAUSES) is the diagnosis, the others would lead to the wrong fix.
EXCLUSIVE = [
    {"stale_worker_groups", "container_id_mismatch", "worker_user_unexpected", "worker_not_in_socket_group",
     "socket_mode_too_strict", "acl_denies"},
    {"socket_path_mismatch", "private_namespace", "runtime_directory_lifecycle", "server_cannot_create_socket",
     "upstream_not_running", "duplicate_socket_owner"},
]


def analyse(ev, *, distro=None, nginx_user=None, static_only=False) -> Report:
    return analyse_with_model(ev, distro=distro, nginx_user=nginx_user, static_only=static_only)[0]


def analyse_with_model(ev, *, distro=None, nginx_user=None, static_only=False) -> tuple[Report, model.Host]:
    """The report, and the host model it reasoned on (`check` reads its decisions back).

    Pauses the cyclic garbage collector while it runs: the analysis allocates many small,
    acyclic objects, and on a 50,000-site fleet repeated GC passes over the evidence cost more
    than the analysis itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        host = model.build(ev, distro=distro, nginx_user=nginx_user, static_only=static_only)
        return _analyse(ev, host, static_only=static_only), host
    finally:
        if enabled:
            gc.enable()


def _analyse(ev, host: model.Host, *, static_only=False) -> Report:
    failures: list[Finding] = []
    for cause in FAILURE_CAUSES:
        mod = rule(cause)
        if static_only and not mod.STATIC:
            continue
        failures.extend(mod.check(host))
    insecure: list[Finding] = []
    for cause in INSECURE_CAUSES:
        mod = rule(cause)
        if static_only and not mod.STATIC:
            continue
        insecure.extend(mod.check(host))

    failures = _rank(host, failures)
    findings = failures + insecure
    for i, f in enumerate(findings, 1):
        f.id = f"F{i}"

    fix_list = []
    if findings:
        from sockdoctor import fixes as fixes_mod

        for f in findings:
            fix_list.extend(fixes_mod.plans(host, f))

    report = Report(findings=findings, fixes=fix_list)
    report.inputs = _inputs(ev)
    report.sockets = [
        {"path": s.path, "used_by": [r.source.ref() for r in s.refs],
         **({"errno": s.errno} if s.errno is not None else {})}
        for s in host.sockets.values() if s.refs or s.events
    ]
    report.warnings = _warnings(ev, host)
    return report


def _rank(host, failures: list[Finding]) -> list[Finding]:
    order = {c: i for i, c in enumerate(FAILURE_CAUSES)}
    kept: list[Finding] = []
    by_socket: dict[str | None, list[Finding]] = {}
    for f in failures:
        by_socket.setdefault(f.socket, []).append(f)
    for sock, fs in by_socket.items():
        info = host.sockets.get(sock) if sock else None
        reported = info.errno if info else None
        if reported is not None and any(f.explains_errno == reported for f in fs):
            fs = [f for f in fs if f.explains_errno == reported or f.explains_errno is None]
        fs.sort(key=lambda f: order.get(f.cause, 99))
        chosen: list[Finding] = []
        for f in fs:
            group = next((g for g in EXCLUSIVE if f.cause in g), None)
            if group and any(c.cause in group for c in chosen):
                continue
            chosen.append(f)
        kept.extend(chosen)

    def key(f: Finding):
        info = host.sockets.get(f.socket) if f.socket else None
        matches = info is not None and info.errno is not None and f.explains_errno == info.errno
        return (0 if matches else 1, order.get(f.cause, 99))

    kept.sort(key=key)
    return kept


def _inputs(ev) -> list[InputInfo]:
    out = []
    for name, pieces in ev.pieces.items():
        kinds = [p.kind for p in pieces if p.kind]
        kind = kinds[0] if len(set(kinds)) == 1 else ("mixed" if kinds else "unrecognized")
        info = InputInfo(name=name, kind=kind, lines=ev.line_counts.get(name, 0))
        if len(pieces) > 1:
            info.pieces = [{"kind": p.kind, "first_line": p.chunk.first_line, "last_line": p.last_line or None,
                            "command": p.chunk.command, "reason": p.reason, "score": round(p.score, 2)}
                           for p in pieces]
        out.append(info)
    return out


def _warnings(ev, host) -> list[str]:
    out = []
    for r in ev.records:
        if isinstance(r, R.ReadWarning):
            out.append(f"{r.source.input}:{r.source.line}: {r.message}")
        elif isinstance(r, R.Unrecognized) and r.reason != "prose":
            out.append(f"{r.source.input}:{r.source.line}: {r.lines} line(s) not recognised ({r.reason})")
    out.extend(host.worker.errors)
    for a in host.assumptions:
        out.append(f"assumed: {a}")
    if not host.sockets:
        out.append("no Unix socket found in the evidence: add the nginx config (`nginx -T`) or the error.log line")
    return out
