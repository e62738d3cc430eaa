"""Unit tests for sockdoctor.access: every rule of facts.md §1.2-1.4, 1.9 and §2.3 with the
experimental results quoted there."""
from __future__ import annotations

import shlex

import pytest

from sockdoctor.access import (
    Creds, Node, components_for, decide, mode_string, node_from_record, worker_credentials,
)
from sockdoctor.evidence.records import AclEntry, AclRecord, FileNode, Source

WORKER = Creds(uid=995, gid=995, groups=frozenset({995, 993}), user="ngxw", group="ngxw",
               group_names=frozenset({"ngxw", "appsock"}))
NOBODY = Creds(uid=65534, gid=65534, groups=frozenset({65534}), user="nobody", group="nogroup",
               group_names=frozenset({"nogroup"}))
ROOT = Creds(uid=0, gid=0, groups=frozenset({0}), user="root", group="root",
             group_names=frozenset({"root"}))
APP_UID, APPSOCK_GID, APP_GID = 1000, 993, 1000


def chain(*nodes: Node) -> list[Node]:
    return [Node("/", "dir", 0o755, "root", "root", 0, 0),
            Node("/srv", "dir", 0o755, "root", "root", 0, 0), *nodes]


def sock(mode: int, uid: int = APP_UID, gid: int = APPSOCK_GID, acl=None, **kw) -> Node:
    return Node("/srv/app.sock", kw.pop("type", "socket"), mode, str(uid), str(gid), uid, gid,
                acl=acl, **kw)


def verdict(creds: Creds, nodes: list[Node], **kw) -> tuple[bool | None, int | None]:
    d = decide(creds, nodes, **kw)
    return d.allowed, d.errno


# --- §1.1/1.2: only w on the socket, classes exclusive ------------------------------------------

@pytest.mark.parametrize("mode, allowed", [(0o620, True), (0o640, False), (0o660, True),
                                           (0o600, False), (0o020, True), (0o4757, False)])
def test_socket_needs_write_for_the_group_class(mode, allowed):
    d = decide(WORKER, chain(sock(mode)))
    assert (d.allowed, d.errno) == (allowed, None if allowed else 13)
    assert d.class_used == "group"
    if not allowed:
        assert d.reason == "socket_no_write" and d.why == "group_class"
        assert d.failing_component == 2


def test_owner_bits_only_even_if_group_and_other_grant():
    d = decide(WORKER, chain(sock(0o066, uid=995)))  # s---rw-rw- owned by the worker
    assert (d.allowed, d.errno, d.class_used, d.why) == (False, 13, "owner", "owner_class")
    assert "s---rw-rw-" in d.trace[-1].shown
    assert d.trace[-1].text.endswith("→ EACCES")


def test_group_member_does_not_fall_back_to_other():
    node = sock(0o606)  # srw----rw- group appsock
    assert verdict(WORKER, chain(node)) == (False, 13)
    assert verdict(NOBODY, chain(node)) == (True, None)
    assert decide(NOBODY, chain(node)).class_used == "other"


def test_other_class_text_reads_like_namei_with_a_verdict():
    d = decide(Creds(user="nginx", group="nginx", group_names=frozenset({"nginx"})),
               [Node("/", "dir", 0o755, "root", "root"),
                Node("/home", "dir", 0o755, "root", "root"),
                Node("/home/app", "dir", 0o750, "app", "app"),
                Node("/home/app/app.sock", "socket", 0o777, "app", "app")])
    assert (d.allowed, d.errno, d.reason, d.failing_component) == (False, 13, "dir_no_search", 2)
    line = d.trace[2].text
    assert line.startswith("/home/app  drwxr-x--- app:app  worker nginx is 'other'")
    assert "needs x, other has --- → EACCES" in line
    assert len(d.trace) == 3  # stops at the failing component


# --- §1.3 directories -------------------------------------------------------------------------

