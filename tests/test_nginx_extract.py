"""Extraction of user / pid / error_log / Unix sockets from parsed configurations."""
from __future__ import annotations

import pytest

from sockdoctor.nginx import extract, parse_text, socket_target, user_and_group


@pytest.mark.parametrize("directive,arg,expected", [
    ("proxy_pass", "http://unix:/run/a.sock", ("/run/a.sock", False, False)),
    ("proxy_pass", "http://unix:/run/a.sock:/api/v1", ("/run/a.sock", False, False)),
    ("proxy_pass", "https://unix:/run/a.sock:", ("/run/a.sock", False, False)),
    ("proxy_pass", "unix:/run/stream.sock", ("/run/stream.sock", False, False)),  # stream {} proxy_pass
    ("proxy_pass", "http://unix:@abstract:/x", ("@abstract", True, False)),
    ("proxy_pass", "http://unix:/run/$app.sock", (None, False, True)),
    ("fastcgi_pass", "unix:/run/php/php8.2-fpm.sock", ("/run/php/php8.2-fpm.sock", False, False)),
    ("fastcgi_pass", "unix:/run/odd:name.sock", ("/run/odd:name.sock", False, False)),  # no uri part
    ("uwsgi_pass", "uwsgi://unix:/run/u.sock", ("/run/u.sock", False, False)),
    ("uwsgi_pass", "suwsgi://unix:/run/u.sock", ("/run/u.sock", False, False)),
    ("grpc_pass", "grpc://unix:/run/g.sock", ("/run/g.sock", False, False)),
    ("grpc_pass", "grpcs://unix:/run/g.sock", ("/run/g.sock", False, False)),
    ("server", "unix:@tally", ("@tally", True, False)),
    ("listen", "unix:/run/nginx.sock", ("/run/nginx.sock", False, False)),
    ("proxy_pass", "http://backend", None),
    ("proxy_pass", "http://127.0.0.1:8000", None),
    ("fastcgi_pass", "php-fpm", None),
    ("listen", "80", None),
])
def test_socket_target(directive, arg, expected):
    assert socket_target(directive, arg) == expected


def test_user_and_group_implicit_rule():
    assert user_and_group(("nginx",)) == ("nginx", "nginx")  # group named like the user
    assert user_and_group(("www-data", "web")) == ("www-data", "web")
    assert user_and_group(None) == (None, None)


def test_main_context_only_for_user_and_pid():
    rec = extract(parse_text("http { user wrong; pid /wrong; }\nuser right staff;\npid /run/n.pid;\n"
                             "error_log stderr;\nerror_log memory:32m;\nerror_log logs/error.log info;\n"))
    assert rec.user == ("right", "staff") and rec.user_file_line == ("nginx.conf", 2)
    assert rec.pid_file == "/run/n.pid"
    assert rec.error_logs == ("logs/error.log",)


def test_upstream_by_name_and_unreferenced_tcp():
    rec = extract(parse_text(
        "http {\n"
        "  upstream app { server unix:/run/app.sock weight=5; server 127.0.0.1:8000 backup; }\n"
        "  upstream tcp { server 10.0.0.1:80; }\n"
        "  server { location / { proxy_pass http://app; } location /t { proxy_pass http://tcp; } }\n"
        "}\n", "/etc/nginx/nginx.conf", "paste.txt", first_line=40))
    (ref,) = rec.sockets
    assert (ref.path, ref.upstream, ref.directive, ref.raw) == ("/run/app.sock", "app", "server", "unix:/run/app.sock")
    assert (ref.source.input, ref.source.line, ref.file, ref.file_line) == ("paste.txt", 41, "/etc/nginx/nginx.conf", 2)
    assert ref.source.column == 18
