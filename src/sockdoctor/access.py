"""The kernel's access decision for ``connect()`` on a pathname AF_UNIX socket.

Implements ``domain/facts.md`` §1 (path walk, DAC, POSIX ACLs, root, symlinks) and §2.3 (what
credentials an nginx worker ends up with). Pure Python on plain data: no ``pwd``/``grp``/``os``,
so it runs in Pyodide. The caller supplies what the evidence shows; whatever is not shown stays
unknown and the decision says which command would settle it.

Identity comparisons use numeric ids when both sides have them and names otherwise; when neither
can decide (owner shown as ``1000``, worker known only as ``nginx``) the answer is "unknown".

Three-valued facts are resolved by trying every assignment of the facts the kernel's algorithm
actually consults for a node: if every assignment gives the same verdict the verdict is certain.
"""
from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from sockdoctor._dataclass import dataclass, field, replace
from sockdoctor.evidence.records import AclEntry

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from typing import Any

EACCES, ENOENT, ENOTDIR, ECONNREFUSED, ELOOP = 13, 2, 20, 111, 40
MAXSYMLINKS = 40  # include/linux/namei.h

NODE_TYPES = ("dir", "socket", "file", "symlink", "fifo", "char", "block", "missing", "unknown")
_TYPE_CHAR = {"dir": "d", "socket": "s", "file": "-", "symlink": "l", "fifo": "p",
              "char": "c", "block": "b"}
_BIT = {"r": 4, "w": 2, "x": 1}
_TAGS = {"u": "user", "user": "user", "g": "group", "group": "group", "m": "mask",
         "mask": "mask", "o": "other", "other": "other"}


# --- inputs ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Creds:
    """Who connects: the worker's fsuid, fsgid and supplementary groups.

    ``groups`` holds the supplementary group ids, ``group_names`` the names of the caller's groups
    (primary included). ``None`` means the evidence does not show them; ``groups_complete`` False
    means what is shown is only part of the list (a group absent from it may still be one of the
    caller's)."""
    uid: int | None = None
    gid: int | None = None
    groups: frozenset[int] | None = None
    user: str | None = None
    group: str | None = None  # name of ``gid``
    group_names: frozenset[str] | None = None
    groups_complete: bool = True

    def label(self) -> str:
        if self.user is not None:
            return self.user
        return f"uid {self.uid}" if self.uid is not None else "the worker"

    def is_root(self) -> bool | None:
        if self.uid is not None:
            return self.uid == 0
        if self.user is not None:
            return self.user == "root"
        return None


@dataclass(frozen=True)
class Node:
    """One component of the walk, as evidence shows it (``ls -l``, ``stat``, ``namei -l``, lstat).

    ``owner``/``group`` are the text shown (a name, or digits for an id); ``uid``/``gid`` are the
    numbers when known. ``acl`` holds the access-ACL entries when known (``AclEntry`` or
    ``(tag, qualifier, perms)`` tuples); ``has_acl`` says whether an ACL exists: True/False, or
    None when the tool cannot show it (``stat -c %A``). ``listening`` is False for a socket file
    with no bound listener (stale). ``trailing`` (symlinks only) says the kernel follows it as the
    last name of the path (or of a trailing link's target): only such links are subject to
    fs.protected_symlinks (``pick_link``: ``if (flags & WALK_TRAILING) may_follow_link``); None
    lets ``decide`` work it out from the walk."""
    path: str | None
    type: str = "unknown"
    mode: int | None = None
    owner: str | None = None
    group: str | None = None
    uid: int | None = None
    gid: int | None = None
    acl: tuple[Any, ...] | None = None
    has_acl: bool | None = False
    link_target: str | None = None
    label: str | None = None
    listening: bool | None = None
    trailing: bool | None = None

    def __post_init__(self) -> None:
        if self.mode is not None:
            object.__setattr__(self, "mode", self.mode & 0o7777)
        if self.acl is not None:
            entries = tuple(_acl_entry(e) for e in self.acl)
            entries = tuple(e for e in entries if not e.default)
            object.__setattr__(self, "acl", entries)
            if entries and self.has_acl is not True:
                object.__setattr__(self, "has_acl", _is_extended(entries))

    @property
    def owner_id(self) -> int | None:
        return self.uid if self.uid is not None else _digits(self.owner)

    @property
    def owner_name(self) -> str | None:
        return None if not self.owner or self.owner.isdigit() else self.owner

    @property
    def group_id(self) -> int | None:
        return self.gid if self.gid is not None else _digits(self.group)

    @property
    def group_name(self) -> str | None:
        return None if not self.group or self.group.isdigit() else self.group

    @property
    def sticky(self) -> bool | None:
        return None if self.mode is None else bool(self.mode & 0o1000)

    @property
    def world_writable(self) -> bool | None:
        return None if self.mode is None else bool(self.mode & 0o002)

    def shown(self) -> str:
        """``drwxr-x---+ app:app`` — what ``ls -l``/``namei -l`` would show."""
        if self.type == "missing":
            return "(does not exist)"
        mode = mode_string(self.mode, self.type)
        if self.has_acl:
            mode += "+"
        who = f"{self.owner if self.owner is not None else _opt(self.owner_id)}:" \
              f"{self.group if self.group is not None else _opt(self.group_id)}"
        text = f"{mode} {who}"
        if self.type == "symlink" and self.link_target:
            text += f" -> {self.link_target}"
        return text


