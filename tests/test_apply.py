"""`sockdoctor fix`: plan printing, apply with real nginx, injected failures, kills, rollback."""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import uuid

import pytest

from apply_helpers import Site, apply_in_child, missing, snapshot
from sockdoctor.apply import patch
from sockdoctor.apply import plan as P
from sockdoctor.apply import txn
from sockdoctor.cli import main
from sockdoctor.report import Diff, Fix
from shared_paths import SHARED_STR  # noqa: E402

CASE15 = glob.glob(SHARED_STR + "/cases/15-*/")
needs = pytest.mark.skipif(missing() is not None, reason=missing() or "")


@pytest.fixture
def site(tmp_path):
    s = Site(str(tmp_path / "root"))
    yield s
    s.stop()


def test_patch_apply_and_done_state():
    old = "a\nb\nc\nd\n"
    diff = "--- a/x\n+++ b/x\n@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n d\n"
    hunks = patch.parse(diff)
    assert patch.state(old, hunks) == ("pending", "a\nB\nc\nd\n")
    assert patch.state("a\nB\nc\nd\n", hunks) == ("done", "a\nB\nc\nd\n")
    with pytest.raises(patch.PatchError):
        patch.state("a\nX\nc\nd\n", hunks)


def test_commands_become_steps_and_unknown_ones_block_apply(tmp_path):
    fix = Fix("F", 1, "t", commands=["usermod -aG www-data nginx", "gpasswd -d bob staff",
                                     "nginx -t && nginx -s reload", "semanage fcontext -a -t x '/run(/.*)?'"])
    plan = P.build(fix, root=str(tmp_path))
    assert [(g.op, g.user, g.group) for g in plan.groups] == [("add", "nginx", "www-data"), ("remove", "bob", "staff")]
    assert [s.argv[-1] for s in plan.checks] == ["-t"] and plan.reloads[0].argv[-2:] == ["-s", "reload"]
    assert any("semanage" in u for u in plan.unsupported)
    with pytest.raises(txn.ApplyError, match="semanage"):
        txn.preflight(plan)


def test_forbidden_step_is_refused(tmp_path):
    plan = P.build(Fix("F", 1, "t", commands=["chmod 666 /run/app.sock", "usermod -aG docker nginx"]), root=str(tmp_path))
    assert len(plan.refusals) == 2
    with pytest.raises(txn.ApplyError, match="never applied"):
        txn.preflight(plan)


@pytest.mark.skipif(not CASE15, reason="shared case 15 not present")
def test_plan_printing_changes_nothing(tmp_path, capsys):
    root = tmp_path / "root"
    (root / "etc/nginx").mkdir(parents=True)
    conf = open(CASE15[0] + "nginx-T.txt").read().split("# configuration file /etc/nginx/nginx.conf:\n", 1)[1]
    conf = conf.split("\n# configuration file ", 1)[0]
    (root / "etc/nginx/nginx.conf").write_text(conf)
    before = snapshot(str(root))
    out = tmp_path / "out"
    assert main(["fix", CASE15[0] + "paste.txt", "--root", str(root), "--output", str(out)]) == 0
    assert snapshot(str(root)) == before
    assert "+user publisher www-data;" in (out / "01.patch").read_text()
    script = (out / "fix.sh").read_text().splitlines()
    assert [l for l in script if l.startswith("nginx ") and l.endswith(" -t")]
    assert [l for l in script if l.startswith("nginx ") and l.endswith(" -s reload")]
    assert main(["fix", CASE15[0] + "paste.txt", "--root", str(root)]) == 0
    assert "patch -p1" in capsys.readouterr().out
    assert snapshot(str(root)) == before


