"""`sockdoctor redact`: print the input with secrets replaced by stable placeholders.

    sockdoctor redact config.txt > safe.txt
    sockdoctor redact --map ~/.sockdoctor-map.json a.conf b.log   # mapping kept, mode 0600
    sockdoctor redact --restore --map ~/.sockdoctor-map.json answer.md
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from sockdoctor.cli import UsageError
from sockdoctor.redact import Mapping, redact, restore


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("redact", help="replace secrets by stable placeholders",
                              description=__doc__, formatter_class=_raw())
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="file, directory or - (default: stdin)")
    p.add_argument("--hosts", action="store_true", help="also mask hostnames, public IP addresses, e-mail addresses")
    p.add_argument("--map", metavar="FILE", help="read/extend the placeholder mapping in FILE (written mode 0600)")
    p.add_argument("--restore", action="store_true", help="put the values from --map back into the input")
    p.add_argument("--list", action="store_true", help="list what was redacted (input:line:column kind placeholder) on stderr")
    p.add_argument("--json", action="store_true", help="print {inputs: [{name, text, findings}]} instead of text")


def _raw():
    import argparse
    return argparse.RawDescriptionHelpFormatter


def read_inputs(paths: list[str]) -> list[tuple[str, str]]:
    """(name, text) for each input; a directory gives each file in it. UsageError when unreadable."""
    if not paths or paths == ["-"]:
        return [("<stdin>", _decode("<stdin>", sys.stdin.buffer.read()))]
    out = []
    for name in paths:
        if name == "-":
            out.append(("<stdin>", _decode("<stdin>", sys.stdin.buffer.read())))
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            if not files:
                raise UsageError(f"{name}: directory has no files")
            out += [(str(p), _read(p)) for p in files]
        else:
            out.append((name, _read(path)))
    return out


def _read(path: Path) -> str:
    try:
        return _decode(str(path), path.read_bytes())
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _decode(name: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UsageError(f"{name}:{line}: not UTF-8 text (byte {exc.start}); nothing redacted") from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise UsageError(f"{name}:{line}: binary data (NUL byte); nothing redacted")
    return text


def load_map(path: str | None) -> Mapping:
    if not path or not os.path.exists(path):
        return Mapping()
    try:
        return Mapping.from_json(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UsageError(f"{path}:1: {exc}") from None


def save_map(path: str, mapping: Mapping) -> None:
    """Write atomically to a new file created 0600 (O_EXCL), then rename over ``path``."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the map ({exc.strerror or exc})") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(mapping.to_json())
        os.replace(tmp, target)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


def run(args) -> int:
    if args.restore and not args.map:
        raise UsageError("--restore needs --map FILE")
    if args.restore and not os.path.exists(args.map):
        raise UsageError(f"{args.map}: no such map")
    inputs = read_inputs(args.inputs)
    mapping = load_map(args.map)
    if args.restore:
        for _name, text in inputs:
            sys.stdout.write(restore(text, mapping))
        return 0
    results = [(name, redact(text, hosts=args.hosts, mapping=mapping)) for name, text in inputs]
    if args.map:
        save_map(args.map, mapping)
    if args.list:
        for name, result in results:
            for f in result.findings:
                print(f"{name}:{f.line}:{f.column}: {f.kind} {f.placeholder}", file=sys.stderr)
    if args.json:
        json.dump({"inputs": [{"name": name, "text": r.text,
                               "findings": [f.__dict__ for f in r.findings]} for name, r in results]},
                  sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for name, result in results:
        if len(results) > 1:
            sys.stdout.write(f"==> {name} <==\n")
        sys.stdout.write(result.text)
        if len(results) > 1 and not result.text.endswith("\n"):
            sys.stdout.write("\n")
    return 0
