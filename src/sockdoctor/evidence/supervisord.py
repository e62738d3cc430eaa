"""supervisord.conf (`[supervisord]`, `[program:x]`, ...): one ConfigFile(kind='supervisord') with
the section names as written (`program:uwsgi`), plus a CommandLine for each `command=` with the
source of that line. Parsed like supervisor's ConfigParser: `=` or `:` separators, indented
continuation lines, `;`/`#` comments (inline ones need a space before them).
"""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.cmdline import parse_command

KIND = "supervisord"

DIALECT = ct.IniDialect(key_re=r"[A-Za-z_][\w.-]*", seps="=:", comments=";#", inline_comments=";#",
                        indent_continuation=True)
_STRONG = _lazyre.compile(r"^(supervisord|program:.+|fcgi-program:.+|eventlistener:.+)$")
_WEAK = _lazyre.compile(r"^(unix_http_server|inet_http_server|supervisorctl|rpcinterface:supervisor|group:.+|include)$")


def detect(chunk: Chunk) -> Detection | None:
    sections = ct.ini_sections(chunk.text[:200_000].split("\n")[:1000])
    strong = [s for s in sections if _STRONG.match(s)]
    weak = [s for s in sections if _WEAK.match(s)]
    if strong:
        return Detection(KIND, 0.97, f"supervisord sections {', '.join(f'[{s}]' for s in strong[:3])}")
    if weak and len(weak) == len(sections):
        return Detection(KIND, 0.75, f"supervisord sections {', '.join(f'[{s}]' for s in weak[:3])}")
    return None


def _read(chunk: Chunk) -> list:
    cfg, warnings = ct.read_ini_file(chunk, KIND, DIALECT)
    out: list = [cfg]
    for s in cfg.settings:
        if s.key == "command" and not s.commented and s.value:
            cmd = parse_command(s.value, s.source)
            if cmd is not None:
                out.append(cmd)
    return out + warnings


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