def _opt(value: object) -> str:
    return "?" if value is None else str(value)


def _digits(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _acl_entry(entry: Any) -> AclEntry:
    if isinstance(entry, AclEntry):
        return entry
    if isinstance(entry, (tuple, list)) and len(entry) == 3:
        tag, qualifier, perms = entry
        return AclEntry(_TAGS.get(str(tag), str(tag)), str(qualifier or ""), str(perms))
    raise ValueError(f"ACL entry must be AclEntry or (tag, qualifier, perms): {entry!r}")


def _is_extended(entries: tuple[AclEntry, ...]) -> bool:
    """A minimal ACL (owner, group, other only) is just the mode bits; the kernel stores none."""
    return any(e.tag == "mask" or (e.tag in ("user", "group") and e.qualifier) for e in entries)


def perm_bits(perms: str) -> int:
    return sum(_BIT.get(c, 0) for c in set(perms))


_PERMS = tuple("".join(c if bits & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))
               for bits in range(8))


def perm_string(bits: int) -> str:
    return _PERMS[bits & 7]


@lru_cache(maxsize=4096)
def mode_string(mode: int | None, node_type: str = "file") -> str:
    """``0o2750`` on a dir → ``drwxr-s---``; unknown mode → ``?---------``-like ``??????????``."""
    type_char = _TYPE_CHAR.get(node_type, "?")
    if mode is None:
        return type_char + "?????????"
    out = []
    for shift, special, on, off in ((6, 0o4000, "s", "S"), (3, 0o2000, "s", "S"),
                                    (0, 0o1000, "t", "T")):
        bits = (mode >> shift) & 7
        rw = perm_string(bits)[:2]
        x = bits & 1
        if mode & special:
            out.append(rw + (on if x else off))
        else:
            out.append(rw + ("x" if x else "-"))
    return type_char + "".join(out)


# --- outputs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TraceStep:
    path: str | None
    shown: str  # 'drwxr-x--- app:app'
    needed: str  # 'x', 'w', 'follow', 'exists'
    class_used: str | None  # owner group other acl_user acl_group acl_other root
    verdict: str  # ok denied unknown
    text: str  # one line a person can follow
    errno: int | None = None


@dataclass(frozen=True)
class Decision:
    """``allowed`` is None when the evidence cannot decide. ``reason`` says what failed
    (dir_no_search, socket_no_write, no_write, not_socket, no_listener, missing, not_dir, loop,
    protected_symlink, unknown, ok); ``why`` says which rule decided it (owner_class, group_class,
    other_class, acl_named_entry, acl_mask, acl_group_class, acl_other, root, ...)."""
    allowed: bool | None
    errno: int | None
    failing_component: int | None
    reason: str
    why: str | None
    class_used: str | None
    trace: list[TraceStep]
    settle: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(step.text for step in self.trace)


# --- the DAC check for one inode ----------------------------------------------------------------

class _Need(Exception):
    def __init__(self, key: Any):
        self.key = key


@dataclass(frozen=True)
class _Outcome:
    allowed: bool
    class_used: str
    why: str
    text: str


def _tri_same_user(creds: Creds, uid: int | None, name: str | None) -> bool | None:
    if uid is not None and creds.uid is not None:
        return uid == creds.uid
    if name is not None and creds.user is not None:
        return name == creds.user
    return None


def _tri_member(creds: Creds, gid: int | None, name: str | None) -> bool | None:
    """``in_group_p``: fsgid or any supplementary group."""
    if gid is not None:
        if gid == creds.gid or (creds.groups is not None and gid in creds.groups):
            return True
        if creds.gid is not None and creds.groups is not None and creds.groups_complete:
            return False
    if name is not None:
        if name == creds.group or (creds.group_names is not None and name in creds.group_names):
            return True
        if creds.group_names is not None and creds.groups_complete:
            return False
    return None


def _qualifier_user(creds: Creds, qualifier: str) -> bool | None:
    return _tri_same_user(creds, _digits(qualifier), None if qualifier.isdigit() else qualifier)


def _qualifier_group(creds: Creds, qualifier: str) -> bool | None:
    return _tri_member(creds, _digits(qualifier), None if qualifier.isdigit() else qualifier)


def _facts_for(node: Node, creds: Creds, cap: bool | None) -> dict[Any, bool | None]:
    facts: dict[Any, bool | None] = {
        "root": cap,
        "owner": _tri_same_user(creds, node.owner_id, node.owner_name),
        "group": _tri_member(creds, node.group_id, node.group_name),
        "has_acl": node.has_acl,
        "acl_entries": None,
    }
    for i, entry in enumerate(node.acl or ()):
        if entry.tag == "user" and entry.qualifier:
            facts[("user", i)] = _qualifier_user(creds, entry.qualifier)
        elif entry.tag == "group" and entry.qualifier:
            facts[("group", i)] = _qualifier_group(creds, entry.qualifier)
    return facts


def _acl_text(e: AclEntry) -> str:
    return f"{e.tag}:{e.qualifier}:{perm_string(perm_bits(e.perms))}"


