"""The "Fixes never proposed" list (domain/causes.md) as one function. Pure Python.

    forbidden_in("chmod 666 /run/app.sock")   -> ["world-writable mode (o+w): chmod 666 /run/app.sock"]
    forbidden_in(unified_diff)                -> only added ('+') lines are checked

Used by the fix generator (on every command and diff it emits) and by `sockdoctor ask` (on the
commands and diff lines of an LLM's answer). Each result is "<reason>: <offending line>".
"""
from __future__ import annotations

import re
from functools import lru_cache

PRIVILEGED_GROUPS = ("root", "docker", "sudo", "wheel", "adm", "shadow", "disk")

_MODE_SETTINGS = (r"listen\.mode|SocketMode|DirectoryMode|RuntimeDirectoryMode|StateDirectoryMode|"
                  r"LogsDirectoryMode|CacheDirectoryMode|ConfigurationDirectoryMode|chmod[-_]socket|"
                  r"socket[-_]mode|unix_socket_perms|unixsocketperm|mode")
_FALSE = r"(?:false|no|off|0)"


def _other_writable(mode: str) -> bool:
    """Octal mode whose 'other' digit has the write bit."""
    return bool(re.fullmatch(r"0?[0-7]{3,4}", mode)) and int(mode[-1]) & 2 == 2


def _symbolic_other_writable(mode: str) -> bool:
    for clause in mode.split(","):
        m = re.fullmatch(r"([ugoa]*)([-+=])([rwxXst]*)", clause)
        if m and m.group(2) in "+=" and "w" in m.group(3) and (not m.group(1) or set(m.group(1)) & {"o", "a"}):
            if not m.group(1) and m.group(2) == "+":
                continue  # "+w" honours the umask: not world-writable under any sane umask
            return True
    return False


def _umask_allows_other_write(mask: str) -> bool:
    return bool(re.fullmatch(r"0?[0-7]{1,4}", mask)) and int(mask[-1]) & 2 == 0


_HOME = r"(?:/home(?:/[^/\s'\";]+)?/?|/root/?|~[\w.-]*/?|\$HOME/?|\$\{HOME\}/?)(?=[\s;'\"]|$)"

