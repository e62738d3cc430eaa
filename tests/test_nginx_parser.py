"""The nginx lexer/parser: syntax, includes, dumps, bad input, build round trips."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from sockdoctor.nginx import (
    Directive, build, extract, parse_dump, parse_text, parse_tree, quote_arg, split_dump, walk,
)
from sockdoctor.nginx import fs
from sockdoctor.nginx.parser import glob_regex
from shared_paths import SHARED_STR  # noqa: E402

DATA = Path(__file__).parent / "data" / "nginx"


def flat(payload):
    return [(d.directive, list(d.args), d.line) for d, _ in walk(payload)]


def errors(payload):
    return [(e.line, e.message) for e in payload.all_errors()]


def test_quoting_escapes_comments_variables():
    text = ('log_format main \'$remote_addr "$request"\'  # trailing comment\n'
            '    "q\\"d" \'s\\\'q\' a\\"b "tab\\there" "multi\nline";\n'
            'set $x ${host}suffix;\n'
            'return 200 a}b#c;\n'
            '# a whole-line comment { ; }\n'
            'if ($request_method = "POST" ) { return 405; }\n')
    p = parse_text(text)
    assert errors(p) == []
    assert flat(p) == [
        ("log_format", ["main", '$remote_addr "$request"', 'q"d', "s'q", 'a"b', "tab\there", "multi\nline"], 1),
        ("set", ["$x", "${host}suffix"], 4),
        ("return", ["200", "a}b#c"], 5),  # nginx: `}` and `#` inside a word are literal
        ("if", ["$request_method", "=", "POST"], 7),
        ("return", ["405"], 7),
    ]
    assert [d.column for d, _ in walk(p)] == [1, 1, 1, 1, 34]


def test_crlf_bom_and_columns():
    p = parse_text("\ufeffuser nginx;\r\nhttp {\r\n\tserver {\r\n\t\tlisten 80;\r\n\t}\r\n}\r\n")
    assert errors(p) == []
    assert [(d.directive, d.args, d.line, d.column) for d, _ in walk(p)] == [
        ("user", ["nginx"], 1, 1), ("http", [], 2, 1), ("server", [], 3, 2), ("listen", ["80"], 4, 3)]


def test_lua_blocks_map_types():
    text = ("http {\n"
            "  init_by_lua_block { require 'x' }\n"
            "  map $uri $m { default 0; \"~^/a{2}\" 1; \"~*x y\" 2; include maps/*.map; }\n"
            "  types { text/html html htm; }\n"
            "  server {\n"
            "    set_by_lua_block $res { return ngx.var.a .. '}' }\n"
            "    access_by_lua_block {\n"
            "      -- } not the end\n"
            "      local t = { a = \"}\", b = [[}]] }\n"
            "      --[[ } ]] if t then ngx.exit(403) end\n"
            "    }\n"
            "    location / { return 204; }\n"
            "  }\n"
            "}\n")
    p = parse_text(text)
    assert errors(p) == []
    got = flat(p)
    assert got[1] == ("init_by_lua_block", [" require 'x' "], 2)
    assert got[2][0] == "map" and got[3:6] == [("default", ["0"], 3), ("~^/a{2}", ["1"], 3), ("~*x y", ["2"], 3)]
    assert got[6] == ("include", ["maps/*.map"], 3)
    assert got[7:9] == [("types", [], 4), ("text/html", ["html", "htm"], 4)]
    assert got[10] == ("set_by_lua_block", ["$res", " return ngx.var.a .. '}' "], 6)
    assert got[11][0] == "access_by_lua_block" and got[11][2] == 7 and "ngx.exit(403)" in got[11][1][0]
    assert got[12:] == [("location", ["/"], 12), ("return", ["204"], 12)]


@pytest.mark.parametrize("text,line,fragment", [
    ("http {\n  server {\n", 2, 'expecting "}"'),
    ("http {\n}\n}\n", 3, 'unexpected "}"'),
    ('user "nginx;\n', 1, "unterminated"),
    ("user 'a;\nb;\n", 1, "unterminated"),
    ("events {\n  worker_connections 10\n}\n", 3, 'not terminated by ";"'),
    ("; user x;", 1, 'unexpected ";"'),
    ("{ user x; }", 1, 'unexpected "{"'),
    ("user x\\", 1, "end of file"),
    ("x\n\0y;\n", 2, "NUL byte"),
    ("content_by_lua_block { ngx.say('x')\n", 1, "Lua block"),
    ("content_by_lua_block ngx.say('x');\n", 1, 'expected "{"'),
])
def test_bad_input_is_data(text, line, fragment):
    p = parse_text(text, "bad.conf")
    errs = p.all_errors()
    assert errs, text
    assert errs[0].file == "bad.conf"
    assert errs[0].line == line and fragment in errs[0].message
    extract(p)  # still extractable


def test_bad_input_keeps_what_could_be_read():
    p = parse_text("user www-data;\nhttp {\n  server {\n    proxy_pass http://unix:/run/a.sock;\n  }\n")
    rec = extract(p)
    assert rec.user == ("www-data",) and rec.sockets[0].path == "/run/a.sock"
    assert any('expecting "}"' in e for e in rec.errors)


def test_deep_nesting_and_binary_garbage():
    depth = 100_000
    p = parse_text("a {" * depth + "}" * depth)
    assert errors(p) == []
    assert sum(1 for _ in walk(p)) == depth
    built = build(p)
    assert built.count("{") == depth
    assert len(parse_text(built).directives) == 1
    rec = extract(p)
    assert rec.sockets == ()
    unclosed = parse_text("a {" * depth)
    assert len(unclosed.all_errors()) == 1
    garbage = bytes(range(256)).decode("latin-1") * 50 + "\ufffd\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    for text in (garbage, "}" * 1000, "{" * 1000, ";" * 1000, '"' * 999, "\\" * 999):
        p = parse_text(text, "g")
        extract(p)
        assert isinstance(p.all_errors(), list)


def test_tree_includes_globs_contexts():
    root = DATA / "tree"
    p = parse_tree(str(root / "nginx.conf"), fs.read_file, fs.list_glob)
    assert errors(p) == []
    assert list(p.files) == [str(root / f) for f in (
        "nginx.conf", "mime.types", "conf.d/upstreams.conf", "sites-enabled/app", "snippets/backend-server.conf")]
    rec = extract(p)
    assert rec.user == ("www-data",) and rec.pid_file == "/run/nginx.pid"
    assert rec.user_source.input == str(root / "nginx.conf") and rec.user_source.line == 1
    assert rec.error_logs == ("/var/log/nginx/error.log", "/var/log/nginx/http.error.log")
    got = [(s.directive, s.path, s.upstream, s.abstract, s.variable, s.listen, os.path.basename(s.file), s.file_line)
           for s in rec.sockets]
    assert got == [
        # the snippet is included in two upstreams: one reference per context
        ("server", "/run/app/gunicorn.sock", "app_backend", False, False, False, "backend-server.conf", 1),
        ("server", "/run/php/php8.2-fpm.sock", "php", False, False, False, "upstreams.conf", 6),
        ("listen", "/run/nginx/app-internal.sock", None, False, False, True, "app", 3),
        ("proxy_pass", "/run/app/direct.sock", None, False, False, False, "app", 12),
        ("proxy_pass", "/run/app/tls.sock", None, False, False, False, "app", 15),
        ("fastcgi_pass", None, None, False, True, False, "app", 21),
        ("uwsgi_pass", "@uwsgi-abstract", None, True, False, False, "app", 24),
        ("scgi_pass", "/run/scgi.sock", None, False, False, False, "app", 27),
        ("grpc_pass", "/run/grpc.sock", None, False, False, False, "app", 30),
        ("memcached_pass", "/run/memcached/memcached.sock", None, False, False, False, "app", 34),
        ("server", "/run/app/gunicorn.sock", "tcp_backend", False, False, False, "backend-server.conf", 1),
        ("listen", "/run/nginx/stream.sock", None, False, False, True, "nginx.conf", 32),
        ("proxy_pass", "/run/stream/app.sock", None, False, False, False, "nginx.conf", 33),
    ]
    assert rec.files[str(root / "sites-enabled/app")][11].strip().startswith("proxy_pass http://unix:")
    assert rec.file_offsets[str(root / "sites-enabled/app")] == 1


def test_tree_with_prefix_and_in_memory_files():
    files = {"/srv/conf/main.conf": "include sites/*.conf;\ninclude missing.conf;\n",
             "/srv/conf/sites/b.conf": "listen unix:/b.sock;\n",
             "/srv/conf/sites/a.conf": "listen unix:/a.sock;\n",
             "/etc/other/sites/c.conf": "listen unix:/c.sock;\n"}

    def list_glob(pattern):
        rx = glob_regex(pattern)
        return [f for f in files if rx.match(f)]

    p = parse_tree("/srv/conf/main.conf", files.get, list_glob)
    assert [s.path for s in extract(p).sockets] == ["/a.sock", "/b.sock"]
    assert errors(p) == [(2, 'open() "/srv/conf/missing.conf" failed (included here)')]
    p = parse_tree("/srv/conf/main.conf", files.get, list_glob, prefix="/etc/other")
    assert [s.path for s in extract(p).sockets] == ["/c.sock"]
    assert parse_tree("/nope.conf", files.get, list_glob).all_errors()[0].message == 'cannot read "/nope.conf"'


def test_include_cycle_detected():
    p = parse_tree(str(DATA / "cycle" / "a.conf"), fs.read_file, fs.list_glob)
    msgs = [e.message for e in p.all_errors()]
    assert len(msgs) == 1 and msgs[0].startswith("include cycle:") and msgs[0].count("a.conf") == 2
    assert [d.directive for d, _ in walk(p)] == ["user", "include", "worker_processes", "include"]
    self_loop = parse_tree("/x.conf", {"/x.conf": "include /x.conf;"}.get, lambda p: [])
    assert "include cycle" in self_loop.all_errors()[0].message


def test_glob_semantics():
    rx = glob_regex("/etc/nginx/sites-enabled/*")
    assert rx.match("/etc/nginx/sites-enabled/app")
    assert not rx.match("/etc/nginx/sites-enabled/.hidden")
    assert not rx.match("/etc/nginx/sites-enabled/sub/app")
    assert glob_regex("/a/[!x]?.conf").match("/a/yz.conf") and not glob_regex("/a/[!x]?.conf").match("/a/xz.conf")
    assert not glob_regex("/a/[z-a]").match("/a/b")


_noise = st.lists(st.sampled_from(list('{};"\'\\#$ \t\n\r\0ab:/*[]-') + [
    "include ", "unix:", "content_by_lua_block", "# configuration file /x:\n", "\ufeff", "--[[", "]]"]),
    max_size=80).map("".join)


@settings(max_examples=400, deadline=None)
@given(_noise)
def test_no_exception_on_any_text(text):
    for p in (parse_text(text, "f"), parse_dump(text, "d")):
        rec = extract(p)
        assert isinstance(rec.errors, tuple)
        parse_text(build(p))
        for e in p.all_errors():
            assert e.line >= 0 and e.message
    files = {"/c/main.conf": text, "/c/a.conf": text}
    parse_tree("/c/main.conf", files.get, lambda pat: [f for f in files if glob_regex(pat).match(f)])


def test_dump_split_and_includes():
    dump = ("nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
            "# configuration file /etc/nginx/nginx.conf:\n"
            "user nginx;\nhttp {\n    include sites/*;\n    include /etc/nginx/mime.types;\n}\n\n"
            "# configuration file /etc/nginx/sites/b:\nupstream b { server unix:/run/b.sock; }\n\n"
            "# configuration file /etc/nginx/sites/a:\nserver {\n    location / { proxy_pass http://b; }\n"
            "    listen unix:/run/a.sock;\n}\n\n")
    files, preamble = split_dump(dump)
    assert [(f, first) for f, _, first in files] == [
        ("/etc/nginx/nginx.conf", 3), ("/etc/nginx/sites/b", 10), ("/etc/nginx/sites/a", 13)]
    assert files[1][1] == "upstream b { server unix:/run/b.sock; }\n"
    assert preamble == ["nginx: the configuration file /etc/nginx/nginx.conf syntax is ok"]
    p = parse_dump(dump, "dump.txt", first_line=100)
    assert p.main == "/etc/nginx/nginx.conf" and errors(p) == []
    assert p.missing == [("/etc/nginx/nginx.conf", 4, "/etc/nginx/mime.types")]
    rec = extract(p)
    a, b = rec.sockets  # glob order: a before b
    assert (a.path, a.file, a.file_line, a.source.line) == ("/run/a.sock", "/etc/nginx/sites/a", 3, 114)
    assert (b.upstream, b.source.line, b.source.input) == ("b", 109, "dump.txt")
    assert rec.file_offsets == {"/etc/nginx/nginx.conf": 102, "/etc/nginx/sites/a": 112, "/etc/nginx/sites/b": 109}
    assert rec.files["/etc/nginx/sites/a"] == ("server {", "    location / { proxy_pass http://b; }",
                                               "    listen unix:/run/a.sock;", "}")


def test_file_included_twice_in_dump_contexts():
    dump = ("# configuration file /etc/nginx/nginx.conf:\n"
            "http { upstream u1 { include /etc/nginx/s.conf; } upstream u2 { include /etc/nginx/s.conf; } }\n"
            "# configuration file /etc/nginx/s.conf:\nserver unix:/run/s.sock;\n")
    rec = extract(parse_dump(dump))
    assert [(s.upstream, s.source.line) for s in rec.sockets] == [("u1", 4), ("u2", 4)]


# --- build ------------------------------------------------------------------------------------

def same(a, b):
    return [(d.directive, d.args, bool(d.block is not None), len(parents)) for d, parents in walk(a)] == \
           [(d.directive, d.args, bool(d.block is not None), len(parents)) for d, parents in walk(b)]


def test_build_round_trip_fixtures():
    for path in [*(DATA / "tree").rglob("*"), *(DATA / "cycle").glob("*")]:
        if path.is_file():
            p = parse_text(path.read_text(), str(path))
            assert same(p, parse_text(build(p)))
    cases = Path(SHARED_STR) / "cases"
    for case in (cases if cases.is_dir() else Path(SHARED_STR + "/cases")).glob("*/nginx-T.txt"):
        p = parse_dump(case.read_text())
        for f in p.files.values():
            q = parse_text(build(f.directives))
            assert [(d.directive, d.args) for d in q.directives] == [(d.directive, d.args) for d in f.directives]


def test_quote_arg():
    assert quote_arg("/run/a.sock") == "/run/a.sock"
    assert quote_arg("") == '""'
    assert quote_arg("a b") == '"a b"'
    assert quote_arg('a"b\\c') == '"a\\"b\\\\c"'
    assert quote_arg("${x}") == '"${x}"'


_word = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_name = st.from_regex(r"[a-z_]{1,10}", fullmatch=True)


@st.composite
def _trees(draw, depth=0):
    n = draw(st.integers(0, 4))
    out = []
    for _ in range(n):
        block = draw(_trees(depth + 1)) if depth < 3 and draw(st.booleans()) else None
        out.append(Directive(draw(_name), draw(st.lists(_word, max_size=4)), 0, 0, "-", block))
    return out


@settings(max_examples=300, deadline=None)
@given(_trees())
def test_build_parse_round_trip_property(tree):
    tree = [d for d in tree if d.directive != "if" and not d.directive.endswith("_by_lua_block")]
    text = build(tree)
    p = parse_text(text)
    assert p.all_errors() == []

    def shape(ds):
        out, stack = [], [iter(ds)]
        while stack:
            for d in stack[-1]:
                out.append((d.directive, list(d.args), d.block is None))
                if d.block is not None:
                    stack.append(iter(d.block))
                    break
            else:
                stack.pop()
                out.append(None)
        return out

    assert shape(p.directives) == shape(tree)
