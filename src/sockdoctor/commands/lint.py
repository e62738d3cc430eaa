"""`sockdoctor lint PATH ...`: static checks of a repository's configs (for CI and pre-commit).

    sockdoctor lint .                                  # text
    sockdoctor lint deploy/ --format sarif --output sockdoctor.sarif
    sockdoctor lint . --format github --fail-on high   # workflow annotations

Settings come from `.sockdoctor.toml` or `[tool.sockdoctor]` in pyproject.toml (see
sockdoctor/lint/config.py). Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or
input error.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from sockdoctor.cli import UsageError
from sockdoctor.report import SEVERITIES

FORMATS = ("text", "json", "sarif", "github")


def add_parser(subparsers) -> None:
    import argparse

    p = subparsers.add_parser("lint", help="static checks of a repository's configs (CI, SARIF)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    p.add_argument("--all", dest="all_files", action="store_true", help="ignore .gitignore")
    p.add_argument("--fail-on", choices=SEVERITIES, help="lowest severity that fails the run (default: low)")
    p.add_argument("--config", metavar="FILE", help="settings file (default: nearest .sockdoctor.toml/pyproject.toml)")
    p.add_argument("--distro", help="the distro the configs deploy to")
    p.add_argument("--nginx-user", metavar="NAME", help="nginx's worker user when no config names it")


def run(args) -> int:
    from sockdoctor.lint import ConfigError, find_config, lint_paths, load_config

    paths = args.paths or ["."]
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"{p}: no such file or directory")
    try:
        cfg_path = Path(args.config) if args.config else find_config(Path(paths[0]))
        if args.config and not cfg_path.is_file():
            raise UsageError(f"{args.config}: no such file")
        config = load_config(cfg_path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.fail_on:
        config.fail_on = args.fail_on
    if args.distro:
        config.distro = args.distro
    if args.nginx_user:
        config.nginx_user = args.nginx_user
    result = lint_paths(paths, config, all_files=args.all_files)
    text = render(result, args.format)
    if args.output:
        try:
            Path(args.output).write_text(text, "utf-8")
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
    else:
        sys.stdout.write(text)
    for w in result.report.warnings:
        print(f"sockdoctor: warning: {w}", file=sys.stderr)
    return result.exit_status()


def render(result, fmt: str) -> str:
    if fmt == "sarif":
        from sockdoctor.render import sarif

        return json.dumps(sarif.render(result), indent=2) + "\n"
    if fmt == "github":
        from sockdoctor.render import github

        return github.render(result)
    if fmt == "json":
        out = result.report.to_json()
        for f in out["findings"]:
            loc = result.locations.get(f["id"])
            f["location"] = {"file": loc.input, "line": loc.line, "column": loc.column} if loc else None
        out["files"] = sorted(result.texts)
        out["fail_on"] = result.fail_on
        return json.dumps(out, indent=2) + "\n"
    return render_text(result)


def render_text(result) -> str:
    lines = []
    fixes = {}
    for fx in result.report.fixes:
        fixes.setdefault(fx.finding, []).append(fx)
    for f in result.report.findings:
        loc = result.locations.get(f.id)
        where = f"{loc.input}:{loc.line}:{loc.column}" if loc else "-"
        lines.append(f"{where}: {f.severity}: {f.summary} [{f.cause}]")
        for fx in sorted(fixes.get(f.id, []), key=lambda x: x.rank)[:1]:
            lines.append(f"  fix: {fx.title}")
            for d in fx.diffs:
                lines += ["    " + x for x in d.diff.rstrip("\n").split("\n")]
    n, failing = len(result.report.findings), len(result.failing())
    lines.append(f"{len(result.texts)} file(s) checked, {n} finding(s), {failing} at or above {result.fail_on}")
    return "\n".join(lines) + "\n"
