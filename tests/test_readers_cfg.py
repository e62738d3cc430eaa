"""Configuration-file and service-log readers: systemd units, systemctl show/status, journal,
PHP-FPM, uWSGI, gunicorn, puma/unicorn, supervisord, tmpfiles.d, AppArmor, Dockerfile, compose,
Kubernetes, and the app-server command-line parser.

Fixtures: every config and log of ../shared/cases (read in place) plus real-world variants in
tests/data/configs (Debian's shipped www.conf, uWSGI's own example ini, RHEL's www.conf layout, ...).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sockdoctor.evidence import (apparmor_profile, cmdline, compose, dockerfile, gunicorn, journal, k8s, php_fpm,
                                 puma, registry, supervisord, systemctl_show, systemctl_status, systemd_unit,
                                 tmpfiles, uwsgi)
from sockdoctor.evidence.base import Chunk
from shared_paths import SHARED_STR  # noqa: E402
from sockdoctor.evidence.records import (CommandLine, ConfigFile, ContainerSpec, ErrorLogEvent, LogFact, ReadWarning,
                                         Source)

CASES = Path(SHARED_STR) / "cases"
if not CASES.is_dir():
    CASES = Path(SHARED_STR + "/cases")
DATA = Path(__file__).parent / "data" / "configs"
MINE = [systemd_unit, systemctl_show, systemctl_status, journal, php_fpm, uwsgi, gunicorn, puma, supervisord, tmpfiles,
        apparmor_profile, dockerfile, compose, k8s]


def case_file(case: str, name: str) -> Path:
    matches = sorted(CASES.glob(f"{case}-*/{name}"))
    if not matches:
        pytest.skip(f"shared case {case} not available")
    return matches[0]


def chunk_of(path: Path, **kw) -> Chunk:
    return Chunk(path.name, path.read_text(encoding="utf-8"), **kw)


def only(records, cls):
    return [r for r in records if isinstance(r, cls)]


def config(records) -> ConfigFile:
    cfgs = only(records, ConfigFile)
    assert len(cfgs) == 1, records
    return cfgs[0]


def setting_line(cfg: ConfigFile, key: str, section: str | None = None) -> tuple[str | None, int]:
    s = cfg.get(key, section)
    assert s is not None, f"{key} missing in {cfg.path}"
    return s.value, s.source.line


# --- detection: each case file is claimed by the right reader, and only by it ----------------

CASE_KINDS = [
    ("01", "gunicorn.service", "systemd_unit"), ("01", "gunicorn.socket", "systemd_unit"),
    ("02", "pollster.ini", "uwsgi"), ("02", "supervisord.conf", "supervisord"), ("02", "Dockerfile", "dockerfile"),
    ("02", "docker-logs.txt", "journal"),
    ("03", "ledger.service", "systemd_unit"), ("03", "journal.txt", "journal"),
    ("04", "uwsgi.ini", "uwsgi"), ("04", "seminar-api.service", "systemd_unit"),
    ("05", "wiki.conf", "php_fpm"), ("05", "privatetmp.txt", "systemctl_show"),
    ("06", "inventory.service", "systemd_unit"),
    ("07", "puma.service", "systemd_unit"), ("07", "puma.socket", "systemd_unit"), ("07", "puma.rb", "puma"),
    ("07", "usr.sbin.nginx", "apparmor_profile"), ("07", "local-usr.sbin.nginx", "apparmor_profile"),
    ("08", "www.conf", "php_fpm"),
    ("09", "helpdesk.service", "systemd_unit"), ("09", "status.txt", "systemctl_status"), ("09", "journal.txt", "journal"),
    ("10", "uwsgi.ini", "uwsgi"), ("10", "tally.service", "systemd_unit"), ("10", "journal.txt", "journal"),
    ("11", "bookings.service", "systemd_unit"), ("11", "bookings-tmpfiles.conf", "tmpfiles"), ("11", "puma.rb", "puma"),
    ("11", "status.txt", "systemctl_status"),
    ("12", "courier.ini", "uwsgi"), ("12", "courier.service", "systemd_unit"), ("12", "uwsgi.log", "journal"),
    ("13", "docker-compose.yml", "compose"), ("13", "Dockerfile", "dockerfile"), ("13", "compose-logs.txt", "journal"),
    ("14", "journal.service", "systemd_unit"), ("14", "gunicorn.conf.py", "gunicorn"), ("14", "umask.txt", "systemctl_show"),
    ("14", "gunicorn-journal.txt", "journal"),
    ("15", "www.conf", "php_fpm"),
]


@pytest.mark.parametrize("case,name,kind", CASE_KINDS, ids=[f"{c}-{n}" for c, n, _ in CASE_KINDS])
def test_case_file_detected_by_its_reader_only(case, name, kind):
    ch = chunk_of(case_file(case, name))
    scores = {m.KIND: m.detect(ch) for m in MINE}
    mine = scores[kind]
    assert mine is not None and mine.score >= 0.5, (kind, mine)
    assert mine.reason
    for other, det in scores.items():
        if other != kind and det is not None:
            assert det.score < mine.score - 0.2, (other, det, mine)


@pytest.mark.parametrize("case,name,kind", CASE_KINDS, ids=[f"{c}-{n}" for c, n, _ in CASE_KINDS])
def test_case_file_wins_against_every_registered_reader(case, name, kind):
    """Scores are comparable across helpers' readers: the right kind is the best one."""
    ch = chunk_of(case_file(case, name))
    best = None
    for mod in registry.readers():
        det = mod.detect(ch)
        if det is not None and (best is None or det.score > best.score):
            best = det
    assert best is not None and best.kind == kind, best


def test_other_case_inputs_not_claimed_as_configs():
    """nginx configs, ls/ps/id output, error logs: none of these readers claims them."""
    claimed = []
    for path in sorted(CASES.glob("*/*")):
        if path.name in ("case.yaml", "paste.txt") or any(path.name == n and path.parent.name.startswith(c)
                                                           for c, n, _ in CASE_KINDS):
            continue
        ch = chunk_of(path)
        for mod in MINE:
            det = mod.detect(ch)
            if det is not None and det.score >= 0.3:
                claimed.append((path.parent.name[:2], path.name, det))
    assert claimed == []


# --- systemd units ---------------------------------------------------------------------------

def test_case01_socket_mode_0666_at_its_line():
    recs = systemd_unit.read(chunk_of(case_file("01", "gunicorn.socket")))
    cfg = config(recs)
    assert cfg.kind == "systemd_unit" and cfg.path == "/etc/systemd/system/gunicorn.socket" and cfg.path_known
    assert setting_line(cfg, "SocketMode", "Socket") == ("0666", 7)
    assert setting_line(cfg, "ListenStream", "Socket") == ("/run/gunicorn/app.sock", 6)
    # the `systemctl cat` header is not part of the file: lines start at the file's own line 1
    assert cfg.lines[0] == "[Unit]" and cfg.first_line == 2
    assert cfg.lines[cfg.get("SocketMode").source.line - cfg.first_line] == "SocketMode=0666"