def _dac(node: Node, want: int, ask: Callable[[Any], bool], who: str) -> _Outcome:
    """``generic_permission()`` for one inode: acl_permission_check, then the capability bypass.

    Follows fs/namei.c and fs/posix_acl.c literally; ``ask`` answers the identity facts."""
    need = perm_string(want).replace("-", "")
    mode = node.mode
    assert mode is not None
    grp_shown = node.group if node.group is not None else _opt(node.group_id)
    if ask("root"):
        return _Outcome(True, "root", "root",
                        f"{who} is root with CAP_DAC_OVERRIDE: permission bits bypassed → ok")
    if ask("owner"):
        bits = (mode >> 6) & 7
        ok = bits & want == want
        return _Outcome(ok, "owner", "owner_class",
                        f"{who} owns it: only the owner bits count (group, other and ACL are "
                        f"ignored): needs {need}, owner has {perm_string(bits)} → "
                        f"{'ok' if ok else 'EACCES'}")
    if (mode & 0o070) and ask("has_acl"):
        if node.acl is None or not node.acl:
            if not (mode >> 3) & want and not mode & want:
                return _Outcome(False, "acl_other", "acl_mask",
                                f"{who} is not the owner; it has an ACL, and neither the mask "
                                f"(group bits {perm_string((mode >> 3) & 7)}) nor other "
                                f"({perm_string(mode & 7)}) grants {need} → EACCES")
            ask("acl_entries")
            return _Outcome(bool(ask("acl_entries")), "acl_other", "acl_unknown", "")
        return _posix_acl(node, want, ask, who, need)
    bits_g, bits_o = (mode >> 3) & 7, mode & 7
    if ask("group"):
        ok = bits_g & want == want
        return _Outcome(ok, "group", "group_class",
                        f"{who} is in group {grp_shown} (not owner): only the group bits count, "
                        f"other is not consulted: needs {need}, group has {perm_string(bits_g)} → "
                        f"{'ok' if ok else 'EACCES'}")
    ok = bits_o & want == want
    return _Outcome(ok, "other", "other_class",
                    f"{who} is 'other' (not owner, not in group {grp_shown}): needs {need}, "
                    f"other has {perm_string(bits_o)} → {'ok' if ok else 'EACCES'}")


def _posix_acl(node: Node, want: int, ask: Callable[[Any], bool], who: str,
               need: str) -> _Outcome:
    entries = node.acl or ()
    mask = next((e for e in entries if e.tag == "mask"), None)
    mask_bits = perm_bits(mask.perms) if mask is not None else None

    def masked(e: AclEntry, klass: str, why_ok: str) -> _Outcome:
        bits = perm_bits(e.perms)
        if mask_bits is None:
            ok = bits & want == want
            return _Outcome(ok, klass, why_ok, f"ACL entry {_acl_text(e)} → "
                            f"{'ok' if ok else 'EACCES'}")
        eff = bits & mask_bits
        ok = eff & want == want
        why = "acl_mask" if not ok and bits & want == want else why_ok
        return _Outcome(ok, klass, why,
                        f"ACL entry {_acl_text(e)} AND mask::{perm_string(mask_bits)} = "
                        f"{perm_string(eff)}: needs {need} → {'ok' if ok else 'EACCES'}")

    for i, e in enumerate(entries):
        if e.tag == "user" and e.qualifier and ask(("user", i)):
            out = masked(e, "acl_user", "acl_named_entry")
            return _Outcome(out.allowed, out.class_used, out.why,
                            f"{who} matches named ACL entry user:{e.qualifier}: " + out.text)
    matched: list[AclEntry] = []
    group_obj_present = False
    for i, e in enumerate(entries):
        if e.tag != "group":
            continue
        if not e.qualifier:
            group_obj_present = True
            hit = ask("group")
        else:
            hit = ask(("group", i))
        if hit:
            matched.append(e)
            if perm_bits(e.perms) & want == want:
                out = masked(e, "acl_group", "acl_group_class")
                return _Outcome(out.allowed, out.class_used, out.why,
                                f"{who} is in the group of ACL entry {_acl_text(e)}, which "
                                f"grants {need}; " + out.text)
    if not group_obj_present and ask("group"):
        ask("acl_entries")  # a pasted ACL without its group:: entry
        return _Outcome(bool(ask("acl_entries")), "acl_group", "acl_unknown", "")
    if matched:
        shown = ", ".join(_acl_text(e) for e in matched)
        return _Outcome(False, "acl_group", "acl_group_class",
                        f"{who} matches ACL group entries {shown}: none grants {need} → EACCES "
                        f"(other is not consulted once a group entry matched)")
    other = next((e for e in entries if e.tag == "other"), None)
    bits_o = perm_bits(other.perms) if other is not None else (node.mode or 0) & 7
    ok = bits_o & want == want
    return _Outcome(ok, "acl_other", "acl_other",
                    f"{who} matches no ACL user or group entry: other::{perm_string(bits_o)}: "
                    f"needs {need} → {'ok' if ok else 'EACCES'}")


MAX_ASSIGNMENTS = 256  # hostile input (dozens of unmatched ACL entries) stays linear


def _resolve(facts: Mapping[Any, bool | None],
             run: Callable[[Callable[[Any], bool]], _Outcome]) -> tuple[list[_Outcome], set[Any]]:
    """Run ``run`` under every assignment of the unknown facts it consults (lazily).

    Past ``MAX_ASSIGNMENTS`` the answer is given up: an allowed and a denied outcome are added
    so the caller reports "cannot tell"."""
    outcomes: list[_Outcome] = []
    consulted_unknown: set[Any] = set()
    pending: list[dict[Any, bool]] = [{}]
    while pending:
        if len(outcomes) + len(pending) > MAX_ASSIGNMENTS:
            outcomes += [_Outcome(True, "", "", ""), _Outcome(False, "", "", "")]
            break
        assignment = pending.pop()

        def ask(key: Any) -> bool:
            value = facts.get(key)
            if value is not None:
                return value
            if key in assignment:
                return assignment[key]
            raise _Need(key)
        try:
            outcomes.append(run(ask))
        except _Need as need:
            consulted_unknown.add(need.key)
            pending.append({**assignment, need.key: False})
            pending.append({**assignment, need.key: True})
    return outcomes, consulted_unknown