@pytest.mark.parametrize("mode, owner, allowed", [
    (0o744, APP_UID, False), (0o711, APP_UID, True), (0o700, APP_UID, False),
    (0o701, APP_UID, True), (0o770, APP_UID, False),  # worker not in group 1000
    (0o100, 995, True), (0o670, 995, False),  # worker owns the dir: owner bits only
])
def test_directory_needs_search_only(mode, owner, allowed):
    d = Node("/srv/app", "dir", mode, str(owner), "1000", owner, APP_GID)
    s = Node("/srv/app/app.sock", "socket", 0o666, "1000", "1000", APP_UID, APP_GID)
    res = decide(WORKER, chain(d, s))
    assert (res.allowed, res.errno) == (allowed, None if allowed else 13)
    if not allowed:
        assert res.reason == "dir_no_search" and res.failing_component == 2
        assert res.trace[-1].needed == "x"


def test_group_dir_search():
    d = Node("/srv/app", "dir", 0o2750, "app", "appsock", APP_UID, APPSOCK_GID)
    s = Node("/srv/app/app.sock", "socket", 0o660, "app", "appsock", APP_UID, APPSOCK_GID)
    assert verdict(WORKER, chain(d, s)) == (True, None)
    assert verdict(NOBODY, chain(d, s)) == (False, 13)
    assert mode_string(0o2750, "dir") == "drwxr-s---"


# --- §1.4 POSIX ACLs ----------------------------------------------------------------------------

def test_acl_named_group_matched_but_not_granting_does_not_consult_other():
    acl = (("user", "", "rw-"), ("group", "", "---"), ("group", "ngxw", "r--"),
           ("mask", "", "rw-"), ("other", "", "rw-"))
    node = sock(0o666, gid=APP_GID, acl=acl)
    d = decide(WORKER, chain(node))
    assert (d.allowed, d.errno, d.class_used, d.why) == (False, 13, "acl_group", "acl_group_class")
    assert "other is not consulted" in d.trace[-1].text
    assert verdict(NOBODY, chain(node)) == (True, None)  # falls to other::rw-


def test_acl_named_user_is_capped_by_mask():
    # setfacl -m u:ngxw:rw then chmod 0640: mask::r--
    acl = (("user", "", "rw-"), ("user", "ngxw", "rw-"), ("group", "", "r--"),
           ("mask", "", "r--"), ("other", "", "---"))
    node = sock(0o640, gid=APP_GID, acl=acl)
    d = decide(WORKER, chain(node))
    assert (d.allowed, d.errno, d.why, d.class_used) == (False, 13, "acl_mask", "acl_user")
    assert "AND mask::r--" in d.trace[-1].text
    assert d.trace[-1].shown.startswith("srw-r-----+")
    ok = sock(0o660, gid=APP_GID, acl=acl[:3] + (("mask", "", "rw-"), acl[4]))
    assert decide(WORKER, chain(ok)).class_used == "acl_user"
    assert verdict(WORKER, chain(ok)) == (True, None)


def test_acl_named_user_wins_over_groups_and_owner_skips_acl():
    acl = (("user", "", "---"), ("user", "995", "---"), ("group", "", "rw-"),
           ("mask", "", "rw-"), ("other", "", "rw-"))
    assert verdict(WORKER, chain(sock(0o060, gid=995, acl=acl))) == (False, 13)
    # the owner's class ignores a granting ACL entry for the same uid
    assert verdict(WORKER, chain(sock(0o060, uid=995, gid=APP_GID,
                                      acl=acl[:1] + (("user", "995", "rw-"),) + acl[2:]))) \
        == (False, 13)


def test_default_acl_with_umask_022_socket_mask_r_x():
    # facts §1.4: d:u:ngxw:rwx, creator umask 022 → socket mask::r-x → 13; umask 007 → ok
    base = (("user", "", "rwx"), ("user", "ngxw", "rwx"), ("group", "", "r-x"))
    denied = sock(0o755, gid=APP_GID, acl=base + (("mask", "", "r-x"), ("other", "", "r-x")))
    allowed = sock(0o770, gid=APP_GID, acl=base + (("mask", "", "rwx"), ("other", "", "---")))
    assert verdict(WORKER, chain(denied)) == (False, 13)
    assert verdict(WORKER, chain(allowed)) == (True, None)


