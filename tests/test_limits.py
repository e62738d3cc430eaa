"""One test per hostile-input limit (sockdoctor/limits.py): an input that hits it completes, stays
within a memory budget and says which limit, naming the input and line.

Each case runs in a child process so its peak memory (ru_maxrss from wait4) is its own. The
wall-clock cap is only a hang guard; nothing here asserts speed (bench/ measures that).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from sockdoctor import limits

HANG_GUARD = 240  # seconds
MB = 1024  # ru_maxrss is in KiB on Linux


def run_child(argv: list[str], *, env: dict | None = None, stdin_path: str | None = None,
              cwd: str | None = None) -> tuple[int, str, str, int]:
    """(exit status, stdout, stderr, peak RSS in KiB) of ``argv``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SOCKDOCTOR_")}
    full_env.update(env or {})
    out_path = os.path.join(cwd or "/tmp", f"child-{os.getpid()}-{time.monotonic_ns()}")
    with open(out_path + ".out", "wb") as out, open(out_path + ".err", "wb") as err, \
            open(stdin_path or os.devnull, "rb") as inp:
        proc = subprocess.Popen(argv, stdin=inp, stdout=out, stderr=err, env=full_env, cwd=cwd)
        deadline = time.monotonic() + HANG_GUARD
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                pytest.fail(f"{argv[:3]} still running after {HANG_GUARD}s (hang guard)")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path + ".out", encoding="utf-8", errors="replace") as fh:
        stdout = fh.read()
    with open(out_path + ".err", encoding="utf-8", errors="replace") as fh:
        stderr = fh.read()
    os.unlink(out_path + ".out")
    os.unlink(out_path + ".err")
    return proc.returncode, stdout, stderr, usage.ru_maxrss


def cli(*args: str, **kw):
    return run_child([sys.executable, "-m", "sockdoctor", *args], **kw)


def py(code: str, **kw):
    return run_child([sys.executable, "-c", textwrap.dedent(code)], **kw)


@pytest.fixture(scope="module")
def baseline_kib() -> int:
    """Peak RSS of a child that only imports the engine: budgets are this plus an allowance."""
    rc, _, err, rss = py("import sockdoctor.engine, sockdoctor.nginx, sockdoctor.evidence.split")
    assert rc == 0, err
    return rss


def no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


def test_defaults_and_overrides(monkeypatch):
    assert limits.effective() == limits.DEFAULTS
    monkeypatch.setenv("SOCKDOCTOR_MAX_PIECES", "12")
    assert limits.value("max_pieces") == 12
    monkeypatch.setenv("SOCKDOCTOR_MAX_PIECES", "lots")
    assert limits.value("max_pieces") == limits.DEFAULTS["max_pieces"]
    assert limits.check_env() == ["SOCKDOCTOR_MAX_PIECES: max_pieces: 'lots' is not a whole number; using the default"]
    try:
        limits.set_override("pieces=7")
        assert limits.value("max_pieces") == 7
        with pytest.raises(ValueError):
            limits.set_override("colour=3")
        with pytest.raises(ValueError):
            limits.set_override("max_pieces=0")
    finally:
        limits.clear_overrides()
    assert set(limits.DESCRIPTIONS) == set(limits.DEFAULTS)


def test_cli_limit_option_is_checked(tmp_path):
    rc, _, err, _ = cli("--limit", "nesting=abc", "diagnose", "-")
    assert rc == 2 and err.strip() == "sockdoctor: max_nesting_depth: 'abc' is not a whole number"


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_input_size(tmp_path, baseline_kib, via):
    """A 1 GiB (sparse) input against the default 64 MiB limit: refused after reading the limit."""
    big = tmp_path / "huge.log"
    with open(big, "wb") as fh:
        fh.truncate(1024 ** 3)
    args = ("diagnose", str(big)) if via == "file" else ("diagnose", "-")
    rc, out, err, rss = cli(*args, stdin_path=str(big) if via == "stdin" else None)
    no_traceback(err)
    name = str(big) if via == "file" else "<stdin>"
    limit = limits.DEFAULTS["max_input_bytes"]
    assert rc == 2 and f"{name}:1: " in err and f"{limit}-byte" in err and "SOCKDOCTOR_MAX_INPUT_BYTES" in err
    assert rss < baseline_kib + 2 * limit // 1024 + 40 * MB


def test_input_size_override(tmp_path):
    f = tmp_path / "id.txt"
    f.write_text("uid=0(root) gid=0(root) groups=0(root)\n" * 100)
    rc, _, err, _ = cli("diagnose", str(f), env={"SOCKDOCTOR_MAX_INPUT_BYTES": "1000"})
    assert rc == 2 and f"{f}:1: more than the 1000-byte input limit" in err
    rc, _, err, _ = cli("--limit", "input-bytes=100000", "diagnose", str(f),
                        env={"SOCKDOCTOR_MAX_INPUT_BYTES": "1000"})
    assert rc != 2, err


def test_line_length(tmp_path, baseline_kib):
    """A 30 MB line after a real id line: cut to 64 KiB with a warning naming input:line."""
    f = tmp_path / "paste.txt"
    with open(f, "w") as fh:
        fh.write("$ id www-data\nuid=33(www-data) gid=33(www-data) groups=33(www-data)\n")
        fh.write("ls " + "A" * 30_000_000 + "\n")
    rc, out, err, rss = cli("diagnose", "--format", "json", str(f))
    no_traceback(err)
    assert rc in (0, 1), err
    assert f"{f.name}:3: line of 30000003 characters cut to 65536" in err
    assert json.loads(out)["inputs"]
    # the bytes, their decoded str and one copy while cutting; not one copy per piece or reader
    assert rss < baseline_kib + 4 * 30 * MB + 60 * MB, rss


