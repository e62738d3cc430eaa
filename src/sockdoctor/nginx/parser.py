"""nginx configuration lexer and parser: regex tokenisation over the whole text, iterative parsing.

Tokenisation follows nginx's ``ngx_conf_read_token``:

- a word ends at whitespace, ``;`` or ``{``; ``}`` and ``#`` inside a word are literal characters,
  ``${`` does not open a block;
- ``#`` at the start of a token comments to the end of the line;
- ``"..."`` / ``'...'`` at the start of a token quote (they may span lines); ``\\`` escapes the next
  character everywhere; in the resulting value ``\\"``, ``\\'``, ``\\\\`` lose their backslash and
  ``\\t``, ``\\r``, ``\\n`` become the control character (nginx's unescaping; crossplane keeps most
  escapes raw, see tests/test_nginx_crossplane.py);
- ``*_by_lua_block`` bodies are read as one raw argument (as crossplane does), brace counting
  skips Lua strings and comments;
- ``if (...)`` loses its parentheses the way crossplane strips them.

Any Unicode whitespace separates tokens (nginx only knows space, tab, CR, LF; a no-break space
pasted from a web page would otherwise glue directive names to their indentation).

Nothing here raises on bad text: errors are ``ParseError`` data and parsing recovers where it can.
There is no recursion anywhere, so 100,000 nested blocks are fine.
"""
from __future__ import annotations

import functools
import gc
import posixpath
import re
from collections.abc import Callable, Iterator

from sockdoctor._dataclass import dataclass, field
from sockdoctor import limits

__all__ = [
    "Directive", "ParseError", "ParsedFile", "Payload",
    "parse_text", "parse_dump", "parse_tree", "walk", "glob_regex", "DUMP_MARKER",
]


@dataclass(slots=True, eq=True)
class Directive:
    """One directive. ``line``/``column`` are 1-based within ``file``; ``block`` is None for a
    simple directive; ``includes`` (include directives only, after resolution) lists the files
    the include pulled in, in nginx's order."""
    directive: str
    args: list[str]
    line: int
    column: int
    file: str
    block: list["Directive"] | None = None
    includes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ParseError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(slots=True)
class ParsedFile:
    path: str
    directives: list[Directive]
    text: str
    errors: list[ParseError] = field(default_factory=list)
    input: str = ""  # the input the text came from (the path itself for files read from disk)
    first_line: int = 1  # input line of the file's line 1
    includes: list[Directive] = field(default_factory=list)  # its include directives, in order


@dataclass(slots=True)
class Payload:
    """The parse of one configuration: the main file and everything it includes.

    ``files`` is in the order nginx reads them; ``missing`` lists include patterns that matched
    nothing in a dump or pasted text (nginx -T excerpts often leave files out: not an error)."""
    main: str
    files: dict[str, ParsedFile]
    errors: list[ParseError] = field(default_factory=list)
    missing: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, pattern)
    prefix: str = ""

    @property
    def directives(self) -> list[Directive]:
        main = self.files.get(self.main)
        return main.directives if main else []

    def __repr__(self) -> str:
        return (f"Payload(main={self.main!r}, files={len(self.files)}, "
                f"errors={len(self.all_errors())}, missing={len(self.missing)})")

    def all_errors(self) -> list[ParseError]:
        out = [e for f in self.files.values() for e in f.errors]
        out.extend(self.errors)
        return out


# --- lexer -----------------------------------------------------------------------------------

