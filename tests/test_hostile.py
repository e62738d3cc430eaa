"""Hostile input never crashes sockdoctor (issue 10): hypothesis over arbitrary text and mutations
of the real inputs in /work/shared/cases, the nginx parse -> build -> parse round trip on generated
configurations, and the CLI on binary / NUL / invalid UTF-8 / CRLF / BOM input.

Example counts are fixed (derandomised) so runs are deterministic; bench/README.md ("Robustness")
lists them. A long run: HYPOTHESIS_PROFILE=long (10x the examples).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sockdoctor import engine
from sockdoctor.evidence import registry, split
from sockdoctor.evidence.base import Chunk
from sockdoctor.nginx import build, extract, parse_dump, parse_text
from shared_paths import SHARED_STR  # noqa: E402

CASES = Path(os.environ.get("SOCKDOCTOR_CASES", SHARED_STR + "/cases"))
REPO = Path(__file__).resolve().parents[1]


def _real_inputs() -> list[tuple[str, bytes]]:
    out = []
    roots = [CASES, REPO / "tests" / "data" / "outputs", REPO / "tests" / "data" / "configs"]
    for root in roots:
        if root.is_dir():
            for p in sorted(root.rglob("*")):
                if p.is_file() and p.name not in ("case.yaml", "README.md") and p.stat().st_size < 200_000:
                    out.append((p.name, p.read_bytes()))
    return out


REAL = _real_inputs()
SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1
COMMON = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    """A real input with a few byte flips, line deletions/duplications and a truncation."""
    if not REAL:
        return "x.txt", draw(st.binary(max_size=400))
    name, data = draw(st.sampled_from(REAL))
    lines = data.split(b"\n")
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "delete", "dup", "insert"]))
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, draw(st.binary(max_size=40)))
        elif lines and lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            line = bytearray(lines[i])
            line[j] = draw(st.integers(0, 255))
            lines[i] = bytes(line)
    data = b"\n".join(lines)
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return name, data


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


HOSTILE_TEXT = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    mutated().map(lambda nd: _text(nd[1])),
)


def _every_reader(text: str, name: str = "x.txt") -> None:
    chunk = Chunk(name, text, 1, None, None)
    for mod in registry.readers():
        mod.detect(chunk)
        mod.read(chunk)


@settings(max_examples=300 * SCALE, **COMMON)
@given(HOSTILE_TEXT)
def test_split_never_raises(text):
    pieces = split.split("paste.txt", text)
    assert all(p.chunk.first_line >= 1 for p in pieces)


@settings(max_examples=300 * SCALE, **COMMON)
@given(HOSTILE_TEXT)
def test_every_reader_never_raises(text):
    _every_reader(text)


@settings(max_examples=300 * SCALE, **COMMON)
@given(HOSTILE_TEXT)
def test_nginx_parse_never_raises(text):
    for payload in (parse_text(text, "/etc/nginx/nginx.conf"), parse_dump(text, "dump.txt")):
        extract(payload)
        build(payload)
        assert all(e.line >= 0 for e in payload.all_errors())


@settings(max_examples=200 * SCALE, **COMMON)
@given(st.lists(mutated(), min_size=1, max_size=3))
def test_diagnose_never_raises(inputs):
    names = {}
    for i, (name, data) in enumerate(inputs):
        names[f"{i}-{name}"] = _text(data)
    report = engine.diagnose(names)
    report.to_json()


# --- parse -> build -> parse ---------------------------------------------------------------

NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(lambda s: s not in ("if",) and not s.endswith("_by_lua_block"))
ARGS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)  # NUL: an error by design


def _directives(depth: int):
    leaf = st.tuples(NAMES, st.lists(ARGS, max_size=4), st.none())
    if depth == 0:
        return st.lists(leaf, max_size=4)
    block = st.tuples(NAMES, st.lists(ARGS, max_size=3), _directives(depth - 1))
    return st.lists(st.one_of(leaf, block), max_size=4)


def _to_text(tree) -> str:
    from sockdoctor.nginx.build import quote_arg
    out = []
    for name, args, block in tree:
        head = " ".join([name] + [quote_arg(a) for a in args])
        out.append(head + (";" if block is None else " {\n" + _to_text(block) + "}"))
    return "\n".join(out) + "\n"


def _shape(directives) -> list:
    return [(d.directive, list(d.args), None if d.block is None else _shape(d.block)) for d in directives]


@settings(max_examples=300 * SCALE, **COMMON)
@given(_directives(3))
def test_parse_build_parse_round_trip(tree):
    first = parse_text(_to_text(tree))
    assert first.all_errors() == []
    assert _shape(first.directives) == [(n, a, None if b is None else _shape_of(b)) for n, a, b in tree]
    second = parse_text(build(first))
    assert second.all_errors() == []
    assert _shape(second.directives) == _shape(first.directives)


def _shape_of(tree) -> list:
    return [(n, list(a), None if b is None else _shape_of(b)) for n, a, b in tree]


# --- the CLI ----------------------------------------------------------------------------------

ID = b"$ id www-data\nuid=33(www-data) gid=33(www-data) groups=33(www-data)\n"
NGINX = b"user nginx;\nhttp { server { location / { proxy_pass http://unix:/run/app.sock; } } }\n"
CLI_INPUTS = {
    "binary": bytes(range(256)) * 64,
    "elf": b"\x7fELF\x02\x01\x01" + b"\x00" * 2000,
    "nul": ID.replace(b"www", b"w\x00ww") + b"\x00" * 10,
    "invalid-utf8": NGINX.replace(b"nginx;", b"ngi\xff\xfenx;") + b"\xc3\x28\n",
    "crlf": (ID + NGINX).replace(b"\n", b"\r\n"),
    "bom-utf8": b"\xef\xbb\xbf" + ID + NGINX,
    "bom-utf16": "\ufeff".encode("utf-16-le") + (ID + NGINX).decode().encode("utf-16-le"),
    "empty": b"",
    "lone-cr": (ID + NGINX).replace(b"\n", b"\r"),
}


@pytest.mark.parametrize("kind", sorted(CLI_INPUTS))
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_cli_on_hostile_bytes(tmp_path, kind, via):
    f = tmp_path / f"{kind}.txt"
    f.write_bytes(CLI_INPUTS[kind])
    argv = [sys.executable, "-m", "sockdoctor", "diagnose", "--format", "json"]
    argv.append(str(f) if via == "file" else "-")
    with open(f, "rb") as inp:
        proc = subprocess.run(argv, stdin=inp if via == "stdin" else subprocess.DEVNULL,
                              capture_output=True, timeout=120)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode in (0, 1, 2), err
    assert "Traceback" not in err
    if proc.returncode == 2:
        assert len([ln for ln in err.splitlines() if not ln.startswith("sockdoctor: warning:")]) == 1, err


@settings(max_examples=60 * SCALE, **COMMON)
@given(st.one_of(st.binary(max_size=400), mutated().map(lambda nd: nd[1])))
def test_cli_in_process_on_mutations(tmp_path_factory, data):
    from sockdoctor import cli

    f = tmp_path_factory.mktemp("in") / "input.txt"
    f.write_bytes(data)
    out = f.with_suffix(".out")
    assert cli.main(["diagnose", "--format", "json", "-o", str(out), str(f)]) in (0, 1, 2)


def test_excerpt_whose_header_does_not_read_is_not_edited_at_a_line_it_lacks():
    """Found by test_diagnose_never_raises: an `nginx -T | sed` excerpt whose `# configuration
    file` header is damaged reads as a short file of the same name as the `grep -n` reference's,
    whose line 71 it does not have; the fix planner indexed past its end."""
    from shared_paths import SHARED_STR

    paste = open(SHARED_STR + "/cases/04-amazonlinux-uwsgi-socket-in-home-0700/paste.txt").read()
    damaged = paste.replace("# configuration file /etc/nginx/conf.d/seminar-api.conf:",
                            "\x00 configuration file /etc/nginx/conf.d/seminar-api.conf:")
    assert damaged != paste
    report = engine.diagnose({"paste.txt": damaged}).to_json()
    assert report["findings"][0]["cause"] == "parent_dir_no_search"