@pytest.mark.parametrize("case,name,user,group,program,opts", [
    ("01", "gunicorn.service", "deploy", "deploy", "gunicorn", {"workers": "3", "app": "app.wsgi:application"}),
    ("03", "ledger.service", "ledger", "ledger-sock", "gunicorn",
     {"umask": "007", "bind": "unix:/run/ledger/gunicorn.sock"}),
    ("04", "seminar-api.service", "ec2-user", "ec2-user", "uwsgi", {"ini": "/home/ec2-user/seminar-api/uwsgi.ini"}),
    ("06", "inventory.service", "inventory", "nginx", "gunicorn", {"bind": "unix:/run/inventory/gunicorn.sock"}),
    ("07", "puma.service", "storefront", "storefront", "puma", {"config": "config/puma.rb"}),
    ("09", "helpdesk.service", "helpdesk", "nginx", "gunicorn", {"umask": "007"}),
    ("10", "tally.service", "tally", "tally", "uwsgi", {"ini": "/etc/tally/uwsgi.ini"}),
    ("11", "bookings.service", "bookings", "bookings", "puma", {"config": "config/puma.rb"}),
    ("12", "courier.service", None, None, "uwsgi", {"ini": "/etc/uwsgi/courier.ini"}),
    ("14", "journal.service", "journal", "journal", "gunicorn", {"config": "/etc/journal/gunicorn.conf.py"}),
])
def test_case_service_units(case, name, user, group, program, opts):
    recs = systemd_unit.read(chunk_of(case_file(case, name)))
    cfg = config(recs)
    assert cfg.path == f"/etc/systemd/system/{name}"
    assert (cfg.get("User", "Service") or None) and cfg.get("User").value == user if user else cfg.get("User") is None
    assert (cfg.get("Group").value if cfg.get("Group") else None) == group
    cmds = only(recs, CommandLine)
    assert len(cmds) == 1 and cmds[0].program == program
    exec_start = cfg.get("ExecStart", "Service")
    assert cmds[0].source.line == exec_start.source.line
    for k, v in opts.items():
        assert cmdline.option(cmds[0], k) == v


def test_case14_unit_umask_and_case07_socket_group():
    cfg = config(systemd_unit.read(chunk_of(case_file("14", "journal.service"))))
    assert setting_line(cfg, "UMask", "Service") == ("0007", 9)
    sock = config(systemd_unit.read(chunk_of(case_file("07", "puma.socket"))))
    assert sock.get("SocketGroup").value == "www-data" and sock.get("SocketMode").value == "0660"
    assert sock.get("SocketUser").value == "root" and sock.get("Backlog").value == "1024"


def test_systemctl_cat_with_dropin_and_continuation():
    path = DATA / "systemctl-cat-dropin.txt"
    recs = systemd_unit.read(Chunk("paste.txt", path.read_text(), first_line=40, command="systemctl cat gunicorn"))
    cfgs = only(recs, ConfigFile)
    assert [c.path for c in cfgs] == ["/lib/systemd/system/gunicorn.service",
                                      "/etc/systemd/system/gunicorn.service.d/override.conf"]
    unit, drop = cfgs
    assert all(c.path_known for c in cfgs)
    assert unit.first_line == 41 and unit.lines[0] == "[Unit]" and unit.lines[-1] == "WantedBy=multi-user.target"
    assert drop.first_line == 59 and drop.lines[0] == "[Service]"
    assert setting_line(drop, "Group") == ("www-data", 60)
    umask = [s for s in drop.settings if s.key == "UMask"]
    assert umask and umask[0].commented and umask[0].value == "0007" and drop.get("UMask") is None
    execs = drop.get_all("ExecStart")
    assert [e.value for e in execs][0] == ""  # the reset line is kept
    cmds = only(recs, CommandLine)
    assert len(cmds) == 2
    assert cmdline.option(cmds[0], "bind") == "unix:/run/gunicorn.sock" and cmds[0].source.line == 49
    assert cmdline.option(cmds[1], "umask") == "007" and cmds[1].source.line == 63


def test_unit_printed_by_cat_keeps_its_first_line_and_names_the_path():
    text = case_file("01", "gunicorn.socket").read_text()
    recs = systemd_unit.read(Chunk("paste.txt", text, first_line=10,
                                   command="sudo cat /etc/systemd/system/gunicorn.socket"))
    cfg = config(recs)
    assert cfg.path == "/etc/systemd/system/gunicorn.socket" and cfg.path_known
    assert cfg.first_line == 10 and cfg.lines[0].startswith("# /etc/systemd")
    assert cfg.get("SocketMode").source.line == 16


def test_unit_without_header_takes_the_input_name():
    recs = systemd_unit.read(Chunk("override.conf", "[Service]\nGroup=www-data\nnot a setting\n"))
    cfg = config(recs)
    assert cfg.path == "override.conf" and not cfg.path_known
    warns = only(recs, ReadWarning)
    assert len(warns) == 1 and warns[0].source.line == 3 and warns[0].message.startswith("override.conf:3:")


def test_crlf_unit():
    recs = systemd_unit.read(chunk_of(DATA / "crlf.socket"))
    cfg = config(recs)
    assert setting_line(cfg, "SocketMode") == ("0660", 6)
    assert cfg.get("ListenStream").value == "/run/crlf.sock"


# --- systemctl show / status -------------------------------------------------------------------

def test_systemctl_show_umask_from_command():
    recs = systemctl_show.read(Chunk("paste.txt", "UMask=0007\n", first_line=33, command="systemctl show -p UMask journal"))
    cfg = config(recs)
    assert cfg.path == "journal.service" and cfg.kind == "systemctl_show"
    assert setting_line(cfg, "UMask") == ("0007", 33)


def test_case05_privatetmp_loop_and_file():
    text = case_file("05", "privatetmp.txt").read_text()
    loop = 'for u in nginx php-fpm; do echo "$u: $(systemctl show -p PrivateTmp --value $u)"; done'
    for ch in (Chunk("paste.txt", text, first_line=60, command=loop), Chunk("privatetmp.txt", text)):
        recs = systemctl_show.read(ch)
        facts = {f.data["unit"]: f.data["value"] for f in only(recs, LogFact) if f.kind == "privatetmp"}
        assert facts == {"nginx.service": "yes", "php-fpm.service": "yes"}
        cfgs = {c.path: c.get("PrivateTmp").value for c in only(recs, ConfigFile)}
        assert cfgs == {"nginx.service": "yes", "php-fpm.service": "yes"}


def test_systemctl_show_full_blocks():
    text = ("Id=nginx.service\nPrivateTmp=yes\nProtectHome=no\nUser=\n\n"
            "Id=php-fpm.service\nPrivateTmp=no\nUMask=0022\n")
    recs = systemctl_show.read(Chunk("show.txt", text))
    cfgs = only(recs, ConfigFile)
    assert [c.path for c in cfgs] == ["nginx.service", "php-fpm.service"]
    assert cfgs[1].get("UMask").source.line == 8
    det = systemctl_show.detect(Chunk("show.txt", text))
    assert det is not None and det.score >= 0.8


def test_case09_status_216_group():
    recs = systemctl_status.read(chunk_of(case_file("09", "status.txt")))
    failed = [f for f in only(recs, LogFact) if f.kind == "unit_failed"]
    assert failed[0].data["unit"] == "helpdesk.service" and failed[0].data["status"] == "216/GROUP"
    assert failed[0].data["reason"] == "exit-code" and failed[0].source.line == 3
    assert failed[0].data["path"] == "/etc/systemd/system/helpdesk.service"
    status = [f for f in only(recs, LogFact) if f.kind == "unit_status"][0]
    assert status.data["active"] == "failed" and status.data["main_pid"] == 2849
    cmd = only(recs, CommandLine)[0]
    assert cmd.program == "gunicorn" and cmdline.option(cmd, "bind") == "unix:/run/helpdesk/gunicorn.sock"
    assert cmd.source.line == 4
    # the journal tail is read too
    assert any(f.kind == "unit_failed" and f.data.get("result") == "exit-code" and f.source.line == 11
               for f in only(recs, LogFact))


