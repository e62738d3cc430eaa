"""nginx_config / nginx_grep readers on every nginx input of the shared cases, as files and as the
pieces of paste.txt that hold them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from sockdoctor.evidence import nginx_config, nginx_grep, registry
from sockdoctor.evidence.base import Chunk
from sockdoctor.evidence.records import NginxConfigRecord, ReadWarning
from shared_paths import SHARED_STR  # noqa: E402

CASES = Path(os.environ.get("SOCKDOCTOR_CASES", SHARED_STR + "/cases"))
if not CASES.is_dir():
    CASES = Path(SHARED_STR) / "cases"

# case -> {file: (user, main_file or None, [(directive, path, upstream, abstract, file, file_line)])}
EXPECTED = {
    "01": {"nginx.conf": (("nginx",), None, [("proxy_pass", "/run/gunicorn/app.sock", None, False, None, 22)])},
    "02": {"default.conf": (None, None, [("uwsgi_pass", "/run/pollster/uwsgi.sock", None, False, None, 11)])},
    "03": {"nginx-site.conf": (None, None, [("server", "/run/ledger/gunicorn.sock", "ledger_app", False, None, 2)]),
           "nginx-T-grep.txt": (("www-data",), None, [("server", "/run/ledger/gunicorn.sock", None, False, None, 94)])},
    "04": {"seminar-api.conf": (None, "/etc/nginx/conf.d/seminar-api.conf",
                                [("uwsgi_pass", "/home/ec2-user/seminar-api/run/uwsgi.sock", None, False,
                                  "/etc/nginx/conf.d/seminar-api.conf", 11)]),
           "nginx-T-grep.txt": (("nginx",), None,
                                [("uwsgi_pass", "/home/ec2-user/seminar-api/run/uwsgi.sock", None, False, None, 71)])},
    "05": {"nginx-T.txt": (("nginx",), "/etc/nginx/nginx.conf",
                           [("fastcgi_pass", "/tmp/php-wiki.sock", None, False, "/etc/nginx/conf.d/wiki.conf", 10)])},
    "06": {"inventory.conf": (None, "/etc/nginx/conf.d/inventory.conf",
                              [("server", "/run/inventory/gunicorn.sock", "inventory", False, None, 3)])},
    "07": {"nginx-T-grep.txt": (("www-data",), None, [("proxy_pass", "/run/storefront/puma.sock", None, False, None, 74)])},
    "08": {"nginx-T.txt": (("www-data",), "/etc/nginx/nginx.conf",
                           [("server", "/run/php-fpm/www.sock", "php-fpm", False, "/etc/nginx/conf.d/php-fpm.conf", 5)])},
    "09": {"helpdesk.conf": (None, "/etc/nginx/sites-enabled/helpdesk.conf",
                             [("proxy_pass", "/run/helpdesk/gunicorn.sock", None, False, None, 12)])},
    "10": {"tally.conf": (None, "/etc/nginx/sites-enabled/tally.conf", [("uwsgi_pass", "@tally", None, True, None, 11)]),
           "nginx-T-grep.txt": (("www-data",), None, [("uwsgi_pass", "@tally", None, True, None, 88)])},
    "11": {"bookings.conf": (None, "/etc/nginx/sites-enabled/bookings.conf",
                             [("server", "/run/bookings/puma.sock", "bookings", False, None, 3)])},
    "12": {"courier.conf": (None, "/etc/nginx/sites-enabled/courier.conf",
                            [("uwsgi_pass", "/run/courier/uwsgi.sock", None, False, None, 9)])},
    "13": {"default.conf": (None, "nginx/default.conf", [("proxy_pass", "/sock/api.sock", None, False, None, 9)])},
    "14": {"blog.conf": (None, "/etc/nginx/sites-enabled/blog.conf",
                         [("proxy_pass", "/run/journal/gunicorn.sock", None, False, None, 16)]),
           "nginx-T-grep.txt": (("www-data",), None, [("proxy_pass", "/run/journal/gunicorn.sock", None, False, None, 97)])},
    "15": {"nginx-T.txt": (("publisher",), "/etc/nginx/nginx.conf",
                           [("fastcgi_pass", "/run/php/php8.1-fpm.sock", None, False, "/etc/nginx/sites-enabled/shop", 13)])},
}


def case_dir(num: str) -> Path:
    found = sorted(CASES.glob(f"{num}-*"))
    if not found:
        pytest.skip(f"shared case {num} not found under {CASES}")
    return found[0]


def nginx_reader(chunk: Chunk):
    """The reader that claims the chunk, if one of ours does (and never both)."""
    a, b = nginx_config.detect(chunk), nginx_grep.detect(chunk)
    assert not (a and b), (chunk.name, a, b)
    return nginx_config if a else nginx_grep if b else None


def check_record(rec: NginxConfigRecord, expected, input_name: str, input_lines: list[str]) -> None:
    user, main_file, sockets = expected
    assert rec.user == user
    if main_file is not None:
        assert rec.main_file == main_file
        assert rec.path_known
    got = [(s.directive, s.path, s.upstream, s.abstract, s.file_line) for s in rec.sockets]
    assert got == [(d, p, u, a, fl) for d, p, u, a, _f, fl in sockets]
    for s, (_d, _p, _u, _a, file, _fl) in zip(rec.sockets, sockets):
        if file is not None:
            assert s.file == file
        assert s.source.input == input_name
        # the source line is the line of the input that holds the reference
        assert s.raw in input_lines[s.source.line - 1]
        assert s.source.text == input_lines[s.source.line - 1].strip()
        if rec.files:
            assert s.raw in rec.files[s.file][s.file_line - 1]
    if user is not None:
        assert "user" in input_lines[rec.user_source.line - 1]
        assert rec.user_source.input == input_name


@pytest.mark.parametrize("num,fname", [(n, f) for n, files in EXPECTED.items() for f in files])
def test_case_file(num, fname):
    path = case_dir(num) / fname
    chunk = Chunk(fname, path.read_text())
    reader = nginx_reader(chunk)
    assert reader is (nginx_grep if "grep" in fname else nginx_config)
    records = reader.read(chunk)
    recs = [r for r in records if isinstance(r, NginxConfigRecord)]
    assert len(recs) == 1
    assert not [r for r in records if isinstance(r, ReadWarning)]
    check_record(recs[0], EXPECTED[num][fname], fname, chunk.text.split("\n"))


def paste_pieces(text: str):
    """The nginx pieces of a paste: the output after a `$ cmd` prompt up to the next prompt or
    fence (a stand-in for the splitter, which is tested elsewhere)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("$ "):
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith(("$ ", "```")):
            j += 1
        body = lines[i + 1:j]
        while body and not body[-1].strip():
            body.pop()
        yield Chunk("paste.txt", "\n".join(body) + "\n", first_line=i + 2, command=line[2:])


