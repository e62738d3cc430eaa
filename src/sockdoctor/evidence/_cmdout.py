"""Helpers shared by the command-output readers: shell commands, mode strings, log prefixes,
detection scores.

Pure Python (no system access): readers only look at text.
"""
from __future__ import annotations

import functools
import posixpath
import re
import shlex
from collections.abc import Iterator

from sockdoctor import _lazyre
from sockdoctor._dataclass import dataclass
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import Source

SAMPLE_CHARS = 200_000
SAMPLE_LINES = 400

# --- detection -----------------------------------------------------------------------------


def content_lines(chunk: Chunk, skip_comments: bool = False) -> Iterator[tuple[str, str, Source]]:
    """(line without its CR, the line stripped, its source) of each line that is not blank (nor,
    with ``skip_comments``, a ``#`` comment): the loop head every line-oriented reader shares."""
    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r")
        s = line.strip()
        if not s or skip_comments and s.startswith("#"):
            continue
        yield line, s, chunk.source(idx, line)


def sample_lines(chunk: Chunk, limit: int = SAMPLE_LINES) -> list[str]:
    """The first ``limit`` non-empty lines (bounded work on huge inputs)."""
    out = []
    for line in chunk.text[:SAMPLE_CHARS].split("\n"):
        if line.strip():
            out.append(line.rstrip("\r"))
            if len(out) >= limit:
                break
    return out


def content_score(matched: int, total: int, base: float = 0.5, span: float = 0.45) -> float:
    """Score for ``matched`` of ``total`` non-empty lines carrying a reader's signature.

    The scale is shared by all readers: >= 0.9 unmistakable, 0.6-0.9 clear majority,
    0.3-0.6 partial; the splitter classifies at >= 0.3."""
    if matched <= 0 or total <= 0:
        return 0.0
    return min(1.0, base + span * matched / total)


def detection(kind: str, score: float, reason: str, chunk: Chunk,
              programs: tuple[str, ...] = (), command_bonus: float = 0.3) -> Detection | None:
    """Combine a content score with the command that printed the chunk.

    A matching command adds ``command_bonus``; a command alone (empty or unreadable output) gives
    0.5. The file-name hint never classifies on its own."""
    prog = producer_program(chunk.command) if chunk.command else None
    if prog and programs and prog in programs:
        if score > 0:
            return Detection(kind, min(1.0, score + command_bonus), f"{reason}; command `{prog}`")
        return Detection(kind, 0.5, f"command `{prog}` printed it")
    if score <= 0:
        return None
    return Detection(kind, round(score, 3), reason)


# --- shell commands ------------------------------------------------------------------------

_WRAPPERS_SIMPLE = {"time", "nice", "ionice", "command", "builtin", "exec", "stdbuf", "unbuffer"}


@dataclass(frozen=True)
class Segment:
    argv: tuple[str, ...]  # the command with wrappers (sudo, docker exec, ...) removed
    piped: bool  # reads the previous segment's output
    as_user: str | None = None  # sudo -u X / setpriv --reuid X / runuser -u X / su X

    @property
    def program(self) -> str:
        return posixpath.basename(self.argv[0]) if self.argv else ""


def _tokens(cmd: str) -> list[str]:
    try:
        lex = shlex.shlex(cmd, posix=True, punctuation_chars=";&|")
        lex.whitespace_split = True
        lex.commenters = "#"
        return list(lex)
    except ValueError:
        return cmd.split()


