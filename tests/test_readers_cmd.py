"""Readers of command outputs and logs: real-shaped outputs (GNU, busybox, localized, SELinux/ACL
markers), provenance, and what an unsure reader reports."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from sockdoctor.evidence import (access_log, audit, error_log, find, getfacl, group, id as id_reader, kernel_log,
                                 logscan, ls, mac_status, namei, passwd, probe_output, proc_status, ps, ss, stat, sysctl)
from sockdoctor.evidence.base import Chunk
from shared_paths import SHARED_STR  # noqa: E402
from sockdoctor.evidence.records import (AclRecord, AppArmorDenial, AvcDenial, ErrorLogEvent, FileNode, GroupRecord,
                                         IdRecord, Listener, LogFact, MacStatus, NginxNotice, PasswdRecord, ProcessRecord,
                                         ProcStatus, ReadWarning, SysctlRecord)

DATA = Path(__file__).parent / "data" / "outputs"
CASES = Path(SHARED_STR + "/cases")


def chunk(text: str, command: str | None = None, first_line: int = 1, name: str = "in.txt") -> Chunk:
    return Chunk(name, text, first_line, command)


def fixture(name: str, command: str | None = None, first_line: int = 1) -> Chunk:
    return Chunk(name, (DATA / name).read_text(), first_line, command)


def of(records, cls):
    return [r for r in records if isinstance(r, cls)]


# --- ls ------------------------------------------------------------------------------------------

def test_ls_directory_listing_paths_acl_symlink_german_dates():
    recs = ls.read(fixture("ls-de-acl.txt", "ls -la /run/app/", first_line=10))
    nodes = {n.path: n for n in of(recs, FileNode)}
    assert set(nodes) == {"/run/app", "/run", "/run/app/app.sock", "/run/app/current", "/run/app/app.pid"}
    sock = nodes["/run/app/app.sock"]
    assert (sock.type, sock.mode, sock.owner, sock.group, sock.has_acl) == ("socket", 0o660, "app", "www-data", True)
    assert sock.source.line == 13 and sock.source.text.startswith("srw-rw----+")
    assert nodes["/run/app"].has_acl and nodes["/run/app"].mode == 0o750
    assert nodes["/run/app/current"].link_target == "/run/app/v2"
    assert not of(recs, ReadWarning)


def test_ls_selinux_labels_french_dates():
    recs = ls.read(fixture("ls-fr-selinux.txt", "ls -laZ /run/inventory"))
    nodes = {n.path: n for n in of(recs, FileNode)}
    assert nodes["/run/inventory/gunicorn.sock"].selinux_label == "system_u:object_r:httpd_var_run_t:s0"
    assert nodes["/run/inventory"].owner == "inventory"


def test_ls_iso_dates_numeric_ids_special_bits_and_missing():
    recs = ls.read(fixture("ls-iso-numeric.txt"))
    nodes = {n.path: n for n in of(recs, FileNode)}
    run = nodes["/srv/app/run"]
    assert run.mode == 0o3775 and (run.uid, run.gid) == (1000, 33)
    assert nodes["/srv/app/run/old.sock"].type == "missing"
    assert nodes["/srv/app/run/app.sock"].type == "socket"


def test_ls_without_directory_keeps_relative_names_and_warns_on_garbage():
    recs = ls.read(chunk("srw-rw---- 1 a b 0 Jan 1 00:00 app.sock\nthis is not ls\n"))
    assert of(recs, FileNode)[0].path == "app.sock"
    warn = of(recs, ReadWarning)
    assert len(warn) == 1 and warn[0].source.line == 2


def test_ls_busybox_and_detect_by_content_not_name():
    text = (CASES / "02-alpine-uwsgi-socket-0755-group-nginx/ls.txt").read_text()
    det = ls.detect(Chunk("nginx.conf", text, hint="nginx.conf"))
    assert det is not None and det.score >= 0.6 and "ls" in det.reason
    recs = ls.read(Chunk("x", text, 1, "docker exec pollster ls -la /run/pollster/"))
    nodes = {n.path: n for n in of(recs, FileNode)}
    assert nodes["/run/pollster/uwsgi.sock"].mode == 0o755
    assert nodes["/run/pollster"].group == "nginx"


# --- stat / namei / getfacl / find ---------------------------------------------------------------

def test_stat_default_format_blocks_and_missing():
    recs = stat.read(fixture("stat-default.txt"))
    nodes = {n.path: n for n in of(recs, FileNode)}
    sock = nodes["/run/php/php8.2-fpm.sock"]
    assert (sock.type, sock.mode, sock.uid, sock.group, sock.inode) == ("socket", 0o660, 33, "www-data", 1048)
    assert sock.selinux_label == "system_u:object_r:httpd_var_run_t:s0"
    assert nodes["/run/php"].mode == 0o2750 and nodes["/run/php"].owner == "root"
    assert nodes["/run/php/gone.sock"].type == "missing"


def test_stat_c_format_from_command():
    recs = stat.read(chunk("socket srwxrwx--- bookings:www-data 1873321",
                           "stat -c '%F %A %U:%G %i' /run/bookings/puma.sock"))
    (n,) = of(recs, FileNode)
    assert (n.path, n.type, n.mode, n.owner, n.group, n.inode) == (
        "/run/bookings/puma.sock", "socket", 0o770, "bookings", "www-data", 1873321)
    recs = stat.read(chunk("660 www-data www-data /run/a.sock\n755 root root /run", "stat -c '%a %U %G %n' /run/a.sock /run"))
    assert [(n.path, n.mode) for n in of(recs, FileNode)] == [("/run/a.sock", 0o660), ("/run", 0o755)]


def test_stat_short_form_without_command_is_read_by_shape_and_leftovers_reported():
    recs = stat.read(chunk("660 www-data www-data /run/a.sock"))
    (n,) = of(recs, FileNode)
    assert (n.mode, n.owner, n.group) == (0o660, "www-data", "www-data")
    recs = stat.read(chunk("660 www-data www-data extra /run/a.sock"))
    assert of(recs, ReadWarning)


def test_namei_builds_absolute_paths_through_symlinks():
    recs = namei.read(fixture("namei-symlink.txt"))
    paths = [(n.path, n.type) for n in of(recs, FileNode)]
    assert paths == [("/", "dir"), ("/var", "dir"), ("/var/run", "symlink"), ("/", "dir"), ("/run", "dir"),
                     ("/run/app", "dir"), ("/run/app/app.sock", "socket")]
    app = of(recs, FileNode)[5]
    assert app.mode == 0o710 and app.owner == "app"


def test_namei_case_file_home_dir_0700():
    text = (CASES / "04-amazonlinux-uwsgi-socket-in-home-0700/namei.txt").read_text()
    nodes = {n.path: n for n in of(namei.read(chunk(text)), FileNode)}
    assert nodes["/home/ec2-user"].mode == 0o700
    assert nodes["/home/ec2-user/seminar-api/run/uwsgi.sock"].mode == 0o666


def test_namei_missing_component_and_plain_form():
    text = "f: /run/x/y.sock\n d /\n d run\n   x - No such file or directory\n"
    nodes = of(namei.read(chunk(text)), FileNode)
    assert nodes[-1].path == "/run/x" and nodes[-1].type == "missing"


def test_getfacl_two_files_default_and_effective():
    recs = getfacl.read(fixture("getfacl-two.txt", "getfacl /run/app /run/app/app.sock"))
    acls = of(recs, AclRecord)
    assert [a.path for a in acls] == ["/run/app", "/run/app/app.sock"]
    assert acls[0].flags == "-s-"
    defaults = [e for e in acls[0].entries if e.default]
    assert any(e.qualifier == "www-data" and e.effective == "r-x" for e in defaults)
    sock_entry = [e for e in acls[1].entries if e.qualifier == "www-data"][0]
    assert (sock_entry.tag, sock_entry.perms, sock_entry.effective) == ("user", "rw-", "r--")


def test_find_plain_paths_type_from_command_and_errors():
    recs = find.read(chunk("/tmp/systemd-private-x/tmp/a.sock\nfind: '/root': Permission denied",
                           "find /tmp -type s -name a.sock"))
    assert of(recs, FileNode)[0].type == "socket"
    assert of(recs, LogFact)[0].kind == "access_denied"


# --- processes and identities --------------------------------------------------------------------

def test_ps_ef_roles_and_truncated_user():
    recs = of(ps.read(fixture("ps-ef.txt")), ProcessRecord)
    roles = {r.pid: r.role for r in recs}
    assert roles == {811: "php_fpm_master", 905: "php_fpm_worker", 1200: "gunicorn", 1300: "nginx_master",
                     1301: "nginx_worker", 1400: "puma", 1410: "unicorn", 1500: "supervisord", 1600: "uwsgi"}
    g = [r for r in recs if r.pid == 1200][0]
    assert g.user == "systemd+" and g.user_truncated and g.ppid == 1


def test_ps_custom_columns_lstart_and_label():
    text = (CASES / "03-debian-gunicorn-usermod-without-reload/ps.txt").read_text()
    recs = of(ps.read(chunk(text)), ProcessRecord)
    w = [r for r in recs if r.pid == 815][0]
    assert (w.ppid, w.user, w.started, w.role) == (812, "www-data", "Mon Feb 3 08:14:22 2025", "nginx_worker")
    text = (CASES / "06-rocky-gunicorn-run-dir-var-run-t/ps.txt").read_text()
    recs = of(ps.read(chunk(text)), ProcessRecord)
    assert recs[1].label == "system_u:system_r:httpd_t:s0" and recs[1].group == "nginx"
    assert recs[3].role == "gunicorn" and recs[3].user == "inventory"


def test_ps_busybox_and_aux():
    text = (CASES / "13-compose-gunicorn-nginx-alpine-group-add/ps.txt").read_text()
    recs = of(ps.read(chunk(text)), ProcessRecord)
    assert [r.role for r in recs] == ["nginx_master"] + ["nginx_worker"] * 4
    text = (CASES / "01-seed-nginx-uid101-vs-www-data-socket/ps.txt").read_text()
    recs = of(ps.read(chunk(text)), ProcessRecord)
    assert [(r.user, r.role) for r in recs[:2]] == [("root", "nginx_master"), ("nginx", "nginx_worker")]


def test_proc_status_grep_form_and_plain_with_pid_from_command():
    text = (CASES / "13-compose-gunicorn-nginx-alpine-group-add/status.txt").read_text()
    recs = of(proc_status.read(chunk(text)), ProcStatus)
    assert [(r.pid, r.uids[0], r.groups) for r in recs] == [
        (1, 0, (0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27, 1000)), (29, 101, (101,))]
    recs = of(proc_status.read(chunk("Uid:\t100\t100\t100\t100\nGid:\t101\t101\t101\t101\nGroups:\t101 \n",
                                     "docker exec pollster grep -E '^(Uid|Gid|Groups)' /proc/15/status")), ProcStatus)
    assert recs == [ProcStatus(15, None, (100,) * 4, (101,) * 4, (101,), recs[0].source)]


def test_id_forms():
    (r,) = id_reader.read(chunk("uid=33(www-data) gid=33(www-data) groups=33(www-data),996(ledger-sock)"))
    assert r.user == "www-data" and r.groups == ((33, "www-data"), (996, "ledger-sock"))
    (r,) = id_reader.read(chunk("uid=1000 gid=1000 Gruppen=1000,27", "id deploy"))
    assert r.user == "deploy" and r.groups == ((1000, None), (27, None))
    (r,) = id_reader.read(chunk("nginx www-data", "id -Gn nginx"))
    assert isinstance(r, IdRecord) and r.user == "nginx" and r.groups == ((None, "nginx"), (None, "www-data"))
    (f,) = id_reader.read(chunk("id: 'nginx': no such user", "id nginx"))
    assert f.kind == "user_lookup_failed" and f.data["user"] == "nginx"


def test_getent_group_reports_names_not_found():
    text = "www-data:x:33:\nexit=2"
    recs = group.read(chunk(text, 'getent group nginx www-data; echo "exit=$?"', first_line=80))
    assert [g.name for g in of(recs, GroupRecord)] == ["www-data"]
    (f,) = of(recs, LogFact)
    assert f.kind == "group_lookup_failed" and f.data["group"] == "nginx" and f.source.line == 79
    assert not of(recs, ReadWarning)


def test_passwd_lines():
    (p,) = passwd.read(chunk("publisher:x:1001:33:Publisher,,,:/home/publisher:/bin/bash"))
    assert isinstance(p, PasswdRecord) and (p.uid, p.gid, p.home) == (1001, 33, "/home/publisher")
    assert group.detect(chunk("Date: Thu, 20 Jun 2024 13:33:02 GMT")) is None


# --- sockets, kernel, MAC ------------------------------------------------------------------------

def test_ss_types_states_queues_processes():
    recs = of(ss.read(fixture("ss-xa.txt")), Listener)
    assert [(r.path, r.socket_type, r.state) for r in recs] == [
        ("/run/systemd/private", "stream", "LISTEN"), ("/run/systemd/notify", "dgram", "UNCONN"),
        ("/run/udev/control", "seqpacket", "LISTEN"), (None, "stream", "ESTAB")]
    assert recs[0].process.startswith("users:((\"systemd\"") and recs[0].inode == 13816
    text = (CASES / "12-ubuntu-uwsgi-listen-100-queue-full/ss.txt").read_text()
    (r,) = of(ss.read(chunk(text)), Listener)
    assert (r.recv_q, r.send_q) == (101, 100)


_SS_NUM = ["0"] * 3 + ["128"] * 3 + ["*", "²", "١٢", "x"]
_SS_ROW = st.tuples(st.sampled_from(["", "u_str", "unix", "u_seq", "LISTEN", "x"]),
                    st.sampled_from(["LISTEN", "LISTEN", "ESTAB", "UNCONN", "0", "u_str"]), st.sampled_from(_SS_NUM),
                    st.sampled_from(_SS_NUM), st.sampled_from(["/run/app.sock", "*", "/run/a b.sock", "@abs", "/run/é.sock", "0"]),
                    st.sampled_from(_SS_NUM), st.sampled_from(["*", "/peer", "0"]), st.sampled_from(_SS_NUM),
                    st.lists(st.sampled_from(["users:((\"x\",pid=1,fd=3))", "0", "*"]), max_size=1))


@given(_SS_ROW, st.sampled_from([" ", "   ", "\t", "  \t "]))
@settings(max_examples=600, deadline=None)
def test_ss_plain_rows_read_as_the_full_pattern_reads_them(fields, gap):
    """The split fast path takes a row only when ``_ROW`` reads it the same way."""
    line = gap.join(t for t in (*fields[:8], *fields[8]) if t)
    row = ss._plain_row(line)
    m = ss._ROW.match(line)
    if row is not None:
        assert m is not None, line
        assert row == (m.group("netid") or "", m.group("state"), m.group("rq"), m.group("sq"), m.group("local"),
                       m.group("ino")), line
        assert m.group("proc") is None
    for header in ("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
                   "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port",
                   "State Recv-Q Send-Q Local Address:Port Peer Address:Port",
                   "Num       RefCount Protocol Flags    Type St Inode Path"):
        assert ss._HEADER.match(header) or ss._PROC_HEAD.match(header)
        assert ss._plain_row(header) is None  # read() tries rows before headers


def test_ss_counts_and_empty_filtered_output():
    (f,) = ss.read(chunk("0", "ss -xlp | grep -c helpdesk"))
    assert f.kind == "listener_count" and f.data["count"] == 0 and f.data["pattern"] == "helpdesk"
    recs = ss.read(chunk("Netid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess",
                         "ss -xlp src /run/bookings/puma.sock"))
    (f,) = of(recs, LogFact)
    assert f.data == {"pattern": "/run/bookings/puma.sock", "count": 0, "command": "ss -xlp src /run/bookings/puma.sock"}
    assert ss.detect(chunk("0")) is None


def test_proc_net_unix():
    recs = of(ss.read(fixture("proc-net-unix.txt")), Listener)
    assert [(r.path, r.state) for r in recs] == [("@tally", "LISTEN"), (None, "ESTAB"), ("/run/php-fpm/www.sock", "LISTEN")]


def test_sysctl_lines_and_values():
    (r,) = sysctl.read(chunk("net.core.somaxconn = 4096"))
    assert (r.key, r.value) == ("net.core.somaxconn", "4096")
    (r,) = sysctl.read(chunk("1", "sysctl -n fs.protected_symlinks"))
    assert (r.key, r.value) == ("fs.protected_symlinks", "1")
    assert sysctl.detect(chunk("pm.max_children = 5\nlisten.owner = www-data")) is None


def test_audit_ausearch_avc():
    text = (CASES / "06-rocky-gunicorn-run-dir-var-run-t/audit.log").read_text()
    recs = audit.read(chunk(text))
    (avc,) = of(recs, AvcDenial)
    assert (avc.perms, avc.tclass, avc.comm, avc.pid, avc.name, avc.permissive) == (
        ("write",), "sock_file", "nginx", 2214, "gunicorn.sock", False)
    assert avc.tcontext == "system_u:object_r:var_run_t:s0"
    assert any(f.kind == "syscall_failed" and f.data["exit"] == "-13" for f in of(recs, LogFact))


def test_audit2why_boolean():
    recs = audit.read(fixture("audit2why.txt"))
    (avc,) = of(recs, AvcDenial)
    assert avc.perms == ("connectto",) and avc.permissive and avc.path == "/run/app/app.sock"
    why = [f for f in of(recs, LogFact) if f.kind == "audit2why"][0]
    assert why.data["boolean"] == "httpd_can_network_connect"


def test_kernel_log_apparmor_and_oom():
    recs = kernel_log.read(fixture("kern.log"))
    (d,) = of(recs, AppArmorDenial)
    assert (d.operation, d.profile, d.name, d.denied, d.fsuid, d.ouid) == (
        "connect", "/usr/sbin/nginx", "/run/app/app.sock", "wr", 33, 1000)
    (oom,) = of(recs, LogFact)
    assert oom.kind == "oom_kill" and oom.data["pid"] == 4242 and oom.data["comm"] == "gunicorn"
    text = (CASES / "11-debian-puma-oom-killed-stale-socket/dmesg.txt").read_text()
    (oom,) = of(kernel_log.read(chunk(text)), LogFact)
    assert oom.data["memcg"] == "/system.slice/bookings.service" and oom.data["uid"] == 997


def test_mac_status_forms():
    (m,) = of(mac_status.read(fixture("sestatus.txt")), MacStatus)
    assert (m.system, m.mode) == ("selinux", "permissive")
    text = (CASES / "07-ubuntu-puma-socket-apparmor-nginx-profile/aa-status.txt").read_text()
    recs = mac_status.read(chunk(text))
    assert not of(recs, ReadWarning)
    (aa,) = of(recs, MacStatus)
    assert ("/usr/sbin/nginx", "enforce") in aa.profiles and ("transmission-daemon", "complain") in aa.profiles
    assert {f.data["pid"] for f in of(recs, LogFact) if f.kind == "apparmor_process" and f.data["exe"] == "/usr/sbin/nginx"} == {1731, 1732, 1733}
    recs = mac_status.read(chunk("Enforcing\n<no matches>", "getenforce; sudo ausearch -m AVC -c nginx -ts today"))
    assert of(recs, MacStatus)[0].mode == "enforcing" and of(recs, LogFact)[0].kind == "ausearch_empty"


# --- logs and probes -----------------------------------------------------------------------------

def test_error_log_events_and_notices_with_prefixes():
    recs = error_log.read(fixture("error-mixed.log", first_line=5))
    notices = [(n.kind, n.name) for n in of(recs, NginxNotice)]
    assert notices == [("user_ignored", None), ("getpwnam_failed", "nginx"), ("getgrnam_failed", "sockets"),
                       ("initgroups_failed", "www-data"), ("bind_failed", "/run/nginx/status.sock")]
    events = of(recs, ErrorLogEvent)
    assert [(e.errno, e.socket, e.syscall) for e in events] == [
        (13, "/sock/api.sock", "connect"), (111, "/run/php/php8.2-fpm.sock", "connect"),
        (104, "/run/php/php8.2-fpm.sock", "recv")]
    e = events[0]
    assert (e.level, e.pid, e.connection, e.client, e.server, e.request, e.host, e.upstream, e.time) == (
        "crit", 29, 1, "172.19.0.1", "localhost", "GET /health HTTP/1.1", "localhost:8080",
        "http://unix:/sock/api.sock:/health", "2024/01/15 03:40:05")
    assert e.source.line == 11 and e.source.text.startswith("web-1  |")


def test_error_log_abstract_socket_and_timeouts():
    text = (CASES / "12-ubuntu-uwsgi-listen-100-queue-full/error.log").read_text()
    events = of(error_log.read(chunk(text)), ErrorLogEvent)
    assert [(e.errno, e.syscall) for e in events] == [(110, "timeout"), (11, "connect"), (11, "connect"), (11, "connect")]
    text = (CASES / "10-debian-uwsgi-abstract-socket-unix-at/error.log").read_text()
    assert {e.socket for e in of(error_log.read(chunk(text)), ErrorLogEvent)} == {"@tally"}


def test_error_log_scan_file_streams_in_blocks(tmp_path):
    line = ('2024/01/15 03:42:17 [crit] 18743#18743: *{n} connect() to unix:/run/a.sock failed (13: Permission denied)'
            ' while connecting to upstream, client: 10.0.0.1, server: x, request: "GET / HTTP/1.1", upstream: '
            '"http://unix:/run/a.sock:/", host: "x"\n')
    other = '2024/01/15 03:42:17 [error] 1#1: *2 open() "/x" failed (2: No such file or directory)\n'
    path = tmp_path / "error.log"
    with path.open("w") as fh:
        for n in range(3000):
            fh.write(other if n % 3 else line.format(n=n))
        fh.write('nginx: [emerg] getgrnam("nope") failed')  # no final newline
    recs = logscan.scan_file(path, keep=10, block_size=4096)  # tiny blocks: lines straddle block edges
    (summary,) = [r for r in recs if isinstance(r, LogFact)]
    assert summary.data["count"] == 1000 and summary.data["first_line"] == 1 and summary.data["last_line"] == 2998
    events = of(recs, ErrorLogEvent)
    assert len(events) == 10 and [e.source.line for e in events[:2]] == [1, 4]
    assert all(e.source.text.startswith("2024/01/15") and f"*{e.source.line - 1} " in e.source.text for e in events)
    (notice,) = of(recs, NginxNotice)
    assert notice.name == "nope" and notice.source.line == 3001
    with path.open("rb") as fh:
        assert sum(1 for r in logscan.iter_scan(fh) if isinstance(r, ErrorLogEvent)) == 1000


def test_access_log_status():
    text = (CASES / "14-ubuntu-gunicorn-default-umask-0777-works/access.log").read_text()
    facts = access_log.read(chunk(text))
    assert [f.data["status"] for f in facts] == [200, 200, 200] and facts[1].data["path"] == "/posts/unix-sockets-and-you"


def test_probe_outputs():
    facts = {f.kind: f.data for f in probe_output.read(chunk(
        '{"status": "ok", "db": "ok"}',
        "sudo -u nobody curl -s --unix-socket /run/journal/gunicorn.sock http://localhost/healthz"))}
    assert facts["curl_ok"]["user"] == "nobody" and facts["curl_ok"]["socket"] == "/run/journal/gunicorn.sock"
    assert facts["setpriv_probe"]["ok"] is True
    text = (CASES / "06-rocky-gunicorn-run-dir-var-run-t/setpriv.txt").read_text()
    recs = probe_output.read(chunk(text, "setpriv --reuid=nginx --regid=nginx --init-groups curl -sS -I "
                                         "--unix-socket /run/inventory/gunicorn.sock http://localhost/healthz"))
    kinds = {f.kind: f.data for f in recs}
    assert kinds["curl_ok"]["status"] == 200 and kinds["setpriv_probe"] == {
        "user": "nginx", "ok": True, "errno": None, "socket": "/run/inventory/gunicorn.sock", "tool": "curl"}
    recs = probe_output.read(fixture("setpriv-python.txt", "setpriv --reuid=www-data --regid=www-data --init-groups "
                                     "python3 -c 'import socket; socket.socket(socket.AF_UNIX).connect(\"/run/a.sock\")'"))
    (f,) = recs
    assert f.kind == "setpriv_probe" and f.data["ok"] is False and f.data["errno"] == 13 and f.data["socket"] == "/run/a.sock"
    facts = {f.kind: f.data for f in probe_output.read(
        fixture("curl-fail.txt", "sudo -u www-data curl --unix-socket /run/a.sock http://x/"))}
    assert facts["curl_failed"]["code"] == 7 and facts["setpriv_probe"]["ok"] is False


# --- every reader: provenance, no exceptions on hostile text -------------------------------------

READERS = [access_log, audit, error_log, find, getfacl, group, id_reader, kernel_log, ls, mac_status, namei, passwd,
           probe_output, proc_status, ps, ss, stat, sysctl]

HOSTILE = ["", "\n\n", "\x00\x00", "\ufeffuid=", "srw-rw---- 1", "f: ", "# file:", "type=AVC msg=audit(",
           "Uid:\tx", "::::::", "a" * 10000, "\udcff\ud800 weird", "u_str LISTEN x", "[ 1.0] apparmor=\"DENIED\"",
           "HTTP/1.1", "2024/01/15 03:42:17 [crit] 1#1: connect() to unix:", "ls: cannot access", "\t\t\r\n"]


@pytest.mark.parametrize("mod", READERS, ids=lambda m: m.KIND)
def test_readers_never_raise_and_keep_provenance(mod):
    for text in HOSTILE:
        for cmd in (None, "ls -la /x", "stat -c '%", "ss -xl | grep -c", "getent group a", "id -Gn"):
            ck = Chunk("bad.txt", text, 7, cmd)
            mod.detect(ck)
            for rec in mod.read(ck):
                assert rec.source.input == "bad.txt" and rec.source.line >= 6


def test_detect_never_classifies_by_name_alone():
    text = "hello world, nothing here"
    for mod in READERS:
        assert mod.detect(Chunk("error.log", text, hint="error.log")) is None or mod.KIND == "find"
