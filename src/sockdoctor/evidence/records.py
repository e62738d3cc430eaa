"""Plain, typed evidence records.

Every reader turns text into a list of these. Each record carries a ``Source``: the input it came
from and the line (1-based, in that input). Records are frozen dataclasses so they can be shared
between the model, the rules, the renderers and the browser build without copying.

Conventions:
- ``mode`` is the permission part of st_mode as an int, including setuid/setgid/sticky (0o7777 mask).
- ``owner``/``group`` hold the text as shown (a name, or digits when ``ls -n``/containers show ids);
  ``uid``/``gid`` are set when the number is known.
- ``path`` is absolute when the evidence shows it; ``None`` when it does not.
"""
from __future__ import annotations

from sockdoctor._dataclass import dataclass, field

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class Source:
    input: str
    line: int
    column: int = 0
    text: str = ""

    def ref(self) -> str:
        return f"{self.input}:{self.line}"


# --- files and permissions -------------------------------------------------------------------

@dataclass(frozen=True)
class FileNode:
    """One filesystem object as shown by ls / stat / namei / find."""
    path: str | None
    type: str  # socket dir file symlink fifo char block missing unknown
    mode: int | None
    owner: str | None
    group: str | None
    source: Source
    uid: int | None = None
    gid: int | None = None
    has_acl: bool = False
    selinux_label: str | None = None
    link_target: str | None = None
    inode: int | None = None
    tool: str = ""  # ls, stat, namei, find


@dataclass(frozen=True)
class AclEntry:
    tag: str  # user group mask other
    qualifier: str  # '' for the owning user/group entry, else a name or id
    perms: str  # 'rw-'
    effective: str | None = None
    default: bool = False


@dataclass(frozen=True)
class AclRecord:
    path: str | None
    owner: str | None
    group: str | None
    entries: tuple[AclEntry, ...]
    source: Source
    flags: str | None = None


# --- identities and processes ----------------------------------------------------------------

@dataclass(frozen=True)
class IdRecord:
    """`id USER` output."""
    user: str | None
    uid: int | None
    gid: int | None
    group: str | None
    groups: tuple[tuple[int | None, str | None], ...]
    source: Source


@dataclass(frozen=True)
class GroupRecord:
    name: str
    gid: int | None
    members: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class PasswdRecord:
    name: str
    uid: int | None
    gid: int | None
    gecos: str
    home: str
    shell: str
    source: Source


@dataclass(frozen=True)
class ProcessRecord:
    """One line of ps output. ``role`` is nginx_master, nginx_worker, php_fpm_master, php_fpm_worker,
    uwsgi, gunicorn, puma, unicorn, supervisord or other."""
    pid: int | None
    user: str | None
    command: str
    role: str
    source: Source
    ppid: int | None = None
    group: str | None = None
    started: str | None = None
    user_truncated: bool = False
    label: str | None = None  # ps -Z context


@dataclass(frozen=True)
class ProcStatus:
    """/proc/PID/status excerpt (Uid/Gid/Groups: real, effective, saved, fs)."""
    pid: int | None
    name: str | None
    uids: tuple[int, ...]
    gids: tuple[int, ...]
    groups: tuple[int, ...] | None
    source: Source


# --- nginx ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorLogEvent:
    """A connect() failure (or other socket-related line) from nginx's error.log."""
    level: str
    errno: int | None
    errtext: str | None
    socket: str | None  # path after unix: (may start with @)
    source: Source
    time: str | None = None
    pid: int | None = None
    connection: int | None = None
    upstream: str | None = None
    client: str | None = None
    server: str | None = None
    request: str | None = None
    host: str | None = None
    syscall: str = "connect"


@dataclass(frozen=True)
class NginxNotice:
    """Other nginx log lines that matter: kind is user_ignored, getpwnam_failed, getgrnam_failed,
    initgroups_failed, bind_failed."""
    kind: str
    name: str | None
    source: Source
    message: str = ""


# --- listeners, kernel, MAC ------------------------------------------------------------------

@dataclass(frozen=True)
class Listener:
    """A line of `ss -xl` / `/proc/net/unix`."""
    path: str | None
    socket_type: str  # stream dgram seqpacket
    state: str
    recv_q: int | None
    send_q: int | None
    source: Source
    process: str | None = None
    inode: int | None = None


@dataclass(frozen=True)
class SysctlRecord:
    key: str
    value: str
    source: Source


@dataclass(frozen=True)
class AvcDenial:
    perms: tuple[str, ...]
    tclass: str
    source: Source
    comm: str | None = None
    pid: int | None = None
    name: str | None = None
    path: str | None = None
    scontext: str | None = None
    tcontext: str | None = None
    permissive: bool = False


@dataclass(frozen=True)
class AppArmorDenial:
    operation: str | None
    profile: str | None
    name: str | None
    source: Source
    requested: str | None = None
    denied: str | None = None
    comm: str | None = None
    fsuid: int | None = None
    ouid: int | None = None


@dataclass(frozen=True)
class MacStatus:
    """getenforce / sestatus / aa-status: system is selinux or apparmor; mode as printed."""
    system: str
    mode: str
    source: Source
    profiles: tuple[tuple[str, str], ...] = ()  # (profile, enforce|complain)


