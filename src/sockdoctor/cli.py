"""Command-line entry point. Each subcommand lives in sockdoctor.commands.<name>."""
from __future__ import annotations

import argparse
import importlib
import sys

from sockdoctor import __version__

COMMANDS = ["diagnose", "check", "fix", "lint", "redact", "ask", "web"]


class UsageError(Exception):
    """Bad input or usage: printed as one line, exit status 2."""


def build_parser(only: str | None = None) -> tuple[argparse.ArgumentParser, dict]:
    """The parser; with ``only``, just that subcommand's module is imported (faster start-up)."""
    parser = argparse.ArgumentParser(prog="sockdoctor", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sockdoctor {__version__}")
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=N",
                        help="raise or lower a hostile-input limit (see sockdoctor/limits.py and SECURITY.md)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name in ([only] if only in COMMANDS else COMMANDS):
        try:
            mod = importlib.import_module(f"sockdoctor.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"sockdoctor.commands.{name}":
                continue
            raise
        mod.add_parser(sub)
        modules[name] = mod
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    chosen = next((w for w in words if not w.startswith("-")), None)
    parser, modules = build_parser(chosen if chosen in COMMANDS else None)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        _apply_limits(args.limit)
        return int(modules[args.command].run(args) or 0)
    except UsageError as exc:
        print(f"sockdoctor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sockdoctor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _apply_limits(specs: list[str]) -> None:
    from sockdoctor import limits

    for msg in limits.check_env():
        print(f"sockdoctor: warning: {msg}", file=sys.stderr)
    for spec in specs:
        try:
            limits.set_override(spec)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