# (reason, pattern, accept): compiled on first use (the fixes of a healthy host never need them)
_CHECK_SPECS: list[tuple[str, str | tuple[str, int], object]] = [
    ("chmod -R on a home directory",
     r"\bchmod\s+(?:-\S*\s+)*(?:-\w*R\w*|--recursive)\s+(?:\S+\s+)*?['\"]?" + _HOME, None),
    ("world-writable mode (o+w)",
     r"\b(?:chmod|install|mkdir|mkfifo)\b(?:\s+(?:-\S+|--\S+))*?\s+(?:-m\s*|--mode[=\s])?(?P<mode>[0-7]{3,4})\b",
     lambda m: _other_writable(m.group("mode"))),
    ("world-writable mode (o+w)",
     r"\bchmod\b(?:\s+-\S+)*\s+(?P<mode>[ugoa]*[-+=][rwxXst]*(?:,[ugoa]*[-+=][rwxXst]*)*)(?=\s)",
     lambda m: _symbolic_other_writable(m.group("mode"))),
    ("world-writable socket or directory mode setting",
     r"(?i)(?<![\w.])(?P<key>" + _MODE_SETTINGS + r")\s*[=:]?\s*[\"']?(?P<mode>[0-7]{3,4})\b",
     lambda m: _other_writable(m.group("mode"))),
    ("world-writable mode in tmpfiles.d",
     r"^\s*[dDeFfCzZ]\s+/\S+\s+(?P<mode>[0-7]{3,4})\s", lambda m: _other_writable(m.group("mode"))),
    ("bare chmod-socket (uWSGI then makes the socket 0666)",
     r"(?i)(?:^|\s)--?chmod-socket(?:\s*=\s*(?:true|1|yes)?)?\s*$|^\s*chmod-socket\s*(?:=\s*(?:true|1|yes)?\s*)?$",
     None),
    ("umask that leaves new sockets world-writable",
     r"(?i)(?:\bumask|UMask\s*=|--umask[=\s]|umask\s*=)\s*[\"']?(?P<mask>[0-7]{1,4})\b",
     lambda m: _umask_allows_other_write(m.group("mask"))),
    ("nginx workers as root (user root;)", r"^\s*user\s+root(?:\s+\S+)?\s*;", None),
    ("adds a user to a privileged group",
     r"\b(?:usermod|useradd)\b.*\s-(?:[a-zA-Z]*G|-groups?|-append\s+--groups)\s*=?\s*['\"]?(?P<groups>[\w,.-]+)",
     lambda m: bool(set(m.group("groups").split(",")) & set(PRIVILEGED_GROUPS))),
    ("adds a user to a privileged group",
     r"\bgpasswd\s+(?:-a|--add)\s+\S+\s+(?P<group>[\w.-]+)|\bgpasswd\s+(?:-M|--members)\s+\S+\s+(?P<group2>[\w.-]+)",
     lambda m: (m.group("group") or m.group("group2")) in PRIVILEGED_GROUPS),
    ("adds a user to a privileged group",
     r"\b(?:adduser|addgroup)\s+(?:-\S+\s+)*(?P<user>[\w.-]+)\s+(?P<group>[\w.-]+)\s*$",
     lambda m: m.group("group") in PRIVILEGED_GROUPS),
    ("adds a user to a privileged group",
     r"(?i)^\s*(?:SupplementaryGroups\s*=|group_add\s*:|-\s*)\s*(?P<groups>.*)$",
     lambda m: _lists_privileged(m.group("groups"), m.group(0))),
    ("disables SELinux enforcement",
     (r"\bsetenforce\s+(?:0|permissive)\b|^\s*SELINUX\s*=\s*(?:disabled|permissive)\b|"
      r"\bsemanage\s+permissive\s+-a\b", re.I), None),
    ("disables or weakens the AppArmor profile",
     r"\baa-(?:disable|complain)\b|\bapparmor_parser\s+(?:-\S+\s+)*-R\b|"
                r"/etc/apparmor\.d/disable/", None),
    ("disables AppArmor at boot", r"\bapparmor=0\b", None),
    ("over-broad AppArmor rule", r"^\s*/(?:run|var/run|tmp|home)?/?\*\*\s+[rwkl]*w", None),
    ("blanket SELinux module from every denial", r"\baudit2allow\s+(?:-\S+\s+)*-a\b", None),
    ("runs a service or container as root",
     r"^\s*(?:User|Group)\s*=\s*(?:root|0)\s*$|^\s*user:\s*[\"']?(?:root|0)(?:[:\"']|\s*$)", None),
    ("privileged container", r"^\s*privileged:\s*true\b|--privileged\b", None),
    ("turns off PrivateTmp", r"(?i)\bPrivateTmp\s*=\s*" + _FALSE + r"\b", None),
    ("turns off ProtectHome", r"(?i)\bProtectHome\s*=\s*" + _FALSE + r"\b", None),
]


@lru_cache(maxsize=None)
def _checks() -> list[tuple[str, re.Pattern, object]]:
    return [(reason, re.compile(*pattern) if isinstance(pattern, tuple) else re.compile(pattern), accept)
            for reason, pattern, accept in _CHECK_SPECS]


def _lists_privileged(groups: str, line: str) -> bool:
    names = {g.strip(" \"'[]") for g in re.split(r"[\s,]+", groups) if g.strip(" \"'[]")}
    if line.lstrip().startswith("-"):
        # a YAML list item: only in a group_add list, which we cannot see from one line, so
        # only flag an item that is exactly a privileged group name
        return len(names) == 1 and next(iter(names)) in PRIVILEGED_GROUPS
    return bool(names & set(PRIVILEGED_GROUPS))


def _is_diff(lines: list[str]) -> bool:
    return any(line.startswith("@@") for line in lines) or (
        any(line.startswith("+++ ") for line in lines) and any(line.startswith("--- ") for line in lines))


def proposed_lines(text: str, *, diff: bool | None = None) -> list[str]:
    """The lines a text proposes: every line, or in a unified diff only the added ones."""
    lines = text.split("\n")
    if diff is None:
        diff = _is_diff(lines)
    if not diff:
        return lines
    return [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++ ")]


def forbidden_in(text: str, *, diff: bool | None = None) -> list[str]:
    """Everything in ``text`` that a sockdoctor fix must never propose, one message per hit.

    ``diff=None`` detects a unified diff (``@@`` hunks or ---/+++ headers) and then checks only
    added lines, so removing a bad state (a ``-`` line) is fine.
    """
    found: list[str] = []
    for line in proposed_lines(text, diff=diff):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") and not re.match(r"#\s*(?:chmod|usermod|setenforce|aa-)", stripped):
            continue
        for reason, rx, accept in _checks():
            for m in rx.finditer(line):
                if accept is None or accept(m):
                    message = f"{reason}: {stripped}"
                    if message not in found:
                        found.append(message)
                    break
    return found