def test_case11_status_oom_kill():
    recs = systemctl_status.read(chunk_of(case_file("11", "status.txt")))
    status = [f for f in only(recs, LogFact) if f.kind == "unit_status"][0]
    assert status.data["result"] == "oom-kill" and status.data["code"] == "killed"
    assert any(f.kind == "unit_failed" and f.data.get("status") == "9/KILL" for f in only(recs, LogFact))
    assert only(recs, CommandLine)[0].program == "puma"


def test_status_running_socket_activated_with_dropin_and_cgroup():
    text = """\
● gunicorn.service - gunicorn daemon
     Loaded: loaded (/lib/systemd/system/gunicorn.service; enabled; preset: enabled)
    Drop-In: /etc/systemd/system/gunicorn.service.d
             └─override.conf
     Active: active (running) since Tue 2024-01-02 10:00:00 UTC; 1h ago
TriggeredBy: ● gunicorn.socket
   Main PID: 812 (gunicorn)
      Tasks: 4 (limit: 4557)
     CGroup: /system.slice/gunicorn.service
             ├─812 /srv/app/venv/bin/python3 /srv/app/venv/bin/gunicorn --bind unix:/run/gunicorn.sock app:app
             └─813 /srv/app/venv/bin/python3 /srv/app/venv/bin/gunicorn --bind unix:/run/gunicorn.sock app:app

Jan 02 10:00:00 web1 gunicorn[812]: [2024-01-02 10:00:00 +0000] [812] [INFO] Listening at: unix:/run/gunicorn.sock (812)
"""
    ch = Chunk("status.txt", text, command="systemctl status gunicorn")
    assert systemctl_status.detect(ch).score > 0.9
    recs = systemctl_status.read(ch)
    status = [f for f in only(recs, LogFact) if f.kind == "unit_status"][0]
    assert status.data["drop_ins"] == ["/etc/systemd/system/gunicorn.service.d/override.conf"]
    assert status.data["triggered_by"] == "gunicorn.socket" and status.data["sub"] == "running"
    assert not [f for f in only(recs, LogFact) if f.kind == "unit_failed"]
    assert [c.source.line for c in only(recs, CommandLine)] == [10, 11]
    assert any(f.kind == "app_listening" and f.data["path"] == "/run/gunicorn.sock" for f in only(recs, LogFact))


# --- journal / app logs ------------------------------------------------------------------------

def facts(recs, kind):
    return [f for f in only(recs, LogFact) if f.kind == kind]


def test_case03_usermod_group_add():
    recs = journal.read(chunk_of(case_file("03", "journal.txt")))
    adds = facts(recs, "usermod_group_add")
    assert [(f.data["user"], f.data["group"], f.source.line) for f in adds] == [("www-data", "ledger-sock", 1)]


def test_case09_journal_group_credentials():
    recs = journal.read(chunk_of(case_file("09", "journal.txt")))
    failed = facts(recs, "unit_failed")
    assert {f.data["unit"] for f in failed} == {"helpdesk.service"}
    by_line = {f.source.line: f.data for f in failed}
    assert by_line[2]["status"] == "216/GROUP" and "group credentials" in by_line[2]["reason"]
    assert by_line[4]["status"] == "216/GROUP" and by_line[4]["code"] == "exited"
    assert by_line[5]["result"] == "exit-code"
    assert 1 not in by_line and 7 not in by_line  # Started / Stopped are not failures


def test_case10_uwsgi_abstract_socket_bound():
    recs = journal.read(chunk_of(case_file("10", "journal.txt")))
    listening = facts(recs, "app_listening")
    assert [(f.data["program"], f.data["path"], f.source.line) for f in listening] == [("uwsgi", "@tally", 12)]
    assert facts(recs, "listen_backlog")[0].data["backlog"] == 100
    assert facts(recs, "app_config")[0].data["path"] == "/etc/tally/uwsgi.ini"


def test_case02_container_log_mixes_uwsgi_and_nginx():
    recs = journal.read(chunk_of(case_file("02", "docker-logs.txt")))
    assert facts(recs, "app_listening")[0].data["path"] == "/run/pollster/uwsgi.sock"
    privs = facts(recs, "app_privileges")
    assert {"gid": 101} in [{k: v for k, v in f.data.items() if k != "program"} for f in privs]
    assert any(f.data.get("when") == "as early as possible" for f in privs)
    events = only(recs, ErrorLogEvent)
    assert len(events) == 1 and events[0].errno == 13 and events[0].source.line == 37


def test_case13_compose_logs():
    recs = journal.read(chunk_of(case_file("13", "compose-logs.txt")))
    listen = facts(recs, "app_listening")
    assert [(f.data["program"], f.data["path"], f.data["pid"], f.source.line) for f in listen] == \
        [("gunicorn", "/sock/api.sock", 1, 2)]
    events = only(recs, ErrorLogEvent)
    assert [e.socket for e in events] == ["/sock/api.sock"]
    # the access-log line and the entrypoint line give nothing
    assert all(r.source.line in (2, 8) for r in recs)


def test_case12_and_14_app_logs():
    recs = journal.read(chunk_of(case_file("12", "uwsgi.log")))
    assert facts(recs, "app_listening")[0].data["path"] == "/run/courier/uwsgi.sock"
    assert facts(recs, "app_privileges")[0].data["when"] == "after socket binding"
    recs = journal.read(chunk_of(case_file("14", "gunicorn-journal.txt")))
    assert [(f.data["address"], f.data["pid"]) for f in facts(recs, "app_listening")] == \
        [("unix:/run/journal/gunicorn.sock", 4102)]