_TOKEN = re.compile(  # loops unrolled and possessive: runs of plain characters match in C
    r"""\s*+(?:"""                                      # whitespace is matched, never searched
    r"""(\#[^\n]*)"""                                   # 1 comment
    r"""|([;{}])"""                                     # 2 punctuation
    r'''|"([^"\\]*+(?:\\[\s\S][^"\\]*+)*+)"'''          # 3 double-quoted body
    r"""|'([^'\\]*+(?:\\[\s\S][^'\\]*+)*+)'"""            # 4 single-quoted body
    r"""|((?:[^\s;{}"'\\\#$]|\\[\s\S]|\$\{?)"""         # 5 word: first char,
    r"""[^\s;{\\$]*+(?:(?:\\[\s\S]|\$\{?)[^\s;{\\$]*+)*+)"""  # then anything but a terminator
    r"""|(["'\\]))"""                                   # 6 unterminated quote / trailing backslash
)
_STATEMENT = re.compile(  # a whole one-line statement of plain words (the common case), or } or a comment
    r"""\s*+(?:(\#[^\n]*)"""                              # 1 comment
    r"""|(\})"""                                          # 2 block end
    r"""|([^\s;{}"'\\\#$][^\s;{}"'\\$]*+)"""               # 3 name
    r"""((?:[ \t]++(?![#;{}"'\\])(?!\$\{)"""                 # 4 plain words (no `${`: it is not a block),
    r"""[^\s;{}"'\\$]*+(?:\$(?!\{)[^\s;{}"'\\$]*+)*+)*+)"""
    r"""[ \t]*+([;{]))"""                                  # 5 terminator
)
_UNESCAPE = re.compile(r"""\\(["'\\tnr])""")
_UNESCAPED = {'"': '"', "'": "'", "\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
_LUA_SCAN = re.compile(r"""--\[(=*)\[|--[^\n]*|\[(=*)\[|"(?:[^"\\\n]|\\[\s\S])*"|'(?:[^'\\\n]|\\[\s\S])*'|[{}]""")


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _UNESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], value)


def _strip_if_parens(args: list[str]) -> None:
    if args and args[0].startswith("(") and args[-1].endswith(")"):
        args[0] = args[0][1:].lstrip()
        args[-1] = args[-1][:-1].rstrip()
        start = int(not args[0])
        end = len(args) - int(not args[-1])
        args[:] = args[start:end]


def _scan_lua(text: str, pos: int) -> tuple[int, int] | None:
    """Return (start, end) of the Lua body whose opening brace is at ``pos``; None if unclosed."""
    depth = 1
    i = pos + 1
    n = len(text)
    while i < n:
        m = _LUA_SCAN.search(text, i)
        if m is None:
            return None
        tok = m.group()
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth == 0:
                return pos + 1, m.start()
        elif m.group(1) is not None or m.group(2) is not None:
            eq = m.group(1) if m.group(1) is not None else m.group(2)
            close = text.find("]" + eq + "]", m.end())
            if close < 0:
                return None
            i = close + len(eq) + 2
            continue
        i = m.end()
    return None