@needs
@pytest.mark.skipif(not CASE15, reason="shared case 15 not present")
def test_cli_apply_where_nginx_t_really_fails_rolls_back(tmp_path, capsys):
    """Case 15's config names a user and includes that do not exist here: nginx -t fails for real."""
    root = tmp_path / "root"
    (root / "etc/nginx").mkdir(parents=True)
    conf = open(CASE15[0] + "nginx-T.txt").read().split("# configuration file /etc/nginx/nginx.conf:\n", 1)[1]
    (root / "etc/nginx/nginx.conf").write_text(conf.split("\n# configuration file ", 1)[0])
    before = snapshot(str(root))
    rc = main(["fix", CASE15[0] + "paste.txt", "--root", str(root), "--apply", "--yes", "--run-dir", str(tmp_path / "runs")])
    assert rc == 2
    assert "rolled back" in capsys.readouterr().err
    assert snapshot(str(root)) == before


@needs
def test_apply_backs_up_edits_reloads_and_second_apply_is_noop(site, tmp_path):
    site.start()
    before = snapshot(site.root)
    runs = str(tmp_path / "runs")
    fix = site.fix()
    run_dir, changed = txn.apply(P.build(fix, root=site.root), runs)
    assert changed
    assert site.wait_body("new") == "new"
    manifest = txn.Run(run_dir).manifest()
    entry = manifest["files"][0]
    assert open(os.path.join(run_dir, entry["backup"])).read() == site.old
    assert entry["meta"]["mode"] == 0o640
    st = os.stat(site.conf)
    assert st.st_mode & 0o7777 == 0o640
    log = open(os.path.join(run_dir, "log.jsonl")).read()
    assert '"status": "ok"' in log and "-t" in log
    after = snapshot(site.root)
    run2, changed2 = txn.apply(P.build(fix, root=site.root), runs)
    assert not changed2 and snapshot(site.root) == after
    assert '"noop"' in open(os.path.join(run2, "log.jsonl")).read()
    # (e) rollback after success restores bytes and metadata, and nginx serves the old body
    txn.rollback(run_dir)
    assert snapshot(site.root) == before
    assert site.wait_body("old") == "old"


@needs
def test_edit_that_breaks_nginx_t_leaves_everything_as_it_was(site, tmp_path):
    site.start()
    before = snapshot(site.root)
    fix = site.fix(extra="    no_such_directive on;\n")
    with pytest.raises(txn.ApplyError, match="rolled back"):
        txn.apply(P.build(fix, root=site.root), str(tmp_path / "runs"))
    assert snapshot(site.root) == before
    assert site.body() == "old"


@needs
def test_injected_failure_at_each_step_rolls_back(site, tmp_path):
    site.start()
    before = snapshot(site.root)
    fix = site.fix()
    for step in range(1, len(P.build(fix, root=site.root).steps) + 1):
        res = apply_in_child(fix, site.root, str(tmp_path / "runs"), {"SOCKDOCTOR_TEST_FAIL_AT": str(step)})
        assert res.returncode == 1 and "injected failure" in res.stderr, res.stderr
        assert snapshot(site.root) == before
        assert site.wait_body("old") == "old"


@needs
def test_sigkill_at_each_step_then_rollback(site, tmp_path):
    site.start()
    before = snapshot(site.root)
    fix = site.fix()
    new_conf = P.build(fix, root=site.root).edits[0].new_text
    runs = tmp_path / "runs"
    for step in range(1, len(P.build(fix, root=site.root).steps) + 1):
        res = apply_in_child(fix, site.root, str(runs), {"SOCKDOCTOR_TEST_KILL_AT": str(step)})
        assert res.returncode == -signal.SIGKILL, res.stderr
        assert open(site.conf).read() in (site.old, new_conf)
        run_dir = sorted(runs.iterdir(), key=os.path.getmtime)[-1]
        assert main(["fix", "--rollback", str(run_dir)]) == 0
        assert snapshot(site.root) == before
        assert site.wait_body("old") == "old"


@needs
def test_file_changed_since_plan_is_refused(site, tmp_path):
    plan = P.build(site.fix(), root=site.root)
    with open(site.conf, "a") as fh:
        fh.write("# edited by someone\n")
    before = snapshot(site.root)
    with pytest.raises(txn.ApplyError, match="changed since the plan"):
        txn.apply(plan, str(tmp_path / "runs"))
    assert snapshot(site.root) == before


