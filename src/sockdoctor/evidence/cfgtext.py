"""Helpers shared by the configuration-file readers: INI-shaped text, file paths named by the
command or a header comment, and the guard that turns a reader bug into a ReadWarning.

Pure Python: readers only look at text.
"""
from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable

from sockdoctor import _lazyre
from sockdoctor._dataclass import dataclass
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk
from sockdoctor.evidence.records import ConfigFile, ReadWarning, Setting

# Commands whose output is a file's text, and which of their arguments is the file.
_FILE_PRINTERS = {"cat", "head", "tail", "less", "more", "bat", "batcat", "nl", "view", "tac",
                  "grep", "egrep", "sed", "awk", "cut", "strings", "sudoedit", "vi", "vim", "nano"}
# Options of those commands that take a value (so the value is not taken for the file).
_VALUE_OPTS = {"-n", "-c", "-e", "-f", "-m", "-A", "-B", "-C", "-d", "--lines", "--bytes"}
_HEADER_PATH = _lazyre.compile(r"^\s*(?:#+|;+)\s*(/[^\s()]+)(?:\s.*)?$")


def file_lines(text: str) -> list[str]:
    """The lines of a file's text; a final newline does not make an extra empty line."""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


def command_file(command: str | None) -> str | None:
    """The file a `cat /etc/x.conf` (or `sudo head -n 40 ...`, `grep -v '^;' file`) printed."""
    seg = co.producer(command)
    if seg is None or seg.program not in _FILE_PRINTERS:
        return None
    args: list[str] = []
    argv = list(seg.argv[1:])
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _VALUE_OPTS:
            i += 2
            continue
        if not a.startswith("-") or a == "-":
            args.append(a)
        i += 1
    if seg.program in ("grep", "egrep", "sed", "awk") and len(args) >= 2:
        args = args[1:]  # the first non-option is the pattern or script
    paths = [a for a in args if "/" in a or "." in a]
    return paths[-1] if paths else None


def systemctl_units(command: str | None) -> tuple[str, list[str], list[str]]:
    """For a `systemctl VERB ... UNIT...` command: (verb, units, properties asked with -p)."""
    for seg in co.segments(command):
        if seg.program != "systemctl":
            continue
        verb = ""
        units: list[str] = []
        props: list[str] = []
        argv = list(seg.argv[1:])
        i = 0
        while i < len(argv):
            a = argv[i]
            if a in ("-p", "--property", "-P"):
                if i + 1 < len(argv):
                    props.extend(argv[i + 1].split(","))
                i += 2
                continue
            if a.startswith("--property="):
                props.extend(a.split("=", 1)[1].split(","))
            elif a.startswith("-p") and len(a) > 2:
                props.extend(a[2:].split(","))
            elif a in ("-H", "--host", "-M", "--machine", "-t", "--type", "--state", "-n", "--lines",
                       "-o", "--output"):
                i += 2
                continue
            elif a.startswith("-"):
                pass
            elif not verb:
                verb = a
            else:
                units.append(a)
            i += 1
        return verb, units, props
    return "", [], []


def unit_name(name: str) -> str:
    """`nginx` -> `nginx.service` (as systemctl does for a name without a unit suffix)."""
    base = posixpath.basename(name)
    if re.search(r"\.(service|socket|timer|mount|path|slice|scope|target|automount|swap|device)$", base):
        return base
    return base + ".service"


def header_path(lines: list[str]) -> tuple[str | None, int | None]:
    """A leading comment that names the file (`; /etc/php-fpm.d/www.conf`): (path, index)."""
    for i, line in enumerate(lines[:5]):
        if not line.strip():
            continue
        m = _HEADER_PATH.match(line)
        if m and m.group(1).count("/") >= 2:
            return m.group(1), i
        if not line.lstrip().startswith(("#", ";")):
            break
    return None, None


def file_identity(chunk: Chunk, lines: list[str]) -> tuple[str, bool]:
    """(path, path_known): from the command that printed it, else a header comment, else the input."""
    path = command_file(chunk.command)
    if path:
        return path, path.startswith("/")
    hp, _ = header_path(lines)
    if hp:
        return hp, True
    return chunk.name, False


def warning(chunk: Chunk, index: int, message: str, text: str = "") -> ReadWarning:
    """A warning whose message starts with `input:line:` (the form the CLI prints)."""
    src = chunk.source(max(index, 0), text[:200])
    return ReadWarning(src, f"{src.ref()}: {message}")


def guarded(kind: str, chunk: Chunk, fn: Callable[[Chunk], list]) -> list:
    """Run a reader body; a bug becomes a ReadWarning naming the input and line, never a traceback."""
    try:
        return fn(chunk)
    except Exception as exc:  # noqa: BLE001 - readers never raise on bad text
        return [warning(chunk, 0, f"{kind} reader could not read this: {type(exc).__name__}: {exc}")]


# --- INI-shaped text ---------------------------------------------------------------------------

@dataclass(frozen=True)
class IniEntry:
    index: int  # 0-based line index in the chunk of the entry's first line
    kind: str  # section, setting, junk
    section: str
    key: str | None
    value: str | None
    text: str
    commented: bool = False


_SECTION = _lazyre.compile(r"^\s*\[([^\]\n]*)\]\s*(?:[;#].*)?$")