@pytest.mark.parametrize("line,kind,data", [
    ("Mar 17 10:41:58 api3 uwsgi[2301]: *** uWSGI listen queue of socket \"/run/courier/uwsgi.sock\" (fd: 3) full !!! "
     "(101/100) ***", "listen_queue_full", {"socket": "/run/courier/uwsgi.sock", "queue": 101, "backlog": 100}),
    ("chmod() socket to 666 for lazy and brave users", "uwsgi_chmod_666", {}),
    ("Jan 05 11:00:01 h uwsgi[9]: chown(): Operation not permitted [core/utils.c line 2657]", "chown_failed",
     {"program": "uwsgi", "reason": "Operation not permitted"}),
    ("[2024-01-05 11:00:01 +0000] [812] [ERROR] Connection in use: /run/app.sock", "bind_failed",
     {"program": "gunicorn", "path": "/run/app.sock"}),
    ("[2024-01-05 11:00:01 +0000] [812] [ERROR] Can't connect to /run/app.sock", "bind_failed",
     {"program": "gunicorn", "path": "/run/app.sock"}),
    ("[05-Jan-2024 11:00:01] ERROR: unable to bind listening socket for address '/run/php/x.sock': "
     "Permission denied (13)", "bind_failed", {"program": "php-fpm", "path": "/run/php/x.sock",
                                               "reason": "Permission denied"}),
    ("[05-Jan-2024 11:00:01] ERROR: [pool www] failed to chown() the socket '/run/php/x.sock'", "chown_failed",
     {"program": "php-fpm", "path": "/run/php/x.sock", "pool": "www"}),
    ("[05-Jan-2024 11:00:01] WARNING: [pool www] ACL set, listen.owner = 'nginx' is ignored",
     "fpm_acl_ignores_owner", {"pool": "www", "setting": "listen.owner"}),
    ("Puma starting in single mode...", None, None),
    ("* Listening on unix:///run/storefront/puma.sock", "app_listening",
     {"program": "puma", "path": "/run/storefront/puma.sock"}),
    ("I, [2024-01-05T11:00:01.1 #12]  INFO -- : listening on addr=/srv/app/unicorn.sock fd=9", "app_listening",
     {"program": "unicorn", "path": "/srv/app/unicorn.sock"}),
    ("Feb 18 10:12:41 web3 gpasswd[40112]: user www-data added by root to group ledger-sock", "usermod_group_add",
     {"user": "www-data", "group": "ledger-sock", "tool": "gpasswd"}),
    ("Feb 18 10:12:41 web3 usermod[40112]: add 'www-data' to shadow group 'ledger-sock'", None, None),
    ("Feb 18 10:12:41 web3 groupadd[40100]: new group: name=appsock, GID=997", "group_added",
     {"group": "appsock", "gid": 997}),
    ("2025-01-05T11:00:01+0000 h systemd[1]: app.service: Failed to set up mount namespacing: /run/app: "
     "No such file or directory", "mount_namespace_missing", {"unit": "app.service", "path": "/run/app"}),
    ("May 21 09:14:06 hd1 systemd[1]: app.socket: Failed to create listening socket (/run/app/app.sock): "
     "Permission denied", "bind_failed", {"program": "systemd", "path": "/run/app/app.sock"}),
    ("May 21 09:14:06 hd1 systemd[1]: app.service: Main process exited, code=exited, status=0/SUCCESS", None, None),
    ("2025-03-11 14:05:40,001 INFO exited: uwsgi (exit status 1; not expected)", "unit_failed",
     {"unit": "uwsgi", "status": "1"}),
    ("PermissionError: [Errno 13] Permission denied: '/run/app/app.sock'", "bind_failed",
     {"path": "/run/app/app.sock", "errno": 13}),
])
def test_journal_line_facts(line, kind, data):
    src = Source("log", 1)
    got = [r for r in journal.parse_line(line, src) if isinstance(r, LogFact)]
    if kind is None:
        assert got == []
        return
    match = [g for g in got if g.kind == kind]
    assert match, got
    for k, v in data.items():
        assert match[0].data.get(k) == v, (k, match[0].data)


def test_journal_emits_nothing_else_for_nginx_lines():
    line = ("2024/10/18 08:26:51 [crit] 1733#1733: *204 connect() to unix:/run/x.sock failed (13: Permission denied) "
            "while connecting to upstream, client: 1.2.3.4, server: _, request: \"GET / HTTP/1.1\", "
            "upstream: \"http://unix:/run/x.sock:/\", host: \"h\"")
    recs = journal.parse_line("web-1  | " + line, Source("log", 4))
    assert [type(r).__name__ for r in recs] == ["ErrorLogEvent"]
    assert recs[0].source.line == 4


def test_journal_detect_leaves_kernel_and_error_logs_alone():
    dmesg = case_file("07", "dmesg.txt")
    err = case_file("01", "error.log")
    for path in (dmesg, err):
        det = journal.detect(chunk_of(path))
        assert det is None or det.score < 0.5, (path, det)


# --- PHP-FPM -----------------------------------------------------------------------------------

def test_case08_rhel_pool_acl_users_and_commented_owner():
    cfg = config(php_fpm.read(chunk_of(case_file("08", "www.conf"))))
    assert cfg.kind == "php_fpm" and cfg.path == "/etc/php-fpm.d/www.conf" and cfg.path_known
    assert setting_line(cfg, "listen.acl_users", "www") == ("apache,nginx", 9)
    assert setting_line(cfg, "listen", "www") == ("/run/php-fpm/www.sock", 5)
    owner = [s for s in cfg.settings if s.key == "listen.owner"]
    assert len(owner) == 1 and owner[0].commented and owner[0].value == "nobody" and owner[0].source.line == 6
    assert cfg.get("listen.owner") is None  # commented settings are not in effect
    assert cfg.get("php_value[session.save_path]").value == "/var/lib/php/session"


def test_case05_and_15_pools():
    cfg = config(php_fpm.read(chunk_of(case_file("05", "wiki.conf"))))
    assert setting_line(cfg, "listen", "wiki") == ("/tmp/php-wiki.sock", 5)
    cfg = config(php_fpm.read(chunk_of(case_file("15", "www.conf"))))
    assert setting_line(cfg, "listen.group", "www") == ("www-data", 7)
    mode = [s for s in cfg.settings if s.key == "listen.mode"][0]
    assert mode.commented and mode.value == "0660" and mode.source.line == 8


def test_debian_shipped_www_conf():
    """The file Debian 12's php8.2-fpm package installs (copied from the package)."""
    cfg = config(php_fpm.read(chunk_of(DATA / "debian12-php8.2-www.conf")))
    assert cfg.get("listen", "www").value == "/run/php/php8.2-fpm.sock"
    assert cfg.get("listen.owner").value == "www-data" and cfg.get("listen.group").value == "www-data"
    assert cfg.get("listen.mode") is None
    assert [s.value for s in cfg.settings if s.key == "listen.mode" and s.commented] == ["0660"]
    assert cfg.lines[cfg.get("listen").source.line - 1].startswith("listen = ")


def test_installed_php_fpm_pool_if_present():
    pools = sorted(Path("/etc/php").glob("*/fpm/pool.d/www.conf"))
    if not pools:
        pytest.skip("php-fpm is not installed (scripts/install-system-deps.sh installs it)")
    cfg = config(php_fpm.read(chunk_of(pools[0])))
    listen = cfg.get("listen")
    assert listen is not None and listen.value.startswith("/run/php/") and listen.value.endswith(".sock")


def test_rhel_www_conf_layout():
    cfg = config(php_fpm.read(chunk_of(DATA / "rhel9-www.conf")))
    assert cfg.get("user").value == "apache" and cfg.get("listen").value == "/run/php-fpm/www.sock"
    assert cfg.get("listen.acl_users").value == "apache,nginx"
    commented = {s.key for s in cfg.settings if s.commented}
    assert {"listen.owner", "listen.group", "listen.mode", "listen.acl_groups", "prefix"} <= commented
    assert "RPM" not in {s.key for s in cfg.settings}  # prose comments are not settings


def test_php_fpm_global_and_inline_comments():
    text = "[global]\npid = /run/php-fpm/php-fpm.pid\nerror_log = /var/log/php-fpm/error.log\ninclude=/etc/php-fpm.d/*.conf\n" \
           "[app]\nlisten = \"/run/php/app.sock\" ; quoted\nlisten.mode = 0660\npm = ondemand\n"
    ch = Chunk("php-fpm.conf", text)
    assert php_fpm.detect(ch).score > 0.7
    cfg = config(php_fpm.read(ch))
    assert cfg.get("include", "global").value == "/etc/php-fpm.d/*.conf"
    assert cfg.get("listen", "app").value == "/run/php/app.sock"


# --- uWSGI -------------------------------------------------------------------------------------

