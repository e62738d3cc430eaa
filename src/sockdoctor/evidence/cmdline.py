"""App-server command lines -> CommandLine records.

Shared by the readers (systemd ExecStart=, supervisord command=, Dockerfile CMD, compose
command:, ps lines, systemctl status) and the model. Recognises gunicorn, uWSGI, puma, unicorn
and php-fpm, including their process titles (`gunicorn: master [app]`, `php-fpm: master process
(/etc/php-fpm.conf)`, `puma 6.4.2 (unix:///run/x.sock) [app]`), behind wrappers (env
assignments, `env`, `exec`, `sudo -u`, `gosu`, `su-exec`, `chpst -u`, `runuser -u`, `setpriv`,
`tini --`, `bundle exec`, `python -m`, `/usr/bin/python3 /usr/local/bin/gunicorn`, `sh -c "..."`).

Options come back under the program's long names (`-b` -> `bind`, `-C` -> `chmod-socket`);
uWSGI's `_` spelling is normalised to `-`. Values are kept as written (`--umask 007` -> '007').
A flag has the value None. Positional arguments: gunicorn's app -> `app`; uWSGI's config file
-> `ini`/`yaml`/`xml`/`json`; puma/unicorn rackup -> `rackup`. A user set by a wrapper (`gosu app
gunicorn ...`) is recorded as `wrapper-user`.

uWSGI's `chmod-socket` takes an *optional* value (getopt optional_argument): only `--chmod-socket=660`
or `-C660` carry the value; with `--chmod-socket 660` uWSGI (2.0.21, tried) takes `660` as a
config file and exits ("unable to load configuration from 660"). That stray argument is recorded
as (`chmod-socket-stray`, '660') next to (`chmod-socket`, None) so the model can say so.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence

from sockdoctor import _lazyre
from sockdoctor.evidence.records import CommandLine, Source

# program -> (short option -> long name, long names that take no value, long names with an
# optional attached value, long names that take a value; unknown long options are guessed)
_SPEC: dict[str, dict] = {
    "gunicorn": {
        "short": {"b": "bind", "m": "umask", "u": "user", "g": "group", "w": "workers", "c": "config",
                  "D": "daemon", "k": "worker-class", "t": "timeout", "p": "pid", "n": "name", "e": "env",
                  "R": "enable-stdio-inheritance", "v": "version"},
        "flags": {"daemon", "initgroups", "preload", "reload", "capture-output", "check-config",
                  "print-config", "spew", "reuse-port", "no-sendfile", "strip-header-spaces",
                  "enable-stdio-inheritance", "proxy-protocol", "version", "help", "log-syslog",
                  "disable-redirect-access-to-syslog", "do-handshake-on-connect", "suppress-ragged-eofs",
                  "preload-app"},
        "optional": set(),
        "default_value": True,
        "alias": {"preload-app": "preload"},
    },
    "uwsgi": {
        "short": {"s": "socket", "C": "chmod-socket", "l": "listen", "M": "master", "p": "processes",
                  "b": "buffer-size", "d": "daemonize", "x": "xmlconfig", "y": "yaml", "j": "json",
                  "w": "module", "H": "home", "T": "enable-threads", "L": "disable-logging",
                  "t": "harakiri", "R": "max-requests"},
        "flags": {"master", "vacuum", "die-on-term", "enable-threads", "lazy-apps", "lazy", "thunder-lock",
                  "single-interpreter", "no-orphans", "strict", "need-app", "disable-logging",
                  "memory-report", "auto-procname", "harakiri-verbose", "honour-stdin", "catch-exceptions",
                  "close-on-exec", "vhost", "no-site", "log-master", "logto-stderr", "cheap",
                  "py-tracebacker", "offload-threads-none", "reload-on-exception", "master-as-root",
                  "drop-after-init", "drop-after-apps", "abstract-socket", "py-autoreload-none",
                  "show-config", "version", "help", "https-export-cert", "log-x-forwarded-for",
                  "enable-proxy-protocol", "skip-atexit", "manage-script-name", "log-4xx", "log-5xx",
                  "log-slow", "log-zero", "log-big", "log-sendfile", "log-ioerror", "memory-report",
                  "cache-no-expire"},
        "optional": {"chmod-socket", "log-date", "logdate"},
        "default_value": True,
        "alias": {"chmod": "chmod-socket", "uwsgi-socket": "socket", "logdate": "log-date",
                  "workers": "processes", "wsgi": "module", "venv": "home", "virtualenv": "home",
                  "pyhome": "home"},
    },
    "puma": {
        "short": {"b": "bind", "C": "config", "w": "workers", "t": "threads", "p": "port", "e": "environment",
                  "d": "daemon", "q": "quiet", "v": "verbose", "S": "state", "I": "include", "s": "silent",
                  "V": "version"},
        "flags": {"daemon", "quiet", "verbose", "debug", "preload", "prune-bundler", "redirect-append",
                  "silent", "early-hints", "log-requests", "version", "help", "no-config"},
        "optional": {"fork-worker"},
        "default_value": True,
        "alias": {},
    },
    "unicorn": {
        "short": {"l": "listen", "c": "config-file", "E": "env", "D": "daemonize", "o": "host", "p": "port",
                  "N": "no-default-middleware", "I": "include", "r": "require", "d": "debug", "w": "warn",
                  "v": "version"},
        "flags": {"daemonize", "no-default-middleware", "debug", "warn", "version", "help"},
        "optional": set(),
        "default_value": True,
        "alias": {},
    },
    "php-fpm": {
        "short": {"y": "fpm-config", "c": "php-ini", "F": "nodaemonize", "D": "daemonize",
                  "R": "allow-to-run-as-root", "p": "prefix", "g": "pid", "t": "test", "O": "force-stderr",
                  "n": "no-php-ini", "e": "php-info", "v": "version", "i": "info", "m": "modules"},
        "flags": {"nodaemonize", "daemonize", "allow-to-run-as-root", "test", "force-stderr", "no-php-ini",
                  "version", "help", "info", "modules", "php-info"},
        "optional": set(),
        "default_value": True,
        "alias": {},
    },
}

_PROGRAM_NAMES = [
    ("gunicorn", _lazyre.compile(r"^gunicorn(?:\d[\d.]*)?(?:_django|_paster)?(?::)?$")),
    ("uwsgi", _lazyre.compile(r"^uwsgi(?:[_-][\w.]+)?(?::)?$", re.I)),
    ("puma", _lazyre.compile(r"^puma(?::)?$")),
    ("unicorn", _lazyre.compile(r"^unicorn(?:_rails)?(?::)?$")),
    ("php-fpm", _lazyre.compile(r"^(?:php-?fpm[\d.]*|php[\d.]+-fpm)(?::)?$")),
]

_PYTHON = _lazyre.compile(r"^(?:python|pypy)[\d.]*$")
_RUBY = _lazyre.compile(r"^ruby[\d.]*$")
_ENV_ASSIGN = _lazyre.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_RUNNERS = {("bundle", "exec"), ("pipenv", "run"), ("poetry", "run"), ("uv", "run"), ("pdm", "run"),
            ("hatch", "run"), ("rye", "run"), ("newrelic-admin", "run-program"), ("foreman", "run")}
_PASS_THROUGH = {"exec", "nohup", "command", "stdbuf", "time", "ddtrace-run", "opentelemetry-instrument",
                 "dumb-init", "catchsegv", "authbind", "doppler"}
_USER_WRAPPERS = {"gosu", "su-exec", "setuidgid", "s6-setuidgid"}
_SHELLS = {"sh", "bash", "dash", "ash", "zsh"}


MAX_SHLEX_CHARS = 16_384  # shlex is slow on huge strings; longer "commands" are split on spaces


def program_of(name: str) -> str | None:
    """'gunicorn', 'uwsgi', 'puma', 'unicorn', 'php-fpm' for a program path or name, else None."""
    base = posixpath.basename(name.strip())
    for prog, rx in _PROGRAM_NAMES:
        if rx.match(base):
            return prog
    return None


def split(text: str) -> list[str]:
    """shlex-split a command string; backslash-newline joins lines; bad quoting falls back to spaces."""
    text = re.sub(r"\\\r?\n", " ", text)
    if len(text) > MAX_SHLEX_CHARS:
        return text.split()
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return text.split()


def _unwrap(argv: list[str]) -> tuple[list[str], str | None]:
    """Remove wrappers in front of the real program; returns (argv, user set by a wrapper)."""
    user = None
    for _ in range(12):
        if not argv:
            break
        first = argv[0].lstrip("@-:+!") if argv[0][:1] in "@-:+!" else argv[0]
        argv = [first] + argv[1:] if first else argv[1:]
        if not argv:
            break
        base = posixpath.basename(argv[0])
        if _ENV_ASSIGN.match(argv[0]):
            argv = argv[1:]
        elif base == "env":
            i = 1
            while i < len(argv) and (argv[i].startswith("-") or _ENV_ASSIGN.match(argv[i])):
                i += 2 if argv[i] in ("-u", "--unset", "-C", "--chdir", "-S") else 1
            argv = argv[i:]
        elif base in ("sudo", "doas"):
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                opt = argv[i]
                if opt == "--":
                    i += 1
                    break
                if opt in ("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"):
                    if opt == "-u" and i + 1 < len(argv):
                        user = argv[i + 1]
                    i += 2
                    continue
                if opt.startswith("--user="):
                    user = opt.split("=", 1)[1]
                i += 1
            argv = argv[i:]
        elif base in ("nice", "ionice", "timeout", "chrt", "taskset"):
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                i += 2 if argv[i] in ("-n", "-c", "-s", "-k", "-p") else 1
            if base in ("timeout", "chrt", "taskset") and i < len(argv):
                i += 1  # the duration / priority / cpu mask
            argv = argv[i:]
        elif base in ("tini", "tini-static"):
            argv = argv[argv.index("--") + 1:] if "--" in argv else [a for a in argv[1:] if not a.startswith("-")]
        elif base in _PASS_THROUGH:
            argv = argv[1:]
        elif base in _USER_WRAPPERS and len(argv) > 2:
            user = argv[1]
            argv = argv[2:]
        elif base == "chpst":
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                if argv[i] in ("-u", "-U") and i + 1 < len(argv):
                    user = argv[i + 1]
                    i += 2
                elif argv[i] in ("-e", "-n", "-l", "-L", "-m", "-d", "-o", "-p", "-f", "-c", "-r", "-t", "-/"):
                    i += 2
                else:
                    i += 1
            argv = argv[i:]
        elif base == "runuser" and "-u" in argv:
            j = argv.index("-u")
            user = argv[j + 1] if j + 1 < len(argv) else None
            rest = argv[j + 2:]
            argv = rest[1:] if rest[:1] == ["--"] else rest
        elif base == "setpriv":
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                opt = argv[i]
                if opt == "--":
                    i += 1
                    break
                if opt.startswith(("--reuid=", "--ruid=", "--euid=")):
                    user = opt.split("=", 1)[1]
                elif opt in ("--reuid", "--ruid", "--euid", "--regid", "--rgid", "--egid", "--groups",
                             "--securebits", "--pdeathsig", "--selinux-label", "--apparmor-profile",
                             "--inh-caps", "--ambient-caps", "--bounding-set") and i + 1 < len(argv):
                    if opt in ("--reuid", "--ruid", "--euid"):
                        user = argv[i + 1]
                    i += 1
                i += 1
            argv = argv[i:]
        elif base in _SHELLS and len(argv) >= 3 and argv[1] in ("-c", "-lc", "-ec", "-xc"):
            inner, inner_user = _unwrap(_first_simple_command(split(argv[2])))
            return inner, inner_user or user
        elif len(argv) > 1 and (base, argv[1]) in _RUNNERS:
            argv = argv[2:]
        elif base == "bundle" and len(argv) > 1 and argv[1] == "exec":
            argv = argv[2:]
        elif _PYTHON.match(base):
            i = 1
            while i < len(argv) and argv[i].startswith("-") and argv[i] != "-m":
                i += 2 if argv[i] in ("-X", "-W", "-c") else 1
            if i < len(argv) and argv[i] == "-m":
                argv = argv[i + 1:]
            elif i < len(argv) and argv[i].startswith("-m") and len(argv[i]) > 2:
                argv = [argv[i][2:]] + argv[i + 1:]
            else:
                argv = argv[i:]
            if not argv:
                break
        elif _RUBY.match(base):
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                i += 2 if argv[i] in ("-I", "-r", "-C", "-E") else 1
            argv = argv[i:]
        else:
            break
    return argv, user


def _first_simple_command(tokens: list[str]) -> list[str]:
    """`cd /srv && exec gunicorn ...` -> the segment that runs an app server (else the last one)."""
    segs: list[list[str]] = [[]]
    for tok in tokens:
        if tok in ("&&", "||", ";", "|") or tok.endswith(";") and tok != ";" and tok.rstrip(";") == "":
            segs.append([])
        elif tok.endswith(";") and len(tok) > 1:
            segs[-1].append(tok[:-1])
            segs.append([])
        else:
            segs[-1].append(tok)
    segs = [s for s in segs if s]
    for seg in segs:
        inner, _ = _unwrap(list(seg))
        if inner and program_of(inner[0]):
            return seg
    return segs[-1] if segs else []


def _proctitle(argv: list[str]) -> tuple[str, list[tuple[str, str | None]], list[str]] | None:
    """Process titles that are not argv: gunicorn/php-fpm/puma/uWSGI/unicorn set their own."""
    if not argv:
        return None
    joined = " ".join(argv)
    m = re.match(r"^(?:\S*/)?(php-?fpm[\d.]*|php[\d.]+-fpm): master process \((.*)\)", joined)
    if m:
        return "php-fpm", [("role", "master"), ("fpm-config", m.group(2))], []
    m = re.match(r"^(?:\S*/)?(php-?fpm[\d.]*|php[\d.]+-fpm): pool (\S+)", joined)
    if m:
        return "php-fpm", [("role", "worker"), ("pool", m.group(2))], []
    m = re.match(r"^gunicorn: (master|worker) \[(.*)\]", joined)
    if m:
        return "gunicorn", [("role", m.group(1)), ("app", m.group(2))], []
    m = re.match(r"^puma (\d[\w.]*) \((.*?)\)(?: \[(.*)\])?", joined)
    if m:
        opts = [("role", "master"), ("version", m.group(1))]
        opts += [("bind", b.strip()) for b in m.group(2).split(",") if b.strip()]
        return "puma", opts, []
    m = re.match(r"^puma: cluster worker (\d+): (\d+)", joined)
    if m:
        return "puma", [("role", "worker"), ("worker", m.group(1)), ("master-pid", m.group(2))], []
    m = re.match(r"^uWSGI (master|worker \d+|http \d+)$", joined)
    if m:
        return "uwsgi", [("role", m.group(1).split()[0])], []
    m = re.match(r"^(unicorn(?:_rails)?) (master|worker\[\d+\])(?: \(old\))? ?(.*)$", joined)
    if m:
        role = "master" if m.group(2) == "master" else "worker"
        return "unicorn", [("role", role)], split(m.group(3))
    return None


def _parse_options(program: str, args: list[str]) -> list[tuple[str, str | None]]:
    spec = _SPEC[program]
    shorts, flags, optional, alias = spec["short"], spec["flags"], spec["optional"], spec["alias"]
    out: list[tuple[str, str | None]] = []

    def norm(name: str) -> str:
        if program == "uwsgi":
            name = name.replace("_", "-")
        return alias.get(name, name)

    positional: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            positional.extend(args[i:])
            break
        if a.startswith("--") and len(a) > 2:
            name, eq, val = a[2:].partition("=")
            name = norm(name)
            if eq:
                out.append((name, val))
            elif name in flags:
                out.append((name, None))
            elif name in optional:
                out.append((name, None))
                if program == "uwsgi" and name == "chmod-socket" and i < len(args) \
                        and re.fullmatch(r"[0-7]{3,4}", args[i]):
                    out.append(("chmod-socket-stray", args[i]))
                    i += 1
            elif i < len(args) and not (args[i].startswith("-") and len(args[i]) > 1):
                out.append((name, args[i]))
                i += 1
            else:
                out.append((name, None))
            continue
        if a.startswith("-") and len(a) > 1 and not re.fullmatch(r"-\d+", a):
            # program-specific long options with one dash are rare; uWSGI accepts `-socket`? no.
            j = 1
            while j < len(a):
                ch = a[j]
                name = norm(shorts.get(ch, ch))
                rest = a[j + 1:]
                if name in flags:
                    out.append((name, None))
                    j += 1
                    continue
                if name in optional:
                    out.append((name, rest or None))
                    if not rest and program == "uwsgi" and name == "chmod-socket" and i < len(args) \
                            and re.fullmatch(r"[0-7]{3,4}", args[i]):
                        out.append(("chmod-socket-stray", args[i]))
                        i += 1
                    break
                if rest:
                    out.append((name, rest.lstrip("=")))
                elif i < len(args):
                    out.append((name, args[i]))
                    i += 1
                else:
                    out.append((name, None))
                break
            continue
        positional.append(a)
    out.extend(_positionals(program, positional))
    return out


def _positionals(program: str, positional: list[str]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for p in positional:
        if program == "gunicorn":
            out.append(("app", p))
        elif program == "uwsgi":
            ext = p.rsplit(".", 1)[-1].split(":")[0].lower() if "." in p else ""
            key = {"ini": "ini", "yaml": "yaml", "yml": "yaml", "xml": "xml", "json": "json", "js": "json"}.get(ext, "")
            out.append((key, p))
        elif program in ("puma", "unicorn"):
            out.append(("rackup", p))
        else:
            out.append(("", p))
    return out


def parse_command(argv_or_string: str | Sequence[str], source: Source) -> CommandLine | None:
    """A CommandLine for any non-empty command; `program` is 'other' unless it is an app server.

    Returns None only for an empty command."""
    if isinstance(argv_or_string, str):
        tokens = split(argv_or_string.strip())
    else:
        tokens = [str(t) for t in argv_or_string]
    if not tokens:
        return None
    original = tuple(tokens)
    title = _proctitle(tokens)
    if title:
        program, opts, rest = title
        if rest:
            opts = opts + _parse_options(program, rest)
        return CommandLine(program, original, tuple(opts), source)
    argv, wrapper_user = _unwrap(list(tokens))
    if not argv:
        return CommandLine("other", original, (), source)
    program = program_of(argv[0])
    opts: list[tuple[str, str | None]] = []
    if program is None:
        return CommandLine("other", original, (("wrapper-user", wrapper_user),) if wrapper_user else (), source)
    opts = _parse_options(program, argv[1:])
    if wrapper_user:
        opts.append(("wrapper-user", wrapper_user))
    return CommandLine(program, original, tuple(opts), source)


def option(cmd: CommandLine, name: str) -> str | None:
    """The last value of option ``name`` (None if absent or a bare flag)."""
    val = None
    for k, v in cmd.options:
        if k == name:
            val = v
    return val


def has_option(cmd: CommandLine, name: str) -> bool:
    return any(k == name for k, _ in cmd.options)