# --- unknown facts: how to say them and how to settle them ---------------------------------------

def _q(text: str | None) -> str:
    return shlex.quote(text) if text else "PATH"


def _worker_ref(creds: Creds) -> str:
    if creds.user:
        return shlex.quote(creds.user)
    return str(creds.uid) if creds.uid is not None else "WORKER"


def _unknown_lines(key: Any, node: Node, creds: Creds) -> tuple[str, list[str]]:
    who, path = creds.label(), node.path
    proc = "grep -E '^(Uid|Gid|Groups|CapEff)' /proc/$(pgrep -f 'nginx: worker' | head -n1)/status"
    if key == "root":
        return (f"cannot tell whether {who} is root with CAP_DAC_OVERRIDE", [proc])
    if key == "owner":
        return (f"cannot tell whether {who} owns {path} (owner shown as {_opt(node.owner)}, "
                f"{who} known {_known_as(creds)})",
                [f"stat -c '%U(%u):%G(%g) %A' {_q(path)}", f"id {_worker_ref(creds)}"])
    if key == "group":
        return (f"cannot tell whether {who} is in group {_opt(node.group)}",
                [f"id {_worker_ref(creds)}", proc])
    if key == "has_acl" or key == "acl_entries":
        return (f"the ACL on {path} is not shown", [f"getfacl -p {_q(path)}"])
    if isinstance(key, tuple):
        kind, i = key
        entry = (node.acl or ())[i]
        return (f"cannot tell whether {who} matches ACL entry {_acl_text(entry)}",
                [f"id {_worker_ref(creds)}", f"getfacl -p {_q(path)}"])
    return (f"unknown: {key}", [f"namei -l {_q(path)}"])


def _known_as(creds: Creds) -> str:
    if creds.uid is None and creds.user is not None:
        return "by name only"
    if creds.user is None and creds.uid is not None:
        return "by id only"
    return "not at all" if creds.uid is None else "by name and id"


@dataclass(frozen=True)
class _Step:
    verdict: str  # ok denied unknown
    errno: int | None
    class_used: str | None
    why: str | None
    text: str
    settle: list[str]


def _check(node: Node, creds: Creds, want: int, cap: bool | None) -> _Step:
    """One inode's permission check; memoised, since a fleet shares its directories, and its
    thousand sockets of one owner, group and mode share a verdict whose text names no path."""
    try:
        key = (node.type, node.mode, node.owner, node.group, node.uid, node.gid, node.acl, node.has_acl,
               node.link_target, node.label, node.listening, node.trailing, creds, want, cap)
        step = _ANY_PATH.get(key)
        if step is None:
            step = _check_cached(node, creds, want, cap)
            path = node.path
            # the path may be in the text as it is or shell-quoted in a command
            if path and not any(form in step.text or any(form in cmd for cmd in step.settle)
                                for form in (path, _q(path))) and len(_ANY_PATH) < 8192:
                _ANY_PATH[key] = step
        return step
    except TypeError:  # an unhashable field slipped in: compute without the cache
        return _check_uncached(node, creds, want, cap)


_ANY_PATH: dict[tuple, "_Step"] = {}


def _check_uncached(node: Node, creds: Creds, want: int, cap: bool | None) -> _Step:
    who = f"worker {creds.label()}"
    if node.mode is None:
        if cap is True:
            return _Step("ok", None, "root", "root",
                         f"{who} is root with CAP_DAC_OVERRIDE: permission bits bypassed → ok", [])
        return _Step("unknown", None, None, "mode_unknown",
                     f"mode of {node.path} not shown → cannot tell", [f"namei -l {_q(node.path)}"])
    facts = _facts_for(node, creds, cap)

    def known(key: Any) -> bool:
        value = facts.get(key)
        if value is None:
            raise _Need(key)
        return value
    try:
        o = _dac(node, want, known, who)
        return _Step("ok" if o.allowed else "denied", None if o.allowed else EACCES,
                     o.class_used, o.why, o.text, [])
    except _Need:
        pass
    outcomes, unknown = _resolve(facts, lambda ask: _dac(node, want, ask, who))
    verdicts = {o.allowed for o in outcomes}
    classes = {o.class_used for o in outcomes}
    whys = {o.why for o in outcomes}
    klass = classes.pop() if len(classes) == 1 else None
    why = whys.pop() if len(whys) == 1 else None
    if len(verdicts) == 1:
        allowed = verdicts.pop()
        texts = {o.text for o in outcomes if o.text}
        if len(texts) == 1:
            text = texts.pop()
        else:
            need = perm_string(want).replace("-", "")
            doubts = "; ".join(_unknown_lines(k, node, creds)[0] for k in sorted(unknown, key=str))
            text = (f"needs {need}: {'granted' if allowed else 'refused'} whichever class "
                    f"applies ({doubts}) → {'ok' if allowed else 'EACCES'}")
        return _Step("ok" if allowed else "denied", None if allowed else EACCES, klass, why,
                     text, [])
    doubts, settle = [], []
    for key in sorted(unknown, key=str):
        line, cmds = _unknown_lines(key, node, creds)
        doubts.append(line)
        settle.extend(c for c in cmds if c not in settle)
    return _Step("unknown", None, klass, why, "; ".join(doubts) + " → cannot tell", settle)