def _unwrap(argv: list[str]) -> tuple[list[str], str | None]:
    user = None
    changed = True
    while argv and changed:
        changed = False
        prog = posixpath.basename(argv[0])
        if prog in ("sudo", "doas"):
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                opt = argv[i]
                if opt in ("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"):
                    if opt == "-u" and i + 1 < len(argv):
                        user = argv[i + 1]
                    i += 2
                    continue
                if opt.startswith("--user="):
                    user = opt.split("=", 1)[1]
                elif opt.startswith("-u") and len(opt) > 2:
                    user = opt[2:]
                if opt == "--":
                    i += 1
                    break
                i += 1
            argv = argv[i:]
            changed = True
        elif prog in ("docker", "podman", "nerdctl") and len(argv) > 1 and argv[1] in ("exec", "compose", "container"):
            rest = argv[2:] if argv[1] == "exec" else argv[3:] if len(argv) > 2 and argv[2] == "exec" else None
            if rest is None:
                break
            argv = _skip_opts(rest, takes_value={"-u", "--user", "-w", "--workdir", "-e", "--env", "--index"})
            argv = argv[1:]  # container / service name
            changed = True
        elif prog == "docker-compose" and len(argv) > 1 and argv[1] == "exec":
            argv = _skip_opts(argv[2:], takes_value={"-u", "--user", "-w", "--workdir", "-e", "--env", "--index"})[1:]
            changed = True
        elif prog in ("kubectl", "oc", "lxc") and "--" in argv:
            argv = argv[argv.index("--") + 1:]
            changed = True
        elif prog == "env":
            i = 1
            while i < len(argv) and ("=" in argv[i] or argv[i].startswith("-")):
                i += 1
            argv = argv[i:]
            changed = True
        elif prog == "setpriv":
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                opt = argv[i]
                if opt.startswith("--reuid=") or opt.startswith("--ruid=") or opt.startswith("--euid="):
                    user = opt.split("=", 1)[1]
                elif opt in ("--reuid", "--ruid", "--euid", "--regid", "--rgid", "--egid", "--groups") and i + 1 < len(argv):
                    if opt in ("--reuid", "--ruid", "--euid"):
                        user = argv[i + 1]
                    i += 1
                i += 1
            argv = argv[i:]
            changed = True
        elif prog == "runuser" and "-u" in argv:
            j = argv.index("-u")
            user = argv[j + 1] if j + 1 < len(argv) else None
            rest = argv[j + 2:]
            argv = rest[1:] if rest[:1] == ["--"] else rest
            changed = True
        elif prog in _WRAPPERS_SIMPLE and len(argv) > 1:
            argv = _skip_opts(argv[1:], takes_value={"-n", "-o", "-e", "-i", "-c"}) if prog != "command" else argv[1:]
            changed = True
    return argv, user


def _skip_opts(argv: list[str], takes_value: set[str]) -> list[str]:
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in takes_value else 1
    return argv[i:]


def segments(cmd: str | None) -> tuple[Segment, ...]:
    """Split a shell command into its simple commands (`;`, `&&`, `||`, `|`), wrappers removed."""
    if not cmd:
        return ()
    return _segments(cmd)


@functools.lru_cache(maxsize=512)
def _segments(cmd: str) -> tuple[Segment, ...]:
    out: list[Segment] = []
    cur: list[str] = []
    piped = False
    for tok in _tokens(cmd) + [";"]:
        if tok and set(tok) <= set(";&|"):
            if cur:
                argv, user = _unwrap(cur)
                if argv:
                    out.append(Segment(tuple(argv), piped, user))
            cur = []
            piped = tok == "|"
        else:
            cur.append(tok)
    return tuple(out)


def producer(cmd: str | None) -> Segment | None:
    """The command that produced the output (the first of a pipeline or list)."""
    segs = segments(cmd)
    return segs[0] if segs else None


def producer_program(cmd: str | None) -> str | None:
    seg = producer(cmd)
    if seg is None:
        return None
    prog = seg.program
    if prog in ("for", "while", "if", "echo", "printf") and len(segments(cmd)) > 1:
        # `for u in a b; do echo "$(systemctl show ...)"; done`: the loop body names the tool
        return prog
    return prog


def programs(cmd: str | None) -> list[str]:
    return [s.program for s in segments(cmd)]


def path_args(argv: tuple[str, ...] | list[str]) -> list[str]:
    """Non-option arguments after the program name."""
    return [a for a in argv[1:] if not a.startswith("-")]


