"""The mixed-paste splitter: announced boundaries (prompts, fences, tail headers), content
signatures, prose, and hostile text."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sockdoctor.evidence import registry, split as splitter
from sockdoctor.evidence.split import MAX_PIECES, prompt_command, split
from sockdoctor.evidence.textio import decode_input
from shared_paths import SHARED_STR  # noqa: E402

CASES = Path(SHARED_STR + "/cases")

# kind each input file of the worked cases must get when found in paste.txt. Kinds read by this
# module's readers are asserted always; other readers' kinds only once their module exists.
EXPECTED = {
    "error.log": {"error_log"}, "ls.txt": {"ls"}, "ps.txt": {"ps"}, "id.txt": {"id"}, "group.txt": {"group"},
    "passwd.txt": {"passwd"}, "namei.txt": {"namei"}, "getfacl.txt": {"getfacl"}, "find.txt": {"find"},
    "ss.txt": {"ss"}, "sysctl.txt": {"sysctl"}, "audit.log": {"audit"}, "dmesg.txt": {"kernel_log"},
    "getenforce.txt": {"mac_status"}, "aa-status.txt": {"mac_status"}, "selinux.txt": {"mac_status"},
    "setpriv.txt": {"probe_output"}, "curl-nobody.txt": {"probe_output"}, "access.log": {"access_log"},
    "stat.txt": {"stat"},
    "docker-logs.txt": {"error_log", "journal"}, "compose-logs.txt": {"error_log", "journal"},
    "journal.txt": {"journal"}, "uwsgi.log": {"journal"}, "gunicorn-journal.txt": {"journal"},
    "nginx-T-grep.txt": {"nginx_grep"}, "nginx-T.txt": {"nginx_config"}, "umask.txt": {"systemctl_show"},
    "privatetmp.txt": {"systemctl_show"}, "Dockerfile": {"dockerfile"}, "docker-compose.yml": {"compose"},
    "supervisord.conf": {"supervisord"}, "puma.rb": {"puma"}, "gunicorn.conf.py": {"gunicorn"},
    "usr.sbin.nginx": {"apparmor_profile"}, "local-usr.sbin.nginx": {"apparmor_profile"},
    "bookings-tmpfiles.conf": {"tmpfiles"},
}
BY_SUFFIX = {".service": {"systemd_unit"}, ".socket": {"systemd_unit"}, ".ini": {"uwsgi"}}
STATUS = {"02": {"proc_status"}, "03": {"proc_status"}, "13": {"proc_status"}, "15": {"proc_status"},
          "09": {"systemctl_status"}, "11": {"systemctl_status"}}
MINE = {"error_log", "access_log", "ls", "stat", "namei", "getfacl", "find", "ps", "proc_status", "id", "group",
        "passwd", "ss", "sysctl", "audit", "kernel_log", "mac_status", "probe_output"}
CONFIGS = {"nginx.conf", "default.conf", "nginx-site.conf", "seminar-api.conf", "wiki.conf", "inventory.conf",
           "www.conf", "helpdesk.conf", "tally.conf", "bookings.conf", "courier.conf", "blog.conf"}


def expected_kinds(case: str, fname: str) -> set[str] | None:
    if fname == "status.txt":
        return STATUS[case[:2]]
    if fname in EXPECTED:
        return EXPECTED[fname]
    for suffix, kinds in BY_SUFFIX.items():
        if fname.endswith(suffix):
            return kinds
    if fname in CONFIGS:
        return {"php_fpm"} if fname in ("www.conf", "wiki.conf") else {"nginx_config"}
    return None


def case_inputs():
    for case in sorted(CASES.iterdir()):
        if case.is_dir():
            for f in sorted(case.iterdir()):
                if f.name not in ("paste.txt", "case.yaml"):
                    yield pytest.param(case, f, id=f"{case.name[:2]}-{f.name}")


@pytest.fixture(scope="module")
def pastes():
    return {case.name: split("paste.txt", (case / "paste.txt").read_text())
            for case in CASES.iterdir() if case.is_dir()}


@pytest.mark.skipif(not CASES.is_dir(), reason="shared cases not present")
@pytest.mark.parametrize("case,path", list(case_inputs()))
def test_paste_piece_matches_input_file_and_kind(pastes, case, path):
    pieces = pastes[case.name]
    text = path.read_text().strip()
    found = [p for p in pieces if p.chunk.text.strip() == text]
    assert found, f"{path.name} is not one piece of paste.txt"
    piece = found[0]
    kinds = expected_kinds(case.name, path.name)
    assert kinds is not None, f"no expectation for {path.name}"
    if kinds & MINE or any(registry.reader(k) is not None for k in kinds):
        assert piece.kind in kinds, (path.name, piece.kind, piece.reason)
        assert piece.score >= splitter.THRESHOLD and piece.reason
    # the line numbers point into paste.txt
    paste_lines = (case / "paste.txt").read_text().split("\n")
    assert paste_lines[piece.chunk.first_line - 1] == piece.chunk.text.split("\n")[0]
    assert piece.last_line >= piece.chunk.first_line


@pytest.mark.skipif(not CASES.is_dir(), reason="shared cases not present")
def test_pastes_report_prose_and_commands(pastes):
    for name, pieces in pastes.items():
        assert pieces[0].kind is None and pieces[0].reason == "prose", name
        assert not [p.chunk.command for p in pieces if (p.chunk.command or "").startswith("sudo ")
                    and not p.chunk.command.startswith("sudo -")]
    cmds = [p.chunk.command for p in pastes["01-seed-nginx-uid101-vs-www-data-socket"] if p.chunk.command]
    assert cmds[0] == "tail -n 1 /var/log/nginx/error.log"  # `sudo ` dropped
    assert "systemctl cat gunicorn.socket" in cmds


def kinds_of(text: str, name: str = "paste.txt"):
    return [(p.kind, p.chunk.command) for p in split(name, text)]


def test_prompt_forms():
    assert prompt_command("$ sudo ls -la /run/app/") == "ls -la /run/app/"
    assert prompt_command("deploy@web1:~$ id nginx") == "id nginx"
    assert prompt_command("[root@rocky9 ~]# getenforce") == "getenforce"
    assert prompt_command("root@web:/etc/nginx# nginx -T") == "nginx -T"
    assert prompt_command("# ls -la /run/php") == "ls -la /run/php"
    assert prompt_command("/ # ls -la /sock") == "ls -la /sock"
    assert prompt_command("$ sudo -u nobody curl --unix-socket /x http://l/") == "sudo -u nobody curl --unix-socket /x http://l/"
    for comment in ("# /etc/systemd/system/x.service", "# configuration file /etc/nginx/nginx.conf:",
                    "# file: /run/x.sock", "# find the socket in the logs", "# nginx configuration for the site",
                    "# owner: root", "#user nginx;"):
        assert prompt_command(comment) is None, comment


def test_unannounced_region_split_by_content_and_prose_kept():
    text = ("Here is what I see on the box, no idea what is wrong:\n\n"
            "srw-rw---- 1 www-data www-data 0 Jan 15 03:40 /run/gunicorn/app.sock\n\n"
            "uid=101(nginx) gid=101(nginx) groups=101(nginx)\n\n"
            "2024/01/15 03:42:17 [crit] 1#1: *1 connect() to unix:/run/gunicorn/app.sock failed (13: Permission denied)"
            " while connecting to upstream, client: 1.2.3.4, server: x, request: \"GET / HTTP/1.1\", upstream: "
            "\"http://unix:/run/gunicorn/app.sock:/\"\n")
    pieces = split("paste.txt", text)
    assert [(p.kind, p.reason if p.kind is None else "") for p in pieces] == [
        (None, "prose"), ("ls", ""), ("id", ""), ("error_log", "")]
    assert [p.chunk.first_line for p in pieces] == [1, 3, 5, 7]


def test_file_name_is_only_a_hint():
    text = "total 0\nsrw-rw---- 1 app www-data 0 Jan 15 03:40 app.sock\n"
    (piece,) = split("nginx.conf", text)
    assert piece.kind == "ls"


def test_tail_headers_and_fence_language():
    text = ("$ tail -n 1 /var/log/nginx/error.log /var/log/nginx/access.log\n"
            "==> /var/log/nginx/error.log <==\n"
            "2024/01/15 03:42:17 [crit] 1#1: *1 connect() to unix:/run/a.sock failed (2: No such file or directory)\n"
            "\n==> /var/log/nginx/access.log <==\n"
            "10.0.0.1 - - [15/Jan/2024:03:42:17 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\"\n")
    pieces = [p for p in split("paste.txt", text) if p.chunk.text]
    assert [(p.kind, p.chunk.hint) for p in pieces] == [
        ("error_log", "/var/log/nginx/error.log"), ("access_log", "/var/log/nginx/access.log")]
    pieces = split("paste.txt", "```text\nuid=33(www-data) gid=33(www-data) groups=33(www-data)\n```\n")
    assert pieces[0].chunk.hint == "text" and pieces[0].kind == "id" and pieces[0].chunk.first_line == 2


def test_unfenced_dumps_are_not_cut_at_their_markers():
    dump = ("$ sudo nginx -T\n"
            "# configuration file /etc/nginx/nginx.conf:\nuser www-data;\n\nevents {\n}\n\n"
            "# configuration file /etc/nginx/conf.d/a.conf:\n# ls is used below\nserver {\n"
            "    location / { proxy_pass http://unix:/run/a.sock; }\n}\n\n"
            "Then I checked the socket itself:\n\n$ id www-data\nuid=33(www-data) gid=33(www-data) groups=33(www-data)\n")
    pieces = split("paste.txt", dump)
    assert pieces[0].chunk.command == "nginx -T"
    assert pieces[0].chunk.text.count("# configuration file") == 2
    assert [p.reason for p in pieces if p.kind is None] == ["prose"]
    assert pieces[-1].kind == "id"
    unit = ("$ systemctl cat app.socket app.service\n# /etc/systemd/system/app.socket\n[Socket]\nListenStream=/run/a.sock\n\n"
            "# /etc/systemd/system/app.service\n[Service]\nUser=app\n")
    pieces = split("paste.txt", unit)
    assert len(pieces) == 1 and pieces[0].chunk.text.count("# /etc/systemd/system/") == 2


def test_empty_output_keeps_its_command():
    pieces = split("paste.txt", "$ ss -xl | grep app.sock\n$ id nginx\nuid=101(nginx) gid=101(nginx) groups=101(nginx)\n")
    assert pieces[0].chunk.command == "ss -xl | grep app.sock" and pieces[0].chunk.text == ""
    assert pieces[0].kind == "ss" and pieces[1].kind == "id" and pieces[1].chunk.first_line == 3


def test_unrecognised_piece_says_so():
    (piece,) = split("x.txt", "qwertz 12 ### ??? zzz\n")
    assert piece.kind is None and piece.reason.startswith("unrecognized")


def test_crlf_bom_nul():
    text = "\ufeff$ id nginx\r\nuid=101(nginx) gid=101(nginx)\x00 groups=101(nginx)\r\n"
    (piece,) = split("x.txt", text)
    assert piece.kind == "id" and "\r" not in piece.chunk.text and "\x00" not in piece.chunk.text


def test_piece_limit(monkeypatch):
    assert MAX_PIECES == 2000
    limit = 40  # same code path, smaller input: keeps the suite fast
    monkeypatch.setattr(splitter, "MAX_PIECES", limit)
    text = "\n\n".join(f"$ id u{i}\nuid={i}(u{i}) gid={i}(u{i}) groups={i}(u{i})" for i in range(limit + 50))
    pieces = split("big.txt", text)
    assert len(pieces) == limit
    assert pieces[-1].kind is None and f"more than {limit} pieces" in pieces[-1].reason
    assert pieces[-1].chunk.first_line == 3 * (limit - 1) + 2  # output line of the 40th command
    assert pieces[-2].kind == "id"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([
    "$ ", "# ", "```", "```nginx", "==> x <==", "\n", "\r\n", "\x00", "\ufeff", "ls -la /x", "uid=1(a) gid=1(a)",
    "srw-rw---- 1 a b 0 Jan 1 00:00 s", "f: /a", "# file: a", "user::rw-", "u_str LISTEN 0 1 /a 1 * 0",
    "type=AVC msg=audit(1:2): avc:  denied { write } for", "Uid:\t1\t1\t1\t1", "server {", "}", "a:x:1:",
    "2024/01/15 03:42:17 [crit] 1#1: connect() to unix:/a failed (13: x)", "\udcff", "é", " ", "\t",
]), max_size=40))
def test_weird_text_never_raises(parts):
    text = "".join(parts)
    pieces = split("fuzz.txt", text)
    for p in pieces:
        assert p.chunk.first_line >= 1
        assert p.kind is None or p.kind in registry.KINDS


def test_decode_input():
    text, warns = decode_input(b"\xef\xbb\xbfuid=1(a) gid=1(a)\nok\n", "id.txt")
    assert text.startswith("uid=") and warns == []
    text, warns = decode_input(b"line one\nbad \xff\xfe here\nnul\x00byte\n", "x.txt")
    assert "\ufffd" in text and "\x00" not in text
    assert warns == ["x.txt:2: invalid UTF-8 replaced with U+FFFD", "x.txt:3: NUL byte(s) removed"]
    text, warns = decode_input(bytes(range(256)) * 64, "core.bin")
    assert text == "" and "binary" in warns[0] and warns[0].startswith("core.bin:1:")
    text, warns = decode_input("é\n".encode("utf-16"), "w.txt")
    assert text == "é\n"


CONFIGMAP_WITH_BLANK = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  nginx.conf: |\n"
                        "    user root;\n    events {}\n\n    http {\n      server {\n        listen 8080;\n"
                        "        location / { proxy_pass http://unix:/run/app/app.sock; }\n      }\n    }\n")
NGINX_AFTER = ("user www-data;\nevents {}\nhttp {\n    server {\n        listen 80;\n"
               "        location / { proxy_pass http://unix:/run/app/app.sock; }\n    }\n}\n")


def test_a_blank_line_inside_a_manifest_block_does_not_cut_it():
    """The indented paragraph after the blank line is the rest of the ConfigMap's nginx.conf; an
    unindented nginx config pasted after the manifest is a piece of its own."""
    assert [(p.kind, p.chunk.first_line, p.last_line) for p in split("cm.yaml", CONFIGMAP_WITH_BLANK)] == [("k8s", 1, 15)]
    pieces = split("paste.txt", CONFIGMAP_WITH_BLANK + "\n" + NGINX_AFTER)
    assert [(p.kind, p.chunk.first_line) for p in pieces] == [("k8s", 1), ("nginx_config", 17)]
