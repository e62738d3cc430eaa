"""Reader for `nginx -T | grep -n ...` (and `grep -rn ... /etc/nginx`) lines.

``94:    server unix:/run/x.sock fail_timeout=0;`` or ``/etc/nginx/sites-enabled/x:12:  proxy_pass ...;``:
each line is one directive, read with the nginx lexer. The file is unknown for ``nginx -T | grep``
(the chunk name stands in, ``file_line`` is grep's line number, i.e. the line in the dump), the
enclosing block too: an upstream ``server unix:`` line keeps ``upstream=None``.
"""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import NginxConfigRecord, NginxSocketRef, Source
from sockdoctor.nginx import parse_text, socket_target
from sockdoctor.nginx.extract import PASS_DIRECTIVES

KIND = "nginx_grep"

_LINE = _lazyre.compile(r"^(?:(?P<file>[^\s:]+?):)?(?P<num>\d+)[:-](?P<content>.*)$")
_SHAPED = _lazyre.compile(r"^\s*[A-Za-z_][\w.-]*(?:\s+[^;]*)?(?:;|\{)\s*(?:#.*)?$")
SAMPLE_LINES = 400


def _parsed_lines(chunk: Chunk, limit: int | None = None):
    for i, raw in enumerate(chunk.text.split("\n")):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if limit is not None and i >= limit:
            return
        yield i, line, _LINE.match(line)


def detect(chunk: Chunk) -> Detection | None:
    total = matched = signal = 0
    for _, line, m in _parsed_lines(chunk, SAMPLE_LINES):
        total += 1
        if m and _SHAPED.match(m.group("content")):
            matched += 1
            content = m.group("content").strip()
            if "unix:" in content or content.startswith("user "):
                signal += 1
    if not total or not signal or matched < total:
        return None
    score = 0.9 if matched >= 2 or signal == matched else 0.7
    return Detection(KIND, score, f"{matched} `LINE:directive` lines from grep -n, {signal} with user/unix:")


def read(chunk: Chunk) -> list:
    user = user_src = user_fl = None
    sockets: list[NginxSocketRef] = []
    for i, line, m in _parsed_lines(chunk):
        if not m:
            continue
        content = m.group("content")
        file = m.group("file") or chunk.name
        num = int(m.group("num"))
        payload = parse_text(content if content.rstrip().endswith((";", "{", "}")) else content + ";", file)
        if not payload.directives:
            continue
        d = payload.directives[0]
        col = m.start("content") + d.column
        src = Source(chunk.name, chunk.first_line + i, col, line.strip())
        if d.directive == "user" and user is None and d.args:
            user, user_src, user_fl = tuple(d.args), src, (file, num)
            continue
        if not d.args or not (d.directive in PASS_DIRECTIVES or d.directive in ("server", "listen")):
            continue
        target = socket_target(d.directive, d.args[0])
        if target:
            path, abstract, variable = target
            sockets.append(NginxSocketRef(path, d.directive, d.args[0], src, file, num, abstract, variable,
                                          None, d.directive == "listen"))
    if user is None and not sockets:
        return []
    return [NginxConfigRecord(
        main_file=chunk.name, files={}, user=user, user_source=user_src, user_file_line=user_fl,
        sockets=tuple(sockets), source=chunk.source(0), path_known=False)]
