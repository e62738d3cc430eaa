"""`sockdoctor check`: diagnose the live host (or a filesystem tree with --root), and prove it by
connecting to each upstream socket with the nginx worker's own credentials.

    sockdoctor check                          # exit 1 when a socket fails or is insecure
    sockdoctor check --socket /run/app.sock --format json
    sockdoctor check --root /mnt/image        # configs, passwd/group, file metadata; no probe
"""
from __future__ import annotations

import gc
import os
import sys

from sockdoctor.access import Creds, components_for, decide, node_from_record
from sockdoctor.cli import UsageError
from sockdoctor.evidence.records import LogFact
from sockdoctor.live.collect import Collection, collect
from sockdoctor.live.probe import PendingProbe, ProbeResult, start_many

FORMATS = ("text", "json", "markdown")


def add_parser(subparsers) -> None:
    import argparse

    p = subparsers.add_parser("check", help="diagnose the live host and probe each socket",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", metavar="DIR", help="read a filesystem tree instead of the live host")
    p.add_argument("--socket", metavar="PATH", help="only this socket")
    p.add_argument("--nginx-conf", metavar="FILE", help="nginx main config (default: the running master's)")
    p.add_argument("--format", default="text", help="text, json or markdown")
    p.add_argument("--output", metavar="FILE", help="write the report to FILE")
    p.add_argument("--no-probe", action="store_true", help="do not connect to the sockets")


def worker_creds(col: Collection) -> Creds | None:
    """The running worker's credentials (/proc), else what the config's `user` and the
    passwd/group files give (--root, or nginx not running)."""
    w = col.worker
    if w is None:
        return static_creds(col)
    return Creds(w.uid, w.gid, frozenset(w.groups), col.users.get(w.uid), col.groups.get(w.gid),
                 frozenset(col.groups[g] for g in (w.gid, *w.groups) if g in col.groups))


def static_creds(col: Collection) -> Creds | None:
    from sockdoctor.nginx import user_and_group

    texts = {name.rsplit("/", 2)[-1]: text for name, text in col.inputs if name.endswith(("/etc/passwd", "/etc/group"))}
    if col.config is None or "passwd" not in texts:
        return None
    user, group = user_and_group(col.config.user)
    user = user or "nobody"
    entry = next((ln.split(":") for ln in texts["passwd"].splitlines()
                  if ln.split(":")[0] == user and len(ln.split(":")) >= 4), None)
    if entry is None or not entry[2].isdigit() or not entry[3].isdigit():
        return None
    uid, gid = int(entry[2]), int(entry[3])
    by_name = {v: k for k, v in col.groups.items()}
    if group:
        gid = by_name.get(group, gid)
    groups = {gid}
    for ln in texts.get("group", "").splitlines():
        parts = ln.split(":")
        if len(parts) >= 4 and parts[2].isdigit() and user in parts[3].split(","):
            groups.add(int(parts[2]))
    return Creds(uid, gid, frozenset(groups), user, col.groups.get(gid),
                 frozenset(col.groups[g] for g in groups if g in col.groups))


def socket_rows(col: Collection, probes: dict[str, ProbeResult], host=None) -> list[dict]:
    """One row per socket: what the config says, what the files show, what the model predicts
    for the running worker, what the probe saw, and whether the two agree. With the analysis's
    ``host``, a socket the analysis already decided for the same worker is not decided again."""
    creds = worker_creds(col)
    analysed = _analysed_decision(host, creds)
    nodes: dict = {}

    def as_node(path: str):
        if path not in nodes:
            rec = col.nodes.get(path)
            nodes[path] = None if rec is None else node_from_record(rec, col.acls.get(path))
        return nodes[path]
    hidden = {r.data["path"] for r in col.records
              if isinstance(r, LogFact) and r.kind == "mount_namespace_missing" and r.data.get("pid") is not None}
    rows = []
    for use in col.sockets:
        node = col.nodes.get(use.path)
        shown = "(missing)" if node is None or node.type == "missing" else \
            f"{node.owner}:{node.group} {node.mode:04o}" if node.mode is not None else "?"
        row = {"path": use.path, "directive": use.directive, "where": use.where, "shown": shown,
               "verdict": "unknown", "predicted_errno": None, "probe": None, "probe_errno": None,
               "agree": None, "world_writable": bool(node and node.type == "socket" and node.mode is not None
                                                     and node.mode & 0o002)}
        if use.path in hidden:  # the worker's walk ends at a name its namespace does not have
            row["verdict"], row["predicted_errno"] = "denied (not in the worker's mount namespace)", 2
        elif creds is not None:
            d = analysed(use.path) or decide(creds, components_for(use.path, as_node))
            row["verdict"] = "allowed" if d.allowed else ("unknown" if d.allowed is None else f"denied ({d.reason})")
            row["predicted_errno"] = 0 if d.allowed else d.errno
        result = probes.get(use.path)
        if result is not None:
            row["probe"] = result.text()
            row["probe_errno"] = result.errno
            if result.errno is not None and row["predicted_errno"] is not None and row["verdict"] != "unknown":
                # DAC allowing says nothing of the listener: ECONNREFUSED/EAGAIN come after it
                dac_ok_probe = result.errno in (0, 111, 11)
                row["agree"] = (row["predicted_errno"] == 0) == dac_ok_probe or row["predicted_errno"] == result.errno
        rows.append(row)
    return rows


def _analysed_decision(host, creds):
    """path -> the analysis's decision for it when it answers the table's question (the same
    worker credentials, fs.protected_symlinks on, no listener verdict folded in), else None."""
    from sockdoctor.rules import _common
    from sockdoctor.model import listener_known

    if host is None or creds is None or host.worker.creds != creds or _common.protected_symlinks(host) is not True:
        return lambda path: None

    def find(path: str):
        info = host.sockets.get(path)
        if info is None or listener_known(host, info) is False:
            return None
        return _common.decision(host, info, creds)
    return find


def disagreements(rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        if r["agree"] is False:
            out.append(f"{r['path']}: the permission model predicts {r['verdict']} but the probe got "
                       f"{r['probe']}; look at MAC (SELinux/AppArmor denials) or mount namespaces "
                       f"(PrivateTmp=, containers)")
    return out


def run_probes(col: Collection) -> tuple[dict[str, ProbeResult], list[str]]:
    return probe_results(*start_probes(col))


def probe_results(started: PendingProbe | dict[str, ProbeResult], notes: list[str]) -> tuple[dict[str, ProbeResult], list[str]]:
    """The results of ``start_probes``, waiting for the child if one runs, and every note."""
    if isinstance(started, PendingProbe):
        return started.results(), notes + started.notes
    return started, notes


def start_probes(col: Collection) -> tuple[PendingProbe | dict[str, ProbeResult], list[str]]:
    if col.root is not None:
        return {}, ["probe skipped: --root reads a tree, there is no process to probe as"]
    if os.geteuid() != 0:
        return {u.path: ProbeResult(u.path, None, "not root") for u in col.sockets}, \
            ["probe skipped: not root"]
    if col.worker is None:
        return {u.path: ProbeResult(u.path, None, "no nginx worker running") for u in col.sockets}, \
            ["probe skipped: no nginx worker process to take credentials from"]
    w = col.worker
    paths = list(dict.fromkeys(u.path for u in col.sockets))
    return start_many(paths, w.uid, w.gid, w.groups, namespace_of=w.pid), []


def analyse(col: Collection):
    """The engine's report, or None when the analysis is not available in this build."""
    return analyse_with_model(col)[0]


def analyse_with_model(col: Collection):
    """(report, host model), or (None, None) when the analysis is not available in this build."""
    try:
        from sockdoctor import analysis
    except ImportError:
        return None, None
    return analysis.analyse_with_model(evidence(col))


def evidence(col: Collection):
    """The engine's Evidence for the collection: inputs of a known kind go straight to their
    reader; the others through the splitter like pasted text."""
    from sockdoctor import engine
    from sockdoctor.evidence.base import Chunk

    known = [(n, t) for n, t in col.inputs if n in col.kinds]
    unknown = [(n, t) for n, t in col.inputs if n not in col.kinds]
    ev = engine.read_inputs(unknown) if unknown else engine.Evidence()  # the splitter is imported only when needed
    for name, text in known:
        ev.texts[name] = text
        ev.line_counts[name] = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        piece = engine.Piece(Chunk(name, text), col.kinds[name], 1.0, "collected by sockdoctor check",
                             ev.line_counts[name])
        ev.pieces[name] = [piece]
        ev.records.extend(col.read[name] if name in col.read else engine.read_piece(piece))
    ev.records.extend(col.records)
    return ev


def table(rows: list[dict], markdown: bool = False) -> str:
    head = ["directive", "socket", "owner:group mode", "worker verdict", "probe"]
    body = [[r["directive"], r["path"], r["shown"], r["verdict"], r["probe"] or "-"] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(c.replace("|", "\\|") for c in b) + " |" for b in body]) + "\n"
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*line).rstrip() for line in [head, *body]) + "\n"