_check_cached = lru_cache(maxsize=8192)(_check_uncached)


# --- the walk ------------------------------------------------------------------------------------

def decide(creds: Creds, components: list[Node], protected_symlinks: bool | None = True,
           cap_dac_override: bool | None = None) -> Decision:
    """Would ``connect()`` by ``creds`` to the last component succeed, and why not?

    ``components`` is the walk in kernel order: ``/``, each directory down to the socket; a
    symlink is followed by the walk of its target (``/`` first for an absolute target, the next
    name for a relative one), as ``namei -l`` prints it (see ``components_for``).
    ``cap_dac_override`` None means "root has it" (uid 0 keeps its capabilities; nginx workers that
    setuid() away from root drop them)."""
    cap = cap_dac_override if cap_dac_override is not None else creds.is_root()
    if not components:
        return Decision(None, None, None, "unknown", None, None, [], ["namei -l PATH"],
                        ["no path components shown"])
    try:  # `check` asks for the same walks as the analysis did: answer from memory
        key = (creds, tuple(components), protected_symlinks, cap)
        known = _DECIDED.get(key)
    except TypeError:  # an unhashable field slipped in
        return _decide(creds, components, protected_symlinks, cap)
    if known is None:
        known = _DECIDED[key] = _decide(creds, components, protected_symlinks, cap)
        if len(_DECIDED) > 16384:
            _DECIDED.pop(next(iter(_DECIDED)))
    return known


_DECIDED: dict[tuple, "Decision"] = {}  # Decisions are shared: callers only read them


def _decide(creds: Creds, components: list[Node], protected_symlinks: bool | None, cap: bool | None) -> Decision:
    state = None
    if len(components) > 1 and not any(n.type == "symlink" for n in components):
        # a fleet's sockets share their directories: walk them once per (creds, directories)
        try:
            head = _walk_dirs(creds, tuple(components[:-1]), cap)
        except TypeError:  # an unhashable field slipped in
            head = None
        if isinstance(head, Decision):
            return replace(head, trace=list(head.trace), settle=list(head.settle), notes=list(head.notes))
        state = head
    return _walk(creds, components, protected_symlinks, cap, state)


@dataclass
class _WalkState:
    """Where a walk stands after some components: resumed by _walk at ``next_index``."""
    next_index: int
    trace: list
    settle: list
    notes: list
    unknown_at: int | None
    symlinks: int


@lru_cache(maxsize=8192)
def _walk_dirs(creds: Creds, dirs: tuple[Node, ...], cap: bool | None) -> "Decision | _WalkState":
    """The walk of these directories, resumed from the walk of all but the last one: sites with a
    socket directory each share everything above it."""
    state = None
    if len(dirs) > 1:
        state = _walk_dirs(creds, dirs[:-1], cap)
        if isinstance(state, Decision):  # refused above: the longer walk stops at the same place
            return state
    return _walk(creds, list(dirs), True, cap, state, prefix_only=True)