def _parse_text(text: str, path: str, strings: dict[str, str] | None = None
                ) -> tuple[list[Directive], list[ParseError], list[Directive]]:
    """Parse one file's text (no include resolution). ``strings`` interns directive names and
    short arguments across the files of one payload (a fleet repeats the same few hundred)."""
    errors: list[ParseError] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    nul = text.find("\0")
    if nul >= 0:
        errors.append(ParseError(path, text.count("\n", 0, nul) + 1, "NUL byte in configuration text"))
    if strings is None:
        strings = {}
    intern = strings.setdefault
    root: list[Directive] = []
    includes: list[Directive] = []
    cur = root
    stack: list[tuple[list[Directive], Directive]] = []  # (outer list, block directive)
    args: list[str] | None = None
    current: Directive | None = None
    pos = 0
    n = len(text)
    while n and text[n - 1].isspace():  # trailing whitespace would be rescanned from every offset
        n -= 1
    loc = [1, 0, 0]  # line, offset it was counted to, offset of that line's start

    def where(p: int) -> int:
        nl = text.rfind("\n", loc[1], p)
        if nl >= 0:
            loc[0] += text.count("\n", loc[1], nl + 1)
            loc[2] = nl + 1
        loc[1] = p
        return loc[0]

    fast = _STATEMENT.match
    token = _TOKEN.match
    max_depth = limits.value("max_nesting_depth")
    while pos < n:
        if len(stack) > max_depth:
            stack.clear()  # the block past the limit stays empty; the rest of the text is dropped
            errors.append(ParseError(path, loc[0], f"blocks nested deeper than {max_depth} levels "
                                     "(limit max_nesting_depth); the rest of the file is ignored"))
            break
        if args is None:
            # statement start: most statements are `name plain-words;` or `name ... {` on one line
            m = fast(text, pos, n)
            if m is not None:
                kind = m.lastindex
                if kind == 5:
                    name, words, end = m.group(3, 4, 5)
                    if not name.endswith("_by_lua_block"):
                        pos = m.end()
                        start = m.start(3)
                        ln = where(start)
                        if words:
                            words = words.split()
                            words = list(map(intern, words, words))
                        d = Directive(intern(name, name), words or [], ln, start - loc[2] + 1, path)
                        if name == "if":
                            _strip_if_parens(d.args)
                        cur.append(d)
                        if end == "{":
                            d.block = block = []
                            stack.append((cur, d))
                            cur = block
                        elif name == "include":
                            includes.append(d)
                        continue
                elif kind == 2:
                    pos = m.end()
                    if not stack:
                        errors.append(ParseError(path, where(m.start(2)), 'unexpected "}"'))
                        continue
                    cur = stack.pop()[0]
                    continue
                else:  # comment
                    pos = m.end()
                    continue
        m = token(text, pos, n)
        if m is None:
            break
        pos = m.end()
        kind = m.lastindex
        if kind >= 3:
            if kind == 6:
                ch = m.group(6)
                ln = where(m.start(6))
                if ch == "\\":
                    errors.append(ParseError(path, ln, "unexpected end of file after \"\\\""))
                else:
                    errors.append(ParseError(path, ln, f"unterminated {ch}quoted{ch} string: unexpected end of file"))
                break
            value = m.group(kind)
            if "\\" in value:
                value = _unescape(value)
            if args is not None:
                args.append(intern(value, value) if len(value) <= 48 else value)
                continue
            start = m.start(kind) - (kind != 5)
            ln = where(start)
            args = []
            current = Directive(intern(value, value), args, ln, start - loc[2] + 1, path)
            if value.endswith("_by_lua_block"):
                end = _lua_directive(text, pos, current, errors, where)
                if end is None:
                    args = current = None
                    break
                cur.append(current)
                pos = end
                args = current = None
        elif kind == 2:
            ch = m.group(2)
            if ch == ";":
                if args is None:
                    errors.append(ParseError(path, where(m.start(2)), 'unexpected ";"'))
                    continue
                name = current.directive
                if name == "if":
                    _strip_if_parens(args)
                elif name == "include":
                    includes.append(current)
                cur.append(current)
                args = current = None
            elif ch == "{":
                block = []
                if args is None:
                    errors.append(ParseError(path, where(m.start(2)), 'unexpected "{"'))
                    current = Directive("{", [], loc[0], 0, path, block)  # kept off the tree
                else:
                    if current.directive == "if":
                        _strip_if_parens(args)
                    current.block = block
                    cur.append(current)
                stack.append((cur, current))
                cur = block
                args = current = None
            else:  # }
                if args is not None:
                    errors.append(ParseError(path, where(m.start(2)),
                                             f'unexpected "}}": "{current.directive}" is not terminated by ";"'))
                    cur.append(current)
                    args = current = None
                if not stack:
                    errors.append(ParseError(path, where(m.start(2)), 'unexpected "}"'))
                    continue
                cur = stack.pop()[0]
    if args is not None:
        errors.append(ParseError(path, where(n), f'unexpected end of file, expecting ";" or "}}" after "{current.directive}"'))
        cur.append(current)
    if stack:
        opener = stack[-1][1]
        errors.append(ParseError(path, where(n),
                                 f'unexpected end of file, expecting "}}" ({len(stack)} block(s) open, '
                                 f'innermost "{opener.directive}" at line {opener.line})'))
    return root, errors, includes


