"""`sockdoctor fix [INPUT...]`: print the chosen fix as a script + patch set; `--apply` carries it
out with backups, checks, reload and rollback; `--rollback RUN_DIR` undoes a run.

    sockdoctor fix paste.txt                     # review: changes nothing
    sockdoctor fix paste.txt --output plan/      # fix.sh + NN.patch files
    sockdoctor fix paste.txt --apply --yes --run-dir /tmp/runs
    sockdoctor fix --rollback /var/lib/sockdoctor/runs/20261127T205300Z
"""
from __future__ import annotations

import json
import os
import sys

from sockdoctor.cli import UsageError


def add_parser(subparsers) -> None:
    import argparse

    p = subparsers.add_parser("fix", help="show, apply or roll back the fix",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="evidence files, as for diagnose (- for stdin); none: this host, as `check` sees it")
    p.add_argument("--plan", type=int, default=1, metavar="N", help="the Nth ranked fix (default 1)")
    p.add_argument("--output", metavar="DIR", help="write fix.sh and the patches into DIR")
    p.add_argument("--apply", action="store_true", help="carry the plan out")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--rollback", metavar="RUN_DIR", help="undo a previous run")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--run-dir", metavar="DIR", help="parent of run directories (default /var/lib/sockdoctor/runs)")
    p.add_argument("--root", metavar="DIR", help="resolve every file path of the plan under DIR")
    p.add_argument("--nginx-conf", metavar="FILE", help="nginx main config for -t/reload (default with --root: DIR/etc/nginx/nginx.conf)")
    p.add_argument("--verify-as", metavar="USER",
                   help="after the reload, connect() to the finding's socket as USER (the nginx worker user)")
    p.add_argument("--distro", help=argparse.SUPPRESS)
    p.add_argument("--nginx-user", help=argparse.SUPPRESS)


def _emit(args, event) -> None:
    if args.format == "json":
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def _confirm(args) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("--apply needs a terminal to confirm, or --yes")
    answer = input("Apply this plan? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("not applied")


def _need_root(what: str) -> None:
    if os.geteuid() != 0:
        raise UsageError(f"{what} must run as root (it edits system files and group membership)")


def _live(args):
    """This host's diagnosis (as `sockdoctor check` makes it) and how to reach its nginx."""
    from sockdoctor.apply import plan as P

    try:
        from sockdoctor.commands.check import analyse
        from sockdoctor.live.collect import collect, find_master
    except ImportError:
        raise UsageError("no INPUT given and live collection is not available: pass evidence files or -") from None
    _need_root("fix on the live host")
    if args.root:
        raise UsageError("--root needs INPUT files (live collection reads this host)")
    conf = os.path.abspath(args.nginx_conf) if args.nginx_conf else None
    col = collect(conf=conf)
    report = analyse(col)
    if report is None:
        raise UsageError("the analysis is not available in this build")
    pid, words = find_master(conf)
    return report, P.Services.live(pid, words, conf)


def run(args) -> int:
    from sockdoctor.apply import plan as P
    from sockdoctor.apply import txn

    if args.rollback:
        _need_root("fix --rollback")
        try:
            txn.rollback(args.rollback, json_log=lambda e: _emit(args, e))
        except txn.ApplyError as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"{exc.filename or args.rollback}: {exc.strerror}") from None
        if args.format == "text":
            print(f"rolled back {args.rollback}")
        return 0

    live = not args.inputs
    if live:
        report, services = _live(args)
    else:
        from sockdoctor import engine
        from sockdoctor.commands.diagnose import evidence

        report = engine.diagnose_evidence(evidence(args.inputs)[1], distro=args.distro, nginx_user=args.nginx_user)
        services = P.Services.detect(args.root, args.nginx_conf)
    if not report.fixes:
        if args.format == "json":
            _emit(args, {"changed": False, "message": "nothing to fix"})
        else:
            print("nothing to fix: the diagnosis finds no problem with a fix")
        return 0
    if not 1 <= args.plan <= len(report.fixes):
        raise UsageError(f"--plan {args.plan}: there are {len(report.fixes)} plans")
    fix = report.fixes[args.plan - 1]
    socket = next((f.socket for f in report.findings if f.id == fix.finding), None)
    plan = P.build(fix, root=args.root, services=services, socket=socket)
    script = P.script(plan)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, "fix.sh"), "w", encoding="utf-8") as fh:
            fh.write(script)
        for name, diff in P.patches(plan):
            with open(os.path.join(args.output, name), "w", encoding="utf-8") as fh:
                fh.write(diff)
    if args.format == "text" and (not args.output or args.apply):
        sys.stdout.write(script)
        for name, diff in P.patches(plan):
            sys.stdout.write(f"\n# --- {name}\n{diff}")
    elif args.format == "json" and not args.apply:
        _emit(args, {"plan": fix.to_json(), "script": script, "problems": plan.problems()})
    if not args.apply:
        return 0
    _need_root("fix --apply")
    if plan.problems():
        raise UsageError(f"refusing to apply: {plan.problems()[0]}")
    verify = None
    if live and plan.socket:
        from sockdoctor.apply.verify import probe_live
        verify = probe_live(plan.socket, args.nginx_conf)
    elif args.verify_as:
        if not plan.socket:
            raise UsageError("--verify-as: the chosen fix names no socket to probe")
        from sockdoctor.apply.verify import probe_socket
        verify = probe_socket(plan.socket, args.verify_as)
    _confirm(args)
    try:
        run_dir, changed = txn.apply(plan, args.run_dir, json_log=lambda e: _emit(args, e), verify=verify)
    except txn.ApplyError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{exc.filename or args.run_dir}: {exc.strerror}") from None
    if args.format == "text":
        print(f"{'applied' if changed else 'nothing to change'}; run directory {run_dir}")
    else:
        _emit(args, {"run_dir": run_dir, "changed": changed})
    return 0
