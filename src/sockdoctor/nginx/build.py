"""Turn parsed directives back into nginx configuration text (parse -> build -> parse gives the
same directives and arguments), and into crossplane's payload shape."""
from __future__ import annotations

import re
from collections.abc import Iterator

from sockdoctor.nginx.parser import Directive, Payload

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["build", "build_files", "quote_arg", "to_crossplane"]

_PLAIN = re.compile(r"""[^\s;{}"'\\#$]+(?:[^\s;{}"'\\$]|\$(?!\{))*""")
MAX_INDENT = 64  # deeper blocks are not indented further (100,000 levels would be quadratic text)
_ESC = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\r": "\\r", "\n": "\\n"}


def quote_arg(value: str) -> str:
    """The argument as nginx must read it back: bare when that is unambiguous, else in double
    quotes with nginx's escapes (only \\\\ \\" \\t \\r \\n are unescaped by nginx, so a backslash
    before any other character is written as \\\\ and reads back as itself)."""
    if value and _PLAIN.fullmatch(value) and not value.endswith("$"):
        return value
    return '"' + "".join(_ESC.get(c, c) for c in value) + '"'


def _lua(d: Directive) -> str:
    if d.directive == "set_by_lua_block" and len(d.args) >= 2:
        return f"{d.directive} {d.args[0]} {{{d.args[1]}}}"
    return f"{d.directive} {{{d.args[0] if d.args else ''}}}"


def build(directives: list[Directive] | Payload, indent: int = 4, tabs: bool = False) -> str:
    """Config text for ``directives`` (a Payload builds its main file; includes stay includes)."""
    if isinstance(directives, Payload):
        directives = directives.directives
    pad = "\t" if tabs else " " * indent
    out: list[str] = []
    stack: list[tuple[Iterator[Directive], int]] = [(iter(directives), 0)]
    while stack:
        it, depth = stack[-1]
        for d in it:
            margin = pad * min(depth, MAX_INDENT)
            if d.directive.endswith("_by_lua_block") and d.block is None:
                out.append(margin + _lua(d))
                continue
            args = [quote_arg(a) for a in d.args]
            head = quote_arg(d.directive)
            if d.directive == "if":
                head += " (" + " ".join(args) + ")"
            elif args:
                head += " " + " ".join(args)
            if d.block is None:
                out.append(margin + head + ";")
                continue
            out.append(margin + head + " {")
            stack.append((iter(d.block), depth + 1))
            break
        else:
            stack.pop()
            if stack:
                out.append(pad * min(len(stack) - 1, MAX_INDENT) + "}")
    return "\n".join(out) + ("\n" if out else "")


def build_files(payload: Payload, indent: int = 4) -> dict[str, str]:
    """path -> rebuilt text for every file of the payload."""
    return {p: build(f.directives, indent) for p, f in payload.files.items()}


def to_crossplane(payload: Payload) -> dict[str, Any]:
    """The payload in crossplane.parse()'s shape (config list in reading order, includes as
    indexes into it); used by the differential test and for anyone who knows that format."""
    index = {p: i for i, p in enumerate(payload.files)}

    def conv(directives: list[Directive]) -> list[dict[str, Any]]:
        root: list[dict[str, Any]] = []
        stack = [(iter(directives), root)]
        while stack:
            it, out = stack[-1]
            for d in it:
                stmt: dict[str, Any] = {"directive": d.directive, "line": d.line, "args": list(d.args)}
                if d.includes is not None:
                    stmt["includes"] = [index[p] for p in d.includes if p in index]
                out.append(stmt)
                if d.block is not None:
                    stmt["block"] = []
                    stack.append((iter(d.block), stmt["block"]))
                    break
            else:
                stack.pop()
        return root

    configs = []
    errors = []
    for p, f in payload.files.items():
        errs = [{"error": e.message, "line": e.line} for e in f.errors]
        errors.extend({"file": p, "error": e.message, "line": e.line} for e in f.errors)
        configs.append({"file": p, "status": "failed" if errs else "ok", "errors": errs,
                        "parsed": conv(f.directives)})
    errors.extend({"file": e.file, "error": e.message, "line": e.line} for e in payload.errors)
    return {"status": "failed" if errors else "ok", "errors": errors, "config": configs}