@dataclass(frozen=True)
class IniDialect:
    key_re: str = r"[A-Za-z_][\w.\[\]:/$-]*"
    seps: str = "="
    comments: str = "#;"
    inline_comments: str = ""  # comment chars recognised after a value (preceded by whitespace)
    backslash_continuation: bool = False  # systemd
    indent_continuation: bool = False  # configparser (supervisord)
    bare_keys: bool = False  # `chmod-socket` alone -> value None
    strip_quotes: bool = False
    keep_commented: bool = True


def _strip_inline(value: str, chars: str) -> str:
    if not chars:
        return value
    quote = None
    for i, ch in enumerate(value):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in chars and (i == 0 or value[i - 1] in " \t"):
            return value[:i].rstrip()
    return value


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_ini(lines: list[str], dialect: IniDialect) -> Iterable[IniEntry]:
    """Sections and settings, one entry per logical line, blank lines and prose comments skipped.

    Commented-out settings (`;listen.owner = www-data`) come back with commented=True."""
    kv = re.compile(rf"^\s*({dialect.key_re})\s*([{re.escape(dialect.seps)}])\s*(.*?)\s*$")
    commented_kv = re.compile(
        rf"^\s*[{re.escape(dialect.comments)}]+\s*({dialect.key_re})\s*=\s*(.*?)\s*$")
    bare = re.compile(rf"^\s*({dialect.key_re})\s*$")
    section = ""
    i = 0
    n = len(lines)
    last_setting: list | None = None
    while i < n:
        raw = lines[i].rstrip("\r")
        stripped = raw.strip()
        start = i
        i += 1
        if not stripped:
            if last_setting is not None:
                yield IniEntry(*last_setting)
            last_setting = None
            continue
        if dialect.indent_continuation and last_setting is not None and raw[:1] in " \t" \
                and stripped[0] not in dialect.comments:
            last_setting[4] = (last_setting[4] + "\n" + _strip_inline(stripped, dialect.inline_comments)).strip()
            continue
        if last_setting is not None:
            yield IniEntry(*last_setting)
            last_setting = None
        if stripped[0] in dialect.comments:
            if dialect.keep_commented:
                m = commented_kv.match(raw)
                if m:
                    value = m.group(2)
                    yield IniEntry(start, "setting", section, m.group(1),
                                   _unquote(value) if dialect.strip_quotes else value, raw, True)
            continue
        m = _SECTION.match(raw)
        if m:
            section = m.group(1).strip()
            yield IniEntry(start, "section", section, None, None, raw)
            continue
        if dialect.backslash_continuation:
            while raw.endswith("\\") and i < n:
                nxt = lines[i].rstrip("\r")
                i += 1
                if nxt.strip()[:1] in ("#", ";"):
                    continue
                raw = raw[:-1] + " " + nxt.strip()
        m = kv.match(raw)
        if m:
            value = _strip_inline(m.group(3), dialect.inline_comments)
            if dialect.strip_quotes:
                value = _unquote(value)
            entry = [start, "setting", section, m.group(1), value, raw, False]
            if dialect.indent_continuation:
                last_setting = entry
            else:
                yield IniEntry(*entry)
            continue
        if dialect.bare_keys and bare.match(raw):
            yield IniEntry(start, "setting", section, stripped, None, raw)
            continue
        yield IniEntry(start, "junk", section, None, None, raw)
    if last_setting is not None:
        yield IniEntry(*last_setting)


def ini_sections(lines: list[str], limit: int = 400) -> list[str]:
    """Section names in the first ``limit`` lines (cheap, for detect())."""
    out = []
    for line in lines[:limit]:
        m = _SECTION.match(line)
        if m:
            out.append(m.group(1).strip())
    return out


def ini_keys(lines: list[str], limit: int = 400) -> set[str]:
    keys = set()
    for line in lines[:limit]:
        m = re.match(r"^\s*([A-Za-z_][\w.\[\]:-]*)\s*=", line)
        if m:
            keys.add(m.group(1))
    return keys


def read_ini_file(chunk: Chunk, kind: str, dialect: IniDialect,
                  normalize_key: Callable[[str], str] | None = None,
                  max_junk_warnings: int = 5) -> tuple[ConfigFile, list]:
    """One INI-shaped file -> (ConfigFile, warnings for lines that are not settings)."""
    lines = file_lines(chunk.text)
    path, known = file_identity(chunk, lines)
    settings: list[Setting] = []
    warnings: list = []
    junk = 0
    for e in parse_ini(lines, dialect):
        if e.kind == "junk":
            junk += 1
            if junk <= max_junk_warnings:
                warnings.append(warning(chunk, e.index, f"{kind}: not a setting or section, ignored", e.text))
            continue
        if e.kind != "setting" or e.key is None:
            continue
        key = normalize_key(e.key) if normalize_key else e.key
        src = chunk.source(e.index, e.text.rstrip("\r"))
        settings.append(Setting(e.section, key, e.value, src, e.commented))
    if junk > max_junk_warnings:
        warnings.append(warning(chunk, 0, f"{kind}: {junk - max_junk_warnings} more line(s) not understood"))
    first = lines[0].rstrip("\r") if lines else ""
    cfg = ConfigFile(kind, path, tuple(settings), tuple(lines), chunk.source(0, first),
                     first_line=chunk.first_line, path_known=known)
    return cfg, warnings
