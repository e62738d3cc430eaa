"""Property tests: sockdoctor.access.decide against a reference written separately here.

The reference is a direct transcription of facts.md §1 (and of the kernel functions it cites:
generic_permission, acl_permission_check, posix_acl_permission, may_follow_link) over plain
dicts with numeric ids only. It shares no code with access.py.
"""
from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings, strategies as st

from sockdoctor.access import Creds, Node, decide

UIDS = (0, 1000, 1001, 1002)
GIDS = (0, 100, 101, 102)
MAY_EXEC, MAY_WRITE = 1, 2
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 1, 2, 4, 8, 16, 32


# --- the reference ----------------------------------------------------------------------------------

def in_group_p(cred: dict, gid: int) -> bool:
    return gid == cred["fsgid"] or gid in cred["groups"]


def posix_acl_permission(inode: dict, cred: dict, want: int) -> int:
    found = False
    acl = inode["acl"]
    for n, (tag, ident, perm) in enumerate(acl):
        if tag == ACL_USER_OBJ:
            if inode["uid"] == cred["fsuid"]:
                return 0 if perm & want == want else -13
        elif tag == ACL_USER:
            if ident == cred["fsuid"]:
                return apply_mask(acl, n, perm, want)
        elif tag == ACL_GROUP_OBJ:
            if in_group_p(cred, inode["gid"]):
                found = True
                if perm & want == want:
                    return apply_mask(acl, n, perm, want)
        elif tag == ACL_GROUP:
            if in_group_p(cred, ident):
                found = True
                if perm & want == want:
                    return apply_mask(acl, n, perm, want)
        elif tag == ACL_OTHER:
            if found:
                return -13
            return 0 if perm & want == want else -13
    raise AssertionError("ACL without other entry")


def apply_mask(acl: list, n: int, perm: int, want: int) -> int:
    for tag, _, mask in acl[n + 1:]:
        if tag == ACL_MASK:
            return 0 if perm & mask & want == want else -13
    return 0 if perm & want == want else -13


def acl_permission_check(inode: dict, cred: dict, want: int) -> int:
    mode = inode["mode"]
    if inode["uid"] == cred["fsuid"]:
        return -13 if want & ~(mode >> 6) else 0
    if inode["acl"] and mode & 0o070:
        return posix_acl_permission(inode, cred, want)
    if in_group_p(cred, inode["gid"]):
        mode >>= 3
    return -13 if want & ~mode & 7 else 0


def generic_permission(inode: dict, cred: dict, want: int) -> int:
    ret = acl_permission_check(inode, cred, want)
    if ret != -13:
        return ret
    if cred["cap_dac_override"]:
        return 0
    return -13


def reference_connect(cred: dict, path: list[dict], protected_symlinks: bool) -> int:
    """path: dicts with 'type' and the inode fields, in walk order; a symlink is followed by the
    walk of its target and carries 'trailing' and 'dir' (the inode it sits in)."""
    for n, inode in enumerate(path):
        last = n == len(path) - 1
        if inode["type"] == "missing":
            return 2
        if inode["type"] == "symlink":
            if (protected_symlinks and inode["trailing"] and inode["uid"] != cred["fsuid"]
                    and inode["dir"]["mode"] & 0o1002 == 0o1002
                    and inode["dir"]["uid"] != inode["uid"]):
                return 13
            continue
        if not last:
            if inode["type"] != "dir":
                return 20
            if generic_permission(inode, cred, MAY_EXEC):
                return 13
            continue
        if generic_permission(inode, cred, MAY_WRITE):
            return 13
        if inode["type"] != "socket":
            return 111
        return 0
    raise AssertionError("empty path")


# --- strategies ---------------------------------------------------------------------------------------

perm = st.integers(0, 7)
TYPICAL = {"dir": (0o755, 0o711, 0o750, 0o700, 0o1777, 0o2770, 0o701, 0o710, 0o2750, 0o1733),
           "socket": (0o660, 0o666, 0o600, 0o620, 0o755, 0o777, 0o640, 0o606, 0o066)}


