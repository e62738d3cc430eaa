"""Inputs found by `make fuzz` (fuzz/fuzz_parse.py, fuzz/fuzz_split.py) and by writing the limits,
kept as regression tests. Crash artifacts land in build/fuzz/crashes/; each one that reproduces
gets a case here (bytes as a literal, the expected behaviour asserted) and a fix in the parser or
splitter. Replaying files from that directory is `test_replay_local_crashes` (skipped when none).

As of the first runs (bench/README.md, "Robustness") the fuzzers found no crash; the cases below
are the edge cases the limits introduced.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from sockdoctor import limits
from sockdoctor.evidence import split
from sockdoctor.evidence.textio import decode_input
from sockdoctor.nginx import build, extract, parse_dump, parse_text, parse_tree, walk

CRASHES = Path(__file__).resolve().parents[1] / "build" / "fuzz" / "crashes"


def test_nesting_limit_reports_once_and_keeps_the_tree(monkeypatch):
    monkeypatch.setenv("SOCKDOCTOR_MAX_NESTING_DEPTH", "3")
    p = parse_text("a {\n b {\n c {\n d {\n e { f; }\n}}}}\nlast;\n")
    assert [str(e) for e in p.all_errors()] == [
        "nginx.conf:4: blocks nested deeper than 3 levels (limit max_nesting_depth); the rest of the file is ignored"]
    assert [d.directive for d, _ in walk(p)] == ["a", "b", "c", "d"]
    again = parse_text(build(p))  # `d` keeps its (empty) block: the rebuilt text hits the limit the same way
    assert [str(e) for e in again.all_errors()] == [str(e) for e in p.all_errors()]
    assert [d.directive for d, _ in walk(again)] == ["a", "b", "c", "d"]


def test_include_beyond_count_is_not_read(monkeypatch):
    """Over the count limit an include must not even be read (it used to be read and held)."""
    monkeypatch.setenv("SOCKDOCTOR_MAX_INCLUDE_COUNT", "3")
    reads = []

    def read_file(path):
        reads.append(path)
        return f"include {path}x;\ninclude {path}y;\n"

    p = parse_tree("/n", read_file, lambda pattern: [])
    assert len(p.files) == 3 and len(reads) == 3
    assert any("more than 3 included files" in str(e) for e in p.all_errors())


def test_self_include_in_dump_and_diamond_walk_terminate():
    dump = ("# configuration file /etc/nginx/nginx.conf:\ninclude /etc/nginx/nginx.conf;\ninclude a;\ninclude a;\n\n"
            "# configuration file /etc/nginx/a:\ninclude /etc/nginx/a;\nlisten 1;\n")
    p = parse_dump(dump)
    assert any("include cycle" in str(e) for e in p.all_errors())
    assert sum(1 for d, _ in walk(p) if d.directive == "listen") == 2
    extract(p)


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf\r\r\r```\r$ id\r",  # BOM + lone CRs + an unterminated fence
    b"```nginx\ncontent_by_lua_block { ngx.say('}') \n```\n$ ls -la /x\n",
    b"# configuration file :\n# configuration file :\n",
    b"\xff\xfe" + "a {\n".encode("utf-16-le") * 50,  # UTF-16 BOM
])
def test_edge_inputs_split_and_parse(data):
    text, _ = decode_input(data, "edge.txt")
    split.split("edge.txt", text)
    for payload in (parse_text(text), parse_dump(text)):
        extract(payload)
        parse_text(build(payload))


def test_replay_local_crashes():
    files = sorted(CRASHES.glob("*")) if CRASHES.is_dir() else []
    if not files:
        pytest.skip("no crash artifacts in build/fuzz/crashes (make fuzz found none here)")
    for f in files:
        text, _ = decode_input(f.read_bytes(), f.name)
        split.split(f.name, text)
        parse_text(text)
        parse_dump(text)


def test_limits_are_documented():
    security = (Path(__file__).resolve().parents[1] / "SECURITY.md").read_text()
    for name, default in limits.DEFAULTS.items():
        assert f"`{name}`" in security, name