def test_acl_with_zero_group_bits_is_not_consulted():
    # fs/namei.c acl_permission_check: IS_POSIXACL && (mode & S_IRWXG); mask::--- → mode bits
    acl = (("user", "", "rw-"), ("user", "ngxw", "rw-"), ("group", "", "---"),
           ("mask", "", "---"), ("other", "", "rw-"))
    d = decide(WORKER, chain(sock(0o606, gid=APP_GID, acl=acl)))
    assert (d.allowed, d.class_used) == (True, "other")


def test_acl_entries_accept_shared_records_and_ignore_default_entries():
    acl = (AclEntry("user", "", "rw-"), AclEntry("user", "ngxw", "rw-", effective="r--"),
           AclEntry("group", "", "r--"), AclEntry("mask", "", "r--"),
           AclEntry("other", "", "---"), AclEntry("user", "ngxw", "rwx", default=True))
    assert verdict(WORKER, chain(sock(0o640, gid=APP_GID, acl=acl))) == (False, 13)


def test_acl_shown_by_plus_but_entries_unknown():
    node = sock(0o660, gid=APP_GID, has_acl=True)
    d = decide(WORKER, chain(node))
    assert d.allowed is None and any(c.startswith("getfacl -p") for c in d.settle)
    # neither mask (group bits) nor other grants w: every non-owner is refused
    assert verdict(WORKER, chain(sock(0o640, gid=APP_GID, has_acl=True))) == (False, 13)


# --- §1.6 root --------------------------------------------------------------------------------

def test_root_with_cap_dac_override_bypasses_dac():
    nodes = chain(Node("/srv/app", "dir", 0o700, "app", "app", APP_UID, APP_GID),
                  Node("/srv/app/app.sock", "socket", 0o000, "app", "app", APP_UID, APP_GID))
    d = decide(ROOT, nodes)
    assert (d.allowed, d.class_used) == (True, "root")
    assert verdict(ROOT, nodes, cap_dac_override=False) == (False, 13)
    assert verdict(WORKER, nodes, cap_dac_override=True) == (True, None)


# --- §1.1 steps 3/4: not a socket, stale, missing ------------------------------------------------

@pytest.mark.parametrize("node_type, mode, errno", [
    ("file", 0o666, 111), ("file", 0o644, 13), ("fifo", 0o662, 111), ("dir", 0o777, 111),
])
def test_not_a_socket(node_type, mode, errno):
    d = decide(WORKER, chain(sock(mode, type=node_type)))
    assert (d.allowed, d.errno) == (False, errno)
    assert d.reason == ("not_socket" if errno == 111 else "no_write")


def test_stale_socket_and_missing_and_notdir():
    assert verdict(WORKER, chain(sock(0o666, listening=False))) == (False, 111)
    d = decide(WORKER, chain(Node("/srv/app.sock", "missing")))
    assert (d.allowed, d.errno, d.reason) == (False, 2, "missing")
    d = decide(WORKER, chain(Node("/srv/f", "file", 0o777, "root", "root", 0, 0),
                             Node("/srv/f/app.sock", "socket", 0o666)))
    assert (d.errno, d.reason, d.failing_component) == (20, "not_dir", 2)


def test_search_denied_comes_before_missing():
    d = decide(WORKER, chain(Node("/srv/app", "dir", 0o700, "app", "app", APP_UID, APP_GID),
                             Node("/srv/app/app.sock", "missing")))
    assert d.errno == 13


# --- §1.9 symlinks and fs.protected_symlinks -------------------------------------------------------

def tmp_link(link_owner: int, dir_mode: int = 0o1777, dir_owner: int = 0) -> list[Node]:
    return [Node("/", "dir", 0o755, "root", "root", 0, 0),
            Node("/tmp", "dir", dir_mode, str(dir_owner), "0", dir_owner, 0),
            Node("/tmp/app.sock", "symlink", 0o777, str(link_owner), "0", link_owner, 0,
                 link_target="/run/app/app.sock"),
            Node("/", "dir", 0o755, "root", "root", 0, 0),
            Node("/run", "dir", 0o755, "root", "root", 0, 0),
            Node("/run/app", "dir", 0o755, "app", "app", APP_UID, APP_GID),
            Node("/run/app/app.sock", "socket", 0o666, "app", "app", APP_UID, APP_GID)]