def test_case_uwsgi_inis():
    cfg = config(uwsgi.read(chunk_of(case_file("02", "pollster.ini"))))
    assert (cfg.get("uid").value, cfg.get("gid").value) == ("pollster", "nginx")
    assert setting_line(cfg, "socket", "uwsgi") == ("/run/pollster/uwsgi.sock", 9)
    assert cfg.get("chmod-socket") is None
    cfg = config(uwsgi.read(chunk_of(case_file("04", "uwsgi.ini"))))
    assert setting_line(cfg, "chmod-socket") == ("666", 10)
    cfg = config(uwsgi.read(chunk_of(case_file("10", "uwsgi.ini"))))
    assert setting_line(cfg, "socket") == ("@tally", 9) and cfg.path == "/etc/tally/uwsgi.ini"
    cfg = config(uwsgi.read(chunk_of(case_file("12", "courier.ini"))))
    assert setting_line(cfg, "chown-socket") == ("courier:www-data", 12)
    assert setting_line(cfg, "chmod-socket") == ("660", 13)


def test_uwsgi_bare_chmod_socket_and_underscore():
    cfg = config(uwsgi.read(chunk_of(DATA / "uwsgi-lazy.ini")))
    s = cfg.get("chmod-socket")
    assert s is not None and s.value is None and s.source.line == 3
    assert cfg.get("listen").value == "1024"


def test_uwsgi_tutorial_ini_commented_chmod():
    cfg = config(uwsgi.read(chunk_of(DATA / "uwsgi-django-tutorial.ini")))
    assert cfg.get("socket").value == "/path/to/your/project/mysite.sock"
    assert cfg.get("chmod-socket") is None
    assert [(s.value, s.source.line) for s in cfg.settings if s.key == "chmod-socket" and s.commented] == [("664", 20)]


def test_uwsgi_upstream_example_multi_socket():
    """uWSGI's own example (examples/conffile/multi.ini from the Debian package)."""
    cfg = config(uwsgi.read(chunk_of(DATA / "uwsgi-examples-multi.ini")))
    assert [s.value for s in cfg.get_all("socket")] == [":3033", ":3034", "pippo1.sock", "pippo2.sock",
                                                        "127.0.0.1:1717"]
    assert len([s for s in cfg.settings if s.key == "mount" and s.commented]) >= 3


def test_uwsgi_xml_and_yaml():
    cfg = config(uwsgi.read(chunk_of(DATA / "uwsgi.xml")))
    assert cfg.get("socket").value == "/run/app/uwsgi.sock" and cfg.get("chmod-socket").value == "660"
    assert cfg.get("master").value is None and cfg.get("socket").source.line == 2
    cfg = config(uwsgi.read(chunk_of(DATA / "uwsgi.yaml")))
    assert cfg.get("chmod-socket").value == "664" and cfg.get("socket").source.line == 2


# --- gunicorn, puma, unicorn ---------------------------------------------------------------------

def test_case14_gunicorn_conf_py():
    recs = gunicorn.read(chunk_of(case_file("14", "gunicorn.conf.py")))
    cfg = config(recs)
    assert cfg.kind == "gunicorn" and cfg.path == "/etc/journal/gunicorn.conf.py"
    assert setting_line(cfg, "bind") == ("unix:/run/journal/gunicorn.sock", 2)
    assert cfg.get("umask") is None  # not set: gunicorn's default 0 applies (the model decides)
    assert not only(recs, ReadWarning)


def test_gunicorn_conf_never_executed(tmp_path):
    marker = tmp_path / "ran"
    text = f"import os\nos.system('touch {marker}')\nbind = ['unix:/run/a.sock', '127.0.0.1:8000']\n" \
           "umask = 0o007\nuser = os.environ['APP_USER']\nworkers = 3\n"
    recs = gunicorn.read(Chunk("gunicorn.conf.py", text))
    assert not marker.exists()
    cfg = config(recs)
    assert [s.value for s in cfg.get_all("bind")] == ["unix:/run/a.sock", "127.0.0.1:8000"]
    assert int(cfg.get("umask").value, 0) == 7
    warns = only(recs, ReadWarning)
    assert len(warns) == 1 and warns[0].source.line == 5 and "user" in warns[0].message


def test_gunicorn_conf_syntax_error_falls_back():
    recs = gunicorn.read(Chunk("g.py", 'bind = "unix:/x.sock"\nworkers = 2\nif broken\n'))
    assert config(recs).get("bind").value == "unix:/x.sock"
    assert only(recs, ReadWarning)[0].message.startswith("g.py:3:")


def test_gunicorn_command_line_input():
    ch = Chunk("Procfile", "web: gunicorn app:app --bind unix:/tmp/app.sock -m 007\n")
    assert gunicorn.detect(ch).kind == "gunicorn"
    cmd = only(gunicorn.read(ch), CommandLine)[0]
    assert cmdline.option(cmd, "bind") == "unix:/tmp/app.sock" and cmdline.option(cmd, "umask") == "007"


def test_case_puma_rb():
    cfg = config(puma.read(chunk_of(case_file("07", "puma.rb"))))
    assert cfg.kind == "puma" and setting_line(cfg, "bind") == ("unix:///run/storefront/puma.sock", 5)
    cfg = config(puma.read(chunk_of(case_file("11", "puma.rb"))))
    assert cfg.get("bind").value == "unix:///run/bookings/puma.sock?umask=0007"
    assert setting_line(cfg, "bind.umask") == ("0007", 4)


def test_unicorn_rb():
    cfg = config(puma.read(chunk_of(DATA / "unicorn.rb")))
    assert cfg.kind == "unicorn"
    listens = cfg.get_all("listen")
    assert [(s.value, s.source.line) for s in listens] == [("/path/to/.unicorn.sock", 4), ("8080", 5)]
    assert cfg.get("listen.backlog").value == "64" and cfg.get("worker_processes").value == "4"


# --- supervisord, tmpfiles, AppArmor ------------------------------------------------------------

def test_case02_supervisord():
    recs = supervisord.read(chunk_of(case_file("02", "supervisord.conf")))
    cfg = config(recs)
    assert cfg.get("user", "supervisord").value == "root"
    assert setting_line(cfg, "command", "program:uwsgi") == ("uwsgi --ini /etc/uwsgi/pollster.ini", 6)
    cmds = only(recs, CommandLine)
    assert [(c.program, c.source.line) for c in cmds] == [("uwsgi", 6), ("other", 12)]
    assert cmdline.option(cmds[0], "ini") == "/etc/uwsgi/pollster.ini"


def test_supervisord_continuation_and_inline_comments():
    recs = supervisord.read(chunk_of(DATA / "supervisord-continuation.conf"))
    cfg = config(recs)
    assert cfg.get("file", "unix_http_server").value == "/var/run/supervisor.sock"
    assert cfg.get("chmod").value == "0700"
    cmd = only(recs, CommandLine)[0]
    assert cmd.program == "gunicorn" and cmd.source.line == 10
    assert cmdline.option(cmd, "bind") == "unix:/run/app/gunicorn.sock" and cmdline.option(cmd, "umask") == "007"
    assert cfg.get("user", "program:app").value == "app"


def test_case11_tmpfiles():
    cfg = config(tmpfiles.read(chunk_of(case_file("11", "bookings-tmpfiles.conf"))))
    s = cfg.get("/run/bookings")
    assert s.section == "d" and s.value == "d /run/bookings 2750 bookings www-data -" and s.source.line == 2
    assert tmpfiles.fields(s.value)["mode"] == "2750" and tmpfiles.fields(s.value)["group"] == "www-data"
    assert cfg.path == "/etc/tmpfiles.d/bookings.conf"


