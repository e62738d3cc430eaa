"""AppArmor profiles and their local includes -> ConfigFile(kind='apparmor_profile').

Each rule line (ends with `,`) and each include becomes a Setting: section = the innermost
profile name ('' outside any profile, as in a `local/` include), key = the rule class (`file`,
`capability`, `network`, `unix`, `include`, `signal`, `ptrace`, `dbus`, `mount`, `owner`/`deny`/
`audit` prefixes stay in the value), value = the rule without its trailing comma
(`/run/php/php*-fpm.sock rw`). Commented-out rules (`# /run/app.sock rw,`) are kept with
commented=True. `#include <x>` is an include, not a comment.
"""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ConfigFile, Setting

KIND = "apparmor_profile"

_INCLUDE = _lazyre.compile(r"^\s*#?include(?:\s+if\s+exists)?\s+(?P<what><[^>]+>|\"[^\"]+\"|\S+)\s*$")
_PROFILE = _lazyre.compile(r"^\s*(?:profile\s+(?P<name>\S+)(?:\s+(?P<attach>/\S+))?|(?P<path>/\S+|@\{\w+\}\S*))"
                           r"(?:\s+flags\s*=\s*\([^)]*\))?\s*\{\s*(?:#.*)?$")
_HAT = _lazyre.compile(r"^\s*(?:\^|hat\s+)(?P<name>\S+)\s*\{\s*$")
_TRAILING_COMMENT = _lazyre.compile(r"\s#[^\"]*$")


def _rule_body(text: str) -> str | None:
    """`/run/x.sock rw,  # why` -> '/run/x.sock rw'; None when the line is not a rule."""
    code = _TRAILING_COMMENT.sub("", text).rstrip()
    if not code.endswith(","):
        return None
    body = code[:-1].strip()
    return body or None
_CLASSES = {"capability", "network", "unix", "signal", "ptrace", "dbus", "mount", "umount", "remount", "pivot_root",
            "change_profile", "rlimit", "set", "file", "link", "userns", "mqueue", "io_uring", "all"}
_PERMS = _lazyre.compile(r"^[rwaxmlkdixPUCpuc]+$")


def _rule_class(body: str) -> str:
    words = [w for w in body.split() if w not in ("audit", "deny", "allow", "owner") and not w.startswith("priority=")]
    if not words:
        return "file"
    first = words[0]
    if first in _CLASSES:
        return first
    return "file" if first.startswith(("/", "@{", '"/', "**")) or _PERMS.match(first) else first


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:200_000].split("\n")[:2000]
    head = any(_PROFILE.match(ln) for ln in lines)
    includes = sum(1 for ln in lines if re.match(r"^\s*#?include\s+<(abstractions|tunables|local)/", ln))
    rules = sum(1 for ln in lines if re.match(r"^\s*(?:(?:owner|deny|audit)\s+)?(?:/\S+|@\{\w+\}\S*)\s+[rwaxmlkdixPUCpuc]+,\s*$", ln)
                or re.match(r"^\s*(?:capability|network)\s+[\w ]+,\s*$", ln))
    named = "/etc/apparmor.d/" in (chunk.command or "") or any(
        re.match(r"^\s*#\s*/etc/apparmor\.d/", ln) for ln in lines[:3])
    if head and (includes or rules):
        return Detection(KIND, 0.95, f"AppArmor profile header, {includes} include(s), {rules} rule(s)")
    score = 0.0
    reason = ""
    if rules + includes >= 2:
        score = min(0.9, 0.55 + 0.05 * (rules + includes))
        reason = f"{rules} AppArmor rule line(s), {includes} include(s)"
    if named:
        score = max(score, 0.6) + (0.2 if rules + includes else 0.0)
        reason = "file under /etc/apparmor.d/" + (f", {reason}" if reason else "")
    return Detection(KIND, round(min(score, 0.95), 3), reason) if score else None


def _read(chunk: Chunk) -> list:
    lines = ct.file_lines(chunk.text)
    stack: list[str] = []
    settings: list[Setting] = []
    out: list = []
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r")
        s = line.strip()
        if not s:
            continue
        section = stack[-1] if stack else ""
        src = chunk.source(i, line)
        m = _INCLUDE.match(s)
        if m:
            settings.append(Setting(section, "include", m.group("what").strip("<>\""), src))
            continue
        m = _PROFILE.match(s)
        if m:
            stack.append(m.group("name") or m.group("path"))
            continue
        m = _HAT.match(s)
        if m:
            stack.append(f"{section}//{m.group('name')}" if section else m.group("name"))
            continue
        if s.startswith("}"):
            if stack:
                stack.pop()
            else:
                out.append(ct.warning(chunk, i, "`}` without an open profile", line))
            continue
        if s.startswith("#"):
            body = s.lstrip("#").strip()
            rule = _rule_body(body)
            if rule and " " in rule:
                settings.append(Setting(section, _rule_class(rule), rule, src, True))
            continue
        rule = _rule_body(s)
        if rule:
            settings.append(Setting(section, _rule_class(rule), rule, src))
            continue
        if re.match(r"^@\{\w+\}\s*\+?=", s) or s.startswith(("abi ", "alias ")):
            settings.append(Setting(section, "variable", s.rstrip(","), src))
            continue
        out.append(ct.warning(chunk, i, "not an AppArmor rule, ignored", line))
    if stack:
        out.append(ct.warning(chunk, len(lines) - 1, f"profile {stack[-1]} is not closed with `}}`"))
    path, known = ct.file_identity(chunk, lines)
    return [ConfigFile(KIND, path, tuple(settings), tuple(lines), chunk.source(0, lines[0] if lines else ""),
                       first_line=chunk.first_line, path_known=known), *out]


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
