"""`systemctl show` output: `Key=Value` lines, one block per unit.

One ConfigFile(kind='systemctl_show') per unit; ``path`` is the unit name (`Id=` when shown,
else from the command, `nginx` -> `nginx.service`, else the input name) and ``path_known`` is
False (it is not a file). Forms read:

- `systemctl show UNIT` / `systemctl show -p A,B UNIT...` (blocks separated by blank lines),
- `systemctl show -p P --value UNIT` (bare values, one per unit, in the command's unit order),
- `for u in a b; do echo "$u: $(systemctl show -p P --value $u)"; done` (`unit: value` lines).

`PrivateTmp` values also give a LogFact(kind='privatetmp', data={unit, value}).
"""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ConfigFile, LogFact, Setting

KIND = "systemctl_show"

_KV = _lazyre.compile(r"^([A-Z][A-Za-z0-9]+)=(.*)$")
_LOOP_LINE = _lazyre.compile(r"^([\w@.:-]+):\s*(\S.*)?$")
# Keys systemctl show prints for nearly every unit; two or more of them make the output unmistakable.
_TYPICAL = {"Id", "Names", "Type", "ActiveState", "SubState", "LoadState", "FragmentPath", "UnitFileState",
            "MainPID", "ExecMainPID", "User", "Group", "UMask", "PrivateTmp", "ProtectHome", "Restart",
            "ControlGroup", "Description", "Result", "ExecMainStatus", "ExecMainCode", "DynamicUser",
            "SupplementaryGroups", "RuntimeDirectory", "ListenStream", "SocketMode", "SocketUser",
            "SocketGroup", "InvocationID", "StatusErrno"}


_BOOL_PROPS = {"privatetmp": "PrivateTmp", "protecthome": "ProtectHome", "protectsystem": "ProtectSystem",
               "dynamicuser": "DynamicUser", "privatedevices": "PrivateDevices"}
_UNIT_BOOL = _lazyre.compile(r"^[\w@.-]+:\s*(yes|no|true|false|read-only|strict|full|tmpfs)\s*$")


def _named_property(chunk: Chunk) -> str | None:
    """`unit: yes` lines saved without their command: the file name may say which property."""
    label = re.sub(r"[^a-z]", "", f"{chunk.name} {chunk.hint or ''}".lower())
    for low, prop in _BOOL_PROPS.items():
        if low in label:
            return prop
    return None


def _show_command(chunk: Chunk) -> tuple[bool, list[str], list[str], bool]:
    if not chunk.command:
        prop = _named_property(chunk)
        lines = [ln for ln in chunk.text[:20_000].split("\n") if ln.strip()]
        if prop and lines and all(_UNIT_BOOL.match(ln.rstrip("\r")) for ln in lines):
            return True, [], [prop], True
    verb, units, props = ct.systemctl_units(chunk.command)
    value_only = bool(chunk.command) and "--value" in chunk.command
    if verb != "show" and chunk.command and "systemctl show" in chunk.command:
        # a for-loop: the unit list is the loop's word list
        m = re.match(r"^\s*for\s+\w+\s+in\s+(.*?);\s*do\b", chunk.command)
        units = m.group(1).split() if m else []
        m2 = re.search(r"(?:-p|--property[= ])\s*([\w,]+)", chunk.command)
        props = m2.group(1).split(",") if m2 else []
        return True, units, props, value_only
    return verb == "show", units, props, value_only


def detect(chunk: Chunk) -> Detection | None:
    is_show, units, props, value_only = _show_command(chunk)
    lines = [ln.rstrip("\r") for ln in chunk.text[:200_000].split("\n")[:600] if ln.strip()]
    if is_show:
        if value_only and not chunk.command:
            return Detection(KIND, 0.5, f"`unit: yes|no` lines; the input's name says {props[0]}")
        if value_only:
            return Detection(KIND, 0.95, f"`systemctl show --value` of {', '.join(props) or 'a property'}")
        kv = sum(1 for ln in lines if _KV.match(ln))
        if kv:
            return Detection(KIND, 0.95, f"`systemctl show` command, {kv} Key=Value line(s)")
        return Detection(KIND, 0.5, "`systemctl show` command printed it")
    if not lines:
        return None
    if any(re.match(r"^\s*\[[^\]]+\]\s*$", ln) for ln in lines):
        return None  # a unit file (sections), not show output
    kv = [m.group(1) for m in (_KV.match(ln) for ln in lines) if m]
    if len(kv) != len(lines):
        return None
    typical = sum(1 for k in kv if k in _TYPICAL)
    if typical == 0:
        return None
    score = 0.6 + min(0.35, 0.1 * typical) if len(kv) > 1 else 0.55
    return Detection(KIND, round(score, 3), f"{len(kv)} `Key=Value` line(s) with no sections "
                                            f"({typical} typical `systemctl show` properties)")


def _config(chunk: Chunk, unit: str, settings: list[Setting], lines: list[str], start: int) -> list:
    out: list = [ConfigFile(KIND, unit, tuple(settings), tuple(lines), chunk.source(start, lines[0] if lines else ""),
                            first_line=chunk.first_line + start, path_known=False)]
    for s in settings:
        if s.key == "PrivateTmp":
            out.append(LogFact("privatetmp", {"unit": unit, "value": s.value}, s.source))
    return out


def _read(chunk: Chunk) -> list:
    is_show, units, props, value_only = _show_command(chunk)
    lines = ct.file_lines(chunk.text)
    out: list = []
    if value_only:
        prop = props[0] if props else "Value"
        pos = 0
        for i, raw in enumerate(lines):
            line = raw.rstrip("\r")
            if not line.strip():
                continue
            m = _LOOP_LINE.match(line)
            if m and (not units or m.group(1) in units or len(props) == 1):
                unit, value = m.group(1), (m.group(2) or "")
            else:
                unit = units[pos] if pos < len(units) else chunk.name
                value = line.strip()
            pos += 1
            setting = Setting("", prop, value, chunk.source(i, line))
            out.extend(_config(chunk, ct.unit_name(unit), [setting], [line], i))
        return out
    blocks: list[tuple[int, int]] = []
    start = None
    for i, raw in enumerate(lines + [""]):
        if raw.strip():
            if start is None:
                start = i
        elif start is not None:
            blocks.append((start, i))
            start = None
    for n, (b0, b1) in enumerate(blocks):
        settings: list[Setting] = []
        unit = None
        for i in range(b0, b1):
            line = lines[i].rstrip("\r")
            m = _KV.match(line)
            if not m:
                out.append(ct.warning(chunk, i, "not a `Key=Value` line of `systemctl show`, ignored", line))
                continue
            if m.group(1) == "Id":
                unit = m.group(2)
            settings.append(Setting("", m.group(1), m.group(2), chunk.source(i, line)))
        if unit is None:
            unit = ct.unit_name(units[n]) if n < len(units) else (ct.unit_name(units[0]) if units else chunk.name)
        out.extend(_config(chunk, unit, settings, [ln.rstrip("\r") for ln in lines[b0:b1]], b0))
    return out


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