@needs
def test_missing_usermod_is_refused_before_any_change(site, tmp_path, monkeypatch):
    fix = site.fix(commands=["usermod -aG nogroup nobody", "nginx -t && nginx -s reload"])
    plan = P.build(fix, root=site.root)
    before = snapshot(site.root)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for prog in ("nginx", "gpasswd"):
        os.symlink(subprocess.run(["which", prog], capture_output=True, text=True).stdout.strip(), bindir / prog)
    monkeypatch.setenv("PATH", str(bindir))
    with pytest.raises(txn.ApplyError, match="usermod not found"):
        txn.apply(plan, str(tmp_path / "runs"))
    assert snapshot(site.root) == before


@needs
def test_read_only_target_is_refused(site, tmp_path):
    etc = os.path.dirname(site.conf)
    res = subprocess.run(["mount", "--bind", etc, etc], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"bind mount not permitted here: {res.stderr.strip()}")
    try:
        r2 = subprocess.run(["mount", "-o", "remount,bind,ro", etc], capture_output=True, text=True)
        if r2.returncode != 0:
            pytest.skip(f"read-only remount not permitted: {r2.stderr.strip()}")
        before = snapshot(site.root)
        with pytest.raises(txn.ApplyError, match="cannot write"):
            txn.apply(P.build(site.fix(), root=site.root), str(tmp_path / "runs"))
        assert snapshot(site.root) == before
    finally:
        subprocess.run(["umount", etc], check=False)


@pytest.fixture
def user_and_group():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    tag = uuid.uuid4().hex[:6]
    user, group = f"sdu{tag}", f"sdg{tag}"
    subprocess.run(["groupadd", group], check=True)
    subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", user], check=True)
    yield user, group
    subprocess.run(["userdel", user], check=False)
    subprocess.run(["groupdel", group], check=False)


@needs
def test_group_membership_recorded_and_undone(site, tmp_path, user_and_group):
    user, group = user_and_group
    site.start()
    fix = site.fix(commands=[f"usermod -aG {group} {user}", "nginx -t && nginx -s reload"])
    run_dir, changed = txn.apply(P.build(fix, root=site.root), str(tmp_path / "runs"))
    assert changed and txn.is_member(user, group)
    assert txn.Run(run_dir).manifest()["groups"] == [{"user": user, "group": group, "op": "add", "was_member": False}]
    txn.rollback(run_dir)
    assert not txn.is_member(user, group)


@needs
def test_failed_apply_undoes_group_change(site, tmp_path, user_and_group):
    user, group = user_and_group
    site.start()
    fix = site.fix(extra="    bogus on;\n", commands=[f"usermod -aG {group} {user}", "nginx -t && nginx -s reload"])
    with pytest.raises(txn.ApplyError):
        txn.apply(P.build(fix, root=site.root), str(tmp_path / "runs"))
    assert not txn.is_member(user, group)
    assert site.body() == "old"