def render(fmt: str, rows: list[dict], report, warnings: list[str], notes: list[str], color: bool = False) -> str:
    if fmt == "json":
        out = report.to_json() if report is not None else {"schema_version": 1, "inputs": [], "sockets": [],
                                                            "findings": [], "fixes": [], "warnings": []}
        out["warnings"] = list(out.get("warnings", [])) + warnings
        out["check"] = {"sockets": rows, "disagreements": notes, "analysis": report is not None}
        from sockdoctor.render.jsonout import dumps
        return dumps(out) + "\n"
    md = fmt == "markdown"
    parts = [("## Sockets\n\n" if md else "Sockets\n") + table(rows, md)]
    if not rows:
        parts.append("no upstream Unix sockets found in the nginx configuration\n")
    for n in notes:
        parts.append(("- " if md else "! ") + n + "\n")
    if report is None:
        parts.append("analysis not available in this build: showing the collected facts and the probe only\n")
        parts.extend(f"{'- ' if md else ''}warning: {w}\n" for w in warnings)
        return "\n".join(parts) if md else "".join(parts)
    data = report.to_json()
    data["warnings"] = list(data.get("warnings", [])) + warnings
    if md:
        from sockdoctor.render import markdown
        parts.append(markdown.render(data))
        return "\n".join(parts)
    from sockdoctor.render import text as text_render
    parts.append("\n" + text_render.render(data, color=color))
    return "".join(parts)