NEST = """
    from sockdoctor.nginx import parse_text, extract, build
    text = "user www-data;\\n" + "location / {\\n" * 1_500_000
    p = parse_text(text)
    extract(p)
    build(p)
    for e in p.all_errors():
        print(e)
"""


@pytest.mark.parametrize("limit", [500, None])
def test_nesting_depth(baseline_kib, limit):
    """1.5 million nested blocks: the parser keeps ``limit`` levels and says where it stopped
    (unbounded, parse + extract + build of this text peaks above 3 GB)."""
    env = {"SOCKDOCTOR_MAX_NESTING_DEPTH": str(limit)} if limit else {}
    limit = limit or limits.DEFAULTS["max_nesting_depth"]
    rc, out, err, rss = py(NEST, env=env)
    no_traceback(err)
    assert rc == 0, err
    assert out.splitlines() == [f"nginx.conf:{limit + 2}: blocks nested deeper than {limit} levels "
                                "(limit max_nesting_depth); the rest of the file is ignored"]
    assert rss < baseline_kib + (150 if limit < 1000 else 350) * MB, rss


INCLUDES = """
    from sockdoctor.nginx import parse_tree, extract, walk
    reads = 0
    def read_file(path):
        global reads
        reads += 1
        return f"include {path}.a/*.conf;\\ninclude {path}.b;\\n"   # every file opens two more
    def list_glob(pattern):
        return [pattern.replace("*.conf", f"{i}.conf") for i in range(50)]
    p = parse_tree("/etc/nginx/nginx.conf", read_file, list_glob)
    extract(p)
    print(reads, len(p.files), sum(1 for _ in walk(p)))
    for e in p.all_errors()[:3]:
        print(e)
"""


def test_include_count(baseline_kib):
    """Every file includes 51 more: without a count limit this only ends at the depth limit
    (51**64 files). Limit lowered to 5,000 (the default 100,000 takes the same path, 20x longer)."""
    limit = 5000
    rc, out, err, rss = py(INCLUDES, env={"SOCKDOCTOR_MAX_INCLUDE_COUNT": str(limit)})
    no_traceback(err)
    assert rc == 0, err
    reads, files, walked = map(int, out.split("\n")[0].split())
    assert files == limit and reads == limit and walked <= 3 * limit
    assert f"not followed: more than {limit} included files (limit max_include_count)" in out
    assert rss < baseline_kib + 100 * MB, rss


CHAIN = """
    from sockdoctor.nginx import parse_tree, extract, walk
    def read_file(path):
        n = int(path.rsplit("/", 1)[1].split(".")[0])
        # each file includes the next one twice: walking it expands 2**n times without a bound
        return f"include /c/{n + 1}.conf;\\ninclude /c/{n + 1}.conf;\\nlisten 80;\\n"
    p = parse_tree("/c/0.conf", read_file, lambda pattern: [])
    extract(p)
    print(len(p.files), sum(1 for _ in walk(p)))
    for e in p.all_errors():
        print(e)
"""


def test_include_depth(baseline_kib):
    """An endless include chain where every file includes the next twice (a 2**n walk)."""
    rc, out, err, rss = py(CHAIN)
    no_traceback(err)
    assert rc == 0, err
    files, walked = map(int, out.split("\n")[0].split())
    depth = limits.DEFAULTS["max_include_depth"]
    assert files == depth + 1
    assert f'/c/{depth}.conf:1: include "/c/{depth + 1}.conf" not followed: includes nested deeper than {depth}' in out
    assert walked <= 3 * (limits.DEFAULTS["max_include_count"] + depth + 2)
    assert rss < baseline_kib + 100 * MB, rss


def test_pieces(tmp_path, baseline_kib):
    """20,000 commands in one paste: 2,000 pieces, then one unclassified rest naming its lines."""
    f = tmp_path / "paste.txt"
    f.write_text("\n\n".join(f"$ id u{i}\nuid={i}(u{i}) gid={i}(u{i}) groups={i}(u{i})" for i in range(20_000)))
    rc, out, err, rss = cli("diagnose", "--format", "json", str(f))
    no_traceback(err)
    assert rc in (0, 1), err
    pieces = json.loads(out)["inputs"][0]["pieces"]
    assert len(pieces) == limits.DEFAULTS["max_pieces"]
    assert pieces[-1]["reason"].startswith("more than 2000 pieces: lines 5999-59999 were not classified")
    assert rss < baseline_kib + 300 * MB, rss


def test_error_log_lines(tmp_path, baseline_kib):
    """100,000 connect() failures: 20,000 kept, the rest counted in one warning."""
    f = tmp_path / "error.log"
    line = ("2024/01/15 03:42:17 [crit] 812#812: *{} connect() to unix:/run/app.sock failed "
            "(13: Permission denied) while connecting to upstream, client: 10.0.0.1\n")
    with open(f, "w") as fh:
        fh.writelines(line.format(i) for i in range(100_000))
    rc, out, err, rss = cli("diagnose", "--format", "json", str(f))
    no_traceback(err)
    assert rc in (0, 1), err
    kept = limits.DEFAULTS["max_error_log_lines"]
    assert f"error.log:{kept}: {100_000 - kept} more error.log lines after this one not kept" in out
    assert rss < baseline_kib + 400 * MB, rss
