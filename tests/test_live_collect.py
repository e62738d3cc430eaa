"""Collection and probe pieces of `sockdoctor check`, on real files and sockets (no services)."""
from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys

import pytest

from sockdoctor.evidence.records import AclRecord, FileNode
from sockdoctor.live import collect as C
from sockdoctor.live.probe import ProbeResult, probe

ROOT = os.geteuid() == 0


def _listen(path: str, backlog: int = 5) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(backlog)
    return s


def test_nginx_args_from_master_title():
    words = "/usr/sbin/nginx -p /srv/x -c /srv/x/nginx.conf -g pid /srv/x/nginx.pid;".split()
    assert C.nginx_args(words[1:]) == {"-p": "/srv/x", "-c": "/srv/x/nginx.conf", "-g": "pid /srv/x/nginx.pid;"}


def test_id_names_first_entry_wins():
    text = "root:x:0:0::/root:/bin/sh\n# comment\nalias:x:0:0::/:/bin/sh\nnginx:x:101:101::/:/bin/false\n"
    assert C.id_names(text) == {0: "root", 101: "nginx"}


def test_parse_status_of_this_process():
    text = open("/proc/self/status").read()
    st = C.parse_status(text, os.getpid(), "live:/proc/self/status")
    assert st.uids[0] == os.getuid() and st.gids[0] == os.getgid()
    assert set(st.groups or ()) == set(os.getgroups())
    assert st.source.text.startswith("Uid: ") and text.splitlines()[st.source.line - 1].startswith("Uid:")


def test_proc_net_unix_lists_a_real_listener_and_not_a_bound_one(tmp_path):
    listening = _listen(str(tmp_path / "l.sock"))
    bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound.bind(str(tmp_path / "b.sock"))
    try:
        found = {r.path: r for r in C.parse_proc_net_unix(open("/proc/net/unix").read())}
    finally:
        listening.close()
        bound.close()
    assert found[str(tmp_path / "l.sock")].socket_type == "stream"
    assert str(tmp_path / "b.sock") not in found


@pytest.mark.skipif(not shutil.which("setfacl"), reason="setfacl not installed (acl package)")
def test_acl_xattr_decodes_like_getfacl(tmp_path):
    f = tmp_path / "s"
    f.write_text("")
    subprocess.run(["setfacl", "-m", "u:0:rw,g:0:r,m:rw", str(f)], check=True)
    col = C.Collection(users={0: "root"}, groups={0: "root"})
    node = C.lstat_node(col, str(f), 1)
    assert node.has_acl
    acl = col.acls[str(f)]
    got = {(e.tag, e.qualifier, e.perms) for e in acl.entries}
    shown = subprocess.run(["getfacl", "-cn", "--omit-header", str(f)], capture_output=True, text=True).stdout
    want = set()
    for line in shown.split():
        tag, qual, perms = line.split(":")
        want.add((tag, {"0": "root"}.get(qual, qual), perms))
    assert got == want
    assert ("user", "root", "rw-") in got and ("mask", "", "rw-") in got


def test_decode_acl_rejects_garbage():
    assert C.decode_acl(b"\x01\x00\x00\x00", {}, {}) is None
    assert C.decode_acl(b"\x02\x00\x00\x00\x40\x00\x07\x00\x00\x00\x00\x00", {}, {}) is None


def _tree(tmp_path, sock_mode=0o660):
    root = tmp_path / "image"
    (root / "etc/nginx/conf.d").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\nweb:x:4242:4242::/:/bin/false\n")
    (root / "etc/group").write_text("root:x:0:\nweb:x:4242:\n")
    (root / "etc/nginx/nginx.conf").write_text("user web;\nevents {}\nhttp { include conf.d/*.conf; }\n")
    (root / "etc/nginx/conf.d/app.conf").write_text(
        "server {\n    listen 80;\n    location / { proxy_pass http://unix:/run/app/app.sock:; }\n}\n")
    (root / "run/app").mkdir(parents=True)
    os.chmod(root / "run/app", 0o750)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(root / "run/app/app.sock"))
    s.close()
    os.chmod(root / "run/app/app.sock", sock_mode)
    if ROOT:
        os.chown(root / "run/app/app.sock", 4242, 4242)
    return root