@pytest.mark.parametrize("num", sorted(EXPECTED))
def test_case_paste(num):
    text = (case_dir(num) / "paste.txt").read_text()
    lines = text.split("\n")
    got = []
    for chunk in paste_pieces(text):
        reader = nginx_reader(chunk)
        if reader is None:
            continue
        recs = [r for r in reader.read(chunk) if isinstance(r, NginxConfigRecord)]
        assert len(recs) == 1
        got.append(recs[0])
    expected = list(EXPECTED[num].values())
    assert len(got) == len(expected)
    for rec in got:
        # match by kind of input: a grep record has no files
        exp = next(e for f, e in EXPECTED[num].items() if ("grep" in f) == (not rec.files))
        if exp[1] is None and rec.path_known:
            exp = (exp[0], rec.main_file, exp[2])  # `cat /etc/nginx/...` names the file in the paste
        check_record(rec, exp, "paste.txt", lines)


def need_cases() -> None:
    if not list(CASES.glob("*/paste.txt")):
        pytest.skip(f"shared cases not found under {CASES}")


def test_case_pastes_claim_nothing_else():
    """No other piece of any paste (ls, ps, ini, units, AppArmor profiles...) is read as nginx."""
    need_cases()
    for paste in sorted(CASES.glob("*/paste.txt")):
        for chunk in paste_pieces(paste.read_text()):
            reader = nginx_reader(chunk)
            cmd = chunk.command
            is_nginx = ("nginx -T" in cmd or cmd.startswith("cat") and ("/etc/nginx" in cmd or "default.conf" in cmd))
            assert (reader is not None) == is_nginx, (paste, cmd)


def test_case_files_claim_nothing_else():
    need_cases()
    for path in sorted(CASES.glob("*/*")):
        if path.name in ("case.yaml", "paste.txt"):
            continue
        chunk = Chunk(path.name, path.read_text(errors="replace"))
        claimed = nginx_reader(chunk) is not None
        assert claimed == (path.name in EXPECTED.get(path.parent.name[:2], {})), path


def test_registered():
    assert registry.reader("nginx_config") is nginx_config
    assert registry.reader("nginx_grep") is nginx_grep
    assert nginx_config.KIND == "nginx_config" and nginx_grep.KIND == "nginx_grep"


