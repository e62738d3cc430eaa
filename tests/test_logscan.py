"""The streamed error.log scan (evidence.logscan, live.logscan) against the line-by-line truth.

The reference here reads every line with ``error_log.parse_line`` and groups the events itself, so
the scan's marker search, its two regex fast paths, the block edges, the merge of ranges and the
forked fan-out are all checked against what the plain reader would say.
"""
from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time

import pytest

from shared_paths import CASES
from sockdoctor.evidence import logscan
from sockdoctor.evidence.error_log import parse_line
from sockdoctor.evidence.logscan import MAX_LINE
from sockdoctor.evidence.records import ErrorLogEvent, LogFact, NginxNotice, ReadWarning, Source
from sockdoctor.live import logscan as live_logscan

# --- the truth: every line through parse_line ------------------------------------------------------


def split_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def reference(data: bytes, name: str, keep: int = 50) -> list:
    """What a scan of ``data`` must return: every notice and cut-line warning; per (socket, errno,
    syscall) the first and last keep//2 events and one connect_failures summary."""
    head = max(1, keep // 2)
    groups: dict[tuple, list] = {}
    others: list = []
    for rec in every_record(data, name):
        if isinstance(rec, ErrorLogEvent):
            groups.setdefault((rec.socket, rec.errno, rec.syscall), []).append(rec)
        else:
            others.append(rec)
    events: list = []
    for (sock, errno, call), recs in groups.items():
        kept = recs if len(recs) <= 2 * head else recs[:head] + recs[-head:]
        events.extend(kept)
        events.append(LogFact("connect_failures", {
            "socket": sock, "errno": errno, "syscall": call, "count": len(recs),
            "first_line": kept[0].source.line, "last_line": kept[-1].source.line,
            "first_time": kept[0].time, "last_time": kept[-1].time}, kept[0].source))
    out = events + others
    out.sort(key=lambda r: (r.source.line, isinstance(r, LogFact)))
    return out


def every_record(data: bytes, name: str) -> list:
    """What iter_scan must yield: every record in file order, a cut line's warning first."""
    out: list = []
    for no, raw in enumerate(split_lines(data), 1):
        if len(raw) > MAX_LINE:
            out.append(ReadWarning(Source(name, no, 0, ""), f"line {no} is longer than {MAX_LINE} bytes; cut"))
            raw = raw[:MAX_LINE]
        text = raw.decode("utf-8", "replace").rstrip("\r")
        rec = parse_line(text, Source(name, no, 0, text[:2000]))
        if rec is not None:
            out.append(rec)
    return out


def key_of(rec) -> tuple | None:
    return (rec.socket, rec.errno, rec.syscall) if isinstance(rec, ErrorLogEvent) else None


# --- line shapes -------------------------------------------------------------------------------------

SOCKETS = [b"/run/gunicorn/app.sock", b"/run/php/php8.2-fpm.sock", b"@uwsgi-app", b"/run/uwsgi/app.sock",
           b"/run/caf\xc3\xa9/app.sock", b"/run/bad\xff\xfe.sock", b"/srv/my app/app.sock", b"/run/a:b.sock"]
ERRNOS = [(13, b"Permission denied"), (2, b"No such file or directory"), (111, b"Connection refused"),
          (11, b"Resource temporarily unavailable"), (104, b"Connection reset by peer"), (32, b"Broken pipe")]
SCHEMES = [b"http", b"fastcgi", b"uwsgi", b"scgi", b"grpc"]
WHILE = [b"while connecting to upstream", b"while reading response header from upstream",
         b"while sending request to upstream", b"while reading upstream"]
PREFIXES = [b"Jan 15 03:42:17 web01 nginx[812]: ", b"web-1  | ", b"nginx_1  | ",
            b"2024-01-15T03:42:17.123456789Z stderr F "]


def header(rng: random.Random, level: bytes = b"") -> bytes:
    level = level or rng.choice([b"crit", b"error", b"alert", b"warn"])
    conn = b"*%d " % rng.randrange(1, 99999) if rng.random() < 0.8 else b""
    return b"2024/01/15 03:%02d:%02d [%s] %d#%d: %s" % (rng.randrange(60), rng.randrange(60), level,
                                                       rng.randrange(1, 40000), rng.randrange(4), conn)


def context(rng: random.Random, upstream: bytes, request: bytes = b"GET /api/items?id=7 HTTP/1.1") -> bytes:
    out = b", client: 10.0.%d.%d, server: %s, request: \"%s\", upstream: \"%s\"" % (
        rng.randrange(256), rng.randrange(256), rng.choice([b"example.com", b"_", b"shop.example.org"]), request,
        upstream)
    return out + (b", host: \"example.com\"" if rng.random() < 0.7 else b"")


def upstream_url(rng: random.Random, sock: bytes) -> bytes:
    return b"%s://unix:%s:%s" % (rng.choice(SCHEMES), sock, rng.choice([b"", b"/", b"/api/items", b"/x/y?z=1"]))


def connect_plain(rng):
    sock, (errno, text) = rng.choice(SOCKETS), rng.choice(ERRNOS)
    line = header(rng) + b"connect() to unix:%s failed (%d: %s)" % (sock, errno, text)
    return line + (b" " + rng.choice(WHILE) + context(rng, upstream_url(rng, sock)) if rng.random() < 0.8 else b"")


def connect_prefixed(rng):
    return rng.choice(PREFIXES) + connect_plain(rng)


def upstream_failure(rng):
    sock = rng.choice(SOCKETS)
    errno, text = rng.choice(ERRNOS)
    msg = rng.choice([b"upstream timed out (110: Connection timed out)", b"recv() failed (%d: %s)" % (errno, text),
                      b"readv() failed (%d: %s)" % (errno, text), b"upstream prematurely closed connection",
                      b"no live upstreams", b"writev() failed (32: Broken pipe)"])
    return header(rng) + msg + b" " + rng.choice(WHILE) + context(rng, upstream_url(rng, sock))


def upstream_odd(rng):
    """Upstream failures the fast path must leave to parse_line."""
    sock = rng.choice(SOCKETS)
    return rng.choice([
        # stream module: no scheme, different context
        header(rng) + b"connect() to unix:%s failed (111: Connection refused) while connecting to upstream, "
                      b"client: 1.2.3.4, server: 0.0.0.0:9000, upstream: \"unix:%s\", bytes from/to client:0/0, "
                      b"bytes from/to upstream:0/0" % (sock, sock),
        header(rng) + b"upstream timed out (110: Connection timed out) while proxying connection, client: 1.2.3.4, "
                      b"server: 0.0.0.0:9000, upstream: \"unix:%s\", bytes from/to client:5/0" % sock,
        # a request that quotes a connect() failure or an escaped quote
        header(rng) + b"upstream timed out (110: Connection timed out) while reading response header from upstream"
        + context(rng, upstream_url(rng, sock), b"GET /?q=connect() to unix:/etc/passwd failed (13: x) HTTP/1.1"),
        header(rng) + b"recv() failed (104: Connection reset by peer) while reading response header from upstream"
        + context(rng, upstream_url(rng, sock), b"GET /say?\\\"hi\\\" HTTP/1.1"),
        header(rng) + b"no live upstreams while connecting to upstream" + context(rng, b"http://backend/"),
        header(rng) + b"upstream prematurely closed connection while reading upstream, client: 1.2.3.4, server: x, "
                      b"request: \"GET / HTTP/1.1\", subrequest: \"/auth\", upstream: \"http://unix:%s:/auth\"" % sock,
        header(rng) + b"upstream timed out (110: Connection timed out) while reading upstream"
        + context(rng, upstream_url(rng, sock)) + b", referrer: \"http://example.com/\"",
        rng.choice(PREFIXES) + upstream_failure(rng),
    ])


def notice(rng):
    return rng.choice([
        b"nginx: [emerg] getpwnam(\"nope\") failed in /etc/nginx/nginx.conf:1",
        b"nginx: [emerg] getgrnam(\"webapps\") failed in /etc/nginx/nginx.conf:2",
        b"[emerg] getgrnam(\"grp\") failed",
        b"Jan 15 03:42:17 web01 nginx[812]: nginx: [emerg] getpwnam(\"www\") failed",
        b"nginx: [emerg] bind() to unix:/run/nginx/status.sock failed (98: Address already in use)",
        header(rng, b"emerg") + b"initgroups(www-data, 33) failed (1: Operation not permitted)",
        header(rng, b"emerg") + b"bind() to 0.0.0.0:80 failed (98: Address already in use)",
        header(rng, b"warn") + b"the \"user\" directive makes sense only if the master process runs with "
                               b"super-user privileges, ignored in /etc/nginx/nginx.conf:1",
        b"web-1  | " + header(rng, b"warn") + b"the \"user\" directive makes sense only if the master process "
                                              b"runs with super-user privileges, ignored in /etc/nginx/nginx.conf:1",
    ])


def decoy(rng):
    """Lines holding a marker (or almost) that are no record, or must not become another record."""
    return rng.choice([
        header(rng, b"error") + b"open() \"/usr/share/nginx/html/x\" failed (2: No such file or directory), client: "
                                b"1.2.3.4, server: x, request: \"GET /getpwnam(\\\"x\\\") failed?unix: HTTP/1.1\"",
        header(rng, b"error") + b"open() \"/srv/connect() to unix:/etc/x failed (13: y)\" failed (2: No such file or "
                                b"directory), client: 1.2.3.4, server: x, request: \"GET /connect() to unix:/etc/x "
                                b"failed (13: y) HTTP/1.1\", host: \"x\"",
        b"10.0.0.1 - - [15/Jan/2024:03:42:17 +0000] \"GET /unix:/x HTTP/1.1\" 404 153 \"-\" \"curl/8.0\"",
        header(rng, b"notice") + b"signal process started",
        header(rng, b"error") + b"open() \"/usr/share/nginx/html/favicon.ico\" failed (2: No such file or directory)",
        b"",
        b"   unix:",
        b"\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x94/01/15 03:42:17 [crit] 1#1: connect() to unix:/run/w.sock "
        b"failed (13: Permission denied)",  # full-width digits: parse_line's \d takes them, the fast path not
        header(rng) + b"connect() to unix:/run/x.sock failed (13: Permission denied" + b"\xff" * 3,
        header(rng, b"emerg") + b"unknown directive \"foo\" in /etc/nginx/conf.d/a.conf:3",
    ])


def long_line(rng):
    n = rng.choice([MAX_LINE - 1, MAX_LINE, MAX_LINE + 1, MAX_LINE + 97, 100_000, 3 * MAX_LINE + 5])
    kind = rng.randrange(3)
    if kind == 0:  # a failure whose tail is junk: the first MAX_LINE bytes still name it
        line = connect_plain(rng) + b" "
    elif kind == 1:  # the marker only past the cut
        line = header(rng)
    else:
        line = b""
    line += b"x" * max(0, n - len(line) - 30)
    return (line + b" connect() to unix:/run/z.sock failed (2: N)")[:n] if kind == 1 else line


SHAPES = [(connect_plain, 30), (connect_prefixed, 6), (upstream_failure, 20), (upstream_odd, 10), (notice, 4),
          (decoy, 20), (lambda rng: b"plain noise line without markers %d" % rng.randrange(10 ** 6), 10)]


def make_log(seed: int, lines: int, long_every: int = 0) -> bytes:
    rng = random.Random(seed)
    shapes, weights = zip(*SHAPES)
    out = []
    for i in range(lines):
        if long_every and i % long_every == long_every - 1:
            line = long_line(rng)
        else:
            line = rng.choices(shapes, weights)[0](rng)
        if rng.random() < 0.1:
            line += b"\r"
        out.append(line)
    return b"\n".join(out)  # no newline after the last line


@pytest.fixture(scope="module")
def mixed_log() -> bytes:
    data = make_log(7, 4000, long_every=500)
    assert not data.endswith(b"\n")
    return data


# --- fast paths, scan_file, iter_scan, merge ----------------------------------------------------------


def test_reference_covers_every_kind(mixed_log):
    """The generated log exercises what the other tests compare (else they could pass on nothing)."""
    recs = reference(mixed_log, "x", keep=4)
    calls = {key_of(r)[2] for r in recs if key_of(r)}
    assert {"connect", "timeout", "recv", "readv", "writev", "closed", "no_live_upstreams"} <= calls
    socks = {key_of(r)[0] for r in recs if key_of(r)}
    assert {"@uwsgi-app", "/srv/my app/app.sock", "/run/café/app.sock", "/run/bad\ufffd\ufffd.sock"} <= socks
    assert {n.kind for n in recs if isinstance(n, NginxNotice)} >= {"getpwnam_failed", "getgrnam_failed",
                                                                     "initgroups_failed", "bind_failed", "user_ignored"}
    assert any(isinstance(r, ReadWarning) for r in recs)
    assert any(r.data["count"] > 4 for r in recs if isinstance(r, LogFact))
    # the request that quotes a connect() failure is parse_line's business, not a notice
    assert not any(isinstance(r, NginxNotice) and r.name == "x" for r in recs)


def test_fast_paths_key_lines_like_parse_line(mixed_log):
    """Every line a fast regex keys gets exactly the key parse_line gives it."""
    hits = {"connect": 0, "upstream": 0}
    for no, raw in enumerate(split_lines(mixed_log), 1):
        raw = raw[:MAX_LINE]
        text = raw.decode("utf-8", "replace").rstrip("\r")
        want = key_of(parse_line(text, Source("x", no)))
        m = logscan._FAST_CONNECT.match(raw)
        if m:
            hits["connect"] += 1
            assert (m.group(1).decode("utf-8", "replace"), int(m.group(2)), "connect") == want, raw
        u = logscan._FAST_UPSTREAM.match(raw)
        if u and b"connect() to unix:" not in raw:
            hits["upstream"] += 1
            assert logscan._upstream_key(u) == want, raw
    assert hits["connect"] > 500 and hits["upstream"] > 300, hits


@pytest.mark.parametrize("keep", [1, 2, 7, 50])
@pytest.mark.parametrize("block_size", [97, 4096, 70_001, logscan.BLOCK])
def test_scan_file_equals_line_by_line(mixed_log, tmp_path, keep, block_size):
    path = tmp_path / "error.log"
    path.write_bytes(mixed_log)
    got = logscan.scan_file(path, keep=keep, block_size=block_size)
    assert got == reference(mixed_log, str(path), keep)


@pytest.mark.parametrize("block_size", [97, 4096, logscan.BLOCK])
def test_scan_file_every_long_line_is_reported(block_size):
    """A line longer than MAX_LINE gives one warning wherever it falls relative to block edges, and
    its first MAX_LINE bytes are still read."""
    fail = b"2024/01/15 03:42:17 [crit] 7#7: *1 connect() to unix:/run/a.sock failed (13: Permission denied)"
    for pad in (0, 1, 5000, 60_000, 300_000):
        for n in (MAX_LINE + 1, MAX_LINE + 2000, 200_000):
            data = b"y" * pad + b"\n" + fail + b"\n" + fail + b" " + b"x" * (n - len(fail) - 1) + b"\n" + fail + b"\n"
            got = logscan.scan_file(io.BytesIO(data), "t", keep=50, block_size=block_size)
            assert got == reference(data, "t"), (pad, n)
            assert [r.source.line for r in got if isinstance(r, ReadWarning)] == ([1] if pad > MAX_LINE else []) + [3]


def test_crlf_and_no_final_newline(tmp_path):
    fail = b"2024/01/15 03:42:17 [crit] 7#7: *1 connect() to unix:/run/a.sock failed (13: Permission denied)"
    data = (fail + b"\r\n") * 3 + b"nginx: [emerg] getpwnam(\"www\") failed\r\n" + fail
    recs = logscan.scan_file(io.BytesIO(data), "t")
    assert recs == reference(data, "t")
    (fact,) = [r for r in recs if isinstance(r, LogFact)]
    assert (fact.data["count"], fact.data["first_line"], fact.data["last_line"]) == (4, 1, 5)
    assert all(not r.source.text.endswith("\r") for r in recs)


def test_iter_scan_yields_every_record(mixed_log):
    for block_size in (97, logscan.BLOCK):
        got = list(logscan.iter_scan(io.BytesIO(mixed_log), "x", block_size=block_size))
        assert got == every_record(mixed_log, "x")


@pytest.mark.parametrize("keep", [1, 2, 4, 50])
def test_merge_of_ranges_equals_one_scan(mixed_log, keep):
    """Tallies of consecutive line-aligned ranges, merged in order, are the tally of the whole."""
    starts = [0] + [i + 1 for i, b in enumerate(mixed_log) if b == 0x0A]
    rng = random.Random(keep)
    want = reference(mixed_log, "x", keep)
    for parts in (2, 3, 5, 17):
        cuts = sorted(rng.sample(starts[1:], parts - 1))
        bounds = list(zip([0, *cuts], [*cuts, len(mixed_log)]))
        total = None
        for a, b in bounds:
            fh = io.BytesIO(mixed_log)
            fh.seek(a)
            tally = logscan.Tally("x", keep).scan(fh, 4096, length=b - a)
            total = tally if total is None else total.merge(tally)
        assert total.records() == want, (parts, cuts)
        assert total.lines == len(split_lines(mixed_log))


# --- live.logscan.scan_path: ranges in forked processes ------------------------------------------------

@pytest.fixture(scope="module")
def big_logs(tmp_path_factory) -> dict[str, str]:
    """A ~4 MB mixed log, and one whose middle is a single 2 MB line (range cuts fall inside it)."""
    d = tmp_path_factory.mktemp("big")
    mixed = d / "mixed.log"
    mixed.write_bytes(b"\n".join(make_log(s, 4000, long_every=1000) for s in range(1, 4)) + b"\n")
    giant = d / "giant.log"
    fail = b"2024/01/15 03:42:17 [crit] 7#7: *1 connect() to unix:/run/gunicorn/app.sock failed (13: Permission denied)"
    giant.write_bytes(make_log(11, 6000) + b"\n" + fail + b" " + b"z" * 2_000_000 + b"\n" + make_log(12, 6000))
    return {"mixed": str(mixed), "giant": str(giant)}


@pytest.fixture
def forked(monkeypatch) -> list:
    """Lets a few-MB log split, and records the chunks of each shared scan."""
    monkeypatch.setattr(live_logscan, "PARALLEL_MIN", 64 * 1024)
    calls: list = []
    real = live_logscan._scan_shared

    def spy(path, name, keep, chunks, workers):
        calls.append(chunks)
        return real(path, name, keep, chunks, workers)

    monkeypatch.setattr(live_logscan, "_scan_shared", spy)
    return calls


def serial(path: str, start: int = 0, keep: int = 50) -> list:
    with open(path, "rb") as fh:
        fh.seek(start)
        return logscan.scan_file(fh, "log", keep=keep)


def assert_whole_lines(chunks: list[tuple[int, int]], data: bytes, start: int = 0) -> None:
    """Consecutive chunks of whole lines from ``start`` to the end, the last ones smallest."""
    assert chunks[0][0] == start and chunks[-1][1] == len(data)
    assert all(a == b_prev and data[a - 1] == 0x0A for (_, b_prev), (a, _) in zip(chunks, chunks[1:]))
    assert len(chunks) <= live_logscan.MAX_CHUNKS
    sizes = [b - a for a, b in chunks]
    assert sizes[0] >= max(sizes[len(sizes) // 2:]), sizes


@pytest.mark.parametrize("keep", [4, 50])
@pytest.mark.parametrize("which", ["mixed", "giant"])
def test_scan_path_equals_scan_file(big_logs, forked, which, keep):
    path = big_logs[which]
    want = serial(path, keep=keep)
    assert want == reference(open(path, "rb").read(), "log", keep)
    for workers in (1, 2, 3, 4):
        assert live_logscan.scan_path(path, "log", keep=keep, workers=workers) == want, workers
    data = open(path, "rb").read()
    assert len(forked) == 3 and all(len(chunks) > 2 for chunks in forked)
    for chunks in forked:
        assert_whole_lines(chunks, data)
    if which == "giant":  # a cut that fell inside the 2 MB line moved to its end
        giant_start = data.index(b"z" * 1000)
        assert any(a < giant_start and b > giant_start + 2_000_000 for chunks in forked for a, b in chunks)


def test_scan_path_from_an_offset(big_logs, forked):
    path = big_logs["mixed"]
    data = open(path, "rb").read()
    start = data.index(b"\n", len(data) // 3) + 1
    want = serial(path, start)
    assert want == reference(data[start:], "log")
    for workers in (1, 2, 3, 4):
        assert live_logscan.scan_path(path, "log", start=start, workers=workers) == want, workers
    assert len(forked) == 3
    for chunks in forked:
        assert_whole_lines(chunks, data, start)


def test_chunks_are_shared_out(big_logs, forked, monkeypatch, tmp_path):
    """While this process is slow on the first chunk, the child claims the others: each chunk is
    scanned by exactly one process, and the merge is the whole file's tally."""
    path = big_logs["mixed"]
    want = serial(path)
    parent = os.getpid()
    real = live_logscan._claim_and_scan

    def spy(path, name, keep, chunks, claims, first=None):
        if os.getpid() == parent:  # until the child has claimed every chunk it could
            _wait_for(lambda: any(tmp_path.glob("runs-*")))
        runs = real(path, name, keep, chunks, claims, first)
        (tmp_path / f"runs-{os.getpid()}").write_text(json.dumps([[a, b] for a, b, _ in runs]))
        return runs

    monkeypatch.setattr(live_logscan, "_claim_and_scan", spy)
    assert live_logscan.scan_path(path, "log", workers=2) == want
    runs = {int(f.name[5:]): json.loads(f.read_text()) for f in tmp_path.glob("runs-*")}
    assert len(runs) == 2 and runs[parent] == [[0, 1]]
    scanned = sorted(i for rs in runs.values() for a, b in rs for i in range(a, b))
    assert scanned == list(range(len(forked[0])))


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_scan_path_without_fork(big_logs, forked, monkeypatch, tmp_path):
    """fork() failing at once, or after one child started, or a child dying with a chunk it
    claimed: the same result."""
    path = big_logs["mixed"]
    want = serial(path)
    tried: list[int] = []

    def no_fork():
        tried.append(1)
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert live_logscan.scan_path(path, "log", workers=3) == want
    assert tried == [1] and len(forked) == 1

    monkeypatch.undo()
    monkeypatch.setattr(live_logscan, "PARALLEL_MIN", 64 * 1024)
    started: list[int] = []
    real_fork = os.fork

    def fork_once():
        if started:
            raise OSError(11, "Resource temporarily unavailable")
        pid = real_fork()
        if pid:
            started.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork_once)
    assert live_logscan.scan_path(path, "log", workers=4) == want
    assert len(started) == 1
    with pytest.raises(ChildProcessError):  # the child that did start was reaped
        os.waitpid(started[0], os.WNOHANG)

    monkeypatch.undo()
    monkeypatch.setattr(live_logscan, "PARALLEL_MIN", 64 * 1024)
    parent = os.getpid()
    real_claims = live_logscan._claim_and_scan

    claimed = tmp_path / "claimed"

    def dies_in_child(path, name, keep, chunks, claims, first=None):
        if os.getpid() != parent:
            index = live_logscan._claim(claims)  # a chunk no other process will claim
            with open(claimed, "a") as f:
                f.write(f"{index}\n")
            raise MemoryError
        _wait_for(lambda: claimed.exists() and len(claimed.read_text().split()) == 2)  # both children
        return real_claims(path, name, keep, chunks, claims, first)

    monkeypatch.setattr(live_logscan, "_claim_and_scan", dies_in_child)
    assert live_logscan.scan_path(path, "log", workers=3) == want
    lost = [int(i) for i in claimed.read_text().split()]
    assert len(lost) == 2 and all(i >= 1 for i in lost)  # chunks the dead children took, scanned again


# --- `sockdoctor diagnose` on an error.log over the input limit ------------------------------------------

CASE01 = CASES / "01-seed-nginx-uid101-vs-www-data-socket"
FAILURE = ("2024/01/15 03:42:17 [crit] 18743#18743: *{n} connect() to unix:/run/gunicorn/app.sock failed "
           "(13: Permission denied) while connecting to upstream, client: 10.0.0.1, server: example.com, "
           "request: \"POST /api/submit HTTP/1.1\", upstream: \"http://unix:/run/gunicorn/app.sock:/api/submit\"\n")
NOISE = [
    "2024/01/15 03:42:18 [notice] 18740#18740: signal process started\n",
    "2024/01/15 03:42:18 [error] 18743#18743: *{n} open() \"/usr/share/nginx/html/favicon.ico\" failed "
    "(2: No such file or directory), client: 10.0.0.9, server: example.com, request: \"GET /favicon.ico HTTP/1.1\"\n",
    "2024/01/15 03:42:19 [warn] 18743#18743: *{n} an upstream response is buffered to a temporary file "
    "/var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream, client: 10.0.0.7\n",
    "2024/01/15 03:42:19 [info] 18743#18743: *{n} client closed connection while waiting for request\n",
]
LATE = ("2024/01/15 23:59:59 [error] 18743#18743: *{n} connect() to unix:/run/late/other.sock failed "
        "(2: No such file or directory) while connecting to upstream, client: 10.0.0.2\n")


def write_big_log(path, size: int) -> tuple[int, set[int], int]:
    """(lines, line numbers of the app.sock failures, line of the one late failure) of a log of
    about ``size`` bytes: noise with a failure every 40th line, one other failure near the end."""
    failures: set[int] = set()
    n = 0
    written = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < size:
            block = []
            for _ in range(2000):
                n += 1
                if n % 40 == 17:
                    failures.add(n)
                    block.append(FAILURE.format(n=n))
                else:
                    block.append(NOISE[n % len(NOISE)].format(n=n))
            text = "".join(block)
            fh.write(text)
            written += len(text)
        n += 1
        fh.write(LATE.format(n=n))
        late = n
        for _ in range(3):
            n += 1
            fh.write(NOISE[0])
    return n, failures, late


# Runs argv[2:] and writes its peak RSS (KiB) to argv[1]. A child starts with the peak RSS of the
# process it was spawned from (exec keeps the old address space's high-water mark), so the
# measured command is spawned from this small process, not from the test process.
MEASURE = """
import os, subprocess, sys, time
proc = subprocess.Popen(sys.argv[2:])
deadline = time.monotonic() + 120
while not (waited := os.wait4(proc.pid, os.WNOHANG))[0]:
    if time.monotonic() > deadline:
        proc.kill()
        waited = os.wait4(proc.pid, 0)
    time.sleep(0.02)
open(sys.argv[1], "w").write(str(waited[2].ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(waited[1]))
"""


def run_cli(tmp_path, *args: str) -> tuple[int, str, str, int]:
    """(exit status, stdout, stderr, peak RSS in KiB) of `python -m sockdoctor ARGS`; the RSS from
    wait4 covers the processes it forked and waited for too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCKDOCTOR_")}
    rss = tmp_path / "rss.txt"
    p = subprocess.run([sys.executable, "-c", MEASURE, str(rss), sys.executable, "-m", "sockdoctor", *args],
                       capture_output=True, text=True, env=env, timeout=180)
    return p.returncode, p.stdout, p.stderr, int(rss.read_text())


def test_diagnose_streams_an_error_log_over_the_input_limit(tmp_path):
    others = [str(CASE01 / f)
              for f in ("ls.txt", "id.txt", "ps.txt", "nginx.conf", "gunicorn.socket", "gunicorn.service")]
    rc, _, stderr, baseline_kib = run_cli(tmp_path, "diagnose", "--format", "json", *others)
    assert rc == 1, stderr
    big = tmp_path / "error.log"
    lines, failures, _ = write_big_log(big, 70 * 1024 * 1024)
    size = big.stat().st_size
    assert size > 64 * 1024 * 1024

    rc, out, stderr, rss_kib = run_cli(tmp_path, "diagnose", "--format", "json", str(big), *others)
    assert rc == 1 and "Traceback" not in stderr, stderr
    data = json.loads(out)
    assert {"name": str(big), "kind": "error_log", "lines": lines} in data["inputs"]
    finding = next(f for f in data["findings"] if f["cause"] == "worker_not_in_socket_group")
    assert finding["socket"] == "/run/gunicorn/app.sock"
    cited = [e for e in finding["evidence"] if e["input"] == str(big)]
    assert cited and all(e["line"] in failures for e in cited)
    with open(big, encoding="utf-8") as fh:
        text_at = {no: line.rstrip("\n") for no, line in enumerate(fh, 1) if no in {e["line"] for e in cited}}
    assert all(text_at[e["line"]] == e["text"] for e in cited)
    sockets = {s["path"]: s.get("errno") for s in data["sockets"]}
    assert sockets["/run/gunicorn/app.sock"] == 13
    assert sockets["/run/late/other.sock"] == 2  # the end of the file was read too
    # streamed: the same run without the log plus a little, not plus the 70 MB (ru_maxrss is in KiB)
    assert rss_kib < baseline_kib + 16 * 1024 < size // 1024, (rss_kib, baseline_kib)
    big.unlink()


def test_diagnose_still_refuses_other_big_files(tmp_path):
    """A big file that does not start like an error.log keeps the input-limit refusal; a small limit
    makes a real error.log over it streamed instead."""
    conf = tmp_path / "nginx.conf"
    conf.write_text("user www-data;\nevents {}\n"
                    "http { server { location / { proxy_pass http://unix:/run/a.sock; } } }\n" + "# padding\n" * 2000)
    log = tmp_path / "error.log"
    log.write_text(FAILURE.format(n=1) * 500)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCKDOCTOR_")}
    env["SOCKDOCTOR_MAX_INPUT_BYTES"] = "10000"
    p = subprocess.run([sys.executable, "-m", "sockdoctor", "diagnose", "--format", "json", str(conf)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2 and p.stderr.strip() == (
        f"sockdoctor: {conf}:1: more than the 10000-byte input limit (SOCKDOCTOR_MAX_INPUT_BYTES raises it)")
    p = subprocess.run([sys.executable, "-m", "sockdoctor", "diagnose", "--format", "json", str(log)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["inputs"] == [{"name": str(log), "kind": "error_log", "lines": 500}]
    assert {s["path"]: s.get("errno") for s in data["sockets"]} == {"/run/gunicorn/app.sock": 13}


def test_fix_streams_a_big_error_log_too(tmp_path):
    """`sockdoctor fix` reads its inputs like diagnose: an error.log over the input limit is
    streamed, and the plan is the one for the seed incident (case 01's other files)."""
    case = next(CASES.glob("01-*"))
    for name in ("gunicorn.service", "gunicorn.socket", "id.txt", "ls.txt", "nginx.conf", "ps.txt"):
        (tmp_path / name).write_text((case / name).read_text())
    (tmp_path / "error.log").write_text(FAILURE.format(n=1) * 300)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCKDOCTOR_")}
    env["SOCKDOCTOR_MAX_INPUT_BYTES"] = "20000"
    assert (tmp_path / "error.log").stat().st_size > 20000
    p = subprocess.run([sys.executable, "-m", "sockdoctor", "fix", "--format", "json",
                        *sorted(str(f) for f in tmp_path.iterdir())],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0 and "input limit" not in p.stderr, p.stderr
    plan = json.loads(p.stdout)["plan"]
    assert "SocketGroup=nginx" in plan["diffs"][0]["diff"] and "gunicorn.socket" in plan["title"]