def _walk(creds: Creds, components: list[Node], protected_symlinks: bool | None, cap: bool | None,
          state: _WalkState | None, prefix_only: bool = False) -> "Decision | _WalkState":
    """The kernel's walk from ``state`` (or the start) to the end; with ``prefix_only`` no
    component is the last one and the state after the walk is returned instead of a verdict."""
    who = f"worker {creds.label()}"
    if state is None:
        state = _WalkState(0, [], [], [], None, 0)
    trace: list[TraceStep] = list(state.trace)
    settle: list[str] = list(state.settle)
    notes: list[str] = list(state.notes)
    unknown_at: int | None = state.unknown_at
    symlinks = state.symlinks

    def add(i: int, node: Node, needed: str, step: _Step) -> None:
        nonlocal unknown_at
        shown = node.shown()
        line = f"{node.path or '?'}  {shown}  {step.text}"
        trace.append(TraceStep(node.path, shown, needed, step.class_used, step.verdict,
                               line, step.errno))
        for cmd in step.settle:
            if cmd not in settle:
                settle.append(cmd)
        if step.verdict == "unknown" and unknown_at is None:
            unknown_at = i

    def fail(i: int, errno: int, reason: str, step: _Step) -> Decision:
        if unknown_at is not None:
            notes.append(f"component {unknown_at} ({components[unknown_at].path}) could not be "
                         f"checked; if it also fails, its error comes first")
        return Decision(False, errno, i, reason, step.why, step.class_used, trace, settle, notes)

    last_index = len(components) if prefix_only else len(components) - 1
    inferred = _trailing_links(components) if not prefix_only and any(
        n.type == "symlink" for n in components) else {}
    for i in range(state.next_index, len(components)):
        node = components[i]
        last = i == last_index
        if node.type == "missing":
            step = _Step("denied", ENOENT, None, "missing",
                         "does not exist (in the worker's mount namespace) → ENOENT", [])
            add(i, node, "exists", step)
            return fail(i, ENOENT, "missing", step)
        if node.type == "symlink":
            symlinks += 1
            if symlinks > MAXSYMLINKS:
                step = _Step("denied", ELOOP, None, "loop", "too many symlinks → ELOOP", [])
                add(i, node, "follow", step)
                return fail(i, ELOOP, "loop", step)
            parent = components[i - 1] if i > 0 else None
            trailing = node.trailing if node.trailing is not None else inferred.get(i)
            step = _follow(node, parent, creds, protected_symlinks, trailing)
            add(i, node, "follow", step)
            if step.verdict == "denied":
                return fail(i, EACCES, "protected_symlink", step)
            if last:
                trace.pop()
                add(i, node, "follow", _Step("unknown", None, None, None,
                                             step.text + "; its target is not shown",
                                             step.settle + [f"namei -l {_q(node.path)}"]))
            continue
        if node.type == "unknown" and not last:
            step = _check(node, creds, 1, cap) if node.mode is not None else _Step(
                "unknown", None, None, None, "not shown → cannot tell",
                [f"namei -l {_q(node.path)}"])
            if step.verdict != "unknown":  # not a directory would be ENOTDIR instead
                step = _Step("unknown", None, step.class_used, step.why,
                             f"type not shown; if it is a directory: {step.text}",
                             [f"namei -l {_q(node.path)}"])
            add(i, node, "x", step)
            continue
        if not last:
            if node.type != "dir":
                step = _Step("denied", ENOTDIR, None, "not_dir",
                             "is not a directory but the path continues → ENOTDIR", [])
                add(i, node, "x", step)
                return fail(i, ENOTDIR, "not_dir", step)
            step = _check(node, creds, 1, cap)
            add(i, node, "x", step)
            if step.verdict == "denied":
                return fail(i, EACCES, "dir_no_search", step)
            continue
        # the last component: write permission, then "is it a socket", then "is anyone listening"
        if node.type == "unknown":
            step = _check(node, creds, 2, cap) if node.mode is not None else _Step(
                "unknown", None, None, None, "not shown → cannot tell",
                [f"namei -l {_q(node.path)}"])
            add(i, node, "w", step)
            if step.verdict == "denied":
                return fail(i, EACCES, "no_write", step)
            if step.verdict == "ok":
                trace.pop()
                add(i, node, "w", _Step("unknown", None, step.class_used, step.why,
                                        step.text + "; but whether it is a socket is not shown",
                                        [f"ls -l {_q(node.path)}"]))
            break
        step = _check(node, creds, 2, cap)
        if node.type != "socket" and step.verdict == "ok":
            step = _Step("denied", ECONNREFUSED, step.class_used, "not_socket",
                         step.text + f"; but it is a {node.type}, not a socket → ECONNREFUSED",
                         [])
            add(i, node, "w", step)
            return fail(i, ECONNREFUSED, "not_socket", step)
        if node.type == "socket" and step.verdict == "ok" and node.listening is False:
            step = _Step("denied", ECONNREFUSED, step.class_used, "no_listener",
                         step.text + "; but no process listens on it (stale socket file) → "
                         "ECONNREFUSED", [])
            add(i, node, "w", step)
            return fail(i, ECONNREFUSED, "no_listener", step)
        add(i, node, "w", step)
        if step.verdict == "denied":
            return fail(i, EACCES, "socket_no_write" if node.type == "socket" else "no_write",
                        step)
        if step.verdict == "ok" and node.type == "socket" and node.listening is None:
            notes.append(f"{who} may connect; whether a server listens on it is not shown "
                         f"(ss -xlp)")
    if prefix_only:
        return _WalkState(len(components), trace, settle, notes, unknown_at, symlinks)
    if unknown_at is not None:
        return Decision(None, None, unknown_at, "unknown", None, None, trace, settle, notes)
    final = trace[-1]
    return Decision(True, None, None, "ok", None, final.class_used, trace, settle, notes)


def _trailing_links(components: list[Node]) -> dict[int, bool | None]:
    """For each symlink in a hand-built walk: is it a trailing link? Each name after ``/``
    consumes one name of the innermost link body still open; a link whose body ends at the end of
    the walk is trailing, one followed by more names is not, one whose body is cut short (the
    walk failed inside it) cannot be told."""
    frames: list[list[int]] = []  # [link index, names left in its target]
    ends: dict[int, int] = {}
    expect_root = False
    for i, node in enumerate(components):
        if i == 0 or (expect_root and node.path == "/"):
            expect_root = False
            continue
        expect_root = False
        if frames:
            frames[-1][1] -= 1
        if node.type == "symlink" and node.link_target:
            names = [p for p in node.link_target.split("/") if p and p != "."]
            frames.append([i, len(names)])
            expect_root = node.link_target.startswith("/")
        while frames and frames[-1][1] <= 0:
            ends[frames.pop()[0]] = i
    last = len(components) - 1
    out: dict[int, bool | None] = {}
    for i, node in enumerate(components):
        if node.type != "symlink":
            continue
        if i in ends:
            cut_short = components[last].type not in ("socket", "file", "fifo", "dir", "char",
                                                      "block")
            out[i] = False if ends[i] < last else (None if cut_short else True)
        else:
            out[i] = True if i == last else None
    return out