# --- configuration files ---------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    section: str  # ini/unit section ('' when the format has none)
    key: str
    value: str | None  # None for a bare flag (uWSGI `chmod-socket` without value)
    source: Source
    commented: bool = False  # `;listen.owner = x` kept so diffs can uncomment it


@dataclass(frozen=True)
class ConfigFile:
    """A key/value configuration: kind is systemd_unit, systemctl_show, php_fpm, uwsgi, gunicorn,
    puma, unicorn, supervisord, tmpfiles, apparmor_profile.

    ``path`` is the file's real path when the evidence names it (``# /etc/...`` header of
    ``systemctl cat``, the ``cat`` command that printed it), else the input name. ``lines`` is the
    file's text so fixes can produce unified diffs against it; ``first_line`` is where the file's
    line 1 sits in the input."""
    kind: str
    path: str
    settings: tuple[Setting, ...]
    lines: tuple[str, ...]
    source: Source
    first_line: int = 1
    path_known: bool = False

    def get(self, key: str, section: str | None = None) -> Setting | None:
        found = None
        for s in self.settings:
            if s.key == key and not s.commented and (section is None or s.section == section):
                found = s
        return found

    def get_all(self, key: str, section: str | None = None) -> list[Setting]:
        return [s for s in self.settings
                if s.key == key and not s.commented and (section is None or s.section == section)]


@dataclass(frozen=True)
class CommandLine:
    """An app-server command line (from ps, ExecStart=, compose command:, supervisord, Procfile)."""
    program: str  # gunicorn uwsgi puma unicorn php-fpm other
    argv: tuple[str, ...]
    options: tuple[tuple[str, str | None], ...]  # normalised long names, e.g. ('bind', 'unix:/x')
    source: Source


@dataclass(frozen=True)
class ContainerSpec:
    """One container from a Dockerfile, compose service or Kubernetes pod spec.

    kind: dockerfile, compose_service, k8s_container. Ids are kept as text ('1000', 'app', '1000:1000').
    """
    kind: str
    name: str
    source: Source
    path: str = ""
    image: str | None = None
    user: str | None = None
    group_add: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    run_as_user: int | None = None
    run_as_group: int | None = None
    fs_group: int | None = None
    supplemental_groups: tuple[int, ...] = ()
    settings: tuple[Setting, ...] = ()  # per-key provenance (user, group_add, command, ...)
    lines: tuple[str, ...] = ()
    first_line: int = 1


@dataclass(frozen=True)
class LogFact:
    """A fact read from a journal, app log, dmesg or command output that is not one of the above.

    kind (data keys): usermod_group_add (user, group), unit_failed (unit, status, reason),
    oom_kill (pid, comm), uwsgi_chmod_666 (), app_listening (program, address),
    chown_failed (path), access_status (status, path), curl_ok (user, socket), privatetmp (unit, value),
    mount_namespace_missing (path), group_lookup_failed (group), setpriv_probe (user, ok, errno)."""
    kind: str
    data: dict[str, Any]
    source: Source


@dataclass(frozen=True)
class CommandRun:
    """A command the user ran whose output follows in the paste (the shell prompt line).

    Lets the model tell "ss -xl printed nothing" from "ss -xl was not run"."""
    command: str
    kind: str  # the kind of its output
    empty: bool
    source: Source


# --- nginx config (produced by sockdoctor.nginx) ---------------------------------------------

@dataclass(frozen=True)
class NginxSocketRef:
    """A place where nginx config names a Unix socket."""
    path: str | None  # None when it holds variables
    directive: str  # proxy_pass fastcgi_pass uwsgi_pass scgi_pass grpc_pass memcached_pass server listen
    raw: str
    source: Source  # input + line in that input
    file: str  # config file path as nginx knows it
    file_line: int
    abstract: bool = False
    variable: bool = False
    upstream: str | None = None  # the upstream{} name when reached through one
    listen: bool = False  # nginx itself serves it (listen unix:)


@dataclass(frozen=True)
class NginxConfigRecord:
    """A parsed nginx configuration (one file, an include tree or an `nginx -T` dump).

    ``files`` maps each config file's path to its lines; ``directives`` is the crossplane-like
    payload of the main file with includes resolved (see sockdoctor.nginx.parser)."""
    main_file: str
    files: dict[str, tuple[str, ...]]
    user: tuple[str, ...] | None  # args of the `user` directive
    user_source: Source | None
    user_file_line: tuple[str, int] | None
    sockets: tuple[NginxSocketRef, ...]
    source: Source
    pid_file: str | None = None
    error_logs: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    file_offsets: dict[str, int] = field(default_factory=dict)  # file -> input line of its line 1
    tree: Any = None
    path_known: bool = False  # main_file is the real path (dump marker, `cat PATH`, `# /etc/...` header)


# --- reading diagnostics ---------------------------------------------------------------------

@dataclass(frozen=True)
class Unrecognized:
    """A piece of input no reader claimed."""
    source: Source
    lines: int
    reason: str


@dataclass(frozen=True)
class ReadWarning:
    source: Source
    message: str


Record = object  # any of the record classes above
