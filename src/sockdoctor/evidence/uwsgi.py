"""uWSGI configuration: ini (`[uwsgi]`), and the trivial yaml (`uwsgi:` mapping) and xml
(`<uwsgi><socket>...</socket></uwsgi>`) forms.

One ConfigFile(kind='uwsgi'); keys are normalised to uWSGI's dash spelling (`chmod_socket` ->
`chmod-socket`, both mean the same to uWSGI); a bare option line (`chmod-socket` alone, or an
empty xml element) has the value None: for `chmod-socket` that means 0666. Placeholders
(`%(var)`, `%n`, `$(ENV)`) are kept as written.
"""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ConfigFile, Setting

KIND = "uwsgi"

DIALECT = ct.IniDialect(key_re=r"[A-Za-z_][\w.-]*", seps="=", comments="#;", bare_keys=True)
_YAML_TOP = _lazyre.compile(r"^uwsgi:\s*$")
_YAML_KEY = _lazyre.compile(r"^(?P<indent>\s+)(?P<key>[A-Za-z_][\w.-]*):\s*(?P<val>.*?)\s*$")
_XML_OPEN = _lazyre.compile(r"^\s*<uwsgi(?:\s[^>]*)?>\s*$")
_XML_ELEM = _lazyre.compile(r"^\s*<(?P<key>[A-Za-z_][\w.-]*)(?:\s[^>]*)?(?:/>|>(?P<val>[^<]*)</(?P=key)>)\s*$")


def norm_key(key: str) -> str:
    return key.replace("_", "-")


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:200_000].split("\n")[:1000]
    sections = ct.ini_sections(lines)
    if "uwsgi" in sections:
        return Detection(KIND, 0.97, "[uwsgi] section")
    if any(_YAML_TOP.match(ln) for ln in lines) and sum(1 for ln in lines if _YAML_KEY.match(ln)) >= 1:
        return Detection(KIND, 0.85, "`uwsgi:` yaml mapping")
    if any(_XML_OPEN.match(ln) for ln in lines):
        return Detection(KIND, 0.85, "<uwsgi> xml element")
    return None


def _strip_yaml_value(val: str) -> str | None:
    val = re.sub(r"\s+#.*$", "", val)
    if val == "":
        return None
    if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
        return val[1:-1]
    return val


def _read_simple(chunk: Chunk, lines: list[str]) -> list:
    """yaml/xml: one setting per `key: value` / `<key>value</key>` line inside the uwsgi block."""
    settings: list[Setting] = []
    in_block = False
    is_xml = any(_XML_OPEN.match(ln) for ln in lines)
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r")
        if is_xml:
            if _XML_OPEN.match(line):
                in_block = True
                continue
            if re.match(r"^\s*</uwsgi>", line):
                in_block = False
                continue
            m = _XML_ELEM.match(line) if in_block else None
            if m:
                val = m.group("val")
                settings.append(Setting("uwsgi", norm_key(m.group("key")), val.strip() if val and val.strip() else None,
                                        chunk.source(i, line)))
            continue
        if _YAML_TOP.match(line):
            in_block = True
            continue
        if in_block and line.strip() and not line[:1].isspace():
            in_block = False
        m = _YAML_KEY.match(line) if in_block else None
        if m:
            settings.append(Setting("uwsgi", norm_key(m.group("key")), _strip_yaml_value(m.group("val")),
                                    chunk.source(i, line)))
    path, known = ct.file_identity(chunk, lines)
    return [ConfigFile(KIND, path, tuple(settings), tuple(lines), chunk.source(0, lines[0] if lines else ""),
                       first_line=chunk.first_line, path_known=known)]


def _read(chunk: Chunk) -> list:
    lines = ct.file_lines(chunk.text)
    if "uwsgi" not in ct.ini_sections(lines) and (any(_YAML_TOP.match(ln) for ln in lines)
                                                  or any(_XML_OPEN.match(ln) for ln in lines)):
        return _read_simple(chunk, lines)
    cfg, warnings = ct.read_ini_file(chunk, KIND, DIALECT, normalize_key=norm_key)
    return [cfg, *warnings]


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
