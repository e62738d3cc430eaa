"""systemd unit files and drop-ins, one file or a `systemctl cat` output holding several.

`systemctl cat` prints `# /etc/systemd/system/x.service` before each file; that header line is
NOT part of the file: the ConfigFile's ``lines`` start after it, ``first_line`` is the input
line of the file's first line, ``path`` is the header's path and ``path_known`` is True. The
blank line systemctl prints between two files is not kept either. When the chunk was printed by
a plain `cat FILE` the text is the file itself (a leading `# /path` comment stays in it).

Each file gives a ConfigFile(kind='systemd_unit') whose settings keep section, key, value and
the input line (commented `#SocketMode=0660` lines are kept with commented=True); each
non-empty `ExecStart=` also gives a CommandLine with the source of that line.
"""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.cmdline import parse_command
from sockdoctor.evidence.records import ConfigFile, Setting

KIND = "systemd_unit"

SECTIONS = {"Unit", "Service", "Socket", "Install", "Timer", "Mount", "Automount", "Swap", "Path",
            "Slice", "Scope"}
_HEADER = _lazyre.compile(r"^# (/\S+)\s*$")
_UNIT_PATH = _lazyre.compile(r"(/systemd/|\.(service|socket|timer|mount|path|slice|scope|target|automount|swap)$"
                             r"|\.d/[^/]+\.conf$)")
_KEY = _lazyre.compile(r"^\s*[A-Z][A-Za-z0-9]+=")
DIALECT = ct.IniDialect(key_re=r"[A-Za-z][\w-]*", seps="=", comments="#;", backslash_continuation=True)
MAX_JUNK_WARNINGS = 5


def _is_header(line: str) -> str | None:
    m = _HEADER.match(line.rstrip("\r"))
    if m and _UNIT_PATH.search(m.group(1)):
        return m.group(1)
    return None


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:200_000].split("\n")[:600]
    sections = ct.ini_sections(lines)
    if not sections:
        return None
    ours = [s for s in sections if s in SECTIONS or s.startswith("X-")]
    if not ours:
        return None
    others = [s for s in sections if s not in ours]
    keys = sum(1 for ln in lines if _KEY.match(ln))
    headers = [h for h in (_is_header(ln) for ln in lines) if h]
    verb, _, _ = ct.systemctl_units(chunk.command)
    score = 0.75 + min(0.15, 0.03 * keys)
    if headers or verb == "cat":
        score += 0.08
    if others:
        score = min(score, 0.45)
    names = ", ".join(f"[{s}]" for s in dict.fromkeys(ours))
    reason = f"systemd sections {names}, {keys} Key=Value line(s)"
    if headers:
        reason += f", `systemctl cat` header {headers[0]}"
    return Detection(KIND, round(min(score, 0.98), 3), reason)


def _files(chunk: Chunk, lines: list[str]) -> list[tuple[str, bool, int, int]]:
    """(path, path_known, start index, end index exclusive) of each file in the chunk."""
    printed = ct.command_file(chunk.command)
    if printed:
        return [(printed, printed.startswith("/"), 0, len(lines))]
    heads = [(i, p) for i, p in ((i, _is_header(ln)) for i, ln in enumerate(lines)) if p]
    verb, units, _ = ct.systemctl_units(chunk.command)
    default_path = ct.unit_name(units[0]) if verb == "cat" and len(units) == 1 else chunk.name
    if not heads:
        return [(default_path, False, 0, len(lines))]
    out = []
    first = heads[0][0]
    before = [ln for ln in lines[:first] if ln.strip() and not ln.lstrip().startswith("#")]
    if before:
        out.append((default_path, False, 0, first))
    for n, (i, path) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        if n + 1 < len(heads) and end - 1 > i and not lines[end - 1].strip():
            end -= 1  # the blank line systemctl prints between files
        out.append((path, True, i + 1, end))
    return out


def _read(chunk: Chunk) -> list:
    lines = ct.file_lines(chunk.text)
    out: list = []
    for path, known, start, end in _files(chunk, lines):
        flines = lines[start:end]
        settings: list[Setting] = []
        commands: list = []
        junk = 0
        for e in ct.parse_ini(flines, DIALECT):
            idx = start + e.index
            if e.kind == "junk":
                junk += 1
                if junk <= MAX_JUNK_WARNINGS:
                    out.append(ct.warning(chunk, idx, f"{path}: not `Key=Value`, ignored (as systemd does)",
                                          e.text))
                continue
            if e.kind != "setting":
                continue
            src = chunk.source(idx, e.text.rstrip("\r"))
            settings.append(Setting(e.section, e.key or "", e.value, src, e.commented))
            if e.key == "ExecStart" and not e.commented and e.value:
                cmd = parse_command(e.value, src)
                if cmd is not None:
                    commands.append(cmd)
        out.append(ConfigFile(KIND, path, tuple(settings), tuple(flines),
                              chunk.source(start, flines[0].rstrip("\r") if flines else ""),
                              first_line=chunk.first_line + start, path_known=known))
        out.extend(commands)
    return out


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