def test_case07_apparmor_profile_and_empty_local_include():
    recs = apparmor_profile.read(chunk_of(case_file("07", "usr.sbin.nginx")))
    cfg = config(recs)
    rules = [(s.value, s.source.line) for s in cfg.settings if s.key == "file" and s.section == "/usr/sbin/nginx"]
    assert ("/run/php/php*-fpm.sock rw", 28) in rules
    assert not any("/run/storefront" in v for v, _ in rules)
    assert cfg.get("include", "/usr/sbin/nginx").value == "local/usr.sbin.nginx"
    assert cfg.get("network").value == "network inet6 stream" or cfg.get_all("network")
    local = config(apparmor_profile.read(chunk_of(case_file("07", "local-usr.sbin.nginx"))))
    assert local.settings == () and local.path == "/etc/apparmor.d/local/usr.sbin.nginx"


def test_apparmor_local_include_with_rules():
    text = "# Site-specific additions\n/run/storefront/puma.sock rw,\n# /run/other.sock rw,\nowner /srv/** r,\n"
    ch = Chunk("local", text, command="cat /etc/apparmor.d/local/usr.sbin.nginx")
    assert apparmor_profile.detect(ch).score >= 0.7
    cfg = config(apparmor_profile.read(ch))
    assert [(s.section, s.key, s.value, s.commented) for s in cfg.settings] == [
        ("", "file", "/run/storefront/puma.sock rw", False), ("", "file", "/run/other.sock rw", True),
        ("", "file", "owner /srv/** r", False)]


# --- Dockerfile, compose, Kubernetes ------------------------------------------------------------

def test_case02_dockerfile_run_commands_on_their_lines():
    recs = dockerfile.read(chunk_of(case_file("02", "Dockerfile")))
    spec = only(recs, ContainerSpec)[0]
    assert spec.kind == "dockerfile" and spec.image == "alpine:3.20" and spec.user is None
    run = [(s.key, s.value, s.source.line) for s in spec.settings if s.section == "RUN"]
    assert ("addgroup", "-g 1000 pollster", 4) in run
    assert ("adduser", "-D -H -u 1000 -G pollster -s /sbin/nologin pollster", 5) in run
    assert ("install", "-d -o pollster -g nginx -m 0750 /run/pollster", 6) in run
    assert spec.command == ("supervisord", "-c", "/etc/supervisord.conf")


def test_case13_dockerfile_user():
    spec = only(dockerfile.read(chunk_of(case_file("13", "Dockerfile"))), ContainerSpec)[0]
    assert spec.image == "python:3.12-slim" and spec.user == "app"
    run = [(s.key, s.source.line) for s in spec.settings if s.section == "RUN"]
    assert run == [("useradd", 3), ("mkdir", 4), ("chown", 4)]


def test_dockerfile_multistage_heredoc_entrypoint():
    text = ("# syntax=docker/dockerfile:1\nFROM python:3.12 AS build\nRUN pip wheel -w /w .\n"
            "FROM python:3.12-slim\nRUN <<EOF\ngroupadd -g 2000 sock\nuseradd -u 1000 -G sock app\nEOF\n"
            "VOLUME [\"/run/app\"]\nUSER app:sock\nENTRYPOINT [\"/usr/local/bin/gunicorn\"]\n"
            "CMD [\"--bind\", \"unix:/run/app/app.sock\", \"app:app\"]\n")
    recs = dockerfile.read(Chunk("Dockerfile", text))
    specs = only(recs, ContainerSpec)
    assert [s.name for s in specs] == ["build", "stage1"]
    final = specs[-1]
    assert final.user == "app:sock" and final.volumes == ("/run/app",)
    assert [(s.key, s.source.line) for s in final.settings if s.section == "RUN"] == [("groupadd", 6), ("useradd", 7)]
    cmd = only(recs, CommandLine)[0]
    assert cmd.program == "gunicorn" and cmdline.option(cmd, "bind") == "unix:/run/app/app.sock"
    assert not only(recs, ReadWarning)


def test_case13_compose_group_add_and_user():
    recs = compose.read(chunk_of(case_file("13", "docker-compose.yml")))
    specs = {s.name: s for s in only(recs, ContainerSpec)}
    api, web = specs["api"], specs["web"]
    assert api.user == "1000:1000" and api.volumes == ("sock:/sock",)
    assert [s.source.line for s in api.settings if s.key == "user"] == [4]
    assert web.group_add == ("1000",) and web.image == "nginx:1.27-alpine"
    assert [s.source.line for s in web.settings if s.key == "group_add"] == [18]
    cmd = only(recs, CommandLine)[0]
    assert cmd.program == "gunicorn" and cmd.source.line == 5
    assert cmdline.option(cmd, "bind") == "unix:/sock/api.sock" and cmdline.option(cmd, "umask") == "007"


def test_compose_long_syntax_and_entrypoint():
    recs = compose.read(chunk_of(DATA / "compose-long-syntax.yaml"))
    specs = {s.name: s for s in only(recs, ContainerSpec)}
    assert specs["app"].volumes == ("sock:/run/shop",) and specs["nginx"].volumes == ("sock:/run/shop:ro",)
    assert specs["nginx"].group_add == ("www-data", "2000")
    cmd = only(recs, CommandLine)[0]
    assert cmd.program == "uwsgi" and cmdline.option(cmd, "chmod-socket") == "660"


def test_helm_rendered_manifest():
    recs = k8s.read(chunk_of(DATA / "helm-rendered.yaml"))
    specs = {s.name: s for s in only(recs, ContainerSpec)}
    assert set(specs) == {"shop/perms", "shop/app", "shop/nginx", "cleanup/cleanup"}
    app, nginx = specs["shop/app"], specs["shop/nginx"]
    assert app.path == "shop/templates/deployment.yaml"
    assert (app.run_as_user, app.run_as_group, app.fs_group, app.supplemental_groups) == (1000, 1000, 2000, (3000,))
    assert (nginx.run_as_user, nginx.run_as_group, nginx.fs_group) == (101, 1000, 2000)
    assert nginx.volumes == ("sock:/sock:ro",) and app.volumes == ("sock:/sock",)
    assert app.command == ("gunicorn", "--bind", "unix:/sock/app.sock", "--umask", "007", "shop.wsgi")
    fs = [s for s in app.settings if s.key == "pod.securityContext.fsGroup"][0]
    assert fs.value == "2000" and fs.source.line == 20
    assert ("pod_volume", "sock=emptyDir") in [(s.key, s.value) for s in app.settings]
    assert specs["cleanup/cleanup"].path == "shop/templates/cronjob.yaml"
    cmds = [c for c in only(recs, CommandLine) if c.program == "gunicorn"]
    assert len(cmds) == 1 and cmdline.option(cmds[0], "umask") == "007"


