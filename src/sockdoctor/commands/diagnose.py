"""`sockdoctor diagnose [INPUT ...]`: the diagnosis from pasted or saved evidence."""
from __future__ import annotations

import json
import os
import sys

from sockdoctor.cli import UsageError

MAX_INPUT_BYTES = 64 * 1024 * 1024


def add_parser(sub):
    p = sub.add_parser("diagnose", help="diagnose from pasted evidence (files, directories or stdin)")
    add_output_options(p)
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="file, directory, or - for stdin (default)")
    p.add_argument("--distro", help="debian|rhel|alpine|nginx.org (default: inferred from evidence)")
    p.add_argument("--nginx-user", help="nginx worker user when no evidence shows it")


def add_output_options(p):
    p.add_argument("--format", choices=["text", "json", "markdown", "sarif"], default="text")
    p.add_argument("--output", "-o", help="write the report to this file")


def collect(paths: list[str]) -> list[tuple[str, str]]:
    from sockdoctor.evidence.textio import decode_input

    items: list[tuple[str, str]] = []
    if not paths or paths == ["-"]:
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise UsageError(f"<stdin>: input larger than {MAX_INPUT_BYTES} bytes")
        text, warnings = decode_input(data, "<stdin>")
        for w in warnings:
            print(f"sockdoctor: warning: {w}", file=sys.stderr)
        return [("<stdin>", text)]
    for path in paths:
        if path == "-":
            items.extend(collect(["-"]))
            continue
        if os.path.isdir(path):
            files = sorted(os.path.join(path, f) for f in os.listdir(path) if os.path.isfile(os.path.join(path, f)))
        elif os.path.exists(path):
            files = [path]
        else:
            raise UsageError(f"{path}: no such file or directory")
        for f in files:
            try:
                size = os.path.getsize(f)
                if size > MAX_INPUT_BYTES:
                    raise UsageError(f"{f}: {size} bytes is more than the {MAX_INPUT_BYTES}-byte limit")
                with open(f, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise UsageError(f"{f}: cannot read: {exc.strerror}") from None
            text, warnings = decode_input(data, os.path.basename(f))
            for w in warnings:
                print(f"sockdoctor: warning: {w}", file=sys.stderr)
            items.append((os.path.basename(f) if len(paths) == 1 and os.path.isdir(path) else f, text))
    return items


def emit(report, args) -> None:
    data = report.to_json()
    if args.format == "json":
        text = json.dumps(data, indent=2) + "\n"
    elif args.format == "markdown":
        from sockdoctor.render import markdown
        text = markdown.render(data)
    elif args.format == "sarif":
        try:
            from sockdoctor.render import sarif
        except ImportError:
            raise UsageError("--format sarif is not available in this build") from None
        text = json.dumps(sarif.render(data) if hasattr(sarif, "render") else sarif.to_sarif(data), indent=2) + "\n"
    else:
        from sockdoctor.render import text as text_render
        color = not args.output and sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
        text = text_render.render(data, color=color)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


def run(args) -> int:
    from sockdoctor import engine

    items = collect(args.inputs)
    report = engine.diagnose(items, distro=args.distro, nginx_user=args.nginx_user)
    usable = [i for i in report.inputs if i.kind != "unrecognized"]
    if items and not usable and not report.findings:
        first = items[0][0]
        raise UsageError(f"{first}:1: nothing sockdoctor can read (no nginx config, log line, ls/ps/id output or unit)")
    emit(report, args)
    return report.exit_status()