def test_dump_sources_and_offsets():
    text = (case_dir("08") / "nginx-T.txt").read_text()
    rec = nginx_config.read(Chunk("dump.txt", text, first_line=7))[0]
    lines = text.split("\n")
    assert rec.user_file_line == ("/etc/nginx/nginx.conf", 2)
    assert rec.user_source.line == 7 + 1 + 2 - 1  # the marker line, then the file's line 2
    assert lines[rec.user_source.line - 7] == "user www-data;"
    for path, first in rec.file_offsets.items():
        file_lines = rec.files[path]
        assert lines[first - 7: first - 7 + len(file_lines)] == list(file_lines)
        assert lines[first - 8] == f"# configuration file {path}:"
    assert rec.pid_file == "/run/nginx.pid" and rec.error_logs == ("/var/log/nginx/error.log",)


def test_status_lines_and_trailing_messages_are_skipped():
    text = ("# configuration file /etc/nginx/nginx.conf:\nuser nginx;\nhttp {\n"
            "  server { listen unix:/run/nginx-in.sock; }\n}\n\n"
            "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
            "nginx: configuration file /etc/nginx/nginx.conf test is successful\n")
    chunk = Chunk("t.txt", text)
    assert nginx_config.detect(chunk).score >= 0.9
    out = nginx_config.read(chunk)
    assert not [r for r in out if isinstance(r, ReadWarning)]
    (ref,) = out[0].sockets
    assert ref.listen and ref.path == "/run/nginx-in.sock" and ref.directive == "listen"


def test_header_and_command_name_the_file():
    body = "server {\n    location / { fastcgi_pass unix:/run/php/fpm.sock; }\n}\n"
    rec = nginx_config.read(Chunk("p.txt", body, 10, command="sudo cat /etc/nginx/sites-enabled/x"))[0]
    assert rec.main_file == "/etc/nginx/sites-enabled/x" and rec.path_known
    assert rec.sockets[0].source.line == 11 and rec.sockets[0].file_line == 2
    rec = nginx_config.read(Chunk("p.txt", "# /etc/nginx/conf.d/y.conf\n" + body))[0]
    assert rec.main_file == "/etc/nginx/conf.d/y.conf" and rec.path_known
    rec = nginx_config.read(Chunk("p.txt", body))[0]
    assert rec.main_file == "p.txt" and not rec.path_known


def test_unsure_reader_says_so():
    chunk = Chunk("cut.txt", "server {\n    listen 80;\n    location / {\n        proxy_pass http://unix:/run/a.sock;\n")
    assert nginx_config.detect(chunk)
    out = nginx_config.read(chunk)
    assert out[0].sockets[0].path == "/run/a.sock"
    warnings = [r for r in out if isinstance(r, ReadWarning)]
    assert warnings and "unexpected end of file" in warnings[0].message
    assert warnings[0].source.input == "cut.txt" and warnings[0].source.line >= 4


@pytest.mark.parametrize("text", [
    "total 0\ndrwxr-xr-x 2 ledger ledger-sock 60 Feb 18 10:05 .\nsrwxrwx--- 1 a b 0 Feb 18 10:05 gunicorn.sock\n",
    "[www]\nuser = www-data\nlisten = /run/php/fpm.sock\n;listen.mode = 0660\n",
    "[uwsgi]\nsocket = /run/app.sock\nchmod-socket = 660\n",
    "[Unit]\nDescription=x\n[Socket]\nListenStream=/run/a.sock\n",
    'bind = "unix:/run/app.sock"\nworkers = 3\n',
    "\x00\x01\x02binary\xff garbage;\n",
    "uid=33(www-data) gid=33(www-data) groups=33(www-data)\n",
    "profile nginx /usr/sbin/nginx {\n  /run/app.sock rw,\n  include <abstractions/base>\n}\n",
    '{"a": {"b": 1}}\n',
])
def test_not_nginx(text):
    chunk = Chunk("x", text)
    assert nginx_config.detect(chunk) is None
    assert nginx_grep.detect(chunk) is None


def test_grep_forms():
    text = ("/etc/nginx/sites-enabled/a:12:    proxy_pass http://unix:/run/a.sock:/api/;\n"
            "/etc/nginx/nginx.conf:1:user www-data www-data;\n"
            "/etc/nginx/sites-enabled/b:3:    listen unix:/run/nginx/b.sock;\n"
            "/etc/nginx/sites-enabled/c:4:    fastcgi_pass unix:/run/php/php$ver-fpm.sock;\n")
    chunk = Chunk("g.txt", text, first_line=5)
    assert nginx_grep.detect(chunk) and not nginx_config.detect(chunk)
    (rec,) = nginx_grep.read(chunk)
    assert rec.user == ("www-data", "www-data") and rec.user_file_line == ("/etc/nginx/nginx.conf", 1)
    a, b, c = rec.sockets
    assert (a.path, a.file, a.file_line, a.source.line) == ("/run/a.sock", "/etc/nginx/sites-enabled/a", 12, 5)
    assert b.listen and b.path == "/run/nginx/b.sock"
    assert c.variable and c.path is None