def _lua_directive(text: str, pos: int, d: Directive, errors: list[ParseError],
                   where: Callable[[int], int]) -> int | None:
    """Read the body of ``*_by_lua_block`` (and set_by_lua_block's one argument) into d.args."""
    n = len(text)
    m = re.compile(r"\s*").match(text, pos)
    pos = m.end()
    if d.directive == "set_by_lua_block":
        m = re.compile(r"[^\s{]+").match(text, pos)
        if m:
            d.args.append(m.group())
            pos = re.compile(r"\s*").match(text, m.end()).end()
    if pos >= n or text[pos] != "{":
        errors.append(ParseError(d.file, where(min(pos, n)), f'expected "{{" to start the Lua block of "{d.directive}"'))
        return None
    span = _scan_lua(text, pos)
    if span is None:
        errors.append(ParseError(d.file, where(pos), f'unexpected end of file in the Lua block of "{d.directive}"'))
        return None
    d.args.append(text[span[0]:span[1]])
    return span[1] + 1


# --- files, includes, dumps ------------------------------------------------------------------

DUMP_MARKER = re.compile(r"^# configuration file (.+):[ \t\r]*$", re.M)
_MAGIC = re.compile(r"[*?\[]")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """glob(3) semantics as nginx uses them: ``*``/``?``/``[...]`` never match ``/``, and a
    wildcard never matches a leading dot."""
    out = []
    i = 0
    n = len(pattern)
    seg_start = True
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append(r"(?!\.)[^/]*" if seg_start else r"[^/]*")
        elif c == "?":
            out.append(r"(?!\.)[^/]" if seg_start else r"[^/]")
        elif c == "[":
            j = pattern.find("]", i + 2 if i + 1 < n and pattern[i + 1] in "!^" else i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                neg = body[:1] in ("!", "^")
                if neg:
                    body = body[1:]
                body = body.replace("\\", "\\\\")
                out.append(f"[{'^/' if neg else ''}{body}]")
                i = j
        else:
            out.append(re.escape(c))
        seg_start = c == "/"
        i += 1
    try:
        return re.compile("".join(out) + r"\Z")
    except re.error:  # e.g. a reversed range [z-a]: glob() matches nothing
        return re.compile(r"(?!)")


def _full_name(prefix: str, name: str) -> str:
    if name.startswith("/") or not prefix:
        return name
    return posixpath.join(prefix, name)


def _resolve_includes(payload: Payload, read_file: Callable[[str], str | None],
                      list_glob: Callable[[str], list[str]], strict: bool) -> None:
    """Parse the main file and every file it includes (breadth first, each file once), then
    cut include cycles. ``strict``: a missing explicit include is an error (real filesystem)
    rather than a note (dump or pasted excerpt)."""
    queue = [payload.main]
    seen = {payload.main}
    texts: dict[str, str] = {}  # read while checking an include, not parsed yet
    strings: dict[str, str] = {}
    depth = {payload.main: 0}  # include levels below the main file
    max_count = limits.value("max_include_count")
    max_depth = limits.value("max_include_depth")
    i = 0
    while i < len(queue):
        path = queue[i]
        i += 1
        pf = payload.files.get(path)
        if pf is None:
            text = texts.pop(path, None)
            if text is None:
                text = read_file(path)
            if text is None:
                payload.errors.append(ParseError(path, 0, f'cannot read "{path}"'))
                continue
            directives, errors, includes = _parse_text(text, path, strings)
            pf = ParsedFile(path, directives, text, errors, path, 1, includes)
            payload.files[path] = pf
        for d in pf.includes:
            if not d.args:
                pf.errors.append(ParseError(path, d.line, 'invalid number of arguments in "include" directive'))
                d.includes = ()
                continue
            pattern = _full_name(payload.prefix, d.args[0])
            if _MAGIC.search(pattern):
                found = sorted(list_glob(pattern))
            elif pattern in payload.files or pattern in texts or pattern in seen:
                found = [pattern]
            elif len(queue) >= max_count:
                found = [pattern]  # not read: reported as over the limit below
            else:
                text = read_file(pattern)
                found = [] if text is None else [pattern]
                if text is not None:
                    texts[pattern] = text
            if not found and not _MAGIC.search(pattern):
                if strict:
                    pf.errors.append(ParseError(path, d.line, f'open() "{pattern}" failed (included here)'))
                else:
                    payload.missing.append((path, d.line, pattern))
            if found and depth[path] >= max_depth:
                pf.errors.append(ParseError(path, d.line, f'include "{d.args[0]}" not followed: includes nested '
                                            f"deeper than {max_depth} levels (limit max_include_depth)"))
                found = [f for f in found if f in seen]
            new = [f for f in found if f not in seen]
            if len(queue) + len(new) > max_count:
                pf.errors.append(ParseError(path, d.line, f'include "{d.args[0]}" not followed: more than '
                                            f"{max_count} included files (limit max_include_count)"))
                found = [f for f in found if f in seen]
                new = []
            d.includes = tuple(found)
            for f in new:
                seen.add(f)
                depth[f] = depth[path] + 1
                queue.append(f)
    # files were added in discovery order; reorder the dict to it
    payload.files = {p: payload.files[p] for p in queue if p in payload.files}
    _cut_cycles(payload)


def _cut_cycles(payload: Payload) -> None:
    """Depth-first over the include graph; an include that leads back into the current chain is
    reported and removed so walking the tree always terminates."""
    includes_of: dict[str, list[Directive]] = {p: f.includes for p, f in payload.files.items()}
    state: dict[str, int] = {}  # 1 on the chain, 2 done
    stack: list[tuple[str, Iterator[tuple[Directive, str]]]] = []

    def edges(p: str) -> Iterator[tuple[Directive, str]]:
        for d in includes_of.get(p, ()):
            for target in d.includes or ():
                yield d, target

    state[payload.main] = 1
    stack.append((payload.main, edges(payload.main)))
    while stack:
        path, it = stack[-1]
        for d, target in it:
            st = state.get(target)
            if st == 1:
                chain = [p for p, _ in stack] + [target]
                chain = chain[chain.index(target):]
                payload.files[path].errors.append(
                    ParseError(path, d.line, "include cycle: " + " -> ".join(chain)))
                d.includes = tuple(t for t in d.includes if t != target)
            elif st is None and target in payload.files:
                state[target] = 1
                stack.append((target, edges(target)))
                break
        else:
            state[path] = 2
            stack.pop()


def _gc_paused(fn):
    """Run ``fn`` with the cyclic garbage collector paused: parsing allocates hundreds of
    thousands of acyclic objects, and collections triggered by them rescan the growing tree
    (a 50,000-site fleet would spend a third of its time there). Restored on the way out."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()
    return wrapper


@_gc_paused
def parse_text(text: str, name: str = "nginx.conf", input: str | None = None,
               first_line: int = 1) -> Payload:
    """Parse one pasted file. Includes are not followed (they are listed in ``missing``)."""
    directives, errors, includes = _parse_text(text, name)
    pf = ParsedFile(name, directives, text, errors, input or name, first_line, includes)
    payload = Payload(name, {name: pf}, prefix=posixpath.dirname(name))
    for d in includes:
        if d.args:
            payload.missing.append((name, d.line, _full_name(payload.prefix, d.args[0])))
    return payload


def split_dump(text: str) -> tuple[list[tuple[str, str, int]], list[str]]:
    """Split ``nginx -T`` output into (path, text, line of the file's line 1 in ``text``).

    Returns the files and the lines before the first marker (nginx's own ``syntax is ok``
    messages, prompts...). nginx writes each file followed by one extra newline; that newline
    is removed. A file dumped twice keeps its first copy."""
    files: list[tuple[str, str, int]] = []
    marks = list(DUMP_MARKER.finditer(text))
    preamble = text[:marks[0].start()].split("\n")[:-1] if marks else text.split("\n")
    seen = set()
    line = 1 + (text.count("\n", 0, marks[0].start()) if marks else 0)
    for k, m in enumerate(marks):
        body_start = m.end() + 1
        body_end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        body = text[body_start:body_end] if body_start <= body_end else ""
        if body.endswith("\n\n") or (k + 1 < len(marks) and body.endswith("\n")):
            body = body[:-1]
        path = m.group(1).strip()
        first = line + 1
        line += 1 + text.count("\n", body_start, body_end) if body_start <= body_end else 1
        if path in seen:
            continue
        seen.add(path)
        files.append((path, body, first))
    return files, preamble


@_gc_paused
def parse_dump(text: str, name: str = "nginx-T.txt", first_line: int = 1) -> Payload:
    """Parse ``nginx -T`` output: the first dumped file is the main one, includes resolve among
    the dumped files (relative patterns against the main file's directory)."""
    files, _ = split_dump(text)
    if not files:
        return parse_text(text, name, name, first_line)
    main = files[0][0]
    payload = Payload(main, {}, prefix=posixpath.dirname(main))
    texts = {p: t for p, t, _ in files}
    strings: dict[str, str] = {}
    for path, body, first in files:
        directives, errors, includes = _parse_text(body, path, strings)
        payload.files[path] = ParsedFile(path, directives, body, errors, name, first_line + first - 1, includes)
    parsed = dict(payload.files)

    def list_glob(pattern: str) -> list[str]:
        rx = glob_regex(pattern)
        return [p for p in texts if rx.match(p)]

    _resolve_includes(payload, texts.get, list_glob, strict=False)
    # dumped files nobody includes (trimmed dumps) are kept after the reachable ones
    for p, pf in parsed.items():
        payload.files.setdefault(p, pf)
    return payload


@_gc_paused
def parse_tree(main_path: str, read_file: Callable[[str], str | None],
               list_glob: Callable[[str], list[str]], prefix: str | None = None) -> Payload:
    """Parse ``main_path`` and the files it includes. The caller supplies the I/O:
    ``read_file(path) -> str | None`` and ``list_glob(pattern) -> [paths]``
    (see sockdoctor.nginx.fs for the real filesystem). Relative include patterns resolve against
    ``prefix`` (nginx's conf prefix: the main file's directory unless given)."""
    payload = Payload(main_path, {}, prefix=posixpath.dirname(main_path) if prefix is None else prefix)
    _resolve_includes(payload, read_file, list_glob, strict=True)
    return payload


# --- walking ---------------------------------------------------------------------------------

def walk(payload: Payload) -> Iterator[tuple[Directive, list[Directive]]]:
    """Yield (directive, enclosing block directives) for the main file with includes expanded in
    place: a file included from several places is visited once per place, in that place's
    context. Include directives themselves are yielded too. Iterative.

    The list of enclosing directives is live (it changes as the walk goes on): copy it to keep it."""
    files = payload.files
    main = files.get(payload.main)
    if main is None:
        return
    chain: list[Directive] = []
    max_depth = limits.value("max_include_depth")
    # files included from several places are walked once per place: bound the total (a diamond
    # of files each including the next twice would otherwise double the walk per level)
    max_expansions = limits.value("max_include_count")
    expansions = 0
    # (iterator, whether leaving it closes a block of the chain, include depth)
    stack: list[tuple[Iterator[Directive], bool, int]] = [(iter(main.directives), False, 0)]
    while stack:
        it, closes, depth = stack[-1]
        for d in it:
            yield d, chain
            if d.block:
                chain.append(d)
                stack.append((iter(d.block), True, depth))
                break
            if d.includes and depth < max_depth and expansions < max_expansions:
                expansions += 1
                for target in reversed(d.includes):
                    pf = files.get(target)
                    if pf is not None:
                        stack.append((iter(pf.directives), False, depth + 1))
                break
        else:
            stack.pop()
            if closes:
                chain.pop()