def exit_status(rows: list[dict], report) -> int:
    if report is not None and report.findings:
        return 1
    for r in rows:
        if r["world_writable"] or r["verdict"].startswith("denied") or r["agree"] is False:
            return 1
        if r["probe_errno"] not in (None, 0):
            return 1
    return 0


def run(args) -> int:
    """The cyclic garbage collector is paused for the whole check, as the analysis pauses it:
    collecting a large configuration allocates tens of thousands of small acyclic objects (the
    parse, the lstat records), and the collector's passes over them cost more than the check's
    own work on a host with 1,000 sockets."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:
        if enabled:
            gc.enable()


def _run(args) -> int:
    if args.format not in FORMATS:
        raise UsageError(f"--format: {args.format!r} is not one of {', '.join(FORMATS)}")
    if args.root and not os.path.isdir(args.root):
        raise UsageError(f"--root {args.root}: not a directory")
    col = collect(root=os.path.abspath(args.root) if args.root else None, conf=args.nginx_conf, socket=args.socket)
    started, probe_notes = ({}, ["probe skipped: --no-probe"]) if args.no_probe else start_probes(col)
    report, host = analyse_with_model(col)  # while the probe child connects
    probes, probe_notes = probe_results(started, probe_notes)
    rows = socket_rows(col, probes, host)
    notes = disagreements(rows)
    color = args.format == "text" and not args.output and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    text = render(args.format, rows, report, col.warnings + probe_notes, notes, color)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise UsageError(f"--output {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
    return exit_status(rows, report)
