"""Streaming scan of a big nginx error.log in bounded memory (pure Python: runs in Pyodide too).

Each block is searched backwards for a few marker substrings with ``bytes.rfind`` and its newlines
are counted once, for exact line numbers; only lines holding a marker are looked at. connect() failures are
tallied per (socket, errno, syscall), keeping the first and last few of each: a well-formed failure
line is keyed with one bytes regex and kept as raw bytes, and only the lines kept become records
at the end. A log of a million failures costs a million regex matches, not a million records.

``Tally`` results merge in file order (``Tally.merge``), so a caller with processes to spare can
scan ranges of one file in parallel (sockdoctor.live.logscan does, at the CLI's edge).
"""
from __future__ import annotations

import io
import os
import re
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from sockdoctor import _lazyre
from sockdoctor.evidence.error_log import USER_IGNORED, parse_line
from sockdoctor.evidence.records import ErrorLogEvent, LogFact, ReadWarning, Source

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from typing import BinaryIO

BLOCK = 512 * 1024  # four passes over a block that stays in L2 beat one pass over a big one
MAX_LINE = 64 * 1024

# The lines error_log.parse_line can turn into a record hold one of these: the whole text of the
# "user" notice (the search skips faster the longer the needle), "[emerg] " without a space before
# it (nginx's stderr line may reach the log as `[emerg] getpwnam(...`) but with the one after it.
MARKERS = (b"unix:", b"[emerg] ", USER_IGNORED.encode())

_HEADER = rb"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[[a-z]+\] \d+#\d+: (?:\*\d+ )?"
# A plain `connect() to unix:` failure line, keyed exactly as parse_line would read it; anything
# else (prefixes, journal lines, other messages) takes the full parse.
# (A path without spaces ends where parse_line's lazy `.+?` ends; one with spaces goes the slow way.)
_FAST_CONNECT = _lazyre.compile(_HEADER + rb"connect\(\) to unix:([^ ]+) failed \((\d+): [^)]*\)")
# A plain upstream failure on a Unix socket (timeout, recv() failed, closed, no live upstreams) in
# nginx's context format with no commas or quotes inside the fields, so that parse_line's context
# regex reads the same socket; lines quoting "connect() to unix:" elsewhere take the full parse.
_FAST_UPSTREAM = _lazyre.compile(
    _HEADER + rb"(?:upstream timed out \((?P<terrno>\d+): [^)]*\)|(?P<call>\w+)\(\) failed \((?P<errno>\d+): [^)]*\)"
    rb"|(?P<closed>upstream prematurely closed connection)|no live upstreams) while [a-z ]+"
    rb', client: [^,"]*, server: [^,"]*, request: "[^"\\]*", upstream: "[a-z]+://unix:(?P<sock>[^":]*):(?:/[^"]*)?"'
    rb'(?:, host: "[^"]*")?\r?\Z')


def _upstream_key(m: re.Match) -> tuple:
    sock = m.group("sock").decode("utf-8", "replace")
    if m.group("terrno"):
        return sock, int(m.group("terrno")), "timeout"
    if m.group("call"):
        return sock, int(m.group("errno")), m.group("call").decode()
    return sock, None, "closed" if m.group("closed") else "no_live_upstreams"