def test_configmap_files_are_read_in_the_manifests_lines():
    """Literal blocks of a ConfigMap (here in a paste, starting at its line 40) are read as the
    files they are, citing the paste's lines and the manifest's columns; a folded block and a
    plain value are not read (their lines are not the file's)."""
    manifest = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\ndata:\n"
                "  api.ini: |\n    [uwsgi]\n    socket = /run/api/api.sock\n    chmod-socket = 666\n"
                "  folded.conf: >\n    user root;\n    events {}\n"
                "  nginx.conf: |-\n    user www-data;\n    events {}\n    http {\n      server {\n"
                "        listen 8080;\n        location / {\n          include uwsgi_params;\n"
                "          uwsgi_pass unix:/run/api/api.sock;\n        }\n      }\n    }\n"
                "  note: plain\n")
    recs = k8s.read(Chunk("paste.txt", manifest, 40))
    assert only(recs, ReadWarning) == []
    ini = only(recs, ConfigFile)[0]
    assert ini.kind == "uwsgi" and ini.path == "paste.txt" and ini.first_line == 40
    chmod = ini.get("chmod-socket", "uwsgi")
    assert chmod.value == "666" and chmod.source.line == 48 and ini.lines[chmod.source.line - 40] == "    chmod-socket = 666"
    (ng,) = [r for r in recs if type(r).__name__ == "NginxConfigRecord"]
    assert ng.user == ("www-data",) and ng.user_source.line == 53 and ng.user_source.column == 5
    assert ng.user_file_line == ("paste.txt", 14)  # the manifest's own line 14
    (ref,) = ng.sockets
    assert ref.path == "/run/api/api.sock" and ref.source.line == 60 and ref.file_line == 21
    assert ng.files["paste.txt"][ref.file_line - 1] == "          uwsgi_pass unix:/run/api/api.sock;"


def test_configmap_block_is_one_file_even_with_blank_lines():
    """A blank line inside a block does not cut it (it is one file), a short pool is still a pool,
    and a manifest whose line breaks YAML counts differently gets a warning, not shifted lines."""
    manifest = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n"
                "  nginx.conf: |\n    user root;\n    events {}\n\n    http {\n      server {\n"
                "        location / { proxy_pass http://unix:/run/app/app.sock; }\n      }\n    }\n"
                "  www.conf: |\n    [www]\n    listen = /run/php/www.sock\n    listen.mode = 0666\n")
    recs = k8s.read(Chunk("cm.yaml", manifest))
    (ng,) = [r for r in recs if type(r).__name__ == "NginxConfigRecord"]
    assert ng.user == ("root",) and [s.path for s in ng.sockets] == ["/run/app/app.sock"]
    assert ng.sockets[0].source.line == 12
    (pool,) = only(recs, ConfigFile)
    assert pool.kind == "php_fpm" and pool.get("listen.mode", "www").source.line == 18
    odd = k8s.read(Chunk("cm.yaml", manifest.replace("metadata:\n", "metadata:\r")))
    assert [type(r).__name__ for r in odd] == ["ReadWarning", "ReadWarning"]
    assert all("line breaks other than newlines" in w.message for w in odd)


# --- command lines ---------------------------------------------------------------------------

S = Source("t", 1)


@pytest.mark.parametrize("text,program,expect", [
    ("/usr/bin/python3 /usr/local/bin/gunicorn -b unix:/x.sock -m 007 -w3 app:app", "gunicorn",
     {"bind": "unix:/x.sock", "umask": "007", "workers": "3", "app": "app:app"}),
    ("python -m gunicorn --bind=unix:/x --initgroups -u app -g www-data --backlog 64 -D app:app", "gunicorn",
     {"bind": "unix:/x", "initgroups": None, "user": "app", "group": "www-data", "backlog": "64", "daemon": None}),
    ("FOO=1 env BAR=2 exec gosu app uwsgi --socket /run/x.sock --uid app --gid app --umask 007 -l 1024",
     "uwsgi", {"socket": "/run/x.sock", "uid": "app", "umask": "007", "listen": "1024", "wrapper-user": "app"}),
    ("uwsgi -s /x -C660 --chown-socket=a:b", "uwsgi", {"socket": "/x", "chmod-socket": "660", "chown-socket": "a:b"}),
    ("uwsgi --chmod-socket --socket /x", "uwsgi", {"chmod-socket": None, "socket": "/x"}),
    ("uwsgi --chmod_socket=664 --ini /etc/a.ini:prod", "uwsgi", {"chmod-socket": "664", "ini": "/etc/a.ini:prod"}),
    ("/srv/app/bin/bundle exec puma -C config/puma.rb -b unix:///run/p.sock", "puma",
     {"config": "config/puma.rb", "bind": "unix:///run/p.sock"}),
    ("unicorn -l /tmp/u.sock -c config/unicorn.rb -E production -D", "unicorn",
     {"listen": "/tmp/u.sock", "config-file": "config/unicorn.rb", "daemonize": None}),
    ("php-fpm: master process (/etc/php/8.1/fpm/php-fpm.conf)", "php-fpm",
     {"role": "master", "fpm-config": "/etc/php/8.1/fpm/php-fpm.conf"}),
    ("php-fpm: pool www", "php-fpm", {"pool": "www"}),
    ("/usr/sbin/php-fpm8.2 --nodaemonize --fpm-config /etc/php/8.2/fpm/php-fpm.conf", "php-fpm",
     {"nodaemonize": None, "fpm-config": "/etc/php/8.2/fpm/php-fpm.conf"}),
    ("gunicorn: master [app.wsgi:application]", "gunicorn", {"role": "master", "app": "app.wsgi:application"}),
    ("puma 6.4.2 (unix:///run/x.sock) [current]", "puma", {"bind": "unix:///run/x.sock"}),
    ('/bin/sh -c "cd /srv && exec gunicorn -b unix:/s app:app"', "gunicorn", {"bind": "unix:/s"}),
    ("gunicorn --workers 3 --umask 007\n--bind unix:/sock/api.sock\nquotes.app:app\n", "gunicorn",
     {"bind": "unix:/sock/api.sock", "umask": "007"}),
    ("-/usr/bin/uwsgi --ini /etc/uwsgi/x.ini", "uwsgi", {"ini": "/etc/uwsgi/x.ini"}),
    ("/usr/bin/tini -- su-exec app gunicorn -b unix:/s app:app", "gunicorn", {"wrapper-user": "app"}),
    ("poetry run gunicorn --bind unix:/s app:app", "gunicorn", {"bind": "unix:/s"}),
    ("nginx -g 'daemon off;'", "other", {}),
])
def test_parse_command(text, program, expect):
    cmd = cmdline.parse_command(text, S)
    assert cmd is not None and cmd.program == program, cmd
    for k, v in expect.items():
        assert cmdline.has_option(cmd, k), (k, cmd.options)
        assert cmdline.option(cmd, k) == v, (k, cmd.options)


def test_parse_command_argv_and_empty():
    cmd = cmdline.parse_command(["uwsgi", "--socket", "/x"], S)
    assert cmd.program == "uwsgi" and cmd.argv == ("uwsgi", "--socket", "/x")
    assert cmdline.parse_command("", S) is None and cmdline.parse_command([], S) is None
    assert cmdline.parse_command('gunicorn --bind "unix:/x', S).program == "gunicorn"  # bad quoting tolerated


def test_detached_chmod_socket_value_is_flagged():
    cmd = cmdline.parse_command("uwsgi --socket /x --chmod-socket 660", S)
    assert ("chmod-socket", None) in cmd.options and ("chmod-socket-stray", "660") in cmd.options


# --- real uWSGI / PHP-FPM: the log lines the journal reader matches are the ones they print ---

def _run(argv: list[str], seconds: float, cwd: Path) -> str:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    return out


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if path.exists():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