def test_protected_symlink_in_sticky_world_writable_dir():
    d = decide(WORKER, tmp_link(APP_UID))
    assert (d.allowed, d.errno, d.reason, d.failing_component) == (False, 13,
                                                                   "protected_symlink", 2)
    assert verdict(WORKER, tmp_link(APP_UID), protected_symlinks=False) == (True, None)
    assert verdict(WORKER, tmp_link(995)) == (True, None)  # follower owns the link
    assert verdict(WORKER, tmp_link(0)) == (True, None)  # link owner owns the dir
    assert verdict(WORKER, tmp_link(APP_UID, dir_mode=0o777)) == (True, None)  # not sticky
    assert verdict(WORKER, tmp_link(APP_UID, dir_mode=0o1775)) == (True, None)
    assert verdict(ROOT, tmp_link(APP_UID)) == (False, 13)  # no capability bypasses it
    d = decide(WORKER, tmp_link(APP_UID), protected_symlinks=None)
    assert d.allowed is None and "sysctl fs.protected_symlinks" in d.settle


def test_protected_symlinks_guard_only_the_last_name():
    # /tmp/mid -> /run/app, then /run/app/app.sock: the link is not the last name
    walk = tmp_link(APP_UID)
    mid = Node("/tmp/mid", "symlink", 0o777, str(APP_UID), "0", APP_UID, 0,
               link_target="/run/app")
    walk = walk[:2] + [mid] + walk[3:6] + [walk[6]]
    assert verdict(WORKER, walk) == (True, None)
    assert "only guards the last name" in decide(WORKER, walk).trace[2].text
    # the same walk from components_for marks the link explicitly
    known = {n.path: n for n in walk}
    built = components_for("/tmp/mid/app.sock", known)
    assert built[2].trailing is False and verdict(WORKER, built) == (True, None)
    built = components_for("/tmp/app.sock", {n.path: n for n in tmp_link(APP_UID)})
    assert built[2].trailing is True and verdict(WORKER, built) == (False, 13)
    # a hand-built walk that stops inside the link's target cannot tell which it was
    cut = tmp_link(APP_UID)[:4] + [Node("/run", "missing")]
    d = decide(WORKER, cut)
    assert d.trace[2].verdict == "unknown" and "namei -l /tmp/app.sock" in d.settle
    assert (d.allowed, d.errno, d.failing_component) == (False, 2, 4)  # fails either way
    assert "component 2 (/tmp/app.sock) could not be checked" in d.notes[0]
    assert decide(WORKER, cut, protected_symlinks=False).notes == []


def test_symlink_loop_and_dangling():
    link = Node("/srv/l", "symlink", 0o777, "root", "root", 0, 0, link_target="/srv/l")
    root = Node("/", "dir", 0o755, "root", "root", 0, 0)
    srv = Node("/srv", "dir", 0o755, "root", "root", 0, 0)
    nodes = [root, srv] + [link, root, srv] * 41
    assert verdict(WORKER, nodes) == (False, 40)
    dangling = [root, srv, Node("/srv/l", "symlink", 0o777, "root", "root", 0, 0,
                                link_target="gone"), Node("/srv/gone", "missing")]
    assert verdict(WORKER, dangling) == (False, 2)
    d = decide(WORKER, [root, srv, link])
    assert d.allowed is None and d.settle == ["namei -l /srv/l"]


# --- names, ids and what cannot be decided -------------------------------------------------------

def test_names_only_evidence():
    nginx = Creds(user="nginx", group="nginx", group_names=frozenset({"nginx"}))
    nodes = [Node("/", "dir", 0o755, "root", "root"), Node("/run", "dir", 0o755, "root", "root"),
             Node("/run/php-fpm", "dir", 0o755, "root", "root"),
             Node("/run/php-fpm/www.sock", "socket", 0o660, "www-data", "www-data")]
    d = decide(nginx, nodes)
    assert (d.allowed, d.errno, d.class_used) == (False, 13, "other")
    assert "not in group www-data" in d.trace[-1].text