class MarkedLines:
    """(line number, raw line) of every marked line of a binary stream, reading at most ``length``
    bytes. A line cut at MAX_LINE is yielded once as (line number, None). ``lines`` counts the
    newlines read so far, so after iterating it is the stream's line count."""

    def __init__(self, fh: BinaryIO, block_size: int = BLOCK, length: int | None = None):
        self.fh, self.block_size, self.left = fh, block_size, length
        self.lines = 0
        self._cut_line = 0  # the line whose MAX_LINE cut was reported while it was read

    def _readinto(self, view: memoryview) -> int:
        if self.left is not None:
            view = view[:max(0, self.left)]
        n = self.fh.readinto(view) if view.nbytes else 0
        if self.left is not None:
            self.left -= n or 0
        return n or 0

    def __iter__(self) -> Iterator[tuple[int, bytes | None]]:
        for block in self.blocks():
            yield from block

    def blocks(self) -> Iterator[list[tuple[int, bytes | None]]]:
        """The marked lines a block at a time (fewer Python steps per line than __iter__)."""
        # One buffer for the whole stream: a fresh 4 MB object per read, or joining the unfinished
        # line to the next block, would cost more than the search itself.
        buf = bytearray(self.block_size + MAX_LINE)
        view = memoryview(buf)
        carry = 0  # bytes of an unfinished line at the front of buf
        while True:
            n = self._readinto(view[carry:carry + self.block_size])
            if not n:
                break
            filled = carry + n
            end = buf.rfind(b"\n", carry, filled)
            if end == -1:
                carry = filled
            else:
                yield self._block(buf, view, end + 1)
                carry = filled - end - 1
                buf[:carry] = bytes(view[end + 1:filled])
            if carry > MAX_LINE:
                if self._cut_line != self.lines + 1:
                    self._cut_line = self.lines + 1
                    yield [(self._cut_line, None)]
                carry = MAX_LINE
        if carry:
            yield self._block(buf, view, carry)
            self.lines += 1
        view.release()

    def _block(self, buf: bytearray, view: memoryview, limit: int) -> list[tuple[int, bytes]]:
        # Searched backwards: rfind tests a candidate's first byte ("u", "[", '"': about once a
        # line) where find tests its last (":" of every timestamp, the space after every level),
        # and skips ahead more often; about twice as fast on nginx logs.
        find, rfind = buf.find, buf.rfind
        spans: dict[int, int] = {}  # line start -> end
        for marker in MARKERS:
            pos = rfind(marker, 0, limit)
            while pos != -1:
                start = rfind(b"\n", 0, pos) + 1
                end = find(b"\n", pos, limit)
                spans[start] = limit if end == -1 else end
                pos = rfind(marker, 0, start)
        out = []
        line = self.lines + 1
        last = 0
        for start, end in sorted(spans.items()):
            line += _newlines(buf, last, start)
            last = start
            out.append((line, bytes(view[start:end if end - start <= MAX_LINE else start + MAX_LINE])))
        if limit > MAX_LINE:
            out = self._with_long_lines(buf, limit, out)
        self.lines = line - 1 + _newlines(buf, last, limit)
        return out

    def _with_long_lines(self, buf: bytearray, limit: int, out: list) -> list:
        """``out`` plus (line number, None) for each line of buf[:limit] longer than MAX_LINE, so
        a long line that fits in one buffer is reported like one that does not. Such a line holds
        a whole aligned window of MAX_LINE // 2 bytes without a newline: one find() per window."""
        step = MAX_LINE // 2
        warn = []
        pos = 0
        while pos + step <= limit:
            if buf.find(b"\n", pos, pos + step) != -1:
                pos += step
                continue
            start = buf.rfind(b"\n", 0, pos) + 1
            end = buf.find(b"\n", pos + step, limit)
            end = limit if end == -1 else end
            if end - start > MAX_LINE:
                line_no = self.lines + 1 + buf.count(b"\n", 0, start)
                if line_no != self._cut_line:  # not reported already while it was read
                    warn.append((line_no, None))
            pos = end + 1
        if not warn:
            return out
        return sorted(out + warn, key=lambda item: (item[0], item[1] is not None))


def _newlines(buf: bytearray, start: int, end: int) -> int:
    """Newlines in buf[start:end]. ``count()`` tests byte by byte; on a long span, copying it and
    ``replace()``-ing its newlines (found with memchr) is five times faster."""
    if end - start < 4096:
        return buf.count(b"\n", start, end)
    span = buf[start:end]
    return len(span) - len(span.replace(b"\n", b""))


def _record(name: str, line_no: int, raw: bytes):
    line = raw.decode("utf-8", "replace").rstrip("\r")
    return parse_line(line, Source(name, line_no, 0, line[:2000]))


def _cut_warning(name: str, line_no: int) -> ReadWarning:
    return ReadWarning(Source(name, line_no, 0, ""), f"line {line_no} is longer than {MAX_LINE} bytes; cut")


def _shift(rec, offset: int):
    """``rec`` ``offset`` lines further down. A merge moves every record a forked scanner parsed:
    ``dataclasses.replace`` (15 us a record) would cost more than parsing it again, so the frozen
    record's fields are copied as they are, with a new Source."""
    if isinstance(rec, ReadWarning):  # its message names the line too
        return _cut_warning(rec.source.input, rec.source.line + offset)
    src = rec.source
    moved = object.__new__(type(rec))
    moved.__dict__.update(rec.__dict__, source=Source(src.input, src.line + offset, src.column, src.text))
    return moved