@st.composite
def inodes(draw, node_type: str) -> dict:
    uid, gid = draw(st.sampled_from(UIDS)), draw(st.sampled_from(GIDS))
    typical = TYPICAL.get(node_type)
    if typical and draw(st.booleans()):
        mode = draw(st.sampled_from(typical))
        special = mode & 0o7000
    else:
        special = draw(st.sampled_from((0, 0o1000, 0o2000, 0o4000)))
        mode = special | draw(st.integers(0, 0o777))
    acl: list = []
    if node_type != "symlink" and draw(st.booleans()):
        users = draw(st.lists(st.tuples(st.sampled_from(UIDS), perm), max_size=2,
                              unique_by=lambda t: t[0]))
        groups = draw(st.lists(st.tuples(st.sampled_from(GIDS), perm), max_size=2,
                               unique_by=lambda t: t[0]))
        mask = draw(perm) if users or groups or draw(st.booleans()) else None
        user_obj, group_obj, other = draw(perm), draw(perm), draw(perm)
        acl = ([(ACL_USER_OBJ, None, user_obj)] + [(ACL_USER, u, p) for u, p in sorted(users)]
               + [(ACL_GROUP_OBJ, None, group_obj)]
               + [(ACL_GROUP, g, p) for g, p in sorted(groups)]
               + ([(ACL_MASK, None, mask)] if mask is not None else [])
               + [(ACL_OTHER, None, other)])
        if mask is None:
            acl = []  # owner/group/other only: the kernel keeps no ACL, just the mode
        else:
            mode = special | user_obj << 6 | mask << 3 | other
    return {"type": node_type, "uid": uid, "gid": gid, "mode": mode, "acl": acl}


@st.composite
def creds(draw) -> dict:
    uid = draw(st.sampled_from(UIDS))
    gid = draw(st.sampled_from(GIDS))
    groups = frozenset(draw(st.lists(st.sampled_from(GIDS), max_size=3)))
    cap = uid == 0 and draw(st.booleans())
    return {"fsuid": uid, "fsgid": gid, "groups": groups, "cap_dac_override": cap}


@st.composite
def walks(draw) -> list[dict]:
    root = {"type": "dir", "uid": 0, "gid": 0, "mode": 0o755, "acl": []}
    walk = [draw(st.one_of(st.just(root), inodes("dir")))]
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(("dir", "dir", "dir", "dir", "dir", "file", "missing")))
        walk.append(draw(inodes(kind)))
    if draw(st.booleans()):  # a trailing symlink to a socket in a root-owned dir
        if draw(st.booleans()):  # in a /tmp-like directory
            walk.append({"type": "dir", "uid": draw(st.sampled_from(UIDS)), "gid": 0,
                         "mode": draw(st.sampled_from((0o1777, 0o777, 0o1775))), "acl": []})
        walk.append(draw(inodes("symlink")) | {"trailing": True, "dir": walk[-1]})
        walk.append({"type": "dir", "uid": 0, "gid": 0, "mode": 0o755, "acl": []})
    walk.append(draw(inodes(draw(st.sampled_from(("socket", "socket", "socket", "file", "fifo",
                                                  "dir", "missing"))))))
    return walk


# --- the same world as access.py sees it ---------------------------------------------------------------

_TAGS = {ACL_USER_OBJ: "user", ACL_USER: "user", ACL_GROUP_OBJ: "group", ACL_GROUP: "group",
         ACL_MASK: "mask", ACL_OTHER: "other"}


def to_nodes(walk: list[dict], by_name: bool = False) -> list[Node]:
    def who(n: int, prefix: str) -> str:
        return f"{prefix}{n}" if by_name else str(n)
    nodes = []
    path = ""
    for n, inode in enumerate(walk):
        path = "/" if n == 0 or walk[n - 1]["type"] == "symlink" else f"{path.rstrip('/')}/c{n}"
        if inode["type"] == "missing":
            nodes.append(Node(path, "missing"))
            continue
        acl = tuple((_TAGS[t], "" if i is None else who(i, "u" if t == ACL_USER else "g"),
                     "".join(c if p & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1))))
                    for t, i, p in inode["acl"]) or None
        target = None
        if inode["type"] == "symlink":
            target = "/" + "/".join(f"c{k}" for k in range(n + 2, len(walk)))
        if by_name:
            nodes.append(Node(path, inode["type"], inode["mode"], who(inode["uid"], "u"),
                              who(inode["gid"], "g"), acl=acl, link_target=target,
                              listening=True))
        else:
            nodes.append(Node(path, inode["type"], inode["mode"], str(inode["uid"]),
                              str(inode["gid"]), inode["uid"], inode["gid"], acl=acl,
                              link_target=target, listening=True,
                              trailing=inode.get("trailing")))
    return nodes