@pytest.mark.services
def test_real_uwsgi_chmod_socket_forms(tmp_path):
    exe = shutil.which("uwsgi")
    if not exe:
        pytest.skip("uwsgi not installed (scripts/install-system-deps.sh installs uwsgi-core)")
    results = {}
    for label, extra in (("bare", ["--chmod-socket"]), ("attached", ["--chmod-socket=660"]),
                         ("detached", ["--chmod-socket", "660"])):
        sock = tmp_path / f"{label}.sock"
        argv = [exe, "--socket", str(sock), *extra]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path, text=True)
        bound = _wait_for(sock, proc)
        mode = sock.stat().st_mode & 0o777 if sock.exists() else None
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        recs = journal.read(Chunk("uwsgi.log", out))
        cmd = cmdline.parse_command(argv, S)
        results[label] = (bound, mode, {f.kind: f.data for f in only(recs, LogFact)}, cmd)
    bound, mode, found, cmd = results["bare"]
    assert mode == 0o666 and "uwsgi_chmod_666" in found
    assert found["app_listening"]["path"] == str(tmp_path / "bare.sock")
    assert cmdline.has_option(cmd, "chmod-socket") and cmdline.option(cmd, "chmod-socket") is None
    bound, mode, found, cmd = results["attached"]
    assert mode == 0o660 and "uwsgi_chmod_666" not in found and cmdline.option(cmd, "chmod-socket") == "660"
    bound, mode, found, cmd = results["detached"]
    assert mode is None and found["config_load_failed"]["path"] == "660"
    assert cmdline.option(cmd, "chmod-socket-stray") == "660"


@pytest.mark.services
def test_real_php_fpm_errors(tmp_path):
    exe = next((shutil.which(n) for n in ("php-fpm8.2", "php-fpm8.3", "php-fpm8.1", "php-fpm") if shutil.which(n)), None)
    if not exe:
        pytest.skip("php-fpm not installed (scripts/install-system-deps.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("needs root (php-fpm resolves pool users and groups as root)")
    conf = tmp_path / "fpm.conf"

    def run(pool: str) -> list:
        conf.write_text(f"[global]\nerror_log = /proc/self/fd/2\ndaemonize = no\npid = {tmp_path}/fpm.pid\n"
                        f"[t]\nuser = nobody\npm = static\npm.max_children = 1\n{pool}")
        out = _run([exe, "-y", str(conf), "-F", "-R"], 10, tmp_path)
        return [f for f in journal.read(Chunk("fpm.log", out)) if isinstance(f, LogFact)]

    found = run(f"group = nogroup\nlisten = {tmp_path}/nodir/t.sock\n")
    bind = [f for f in found if f.kind == "bind_failed"]
    assert bind and bind[0].data["path"] == f"{tmp_path}/nodir/t.sock" and bind[0].data["program"] == "php-fpm"
    found = run("group = sockdoctor_no_such_group\nlisten = /tmp/never.sock\n")
    assert any(f.kind == "group_lookup_failed" and f.data["group"] == "sockdoctor_no_such_group" for f in found)


# --- bad input -------------------------------------------------------------------------------

def test_invalid_yaml_names_input_and_line():
    recs = compose.read(Chunk("compose.yml", "services:\n  web:\n    image: nginx\n    user: [\n", first_line=3))
    assert len(recs) == 1 and isinstance(recs[0], ReadWarning)
    assert recs[0].message.startswith("compose.yml:") and "invalid YAML" in recs[0].message
    recs = k8s.read(Chunk("pod.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: 'x\n"))
    assert isinstance(recs[0], ReadWarning) and recs[0].message.startswith("pod.yaml:")


BAD_TEXTS = {
    "binary": "".join(chr(c) for c in range(256)) * 20,
    "nul": "[Service]\x00\nUser=\x00app\n",
    "unbalanced": "[uwsgi\nsocket = /x\n[program:x\ncommand=\"gunicorn\n",
    "yaml_tabs": "services:\n\tweb:\n\t\timage: x\n",
    "deep": "[" * 10000 + "\n" + "{" * 10000,
    "bom_crlf": "\ufeff[Unit]\r\nDescription=x\r\n",
    "huge_line": "x" * 1_000_000,
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(BAD_TEXTS))
@pytest.mark.parametrize("mod", MINE, ids=[m.KIND for m in MINE])
def test_bad_input_never_raises(mod, name):
    ch = Chunk(f"{name}.txt", BAD_TEXTS[name])
    det = mod.detect(ch)
    assert det is None or 0.0 <= det.score <= 1.0
    recs = mod.read(ch)
    assert isinstance(recs, list)
    for r in recs:
        if isinstance(r, ReadWarning):
            assert r.message.startswith(f"{name}.txt:")


def test_reader_bug_becomes_warning(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("simulated")
    monkeypatch.setattr(uwsgi.ct, "read_ini_file", boom)
    recs = uwsgi.read(Chunk("x.ini", "[uwsgi]\nsocket=/x\n", first_line=7))
    assert len(recs) == 1 and isinstance(recs[0], ReadWarning) and recs[0].message.startswith("x.ini:7:")


def test_big_journal_reads_linearly():
    """Not a timing test: 50,000 lines are read and every fact keeps its line number."""
    line = "Mar 17 06:12:40 api3 uwsgi[2301]: uwsgi socket 0 bound to UNIX address /run/c/u.sock fd 3\n"
    other = "Mar 17 06:12:41 api3 uwsgi[2301]: spawned uWSGI worker 1 (pid: 2317, cores: 1)\n"
    text = (line + other) * 25_000
    recs = journal.read(Chunk("big.log", text))
    assert len(recs) == 25_000 and recs[-1].source.line == 49_999


# --- the same facts from the case files and from the mixed paste (through the splitter) ------

MY_KINDS = {m.KIND for m in MINE}


def _facts(records) -> set:
    out = set()
    for r in records:
        if isinstance(r, ConfigFile) and r.kind not in ("nginx",):
            out.update((r.kind, s.section, s.key, s.value, s.commented) for s in r.settings)
        elif isinstance(r, CommandLine):
            out.add(("cmd", r.program, r.options))
        elif isinstance(r, LogFact) and r.kind not in ("access_status", "curl_ok", "setpriv_probe"):
            out.add(("fact", r.kind, repr(sorted((k, repr(v)) for k, v in r.data.items()))))
        elif isinstance(r, ContainerSpec):
            out.add(("container", r.kind, r.image, r.user, r.group_add, r.volumes, r.command))
    return out


@pytest.mark.parametrize("case", sorted({c for c, _, _ in CASE_KINDS}))
def test_paste_and_files_give_the_same_config_facts(case):
    from sockdoctor import engine
    try:
        from sockdoctor.evidence import split  # noqa: F401  (the splitter is another module's job)
    except ImportError:
        pytest.skip("splitter not available")
    folder = case_file(case, "paste.txt").parent
    files = [(p.name, p.read_text()) for p in sorted(folder.iterdir())
             if p.name not in ("case.yaml", "paste.txt") and p.is_file()]
    from_files = engine.read_inputs(files)
    from_paste = engine.read_inputs([("paste.txt", (folder / "paste.txt").read_text())])

    def mine(ev) -> set:
        records = []
        for pieces in ev.pieces.values():
            for piece in pieces:
                if piece.kind in MY_KINDS:
                    records.extend(registry.reader(piece.kind).read(piece.chunk))
        return _facts(records)

    mine_files, mine_paste = mine(from_files), mine(from_paste)
    assert mine_files, case
    assert mine_files == mine_paste