def grep_count_pattern(cmd: str | None) -> str | None:
    """The pattern of a trailing `grep -c PATTERN` (or `| wc -l` after a grep)."""
    segs = segments(cmd)
    for i, seg in enumerate(segs):
        if seg.program in ("grep", "egrep", "fgrep") and seg.piped:
            flags = "".join(a[1:] for a in seg.argv[1:] if a.startswith("-") and not a.startswith("--"))
            pats = [a for a in seg.argv[1:] if not a.startswith("-")]
            later_wc = any(s.program == "wc" for s in segs[i + 1:])
            if ("c" in flags or "--count" in seg.argv or later_wc) and pats:
                return pats[0]
    return None


def grep_patterns(cmd: str | None) -> list[str]:
    out = []
    for seg in segments(cmd):
        if seg.program in ("grep", "egrep", "fgrep") and seg.piped:
            pats = [a for a in seg.argv[1:] if not a.startswith("-")]
            if pats:
                out.append(pats[0])
    return out


# --- mode strings ----------------------------------------------------------------------------

TYPE_CHARS = {"-": "file", "d": "dir", "l": "symlink", "s": "socket", "p": "fifo", "c": "char",
              "b": "block", "D": "unknown", "n": "unknown", "?": "unknown"}

MODE_RE = r"[-dlspcbDn?][-rwxsStTlL?]{9}"


def parse_mode(mode: str) -> tuple[str, int | None]:
    """'srwxrwx---' -> ('socket', 0o770). Special bits from s/S/t/T."""
    ftype = TYPE_CHARS.get(mode[0], "unknown")
    perms = mode[1:10]
    if len(perms) != 9 or "?" in perms:
        return ftype, None
    bits = 0
    for i, ch in enumerate(perms):
        shift = 8 - i
        pos = i % 3
        if pos == 0 and ch == "r" or pos == 1 and ch == "w":
            bits |= 1 << shift
        elif pos == 2:
            if ch in "xst":
                bits |= 1 << shift
            if ch in "sS" and i == 2:
                bits |= 0o4000
            elif ch in "sS" and i == 5:
                bits |= 0o2000
            elif ch in "tT" and i == 8:
                bits |= 0o1000
            elif ch not in "x-sStT":
                return ftype, None
        elif ch != "-":
            return ftype, None
    return ftype, bits


STAT_TYPES = {
    "socket": "socket", "directory": "dir", "regular file": "file", "regular empty file": "file",
    "symbolic link": "symlink", "fifo": "fifo", "character special file": "char",
    "block special file": "block", "weird file": "unknown",
}


def int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isdigit() else None


def ident(text: str | None) -> tuple[str | None, int | None]:
    """An owner/group as shown: (text, number if it is one)."""
    if text is None:
        return None, None
    return text, int(text) if text.isdigit() else None


def join_path(base: str | None, name: str) -> str:
    if name.startswith("/") or base is None:
        return name
    return posixpath.normpath(posixpath.join(base, name)).replace("//", "/")


# --- log line prefixes -----------------------------------------------------------------------

_PREFIXES = [
    _lazyre.compile(r"^[\w.-]+(?:[-_]\d+)?\s+\|\s?"),  # docker compose: `web-1  | `
    _lazyre.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ [^\s:]+(?:\[\d+\])?: "),  # syslog/journal
    _lazyre.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* \S+ [^\s:]+(?:\[\d+\])?: "),  # journal short-iso
    _lazyre.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z? "),  # docker logs -t / kubectl --timestamps
    _lazyre.compile(r"^\[pod/[^\]]+\] "),  # kubectl logs --prefix
]


def strip_log_prefix(line: str) -> str:
    """Remove container/journal prefixes so the payload can be matched from its start."""
    for rx in _PREFIXES:
        m = rx.match(line)
        if m:
            rest = line[m.end():]
            if rest:
                return rest
    return line


def kv_pairs(text: str) -> dict[str, str]:
    """key=value / key="value" pairs (audit and kernel lines)."""
    return {m.group(1): m.group(2)[1:-1] if m.group(2).startswith('"') else m.group(2)
            for m in re.finditer(r'([\w-]+)=("[^"]*"|\'[^\']*\'|[^\s,]+)', text)}
