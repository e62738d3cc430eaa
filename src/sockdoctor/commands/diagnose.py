"""`sockdoctor diagnose [INPUT ...]`: the diagnosis from pasted or saved evidence."""
from __future__ import annotations

import json
import os
import sys

from sockdoctor import limits
from sockdoctor.cli import UsageError

MAX_INPUT_BYTES = limits.DEFAULTS["max_input_bytes"]  # SOCKDOCTOR_MAX_INPUT_BYTES / --limit overrides it
HEAD_BYTES = 64 * 1024  # what classifies a file over the limit


def add_parser(sub):
    p = sub.add_parser("diagnose", help="diagnose from pasted evidence (files, directories or stdin)")
    add_output_options(p)
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="file, directory, or - for stdin (default)")
    p.add_argument("--distro", help="debian|rhel|alpine|nginx.org (default: inferred from evidence)")
    p.add_argument("--nginx-user", help="nginx worker user when no evidence shows it")


def add_output_options(p):
    p.add_argument("--format", choices=["text", "json", "markdown", "sarif"], default="text")
    p.add_argument("--output", "-o", help="write the report to this file")


def collect(paths: list[str], big_logs: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """(name, text) of every input. With ``big_logs``, a file over the input limit that starts like
    an nginx error.log is not refused: its (name, path) goes there, to be streamed (stream_log)."""
    from sockdoctor.evidence.textio import decode_input

    items: list[tuple[str, str]] = []
    if not paths or paths == ["-"]:
        max_bytes = limits.value("max_input_bytes", MAX_INPUT_BYTES)
        data = sys.stdin.buffer.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise UsageError(f"<stdin>:1: input larger than the {max_bytes}-byte limit "
                             "(SOCKDOCTOR_MAX_INPUT_BYTES raises it)")
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
            name = os.path.basename(f) if len(paths) == 1 and os.path.isdir(path) else f
            try:
                max_bytes = limits.value("max_input_bytes", MAX_INPUT_BYTES)
                with open(f, "rb") as fh:
                    if big_logs is not None and os.fstat(fh.fileno()).st_size > max_bytes:
                        if is_error_log(fh.read(HEAD_BYTES), name):
                            big_logs.append((name, f))
                            continue
                        fh.seek(0)
                    data = fh.read(max_bytes + 1)  # a file growing after a size check stays bounded
                if len(data) > max_bytes:
                    raise UsageError(f"{f}:1: more than the {max_bytes}-byte input limit "
                                     "(SOCKDOCTOR_MAX_INPUT_BYTES raises it)")
            except OSError as exc:
                raise UsageError(f"{f}: cannot read: {exc.strerror}") from None
            text, warnings = decode_input(data, os.path.basename(f))
            for w in warnings:
                print(f"sockdoctor: warning: {w}", file=sys.stderr)
            items.append((name, text))
    return items


def is_error_log(head: bytes, name: str) -> bool:
    """Whether the splitter reads these first bytes of a file as an nginx error.log and nothing else."""
    from sockdoctor.evidence import split

    end = head.rfind(b"\n")
    text = head[:end + 1 if end != -1 else len(head)].decode("utf-8", "replace")
    return {p.kind for p in split.split(name, text) if p.kind} == {"error_log"}


def stream_log(ev, name: str, path: str) -> None:
    """Add a big error.log to ``ev`` without reading it into memory: the streamed scan's records
    (connect() failures summarised per socket) and the input's kind and line count for the report."""
    from sockdoctor import engine
    from sockdoctor.evidence.base import Chunk
    from sockdoctor.live.logscan import tally_path

    try:
        tally = tally_path(path, name)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    ev.records.extend(tally.records())
    ev.line_counts[name] = tally.lines
    ev.pieces[name] = [engine.Piece(Chunk(name, ""), "error_log", 1.0,
                                    "nginx error.log over the input limit, streamed", tally.lines)]


def emit(report, args, texts: dict[str, str] | None = None) -> None:
    data = report.to_json()
    if args.format == "json":
        from sockdoctor.render.jsonout import dumps
        text = dumps(data) + "\n"  # laid out like check's report
    elif args.format == "markdown":
        from sockdoctor.render import markdown
        text = markdown.render(data)
    elif args.format == "sarif":
        from sockdoctor.lint.runner import LintResult, locate
        from sockdoctor.render import sarif

        texts = texts or {}
        result = LintResult(files=[], report=report, texts=texts,
                            locations={f.id: loc for f in report.findings if (loc := locate(f, texts))})
        text = json.dumps(sarif.render(result), indent=2) + "\n"
    else:
        from sockdoctor.render import text as text_render
        color = not args.output and sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
        text = text_render.render(data, color=color)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


def evidence(paths: list[str]):
    """(the inputs read into memory, the engine's Evidence of all inputs, big error logs streamed)."""
    from sockdoctor import engine

    big_logs: list[tuple[str, str]] = []
    items = collect(paths, big_logs)
    ev = engine.read_inputs(items)
    for name, path in big_logs:
        stream_log(ev, name, path)
    return items, ev


def run(args) -> int:
    from sockdoctor import engine

    items, ev = evidence(args.inputs)
    report = engine.diagnose_evidence(ev, distro=args.distro, nginx_user=args.nginx_user)
    usable = [i for i in report.inputs if i.kind != "unrecognized"]
    if items and not usable and not report.findings:
        first = items[0][0]
        raise UsageError(f"{first}:1: nothing sockdoctor can read (no nginx config, log line, ls/ps/id output or unit)")
    emit(report, args, dict(items))
    return report.exit_status()