def _follow(link: Node, parent: Node | None, creds: Creds,
            protected: bool | None, trailing: bool | None = True) -> _Step:
    """``may_follow_link()``: fs.protected_symlinks in a sticky, world-writable directory,
    checked only for trailing links."""
    who = f"worker {creds.label()}"
    if protected is False:
        return _Step("ok", None, None, None, "symlink followed (fs.protected_symlinks=0)", [])
    if trailing is False:
        return _Step("ok", None, None, None, "symlink in the middle of the path: followed "
                     "(fs.protected_symlinks only guards the last name)", [])
    owns = _tri_same_user(creds, link.owner_id, link.owner_name)
    if owns is True:
        return _Step("ok", None, None, None, f"symlink owned by {who}: followed", [])
    if parent is None or parent.mode is None:
        sticky_ww = None
    else:
        sticky_ww = bool(parent.sticky and parent.world_writable)
    if sticky_ww is False:
        return _Step("ok", None, None, None,
                     "symlink followed (its directory is not sticky and world-writable)", [])
    same_owner = None
    if parent is not None:
        if link.owner_id is not None and parent.owner_id is not None:
            same_owner = link.owner_id == parent.owner_id
        elif link.owner_name is not None and parent.owner_name is not None:
            same_owner = link.owner_name == parent.owner_name
    if same_owner is True and sticky_ww is not None:
        return _Step("ok", None, None, None,
                     "symlink owned by its sticky directory's owner: followed", [])
    if sticky_ww and same_owner is False and owns is False:
        if trailing is None:
            return _Step("unknown", None, None, "protected_symlink",
                         "symlink in a sticky world-writable directory: refused if it is the "
                         "last name of the path, which the walk shown does not tell → cannot "
                         "tell", [f"namei -l {_q(link.path)}"])
        if protected is None:
            return _Step("unknown", None, None, "protected_symlink",
                         f"symlink in a sticky world-writable directory, owned by "
                         f"{_opt(link.owner)}, not by {who} nor the directory owner: refused if "
                         f"fs.protected_symlinks=1 → cannot tell",
                         ["sysctl fs.protected_symlinks"])
        return _Step("denied", EACCES, None, "protected_symlink",
                     f"symlink in a sticky world-writable directory, owned by "
                     f"{_opt(link.owner)}, neither {who} nor the directory owner: "
                     f"fs.protected_symlinks refuses to follow it → EACCES", [])
    settle = [f"namei -l {_q(link.path)}"]
    if protected is None:
        settle.append("sysctl fs.protected_symlinks")
    return _Step("unknown", None, None, "protected_symlink",
                 "symlink: cannot tell whether fs.protected_symlinks refuses it "
                 "(owners or the directory's mode not shown)", settle)


# --- building the walk ---------------------------------------------------------------------------

def plain_path(path: str) -> bool:
    """Absolute, with no empty, ``.`` or ``..`` name: its walk is its directories' walk and itself
    (unless one of them is a symlink)."""
    return path.startswith("/") and "//" not in path and "/./" not in path and "/../" not in path \
        and not path.endswith(("/.", "/..", "/"))


def dir_walk(memo: dict, directory: str, step: Callable[[str], Any]) -> list | None:
    """The walk down to ``directory`` (``""`` for ``/``), remembered in ``memo`` so the sockets
    of a host share the walks of their common directories: ``step(path)`` gives the component for
    one directory, or None when the walk cannot go through it plainly (a symlink, missing, not a
    directory); then the walk is None for everything below, and nothing below is looked up."""
    if directory in memo:
        return memo[directory]
    above = [] if directory == "" else dir_walk(memo, directory.rpartition("/")[0], step)
    component = step(directory or "/") if above is not None else None
    walk = memo[directory] = None if component is None else [*above, component]
    return walk


def components_for(path: str, known: Mapping[str, Node] | Callable[[str], Node | None],
                   max_symlinks: int = MAXSYMLINKS) -> list[Node]:
    """The walk the kernel makes for ``path``, from the nodes the evidence shows.

    ``known`` maps absolute paths to nodes (or is a function). Paths not shown become
    ``Node(type='unknown')``; symlinks with a known target are followed like the kernel does
    (absolute targets restart at ``/``, relative ones continue in the link's directory)."""
    get = known if callable(known) else known.get
    out: list[Node] = []
    names = [p for p in path.split("/") if p]
    root = get("/") or Node("/", "unknown")
    out.append(root)
    cur = "/"
    todo = list(names)
    followed = 0
    while todo:
        name = todo.pop(0)
        if name == ".":
            continue
        if name == "..":
            cur = posixpath.dirname(cur) if cur != "/" else "/"
            out.append(get(cur) or Node(cur, "unknown"))
            continue
        child = cur + name if cur == "/" else cur + "/" + name
        node = get(child) or Node(child, "unknown")
        if node.type == "symlink":
            node = replace(node, trailing=not todo)
        out.append(node)
        if node.type == "symlink" and node.link_target:
            followed += 1
            if followed > max_symlinks:
                break
            target = node.link_target
            rest = [p for p in target.split("/") if p]
            if target.startswith("/"):
                cur = "/"
                out.append(get("/") or Node("/", "unknown"))
            todo = rest + todo
            continue
        if node.type == "missing":
            break
        if node.type not in ("dir", "unknown") and todo:
            out.append(Node(posixpath.join(child, todo[0]), "unknown"))  # → ENOTDIR
            break
        cur = child
    return out


