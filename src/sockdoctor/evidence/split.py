"""Cut one input (a file, or a mixed paste from a chat or ticket) into classified pieces.

1. Announced boundaries: shell prompt lines (`$ cmd`, `user@host:~$ cmd`, `[root@host ~]# cmd`,
   `# cmd` only when `cmd` looks like a command), markdown code fences (the language is a hint),
   `==> file <==` headers of `tail`. The prompt's command (without a plain `sudo`) becomes
   ``chunk.command``; its output runs to the next boundary.
2. Outside fences a command's output also ends at a prose paragraph (or a paragraph that another
   reader claims strongly and the command's reader does not); everything up to the next boundary
   is then an unannounced region.
3. Unannounced regions are cut at blank lines into paragraphs, each classified by content; a
   paragraph continues the piece before it when that piece's reader also accepts it (so an
   nginx config or a unit file with blank lines stays whole). Prose paragraphs become pieces with
   kind None and reason 'prose', reported rather than dropped.

Classification is the best ``detect()`` over ``registry.readers()``. Scores share one scale
(0..1): >= 0.9 unmistakable, 0.6-0.9 clear, 0.3-0.6 partial; below THRESHOLD a piece is
unrecognised (kind None) and says why. `nginx -T` dumps and `systemctl cat` outputs are never cut
at their `# configuration file ...:` / `# /etc/...` markers: those are not prompts.
"""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor._dataclass import dataclass
from sockdoctor import limits
from sockdoctor.engine import Piece
from sockdoctor.evidence import registry
from sockdoctor.evidence.base import Chunk, Detection

THRESHOLD = 0.3
STRONG = 0.6
MAX_PIECES = limits.DEFAULTS["max_pieces"]  # SOCKDOCTOR_MAX_PIECES / --limit pieces=N override it
BIG_REGION = 5000  # lines; a larger unannounced region is classified whole (bounded work)

_FENCE = _lazyre.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+.#-]*)[^`]*$")
_PROMPTS = [
    _lazyre.compile(r"^\s{0,4}\$\s+(?P<cmd>\S.*)$"),
    _lazyre.compile(r"^(?:\([\w.-]+\)\s*)?[\w.-]+@[\w.-]+(?::[^\s$#]*)?\s?[$#]\s+(?P<cmd>\S.*)$"),
    _lazyre.compile(r"^\[[\w.-]+@[\w.-]+(?:\s[^\]]*)?\][$#]\s+(?P<cmd>\S.*)$"),
    _lazyre.compile(r"^(?:bash|sh|zsh|ash|dash)-?[\d.]*[$#]\s+(?P<cmd>\S.*)$"),
]
_HASH_PROMPTS = [
    _lazyre.compile(r"^#\s+(?P<cmd>\S.*)$"),
    _lazyre.compile(r"^(?:/|~)[\w./~-]*\s[#$]\s+(?P<cmd>\S.*)$"),  # busybox containers: `/ # ls -la /sock`
]
_TAIL = _lazyre.compile(r"^==> (?P<file>.+) <==$")

KNOWN_COMMANDS = {
    "ls", "ll", "stat", "namei", "getfacl", "setfacl", "find", "ps", "pgrep", "id", "groups", "getent", "cat",
    "tail", "head", "less", "more", "grep", "egrep", "fgrep", "zgrep", "zcat", "ss", "netstat", "lsof", "sysctl",
    "ausearch", "aureport", "audit2why", "audit2allow", "sealert", "dmesg", "journalctl", "systemctl", "nginx",
    "curl", "setpriv", "sudo", "su", "runuser", "getenforce", "sestatus", "aa-status", "apparmor_status", "docker",
    "podman", "kubectl", "docker-compose", "echo", "for", "uwsgi", "gunicorn", "php-fpm", "sed", "awk", "test",
    "python3", "python", "semanage", "restorecon", "matchpathcon", "readlink", "realpath", "findmnt", "mount",
    "usermod", "chmod", "chown", "chgrp", "tree", "env", "printenv", "whoami", "umask", "uname", "cut",
    "lsb_release", "service", "supervisorctl", "socat", "nc", "ncat", "wc", "sort", "systemd-analyze", "date",
    "hostnamectl", "id", "getcap", "pstree", "top", "free", "df", "nsenter", "crictl", "oc", "tmpfiles",
    "systemd-tmpfiles", "apt", "dnf", "yum", "apk", "rpm", "dpkg", "pip", "php", "puma", "unicorn", "bundle",
}
_STOPWORDS = {"the", "a", "an", "to", "is", "are", "and", "of", "this", "that", "it", "we", "in", "on", "with",
              "be", "as", "not", "so", "but", "or", "was", "were", "you", "i", "my", "our", "here", "there", "when"}
