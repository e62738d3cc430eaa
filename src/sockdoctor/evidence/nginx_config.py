"""Reader for nginx configuration files and `nginx -T` dumps.

Detection is by content: the dump's ``# configuration file PATH:`` markers and nginx's ``syntax
is ok`` lines, else the share of lines shaped like nginx directives (``name args;``,
``name ... {``, ``}``) together with directive names nginx knows. Key/value files (ini, PHP-FPM,
systemd), ``ls`` listings and AppArmor profiles do not have that shape.
"""
from __future__ import annotations

import posixpath
import shlex

from sockdoctor import _lazyre
from sockdoctor._dataclass import replace
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ReadWarning, Source
from sockdoctor.nginx import extract, parse_dump, parse_text
from sockdoctor.nginx.parser import DUMP_MARKER, Payload

KIND = "nginx_config"

KNOWN_DIRECTIVES = frozenset("""
user worker_processes pid error_log events http server location upstream listen server_name root
index include proxy_pass fastcgi_pass uwsgi_pass scgi_pass grpc_pass memcached_pass
proxy_set_header proxy_redirect proxy_read_timeout proxy_http_version proxy_buffering
fastcgi_param fastcgi_index fastcgi_split_path_info fastcgi_intercept_errors fastcgi_read_timeout
uwsgi_param uwsgi_read_timeout try_files return rewrite access_log ssl_certificate
ssl_certificate_key ssl_protocols alias worker_connections sendfile tcp_nopush tcp_nodelay
keepalive_timeout default_type gzip map types stream add_header client_max_body_size log_format
load_module worker_rlimit_nofile types_hash_max_size server_tokens limit_req allow deny
auth_basic expires charset if set error_page internal multi_accept use daemon master_process
""".split())
_DIRECTIVE_LINE = _lazyre.compile(r"""^[A-Za-z_][\w.-]*(?:\s+[^;]*)?;\s*(?:#.*)?$""")
_BLOCK_LINE = _lazyre.compile(r"""^(?:[A-Za-z_][\w.-]*)(?:\s+[^;{}]*)?\s*\{\s*(?:#.*)?$""")
_CLOSE_LINE = _lazyre.compile(r"""^\}\s*(?:#.*)?$""")
_NGINX_STATUS = _lazyre.compile(r"^nginx: (?:the )?configuration file \S+ (?:syntax is ok|test is successful|test failed)\s*$"
                                r"|^nginx: \[(?:warn|emerg|alert|notice|crit|error)\] ")
_PATH_HEADER = _lazyre.compile(r"^#\s*((?:/|[\w.-]+/)[^\s:]*)\s*$")
SAMPLE_CHARS = 200_000
MAX_WARNINGS = 20


def _lines(chunk: Chunk) -> list[str]:
    return chunk.text[:SAMPLE_CHARS].split("\n")


def detect(chunk: Chunk) -> Detection | None:
    text = chunk.text
    if not text.strip() or "\0" in text[:SAMPLE_CHARS]:
        return None
    lines = _lines(chunk)
    if DUMP_MARKER.search(text[:SAMPLE_CHARS]):
        return Detection(KIND, 0.99, "`# configuration file PATH:` marker of `nginx -T`")
    status = sum(1 for ln in lines if _NGINX_STATUS.match(ln.strip()))
    shaped = known = total = 0
    for raw in lines:
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        if _NGINX_STATUS.match(line):
            continue
        total += 1
        if _DIRECTIVE_LINE.match(line) or _BLOCK_LINE.match(line) or _CLOSE_LINE.match(line):
            shaped += 1
            word = line.split(None, 1)[0].rstrip(";{")
            if word in KNOWN_DIRECTIVES:
                known += 1
    if status and (total == 0 or shaped * 2 >= total):
        return Detection(KIND, 0.97, "`nginx -t` status line")
    if total == 0 or not known or shaped / total < 0.6:
        return None
    score = min(0.95, 0.5 + 0.35 * shaped / total + 0.02 * min(known, 5))
    reason = f"{shaped} of {total} lines shaped like nginx directives ({known} known directive names)"
    if _path_from_command(chunk.command) or _path_from_header(lines):
        score = min(0.98, score + 0.05)
    return Detection(KIND, round(score, 3), reason)


def _path_from_command(command: str | None) -> str | None:
    """``cat /etc/nginx/sites-enabled/app`` (maybe after sudo) -> the path."""
    if not command:
        return None
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    while argv and argv[0] in ("sudo", "doas", "command"):
        argv = argv[1:]
        while argv and argv[0].startswith("-"):
            argv = argv[1:]
    if len(argv) < 2 or posixpath.basename(argv[0]) not in ("cat", "more", "less", "head", "tail", "bat"):
        return None
    files = [a for a in argv[1:] if not a.startswith("-")]
    if len(files) != 1 or any(c in files[0] for c in "|;&<>"):
        return None
    return files[0]


def _path_from_header(lines: list[str]) -> str | None:
    for line in lines[:5]:
        if line.strip():
            m = _PATH_HEADER.match(line.strip().lstrip("\ufeff"))
            return m.group(1) if m else None
    return None


def _blank_status_lines(text: str) -> str:
    """nginx's own messages (`syntax is ok`, `[warn]`) replaced by empty lines so line numbers stay."""
    if "nginx: " not in text:
        return text
    lines = text.split("\n")
    return "\n".join("" if _NGINX_STATUS.match(ln.strip()) else ln for ln in lines)


def read_payload(chunk: Chunk) -> tuple[Payload, bool]:
    """Parse the chunk; returns the payload and whether the main file's path is known."""
    text = _blank_status_lines(chunk.text)
    if DUMP_MARKER.search(text):
        return parse_dump(text, chunk.name, chunk.first_line), True
    lines = text[:SAMPLE_CHARS].split("\n")
    cmd_path = _path_from_command(chunk.command)
    header = _path_from_header(lines)
    if cmd_path and cmd_path.startswith("/"):
        path = cmd_path
    else:
        path = header or cmd_path
    return parse_text(text, path or chunk.name, chunk.name, chunk.first_line), bool(path)


def read(chunk: Chunk) -> list:
    payload, known = read_payload(chunk)
    return records_of(payload, known, chunk)


def records_of(payload: Payload, known: bool, chunk: Chunk) -> list:
    """The config record and a warning per parse error, for a payload parsed from ``chunk`` (or
    from the files it dumps: then the records cite each file and its own lines)."""
    record = extract(payload)
    out: list = [replace(record, path_known=known)]
    errors = payload.all_errors()
    for err in errors[:MAX_WARNINGS]:
        pf = payload.files.get(err.file)
        if pf is not None and err.line > 0:
            where, line = pf.input or chunk.name, pf.first_line + err.line - 1
            text_lines = pf.text.split("\n")
            text = text_lines[err.line - 1].strip()[:200] if err.line <= len(text_lines) else ""
        else:
            where, line, text = chunk.name, chunk.first_line, ""
        out.append(ReadWarning(Source(where, line, 0, text),
                               f"nginx config {err.file}:{err.line}: {err.message}"))
    if len(errors) > MAX_WARNINGS:
        out.append(ReadWarning(chunk.source(0), f"nginx config: {len(errors) - MAX_WARNINGS} more parse errors"))
    return out