def node_from_record(rec: Any, acl: Any = None, can_show_acl: bool | None = None) -> Node:
    """A ``records.FileNode`` (and optionally its ``records.AclRecord``) as a ``Node``.

    ``ls -l`` shows ``+`` for an ACL; ``stat``/``namei`` do not, and are taken as "no ACL" unless
    ``can_show_acl`` is False (then the ACL is unknown)."""
    has_acl: bool | None = bool(rec.has_acl)
    if not rec.has_acl and can_show_acl is False:
        has_acl = None
    entries = None
    if acl is not None:
        entries = tuple(e for e in acl.entries if not e.default)
        has_acl = _is_extended(entries) or bool(rec.has_acl)
    return Node(rec.path, rec.type if rec.type in NODE_TYPES else "unknown", rec.mode,
                rec.owner, rec.group, rec.uid, rec.gid, entries, has_acl, rec.link_target,
                rec.selinux_label)


# --- worker credentials (facts.md §2.1-2.3) ------------------------------------------------------

@dataclass(frozen=True)
class WorkerCreds:
    creds: Creds | None  # None when nginx would not start
    notes: list[str]
    errors: list[str]  # what nginx would log ([emerg] ... = it does not start)


def _rows(rows: Iterable[Any] | None, fields: tuple[str, ...]) -> list[tuple[Any, ...]]:
    out = []
    for row in rows or ():
        if isinstance(row, (tuple, list)):
            out.append(tuple(row[: len(fields)]))
        else:
            out.append(tuple(getattr(row, f) for f in fields))
    return out


def worker_credentials(user: str | None, group_opt: str | None,
                       passwd: Iterable[Any] | None, groups_db: Iterable[Any] | None,
                       master_is_root: bool | None = True, master_creds: Creds | None = None,
                       databases_complete: bool = True) -> WorkerCreds:
    """The credentials nginx workers get (``ngx_set_user`` + ``ngx_worker_process_init``).

    ``passwd`` rows are ``(name, uid, gid)`` (or ``PasswdRecord``), ``groups_db`` rows are
    ``(name, gid, members)`` (or ``GroupRecord``). ``user``/``group_opt`` are the ``user``
    directive's arguments (``user`` None = no directive). ``databases_complete`` False means the
    rows are an excerpt: absent names are unknown rather than lookup failures."""
    notes: list[str] = []
    errors: list[str] = []
    if master_is_root is False:
        if user is not None:
            errors.append('[warn] the "user" directive makes sense only if the master process '
                          'runs with super-user privileges, ignored')
        notes.append("master is not root: workers keep the master's uid, gid and supplementary "
                     "groups (a change needs a restart, not a reload)")
        return WorkerCreds(master_creds or Creds(), notes, errors)
    users = {name: (uid, gid) for name, uid, gid in _rows(passwd, ("name", "uid", "gid"))}
    groups = _rows(groups_db, ("name", "gid", "members"))
    by_name = {name: gid for name, gid, _ in groups}
    if user is None:
        user = "nobody"
        if group_opt is None:
            group_opt = "nobody" if "nobody" in by_name or "nogroup" not in by_name else "nogroup"
        notes.append(f"no user directive: compiled-in default user {user}, group {group_opt} "
                     f"(nginx -V shows --user/--group if the build set others)")
    if master_is_root is None:
        notes.append("assumed the master runs as root (the usual case)")
    uid = None
    primary = None
    if user in users:
        uid, primary = users[user]
    elif passwd is not None and databases_complete:
        errors.append(f'[emerg] getpwnam("{user}") failed')
        return WorkerCreds(None, notes, errors)
    else:
        notes.append(f"uid of {user} not shown (getent passwd {shlex.quote(user)})")
    if group_opt is None:
        group_name = user
        notes.append(f"user directive without a group: nginx uses the group named {user!r} "
                     f"(getgrnam), not the passwd primary group")
    else:
        group_name = group_opt
    gid = by_name.get(group_name)
    if group_name not in by_name:
        if groups_db is not None and databases_complete:
            errors.append(f'[emerg] getgrnam("{group_name}") failed')
            return WorkerCreds(None, notes, errors)
        notes.append(f"gid of group {group_name} not shown (getent group "
                     f"{shlex.quote(group_name)})")
    if primary is not None and gid is not None and primary != gid:
        prim_name = next((n for n, g, _ in groups if g == primary), str(primary))
        notes.append(f"{user}'s passwd primary group {prim_name} ({primary}) is not among the "
                     f"worker's groups (initgroups adds only {group_name} and groups listing "
                     f"{user} as a member)")
    member_of = [(name, g) for name, g, members in groups
                 if user in tuple(members or ()) and name != group_name]
    complete = groups_db is not None and databases_complete
    ids = frozenset(g for _, g in member_of if g is not None) | (
        frozenset({gid}) if gid is not None else frozenset())
    names = frozenset(n for n, _ in member_of) | {group_name}
    complete = complete and gid is not None and all(g is not None for _, g in member_of)
    if master_creds is not None and master_creds.groups:
        extra = set(master_creds.groups) - set(ids)
        if extra:
            notes.append("the master's supplementary groups "
                         f"({', '.join(str(g) for g in sorted(extra))}) are discarded: "
                         "initgroups() replaces them (--group-add, fsGroup, SupplementaryGroups= "
                         "never reach root-started workers)")
    if uid == 0:
        notes.append("workers run as root and keep CAP_DAC_OVERRIDE")
    creds = Creds(uid=uid, gid=gid, groups=ids, user=user, group=group_name, group_names=names,
                  groups_complete=complete)
    return WorkerCreds(creds, notes, errors)