def test_owner_shown_as_id_and_worker_known_by_name_is_unknown():
    nginx = Creds(user="nginx", group="nginx", group_names=frozenset({"nginx"}))
    nodes = [Node("/", "dir", 0o755, "root", "root"),
             Node("/run", "dir", 0o755, "root", "root"),
             Node("/run/app.sock", "socket", 0o600, "1000", "1000")]
    d = decide(nginx, nodes)
    assert d.allowed is None and d.errno is None and d.reason == "unknown"
    assert d.failing_component == 2 and d.trace[-1].verdict == "unknown"
    assert "owner shown as 1000" in d.trace[-1].text
    assert "id nginx" in d.settle and "stat -c '%U(%u):%G(%g) %A' /run/app.sock" in d.settle
    # but a mode that gives w to every class decides anyway
    nodes[-1] = Node("/run/app.sock", "socket", 0o666, "1000", "1000")
    assert verdict(nginx, nodes) == (True, None)
    # and one that gives it to none also decides
    nodes[-1] = Node("/run/app.sock", "socket", 0o444, "1000", "1000")
    assert verdict(nginx, nodes) == (False, 13)


def test_partial_group_list_is_unknown_not_other():
    partial = Creds(uid=995, gid=995, groups=frozenset({995}), user="ngxw",
                    groups_complete=False)
    d = decide(partial, chain(sock(0o660)))
    assert d.allowed is None
    assert verdict(partial, chain(sock(0o660, gid=995))) == (True, None)


def test_unknown_component_then_definite_failure():
    nodes = chain(Node("/srv/app", "unknown"), sock(0o600))
    nodes[-1] = Node("/srv/app/app.sock", "socket", 0o600, "1000", "993", APP_UID, APPSOCK_GID)
    d = decide(WORKER, nodes)
    assert (d.allowed, d.errno, d.failing_component) == (False, 13, 3)
    assert "namei -l /srv/app" in d.settle and d.notes
    d = decide(WORKER, chain(Node("/srv/app", "dir", None), sock(0o666)))
    assert d.allowed is None and d.failing_component == 2


def test_settle_commands_quote_hostile_paths():
    path = "/srv/a b;$(rm -rf x)"
    nodes = chain(Node(path, "dir", None), Node(path + "/s", "socket", 0o666, "0", "0", 0, 0))
    d = decide(WORKER, nodes)
    assert d.settle == [f"namei -l {shlex.quote(path)}"]
    assert shlex.split(d.settle[0]) == ["namei", "-l", path]


# --- building the walk ----------------------------------------------------------------------------

def test_components_for_follows_symlinks_and_marks_gaps():
    known = {n.path: n for n in tmp_link(APP_UID)}
    walk = components_for("/tmp/app.sock", known)
    assert [n.path for n in walk] == ["/", "/tmp", "/tmp/app.sock", "/", "/run", "/run/app",
                                      "/run/app/app.sock"]
    known["/srv/rel"] = Node("/srv/rel", "symlink", 0o777, "root", "root", 0, 0,
                             link_target="../run/app/app.sock")
    walk = components_for("/srv/rel", known)
    assert [(n.path, n.type) for n in walk] == [
        ("/", "dir"), ("/srv", "unknown"), ("/srv/rel", "symlink"), ("/", "dir"),
        ("/run", "dir"), ("/run/app", "dir"), ("/run/app/app.sock", "socket")]
    assert decide(WORKER, walk).allowed is None  # /srv not shown


