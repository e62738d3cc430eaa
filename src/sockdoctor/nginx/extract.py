"""From a parsed nginx configuration to the facts the analysis needs (NginxConfigRecord)."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from sockdoctor.evidence.records import NginxConfigRecord, NginxSocketRef, Source
from sockdoctor.nginx.parser import Directive, Payload, _gc_paused, walk

__all__ = ["extract", "socket_target", "user_and_group", "FileLines", "PASS_DIRECTIVES"]

PASS_DIRECTIVES = frozenset({
    "proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass"})
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_NOT_FILES = ("stderr", "syslog:", "memory:")


class FileLines(Mapping):
    """path -> the file's lines (no line terminators), split on demand so a 50,000-file tree
    does not keep every line as its own string."""

    __slots__ = ("_texts",)

    def __init__(self, texts: dict[str, str]):
        self._texts = texts

    def __getitem__(self, path: str) -> tuple[str, ...]:
        text = self._texts[path]
        if text.startswith("\ufeff"):
            text = text[1:]
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return tuple(line[:-1] if line.endswith("\r") else line for line in lines)

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileLines):
            return self._texts == other._texts
        return Mapping.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FileLines({list(self._texts)!r})"


def user_and_group(user_args: tuple[str, ...] | list[str] | None) -> tuple[str | None, str | None]:
    """nginx's ``user USER [GROUP]``: without GROUP the group is the one named like USER
    (getgrnam(USER)), not USER's primary group. None when there is no user directive."""
    if not user_args:
        return None, None
    return user_args[0], user_args[1] if len(user_args) > 1 else user_args[0]


def socket_target(directive: str, arg: str) -> tuple[str | None, bool, bool] | None:
    """(path, abstract, variable) when ``arg`` of ``directive`` names a Unix socket, else None.

    ``proxy_pass http://unix:/p.sock:/uri`` ends the path at the first ``:`` (nginx's uri part);
    the other *_pass directives and ``server``/``listen`` take the rest of the argument."""
    rest = _SCHEME.sub("", arg, count=1)
    if not rest.startswith("unix:"):
        return None
    path = rest[5:]
    if directive == "proxy_pass" and rest is not arg:
        path = path.split(":", 1)[0]
    if "$" in path:
        return None, False, True
    return path, path.startswith("@"), False


class _Sources:
    """Maps (file, line) to an input Source."""

    def __init__(self, payload: Payload):
        self.payload = payload
        self._lines: dict[str, list[str]] = {}

    def text(self, file: str, line: int) -> str:
        lines = self._lines.get(file)
        if lines is None:
            pf = self.payload.files.get(file)
            lines = pf.text.split("\n") if pf else []
            self._lines[file] = lines
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    def source(self, d: Directive) -> Source:
        pf = self.payload.files.get(d.file)
        if pf is None:
            return Source(d.file, d.line, d.column, "")
        return Source(pf.input, pf.first_line + d.line - 1, d.column, self.text(d.file, d.line))


_EXTRACTED = frozenset(PASS_DIRECTIVES) | {"server", "listen", "user", "pid", "error_log"}  # what extract reads


@_gc_paused
def extract(payload: Payload, name: str | None = None) -> NginxConfigRecord:
    """Walk the configuration (includes expanded, each in its including context) and collect the
    ``user``, ``pid``, ``error_log`` and every Unix socket nginx connects to or listens on."""
    src = _Sources(payload)
    user: Directive | None = None
    pid: Directive | None = None
    error_logs: list[str] = []
    sockets: list[NginxSocketRef] = []

    def ref(d: Directive, raw: str, target: tuple[str | None, bool, bool], directive: str,
            upstream: str | None = None, listen: bool = False) -> None:
        path, abstract, variable = target
        sockets.append(NginxSocketRef(path, directive, raw, src.source(d), d.file, d.line,
                                      abstract, variable, upstream, listen))

    for d, parents in walk(payload):
        name_ = d.directive
        if name_ not in _EXTRACTED:
            continue
        if name_ in PASS_DIRECTIVES:
            if d.args:
                target = socket_target(name_, d.args[0])
                if target:
                    ref(d, d.args[0], target, name_)
        elif name_ == "server":
            if d.args and parents and parents[-1].directive == "upstream":
                target = socket_target("server", d.args[0])
                if target:
                    up = parents[-1].args[0] if parents[-1].args else None
                    ref(d, d.args[0], target, "server", upstream=up)
        elif name_ == "listen":
            if d.args:
                target = socket_target("listen", d.args[0])
                if target:
                    ref(d, d.args[0], target, "listen", listen=True)
        elif name_ == "user":
            if not parents and user is None:
                user = d
        elif name_ == "pid":
            if not parents and pid is None and d.args:
                pid = d
        elif name_ == "error_log":
            if d.args and not d.args[0].startswith(_NOT_FILES) and d.args[0] not in error_logs:
                error_logs.append(d.args[0])

    main = payload.files.get(payload.main)
    input_name = name or (main.input if main else payload.main)
    first = main.first_line if main else 1
    user_src = src.source(user) if user else None
    errors = tuple(str(e) for e in payload.all_errors())
    return NginxConfigRecord(
        main_file=payload.main,
        files=FileLines({p: f.text for p, f in payload.files.items()}),  # type: ignore[arg-type]
        user=tuple(user.args) if user else None,
        user_source=user_src,
        user_file_line=(user.file, user.line) if user else None,
        sockets=tuple(sockets),
        source=Source(input_name, first, 0, ""),
        pid_file=pid.args[0] if pid else None,
        error_logs=tuple(error_logs),
        errors=errors,
        file_offsets={p: f.first_line for p, f in payload.files.items()},
        tree=payload,
    )