def test_not_root_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["fix", "--rollback", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "root" in err


@needs
def test_probe_still_refused_rolls_back(site, tmp_path):
    """A verification that fails (the worker user cannot connect) undoes the applied edit and reloads."""
    import socket as socketmod

    from sockdoctor.apply.verify import probe_socket

    site.start()
    before = snapshot(site.root)
    import grp
    import tempfile

    sock_dir = tempfile.mkdtemp(prefix="sockdoctor-apply-", dir="/tmp")
    os.chmod(sock_dir, 0o755)
    path = os.path.join(sock_dir, "app.sock")
    srv = socketmod.socket(socketmod.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    try:
        os.chmod(path, 0o600)
        assert probe_socket(path, "root")() is None
        with pytest.raises(txn.ApplyError, match="verification failed.*EACCES"):
            txn.apply(P.build(site.fix(), root=site.root), str(tmp_path / "runs"), verify=probe_socket(path, "nobody"))
        assert snapshot(site.root) == before
        assert site.wait_body("old") == "old"
        os.chown(path, 0, grp.getgrnam(nobody_group()).gr_gid)  # nobody's group, 0660: the probe must pass
        os.chmod(path, 0o660)
        run_dir, changed = txn.apply(P.build(site.fix(), root=site.root), str(tmp_path / "runs"),
                                     verify=probe_socket(path, "nobody"))
        assert changed and site.wait_body("new") == "new"
    finally:
        srv.close()
        os.unlink(path)
        os.rmdir(sock_dir)


def nobody_group() -> str:
    from sockdoctor.apply.verify import creds
    import grp
    return grp.getgrgid(creds("nobody")[1]).gr_name


def test_symlinked_target_is_refused(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "real.conf").write_text("a\nb\n")
    os.symlink(tmp_path / "real.conf", tmp_path / "etc/x.conf")
    fix = Fix("F", 1, "t", diffs=[__import__("sockdoctor.report", fromlist=["Diff"]).Diff(
        "/etc/x.conf", "--- a/etc/x.conf\n+++ b/etc/x.conf\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n")])
    plan = P.build(fix, root=str(tmp_path))
    assert plan.refusals and "x.conf" in plan.refusals[0]
    assert (tmp_path / "real.conf").read_text() == "a\nb\n"


@needs
def test_rollback_refuses_to_clobber_a_later_edit(site, tmp_path):
    site.start()
    run_dir, _ = txn.apply(P.build(site.fix(), root=site.root), str(tmp_path / "runs"))
    with open(site.conf, "a") as fh:
        fh.write("# edited after the run\n")
    edited = open(site.conf).read()
    with pytest.raises(txn.ApplyError, match="changed since the run"):
        txn.rollback(run_dir)
    assert open(site.conf).read() == edited


def test_second_concurrent_apply_is_refused(tmp_path):
    import fcntl

    runs = tmp_path / "runs"
    runs.mkdir()
    with open(runs / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(txn.ApplyError, match="another sockdoctor fix"):
            txn.apply(P.build(Fix("F", 1, "t"), root=str(tmp_path)), str(runs))


def test_new_file_is_created_and_rollback_removes_it(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    diff = ("--- /dev/null\n+++ b/etc/systemd/system/app.socket\n@@ -0,0 +1,3 @@\n"
            "+[Socket]\n+ListenStream=/run/app/app.sock\n+SocketMode=0660\n")
    fix = Fix("F", 1, "t", diffs=[Diff("/etc/systemd/system/app.socket", diff)])
    run_dir, changed = txn.apply(P.build(fix, root=str(tmp_path)), str(tmp_path / "runs"))
    target = tmp_path / "etc/systemd/system/app.socket"
    assert changed and target.read_text() == "[Socket]\nListenStream=/run/app/app.sock\nSocketMode=0660\n"
    assert P.build(fix, root=str(tmp_path)).edits[0].state == "done"
    txn.rollback(run_dir)
    assert not target.exists()


@needs
def test_sigkill_at_each_step_with_group_change_then_rollback(site, tmp_path, user_and_group):
    user, group = user_and_group
    site.start()
    before = snapshot(site.root)
    fix = site.fix(commands=[f"usermod -aG {group} {user}", "nginx -t && nginx -s reload"])
    steps = P.build(fix, root=site.root).steps
    assert [type(s).__name__ for s in steps] == ["FileEdit", "GroupChange", "ServiceAction", "ServiceAction"]
    runs = tmp_path / "runs"
    for step in range(1, len(steps) + 1):
        res = apply_in_child(fix, site.root, str(runs), {"SOCKDOCTOR_TEST_KILL_AT": str(step)})
        assert res.returncode == -signal.SIGKILL, res.stderr
        assert txn.is_member(user, group) == (step > 2)
        run_dir = sorted(runs.iterdir(), key=os.path.getmtime)[-1]
        assert main(["fix", "--rollback", str(run_dir)]) == 0
        assert snapshot(site.root) == before and not txn.is_member(user, group)
        assert site.wait_body("old") == "old"