def test_node_from_record():
    src = Source("ls.txt", 3)
    rec = FileNode("/run/app.sock", "socket", 0o660, "app", "www-data", src, has_acl=True)
    acl = AclRecord("/run/app.sock", "app", "www-data",
                    (AclEntry("user", "", "rw-"), AclEntry("user", "nginx", "rw-"),
                     AclEntry("group", "", "rw-"), AclEntry("mask", "", "rw-"),
                     AclEntry("other", "", "---")), src)
    node = node_from_record(rec, acl)
    assert node.has_acl and len(node.acl) == 5 and node.owner_name == "app"
    assert node_from_record(FileNode("/x", "socket", 0o660, "1000", "1000", src,
                                     tool="stat"), can_show_acl=False).has_acl is None
    nginx = Creds(user="nginx", group="nginx", group_names=frozenset({"nginx"}))
    assert verdict(nginx, [Node("/", "dir", 0o755, "root", "root"), node]) == (True, None)


# --- §2.3 worker credentials ---------------------------------------------------------------------

PASSWD = [("root", 0, 0), ("ngxw", 995, 995), ("u2", 996, 993), ("nginx", 101, 101)]
GROUPS = [("root", 0, ()), ("ngxw", 995, ()), ("appsock", 993, ("ngxw",)),
          ("nginx", 101, ()), ("other", 1500, ("someone",))]


def test_group_omitted_uses_group_named_like_user_plus_memberships():
    w = worker_credentials("ngxw", None, PASSWD, GROUPS)
    assert w.errors == [] and w.creds is not None
    assert (w.creds.uid, w.creds.gid, w.creds.groups) == (995, 995, frozenset({995, 993}))
    assert w.creds.group_names == {"ngxw", "appsock"}
    assert any("group named 'ngxw'" in n for n in w.notes)


def test_explicit_group_drops_passwd_primary():
    w = worker_credentials("ngxw", "appsock", PASSWD, GROUPS)
    assert (w.creds.gid, w.creds.groups) == (993, frozenset({993}))
    assert any("primary group ngxw (995) is not among" in n for n in w.notes)


def test_getgrnam_and_getpwnam_failures():
    w = worker_credentials("u2", None, PASSWD, GROUPS)
    assert w.creds is None and w.errors == ['[emerg] getgrnam("u2") failed']
    w = worker_credentials("999", None, PASSWD, GROUPS)
    assert w.creds is None and w.errors == ['[emerg] getpwnam("999") failed']
    w = worker_credentials("u2", None, PASSWD[:1], GROUPS[:1], databases_complete=False)
    assert w.creds is not None and w.creds.uid is None and not w.creds.groups_complete


def test_master_groups_discarded_when_root_kept_when_not():
    master = Creds(uid=0, gid=0, groups=frozenset({0, 2000}), user="root")
    w = worker_credentials("nginx", None, PASSWD, GROUPS, master_creds=master)
    assert w.creds.groups == frozenset({101})
    assert any("discarded" in n for n in w.notes)
    unpriv = Creds(uid=101, gid=101, groups=frozenset({101, 2000}))
    w = worker_credentials("nginx", None, PASSWD, GROUPS, master_is_root=False,
                           master_creds=unpriv)
    assert w.creds == unpriv and "ignored" in w.errors[0]


def test_no_user_directive_defaults_to_nobody():
    w = worker_credentials(None, None, [("nobody", 65534, 65534)],
                           [("nogroup", 65534, ())])
    assert (w.creds.user, w.creds.group, w.creds.uid) == ("nobody", "nogroup", 65534)


def test_credentials_feed_the_decision():
    w = worker_credentials("ngxw", None, PASSWD, GROUPS)
    assert verdict(w.creds, chain(sock(0o620))) == (True, None)
    w = worker_credentials("ngxw", "appsock", PASSWD, GROUPS)
    assert verdict(w.creds, chain(sock(0o606, gid=995))) == (True, None)  # 995 dropped → other


def test_many_unknown_acl_entries_stay_fast_and_undecided():
    someone = Creds(user="nginx")  # groups unknown: every named group entry may match
    acl = (("user", "", "rw-"),) + tuple(("group", f"g{i}", "r--") for i in range(40)) + (
        ("group", "", "r--"), ("mask", "", "rw-"), ("other", "", "rw-"))
    d = decide(someone, [Node("/", "dir", 0o755, "root", "root"),
                         Node("/s", "socket", 0o666, "app", "app", acl=acl)])
    assert d.allowed is None