def test_rows_of_sibling_sockets_are_decided_each_on_its_own_metadata(tmp_path):
    """Sockets of one directory that differ in mode, owner, group or by being a symlink: each
    row's verdict is the one a walk of that socket alone gives."""
    from sockdoctor.access import components_for, decide, node_from_record
    from sockdoctor.commands.check import socket_rows, static_creds

    root = _tree(tmp_path)
    conf = root / "etc/nginx/conf.d/app.conf"
    modes = {"a.sock": 0o660, "b.sock": 0o600, "c.sock": 0o660, "d.sock": 0o606, "e.sock": 0o660}
    locations = "".join(f"    location /{n}/ {{ proxy_pass http://unix:/run/app/{n}:; }}\n" for n in [*modes, "l.sock"])
    conf.write_text("server {\n    listen 80;\n" + locations + "}\n")
    for name, mode in modes.items():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(root / "run/app" / name))
        s.close()
        os.chmod(root / "run/app" / name, mode)
        if ROOT:
            os.chown(root / "run/app" / name, 0 if name in ("b.sock", "d.sock", "e.sock") else 4242,
                     0 if name in ("b.sock", "e.sock") else 4242)
    os.symlink("b.sock", root / "run/app/l.sock")
    os.chmod(root / "run/app", 0o755)
    col = C.collect(root=str(root))
    creds = static_creds(col)
    rows = {r["path"]: r for r in socket_rows(col, {})}
    alone = {p: node_from_record(n, col.acls.get(p)) for p, n in col.nodes.items()}
    for name in [*modes, "l.sock"]:
        d = decide(creds, components_for(f"/run/app/{name}", alone))
        assert rows[f"/run/app/{name}"]["predicted_errno"] == (0 if d.allowed else d.errno), name
    if ROOT:
        assert [rows[f"/run/app/{n}"]["predicted_errno"] for n in ("a.sock", "b.sock", "c.sock", "d.sock", "e.sock", "l.sock")] \
            == [0, 13, 0, 13, 13, 13]


def test_root_tree_collection(tmp_path):
    root = _tree(tmp_path)
    col = C.collect(root=str(root))
    assert [(s.path, s.directive, s.where) for s in col.sockets] == \
        [("/run/app/app.sock", "proxy_pass", "/etc/nginx/conf.d/app.conf:3")]
    names = [n for n, _ in col.inputs]
    assert any(n.endswith("/etc/passwd") for n in names) and any(n.startswith("nginx config") for n in names)
    nodes = {r.path: r for r in col.records if isinstance(r, FileNode)}
    assert list(nodes) == ["/", "/run", "/run/app", "/run/app/app.sock"]
    assert nodes["/run/app"].type == "dir" and nodes["/run/app"].mode == 0o750
    assert nodes["/run/app/app.sock"].type == "socket" and nodes["/run/app/app.sock"].mode == 0o660
    assert all(r.source.input == "live:lstat" for r in nodes.values())
    assert nodes["/run/app"].source.text.startswith("drwxr-x--- ") and nodes["/run/app"].source.text.endswith(" /run/app")
    if ROOT:
        assert (nodes["/run/app/app.sock"].owner, nodes["/run/app/app.sock"].group) == ("web", "web")
    assert col.master_pid is None and col.worker is None
    assert any("error log" in w for w in col.warnings)  # missing log noted, not fatal


def test_root_tree_missing_config_is_a_warning(tmp_path):
    (tmp_path / "etc").mkdir()
    col = C.collect(root=str(tmp_path))
    assert col.sockets == []
    assert any("/etc/passwd" in w for w in col.warnings)
    assert any("nginx config /etc/nginx/nginx.conf" in w for w in col.warnings)