_PROSE_WORD = _lazyre.compile(r"^[(\"'`*_]*[A-Za-z][A-Za-z'’-]*[)\"'`*_.,:;!?]*$")
_TIMESTAMP_START = _lazyre.compile(r"^(?:[A-Z][a-z]{2} [ \d]?\d |\d|\[)")
_KEY_ONLY = _lazyre.compile(r"^[\w.-]+:(?:\s+\S+)?$")
_ASSIGN = _lazyre.compile(r"^[\w.\[\]-]+\s*[=]")


@dataclass
class _Region:
    start: int  # first line index (0-based) of the output / content
    end: int  # exclusive
    command: str | None
    hint: str | None
    fenced: bool
    prompt_line: int | None = None


def normalize(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text


def _clean_command(cmd: str) -> str:
    cmd = cmd.strip()
    if cmd.startswith("sudo ") and not re.match(r"^sudo\s+-", cmd):
        cmd = cmd[5:].strip()
    return cmd


def _looks_like_command(cmd: str) -> bool:
    if re.search(r"[;{}]\s*$", cmd) and not re.search(r"\b(done|fi|esac)\s*;?\s*$", cmd):
        return False
    words = cmd.split()
    first = words[0]
    if first == "sudo" and len(words) > 1:
        first = words[1] if not words[1].startswith("-") else (words[3] if len(words) > 3 else "")
    if first.rsplit("/", 1)[-1] not in KNOWN_COMMANDS:
        return False
    return not any(w.lower().strip(",.") in _STOPWORDS for w in words[1:])


def prompt_command(line: str, guarded: bool = False) -> str | None:
    """The command of a shell prompt line, or None. ``guarded``: inside a config dump, where
    `# text` lines are most likely comments; a `# cmd` prompt is then not accepted."""
    for rx in _PROMPTS:
        m = rx.match(line)
        if m:
            return _clean_command(m.group("cmd"))
    if guarded:
        return None
    for rx in _HASH_PROMPTS:
        m = rx.match(line)
        if m and _looks_like_command(m.group("cmd")):
            return _clean_command(m.group("cmd"))
    return None


def _is_dump_command(cmd: str | None) -> bool:
    return bool(cmd and re.search(r"\bnginx\b.*\s-T\b|\bsystemctl\s+cat\b|\bcat\b", cmd))


def _regions(lines: list[str], name: str) -> list[_Region]:
    regions: list[_Region] = []
    cur = _Region(0, 0, None, name, False)
    fence: str | None = None
    fence_lang: str | None = None

    def close(i: int):
        cur.end = i
        regions.append(cur)

    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if m:
            if fence is None:
                close(i)
                fence, fence_lang = m.group("fence"), m.group("lang") or None
                cur = _Region(i + 1, 0, None, fence_lang, True)
                continue
            if m.group("fence")[0] == fence[0] and len(m.group("fence")) >= len(fence) and not m.group("lang"):
                close(i)
                fence = fence_lang = None
                cur = _Region(i + 1, 0, None, None, False)
                continue
        guarded = _is_dump_command(cur.command) and i > cur.start and lines[i - 1].strip() != ""
        cmd = prompt_command(line, guarded)
        if cmd is not None:
            close(i)
            cur = _Region(i + 1, 0, cmd, fence_lang, fence is not None, prompt_line=i)
            continue
        m = _TAIL.match(line)
        if m:
            close(i)
            cur = _Region(i + 1, 0, None, m.group("file"), fence is not None)
            continue
    close(len(lines))
    return regions


def _paragraphs(lines: list[str], start: int, end: int) -> list[tuple[int, int]]:
    out = []
    s = None
    for i in range(start, end):
        if lines[i].strip():
            if s is None:
                s = i
        elif s is not None:
            out.append((s, i))
            s = None
    if s is not None:
        out.append((s, end))
    return out


def _chunk(name: str, lines: list[str], s: int, e: int, command: str | None, hint: str | None) -> Chunk:
    return Chunk(name, "\n".join(lines[s:e]), s + 1, command, hint)


def _detect_all(chunk: Chunk, mods: list) -> list[Detection]:
    out = []
    for mod in mods:
        try:
            det = mod.detect(chunk)
        except Exception:  # a reader bug must not break splitting
            continue
        if det is not None and det.score > 0:
            out.append(det)
    order = list(registry.KINDS)
    out.sort(key=lambda d: (-d.score, order.index(d.kind) if d.kind in order else len(order)))
    return out


def _best(chunk: Chunk, mods: list) -> Detection | None:
    dets = _detect_all(chunk, mods)
    return dets[0] if dets else None


def _detect_kind(kind: str, chunk: Chunk, mods: list) -> float:
    mod = next((m for m in mods if getattr(m, "KIND", None) == kind), None)
    if mod is None:
        return 0.0
    try:
        det = mod.detect(chunk)
    except Exception:
        return 0.0
    return det.score if det is not None and det.kind == kind else 0.0


def is_prose(text_lines: list[str]) -> bool:
    """Sentences a person wrote (not command output, config or logs)."""
    words = alpha = 0
    sentence = False
    for raw in text_lines:
        s = raw.strip()
        if not s:
            continue
        if s.startswith(("- ", "* ", "> ")):
            s = s[2:].strip()
        if not s or s[0] in "#;[{}<|/=$%@&" or _TIMESTAMP_START.match(s) or _ASSIGN.match(s) or _KEY_ONLY.match(s):
            return False
        if re.search(r"[;{}\\]\s*$", s):
            return False
        toks = s.split()
        words += len(toks)
        alpha += sum(1 for t in toks if _PROSE_WORD.match(t))
        if len(toks) >= 4 or (len(toks) >= 2 and s[-1] in ".:?!)"):
            sentence = True
    return sentence and words > 0 and alpha / words >= 0.6


def _prose_wins(text_lines: list[str], best_score: float) -> bool:
    """Prose beats a reader's weak claim; sentence-ending prose beats all but a certain one
    (log readers that match on a keyword must not swallow the user's explanation)."""
    if best_score >= 0.95 or not is_prose(text_lines):
        return False
    if best_score < STRONG:
        return True
    lines = [ln.strip() for ln in text_lines if ln.strip()]
    return sum(1 for ln in lines if ln[-1] in ".:?!)") * 2 >= len(lines)


def _piece(chunk: Chunk, last_line: int, mods: list) -> Piece:
    best = _best(chunk, mods)
    if best is None or best.score < THRESHOLD:
        why = "unrecognized: no reader's signature matched"
        if best is not None:
            why = f"unrecognized: best guess {best.kind} ({best.score:.2f}: {best.reason}) is below {THRESHOLD}"
        return Piece(chunk, None, best.score if best else 0.0, why, last_line)
    return Piece(chunk, best.kind, best.score, best.reason, last_line)


def _prose_piece(name: str, lines: list[str], s: int, e: int, hint: str | None) -> Piece:
    return Piece(_chunk(name, lines, s, e, None, hint), None, 0.0, "prose", e)


def _free_pieces(name: str, lines: list[str], start: int, end: int, hint: str | None, fenced: bool,
                 mods: list) -> list[Piece]:
    paras = _paragraphs(lines, start, end)
    if not paras:
        return []
    if paras[-1][1] - paras[0][0] > BIG_REGION:
        s, e = paras[0][0], paras[-1][1]
        return [_piece(_chunk(name, lines, s, e, None, hint), e, mods)]
    groups: list[list] = []  # [s, e, kind|None|'prose']
    for s, e in paras:
        ck = _chunk(name, lines, s, e, None, hint)
        best = _best(ck, mods)
        score = best.score if best else 0.0
        if not fenced and _prose_wins(lines[s:e], score):
            if groups and groups[-1][2] == "prose":
                groups[-1][1] = e
            else:
                groups.append([s, e, "prose"])
            continue
        if groups and groups[-1][2] != "prose":
            g = groups[-1]
            kind = g[2]
            if score < THRESHOLD or (best and best.kind == kind) or _continues_yaml(kind, lines[s]) \
                    or (kind and _detect_kind(kind, ck, mods) >= THRESHOLD):
                g[1] = e
                if kind is None and score >= THRESHOLD:
                    g[2] = best.kind
                continue
        groups.append([s, e, best.kind if best and score >= THRESHOLD else None])
    out = []
    for s, e, kind in groups:
        if kind == "prose":
            out.append(_prose_piece(name, lines, s, e, hint))
        else:
            out.append(_piece(_chunk(name, lines, s, e, None, hint), e, mods))
    return out


def _continues_yaml(kind: str | None, first_line: str) -> bool:
    """An indented paragraph after a blank line inside a manifest is more of it (a ConfigMap's
    `nginx.conf: |` block with a blank line, a nested mapping), whatever it looks like alone."""
    return kind in ("k8s", "compose") and first_line[:1] in (" ", "\t")


def _command_pieces(name: str, lines: list[str], r: _Region, mods: list) -> list[Piece]:
    paras = _paragraphs(lines, r.start, r.end)
    if not paras:
        ck = Chunk(name, "", r.start + 1, r.command, r.hint)
        return [_piece(ck, r.start, mods)]
    s0, e0 = paras[0]
    end = e0
    cut_at = None
    if not r.fenced:
        first = _chunk(name, lines, s0, e0, r.command, r.hint)
        best = _best(first, mods)
        kind = best.kind if best and best.score >= THRESHOLD else None
        for s, e in paras[1:]:
            ck = _chunk(name, lines, s, e, None, r.hint)
            other = _best(ck, mods)
            other_score = other.score if other else 0.0
            if _prose_wins(lines[s:e], other_score):
                cut_at = s
                break
            if other and other_score >= 0.8 and other.kind != kind and not _continues_yaml(kind, lines[s]) \
                    and (kind is None or _detect_kind(kind, ck, mods) < THRESHOLD):
                cut_at = s
                break
            end = e
    else:
        end = paras[-1][1]
    pieces = [_piece(_chunk(name, lines, s0, end, r.command, r.hint), end, mods)]
    if cut_at is not None:
        pieces.extend(_free_pieces(name, lines, cut_at, r.end, None, r.fenced, mods))
    return pieces


def split(name: str, text: str) -> list[Piece]:
    """Pieces of ``text`` in input order, each with its kind (None when unrecognised) and why."""
    text = normalize(text)
    lines = text.split("\n")
    mods = registry.readers()  # import attempts once per call, not once per paragraph
    max_pieces = limits.value("max_pieces", MAX_PIECES)
    pieces: list[Piece] = []
    for r in _regions(lines, name):
        if r.command is not None:
            pieces.extend(_command_pieces(name, lines, r, mods))
        else:
            pieces.extend(_free_pieces(name, lines, r.start, r.end, r.hint, r.fenced, mods))
        if len(pieces) > max_pieces:
            break
    if len(pieces) > max_pieces:
        s = pieces[max_pieces - 1].chunk.first_line - 1
        ck = _chunk(name, lines, s, len(lines), None, None)
        pieces = pieces[:max_pieces - 1] + [Piece(ck, None, 0.0, (
            f"more than {max_pieces} pieces: lines {s + 1}-{len(lines)} were not classified "
            "(split the input into smaller files, or raise SOCKDOCTOR_MAX_PIECES)"), len(lines))]
    return pieces