class Tally:
    """What a scan keeps: every notice and warning, and per (socket, errno, syscall) the count and
    the first and last ``keep // 2`` events (raw lines until ``records()``)."""

    def __init__(self, name: str, keep: int = 50):
        self.name = name
        self.head = max(1, keep // 2)
        self.groups: dict[tuple, list] = {}  # key -> [count, first items, last items (deque)]
        self.others: list = []
        self.lines = 0
        self._keys: dict[tuple[bytes, bytes], list] = {}  # raw (socket, errno) -> its group

    def scan(self, fh: BinaryIO, block_size: int = BLOCK, length: int | None = None) -> "Tally":
        marked = MarkedLines(fh, block_size, length)
        base, head, groups, keys, fast = self.lines, self.head, self.groups, self._keys, _FAST_CONNECT.match
        for block in marked.blocks():
            for line_no, raw in block:
                m = fast(raw) if raw is not None else None
                if m is None:
                    self._add_slow(line_no + base, raw)
                    continue
                group = keys.get(m.groups())
                if group is None:  # the first failure of its kind in this range
                    key = (m.group(1).decode("utf-8", "replace"), int(m.group(2)), "connect")
                    self._add(key, (line_no + base, raw))
                    keys[m.groups()] = groups[key]
                    continue
                group[0] += 1
                (group[1] if len(group[1]) < head else group[2]).append((line_no + base, raw))
        self.lines = base + marked.lines
        return self

    def _add_slow(self, line_no: int, raw: bytes | None) -> None:
        if raw is None:
            self.others.append(_cut_warning(self.name, line_no))
            return
        u = _FAST_UPSTREAM.match(raw)
        if u is not None and b"connect() to unix:" not in raw:
            self._add(_upstream_key(u), (line_no, raw))
            return
        rec = _record(self.name, line_no, raw)
        if isinstance(rec, ErrorLogEvent):
            self._add((rec.socket, rec.errno, rec.syscall), rec)
        elif rec is not None:
            self.others.append(rec)

    def _add(self, key: tuple, item) -> None:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = [0, [], deque(maxlen=self.head)]
        group[0] += 1
        if len(group[1]) < self.head:
            group[1].append(item)
        else:
            group[2].append(item)

    def merge(self, later: "Tally") -> "Tally":
        """Append the tally of the part of the file that follows this one."""
        offset, head = self.lines, self.head
        self.others.extend(_shift(r, offset) for r in later.others)
        for key, (count, first, last) in later.groups.items():
            items = [(item[0] + offset, item[1]) if isinstance(item, tuple) else _shift(item, offset)
                     for item in (*first, *last)]
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = [0, [], deque(maxlen=head)]
            room = head - len(group[1])
            if room > 0:
                group[1].extend(items[:room])
                items = items[room:]
            group[2].extend(items)
            group[0] += count
        self.lines += later.lines
        return self

    def parse_kept(self, first: bool = True, last: bool = True) -> "Tally":
        """Turn the kept raw lines into records now. A process that scans the start of the file
        parses its ``first`` lines, the one that scans its end its ``last`` ones, while the
        others still scan: those lines stay whatever follows in the merge, and are not left to
        ``records()`` after it."""
        for group in self.groups.values():
            for items in (group[1] if first else (), group[2] if last else ()):
                for i, item in enumerate(items):
                    if isinstance(item, tuple) and (rec := _record(self.name, *item)) is not None:
                        items[i] = rec
        return self

    def records(self) -> list:
        events: list = []
        for (sock, errno, call), (count, first, last) in self.groups.items():
            kept = [item if not isinstance(item, tuple) else _record(self.name, *item) for item in (*first, *last)]
            kept = [r for r in kept if r is not None]
            if not kept:
                continue
            events.extend(kept)
            events.append(LogFact("connect_failures", {
                "socket": sock, "errno": errno, "syscall": call, "count": count,
                "first_line": kept[0].source.line, "last_line": kept[-1].source.line,
                "first_time": kept[0].time, "last_time": kept[-1].time}, kept[0].source))
        out = events + self.others
        out.sort(key=lambda r: (r.source.line, 0 if not isinstance(r, LogFact) else 1))
        return out


@contextmanager
def _opened(src: str | os.PathLike | BinaryIO, name: str | None) -> Iterator[tuple[BinaryIO, str]]:
    """(binary stream, its name) of a path (opened and closed here) or of a binary file object."""
    own = isinstance(src, (str, os.PathLike))
    fh: BinaryIO = open(src, "rb") if own else src  # noqa: SIM115
    try:
        if isinstance(fh, io.TextIOBase):
            raise TypeError("the log scan needs a binary file object")
        if name is None:
            name = os.fspath(src) if own else getattr(fh, "name", "<stream>")
            name = name if isinstance(name, str) else "<stream>"
        yield fh, name
    finally:
        if own:
            fh.close()


def scan_file(src: str | os.PathLike | BinaryIO, name: str | None = None, keep: int = 50,
              block_size: int = BLOCK) -> list:
    """Records of a whole log (a path or a binary file object from its current position).

    Every notice is kept; connect() failures are kept per (socket, errno, syscall): the first and
    last ``keep // 2`` of each, plus one LogFact ``connect_failures`` per group with the count, the
    first and last line and time (so a 1 GB log of failures still gives a small result)."""
    with _opened(src, name) as (fh, name):
        return Tally(name, keep).scan(fh, block_size).records()


def iter_scan(src: str | os.PathLike | BinaryIO, name: str | None = None, block_size: int = BLOCK) -> Iterator:
    """Every record of a log, one at a time, in file order (nothing tallied)."""
    with _opened(src, name) as (fh, name):
        for line_no, raw in MarkedLines(fh, block_size):
            if raw is None:
                yield _cut_warning(name, line_no)
            elif (rec := _record(name, line_no, raw)) is not None:
                yield rec