def to_creds(cred: dict, by_name: bool = False) -> Creds:
    if by_name:
        return Creds(user=f"u{cred['fsuid']}", group=f"g{cred['fsgid']}",
                     group_names=frozenset(f"g{g}" for g in cred["groups"] | {cred["fsgid"]}))
    return Creds(uid=cred["fsuid"], gid=cred["fsgid"], groups=cred["groups"])


def expected(cred: dict, walk: list[dict], protected: bool) -> tuple[bool, int | None]:
    errno = reference_connect(cred, walk, protected)
    return errno == 0, errno or None


SETTINGS = settings(max_examples=400, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


_ROOT_DIR = {"type": "dir", "uid": 0, "gid": 0, "mode": 0o755, "acl": []}
_MASK_ZERO = {"type": "socket", "uid": 1000, "gid": 101, "mode": 0o606,  # mask::--- other::rw-
              "acl": [(ACL_USER_OBJ, None, 6), (ACL_USER, 1001, 6), (ACL_GROUP_OBJ, None, 6),
                      (ACL_MASK, None, 0), (ACL_OTHER, None, 6)]}


@SETTINGS
@given(cred=creds(), walk=walks(), protected=st.booleans())
@example(cred={"fsuid": 1001, "fsgid": 100, "groups": frozenset(), "cap_dac_override": False},
         walk=[_ROOT_DIR, _MASK_ZERO], protected=True)
@example(cred={"fsuid": 1002, "fsgid": 101, "groups": frozenset(), "cap_dac_override": False},
         walk=[_ROOT_DIR, _MASK_ZERO], protected=True)
def test_decide_agrees_with_the_reference(cred, walk, protected):
    d = decide(to_creds(cred), to_nodes(walk), protected_symlinks=protected,
               cap_dac_override=cred["cap_dac_override"])
    assert (d.allowed, d.errno) == expected(cred, walk, protected), d.text()


@SETTINGS
@given(cred=creds(), walk=walks(), protected=st.booleans())
def test_names_only_gives_the_same_answer(cred, walk, protected):
    d = decide(to_creds(cred, by_name=True), to_nodes(walk, by_name=True),
               protected_symlinks=protected, cap_dac_override=cred["cap_dac_override"])
    assert (d.allowed, d.errno) == expected(cred, walk, protected), d.text()


@st.composite
def hidden(draw, nodes: list[Node]) -> list[Node]:
    """Hide what pasted evidence often lacks: owners as names we cannot map, modes, ACLs."""
    out = []
    for node in nodes:
        how = draw(st.sampled_from(("keep", "keep", "owner", "group", "mode", "acl", "type")))
        if node.type == "missing" or how == "keep":
            out.append(node)
        elif how == "owner":
            out.append(Node(node.path, node.type, node.mode, "someone", node.group, None,
                            node.gid, node.acl, node.has_acl, node.link_target,
                            listening=node.listening, trailing=node.trailing))
        elif how == "group":
            out.append(Node(node.path, node.type, node.mode, node.owner, "somegroup", node.uid,
                            None, node.acl, node.has_acl, node.link_target,
                            listening=node.listening, trailing=node.trailing))
        elif how == "mode":
            out.append(Node(node.path, node.type, None, node.owner, node.group, node.uid,
                            node.gid, node.acl, node.has_acl, node.link_target,
                            listening=node.listening, trailing=node.trailing))
        elif how == "acl" and node.type != "symlink":
            out.append(Node(node.path, node.type, node.mode, node.owner, node.group, node.uid,
                            node.gid, None, None if not node.has_acl else True,
                            node.link_target, listening=node.listening))
        elif how == "type" and node.type != "symlink":
            out.append(Node(node.path, "unknown", node.mode, node.owner, node.group, node.uid,
                            node.gid, node.acl, node.has_acl, listening=node.listening))
        else:
            out.append(node)
    return out


@SETTINGS
@given(data=st.data(), cred=creds(), walk=walks(), protected=st.sampled_from((True, False, None)),
       partial_groups=st.booleans())
def test_missing_evidence_never_gives_a_wrong_answer(data, cred, walk, protected,
                                                     partial_groups):
    nodes = data.draw(hidden(to_nodes(walk)))
    c = to_creds(cred)
    if partial_groups:
        c = Creds(uid=c.uid, gid=c.gid, groups=frozenset(), groups_complete=False)
    d = decide(c, nodes, protected_symlinks=protected, cap_dac_override=cred["cap_dac_override"])
    truths = {expected(cred, walk, p) for p in ((True, False) if protected is None
                                                else (protected,))}
    if d.allowed is not None:
        assert d.allowed in {allowed for allowed, _ in truths}, d.text()
        if len(truths) == 1 and not d.notes and d.allowed is False:
            assert d.errno == next(iter(truths))[1], d.text()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(types=st.lists(st.sampled_from(("dir", "socket", "file", "symlink", "fifo", "missing",
                                       "unknown", "char")), min_size=0, max_size=6),
       modes=st.lists(st.one_of(st.none(), st.integers(0, 0o177777)), min_size=6, max_size=6),
       owners=st.lists(st.one_of(st.none(), st.text(max_size=4), st.integers(0, 3).map(str)),
                       min_size=6, max_size=6),
       acl=st.one_of(st.none(), st.lists(st.tuples(
           st.sampled_from(("user", "group", "mask", "other", "u", "g", "m", "o")),
           st.one_of(st.just(""), st.text(max_size=3), st.integers(0, 3).map(str)),
           st.text(alphabet="rwx-", max_size=4)), max_size=6)),
       target=st.one_of(st.none(), st.text(max_size=8)),
       protected=st.sampled_from((True, False, None)))
def test_arbitrary_evidence_never_raises(types, modes, owners, acl, target, protected):
    nodes = [Node(f"/n{i}", t, modes[i], owners[i], owners[-1 - i],
                  acl=tuple(acl) if acl is not None and t != "symlink" else None,
                  link_target=target if t == "symlink" else None)
             for i, t in enumerate(types)]
    for c in (Creds(), Creds(uid=0), Creds(user="x", group_names=frozenset({"0"}))):
        d = decide(c, nodes, protected_symlinks=protected)
        assert d.allowed in (True, False, None)
        assert (d.errno is None) == (d.allowed is not False)
        assert all(step.verdict in ("ok", "denied", "unknown") for step in d.trace)


@SETTINGS
@given(data=st.data(), cred=creds(), walk=walks(), protected=st.booleans())
def test_cached_walks_give_the_whole_decision_a_fresh_walk_gives(data, cred, walk, protected):
    """decide() resumes walks from cached directory prefixes (one socket directory per site);
    every field of its Decision (trace, settle commands, notes) is the uncached walk's, also when
    a sibling directory's walk filled the caches first."""
    from sockdoctor import access

    nodes = data.draw(hidden(to_nodes(walk)))
    c = to_creds(cred)
    cap = cred["cap_dac_override"]
    if len(nodes) > 2 and nodes[-2].type == "dir":
        sibling = Node(nodes[-2].path + "-sibling", "dir", nodes[-2].mode, nodes[-2].owner, nodes[-2].group,
                       nodes[-2].uid, nodes[-2].gid)
        decide(c, [*nodes[:-2], sibling, Node(sibling.path + "/s.sock", "socket", 0o660, "0", "0", 0, 0)],
               protected_symlinks=protected, cap_dac_override=cap)
    fresh = access._walk(c, list(nodes), protected, cap, None)
    assert decide(c, nodes, protected_symlinks=protected, cap_dac_override=cap) == fresh