def test_walk_follows_symlinks(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink("real", tmp_path / "link")
    col = C.Collection()
    paths = C.walk_paths(str(tmp_path / "link" / "x.sock"), col)
    assert paths[-3:] == [str(tmp_path / "link"), str(tmp_path / "real"), str(tmp_path / "real" / "x.sock")]
    assert col.nodes[str(tmp_path / "link")].link_target == "real"
    assert col.nodes[str(tmp_path / "real" / "x.sock")].type == "missing"


def test_walk_of_a_sibling_reuses_the_directory_walk_unless_it_is_a_symlink(tmp_path):
    """The second socket of a directory is lstat'ed alone, and the walk is the one a fresh
    collection makes; a sibling that is a symlink is still followed."""
    (tmp_path / "run").mkdir()
    (tmp_path / "other").mkdir()
    os.symlink(str(tmp_path / "other" / "real.sock"), tmp_path / "run" / "b.sock")
    col = C.Collection()
    first = C.walk_paths(str(tmp_path / "run" / "a.sock"), col)
    assert col.dir_walks[str(tmp_path / "run")] == first[:-1]
    for name in ("c.sock", "b.sock"):
        path = str(tmp_path / "run" / name)
        assert C.walk_paths(path, col) == C.walk_paths(path, C.Collection())
    assert C.walk_paths(str(tmp_path / "run" / "b.sock"), col)[-1] == str(tmp_path / "other" / "real.sock")
    assert str(tmp_path / "other" / "real.sock") in col.nodes
    assert str(tmp_path / "run" / "../run/c.sock") not in col.dir_walks


def test_walks_through_remembered_directories_are_the_full_walks(tmp_path):
    """Shared directory walks give, in any order, the walk and the lstat'ed paths of a full walk
    of each path alone: symlinked, missing, non-directory and dotted components included."""
    import random

    (tmp_path / "a/b").mkdir(parents=True)
    (tmp_path / "file").write_text("")
    os.symlink("a/b", tmp_path / "link")
    os.symlink(str(tmp_path / "a"), tmp_path / "abs")
    os.symlink("x.sock", tmp_path / "a/b/l.sock")
    rel = ["a/b/x.sock", "a/b/y.sock", "a/z.sock", "link/x.sock", "abs/b/y.sock", "file/x.sock",
           "gone/deeper/x.sock", "a/b/../b/x.sock", "a/b/l.sock", "a//b/x.sock", "a/./b/x.sock"]
    paths = [str(tmp_path / r) if "//" not in r else str(tmp_path) + "/" + r for r in rel] * 2
    random.Random(3).shuffle(paths)
    def fresh() -> C.Collection:  # as collect_files starts
        col = C.Collection()
        C._remember(col, "/")
        return col

    shared = fresh()
    for p in paths:
        alone = fresh()
        assert C.walk_paths(p, shared) == C._full_walk(p, alone), p
        assert set(alone.nodes) <= set(shared.nodes), p
    every = fresh()
    for p in paths:
        C._full_walk(p, every)
    assert set(shared.nodes) == set(every.nodes)


def test_check_cli_on_root_tree(tmp_path):
    root = _tree(tmp_path)
    p = subprocess.run([sys.executable, "-m", "sockdoctor", "check", "--root", str(root)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode in (0, 1), p.stderr
    head = p.stdout.splitlines()
    assert head[1].split()[:2] == ["directive", "socket"]
    assert head[2].split()[:3] == ["proxy_pass", "/run/app/app.sock", ("web:web" if ROOT else head[2].split()[2])]
    assert "probe skipped: --root" in p.stdout


def test_check_cli_usage_errors(tmp_path):
    for argv in (["--format", "yaml"], ["--root", str(tmp_path / "nope")]):
        p = subprocess.run([sys.executable, "-m", "sockdoctor", "check", *argv], capture_output=True, text=True)
        assert p.returncode == 2 and p.stderr.startswith("sockdoctor: ") and "Traceback" not in p.stderr


# --- the probe -------------------------------------------------------------------------------

def test_probe_without_root_is_skipped(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    r = probe(str(tmp_path / "x.sock"), 1000, 1000, ())
    assert r == ProbeResult(str(tmp_path / "x.sock"), None, "not root") and r.text() == "skipped: not root"


needs_root = pytest.mark.skipif(not ROOT, reason="the probe needs root")
NOBODY = 65534


@pytest.fixture
def open_dir():
    """A directory under /tmp that any user can search (pytest's tmp_path parents are 0700)."""
    import tempfile
    from pathlib import Path

    d = Path(tempfile.mkdtemp(prefix="sd-probe-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@needs_root
def test_probe_errnos_of_real_sockets(open_dir):
    tmp_path = open_dir
    live = str(tmp_path / "live.sock")
    srv = _listen(live)
    try:
        os.chmod(live, 0o666)
        assert probe(live, NOBODY, NOBODY, ()).errno == 0
        os.chmod(live, 0o660)
        assert probe(live, NOBODY, NOBODY, ()).errno == errno.EACCES
        os.chown(live, 0, 4343)
        assert probe(live, NOBODY, NOBODY, (4343,)).errno == 0  # supplementary group really set
        assert probe(live, NOBODY, 4343, ()).errno == 0  # primary group really set
    finally:
        srv.close()
    assert probe(live, NOBODY, NOBODY, (4343,)).errno == errno.ECONNREFUSED  # stale file, no listener
    assert probe(str(tmp_path / "none.sock"), NOBODY, NOBODY, ()).errno == errno.ENOENT
    os.chmod(tmp_path, 0o700)
    assert probe(live, NOBODY, NOBODY, (4343,)).errno == errno.EACCES  # no search on the directory


@needs_root
def test_probe_full_backlog_is_eagain_and_sends_nothing(open_dir):
    tmp_path = open_dir
    path = str(tmp_path / "b.sock")
    srv = _listen(path, backlog=0)
    os.chmod(path, 0o666)
    fillers = []
    try:
        result = None
        for _ in range(4):
            result = probe(path, NOBODY, NOBODY, ())
            if result.errno == errno.EAGAIN:
                break
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex(path)
            fillers.append(c)
        assert result is not None and result.errno == errno.EAGAIN
        srv.setblocking(False)
        conn, _ = srv.accept()  # the first probe's connection: closed without sending a byte
        conn.setblocking(False)
        assert conn.recv(1) == b""
        conn.close()
    finally:
        for c in fillers:
            c.close()
        srv.close()


@needs_root
def test_probe_many_from_one_child(open_dir):
    from sockdoctor.live.probe import probe_many

    live = str(open_dir / "a.sock")
    srv = _listen(live)
    os.chmod(live, 0o666)
    closed = str(open_dir / "c.sock")
    _listen(closed).close()
    os.chmod(closed, 0o666)
    try:
        got = probe_many([live, closed, str(open_dir / "none")], NOBODY, NOBODY, ())
    finally:
        srv.close()
    assert [r.errno for r in got.values()] == [0, errno.ECONNREFUSED, errno.ENOENT]
    bad = probe_many([live], NOBODY, NOBODY, (10 ** 9,) * 70000)  # setgroups refuses > NGROUPS_MAX
    assert bad[live].skipped == "could not take the worker's credentials"


@needs_root
def test_probe_in_the_namespace_of_a_process(open_dir):
    """Our own pid: same namespace, nothing entered, no note. A pid that is gone: every path is
    skipped with the reason rather than probed from a view that may not be the worker's."""
    from sockdoctor.live.probe import start_many

    live = str(open_dir / "a.sock")
    srv = _listen(live)
    os.chmod(live, 0o666)
    try:
        same = start_many([live], NOBODY, NOBODY, (), namespace_of=os.getpid())
        assert same.results()[live].errno == 0 and same.notes == []
        gone = subprocess.Popen(["true"])
        gone.wait()
        lost = start_many([live], NOBODY, NOBODY, (), namespace_of=gone.pid)
        result = lost.results()[live]
    finally:
        srv.close()
    assert result.errno is None and result.skipped.startswith(f"could not enter the mount namespace of pid {gone.pid} (ENOENT")


def _live_conf(tmp_path):
    """A config real nginx accepts, with its socket in an included file."""
    d = tmp_path / "conf"
    (d / "conf.d").mkdir(parents=True)
    (d / "nginx.conf").write_text(f"pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\n"
                                  "http { include conf.d/*.conf; }\n")
    (d / "conf.d/app.conf").write_text(
        "server {\n    listen 127.0.0.1:1;\n    location / { proxy_pass http://unix:/run/sd-x/app.sock:; }\n}\n")
    return d / "nginx.conf"


def test_live_collection_reads_the_config_files_and_cites_them(tmp_path):
    conf = _live_conf(tmp_path)
    col = C.collect(conf=str(conf))
    assert f"nginx config {conf}" in col.kinds and "nginx -T" not in col.kinds
    (ref,) = col.config.sockets
    assert (ref.source.input, ref.source.line) == (str(conf.parent / "conf.d/app.conf"), 3)
    assert "proxy_pass" in ref.source.text


@pytest.mark.skipif(not shutil.which("nginx"), reason="needs nginx (make test installs it)")
def test_live_collection_falls_back_to_nginx_T_when_the_files_do_not_parse(tmp_path, monkeypatch):
    """Stand-in for a config our parser rejects: dump_from_tree reports an error; real `nginx -T`
    then supplies the configuration, and the warning says so."""
    conf = _live_conf(tmp_path)
    monkeypatch.setattr(C, "dump_from_tree", lambda main, root: ("", None, [f"nginx config {main}: stand-in error"]))
    col = C.collect(conf=str(conf))
    assert "nginx -T" in col.kinds and [s.path for s in col.sockets] == ["/run/sd-x/app.sock"]
    assert any("stand-in error; using `nginx -T`" in w for w in col.warnings)
