"""Generated fix commands stay inert whatever names and paths the evidence carries.

The cause fixtures (tests/data/causes/*/positive*) are read, then every string in the records that
is the socket path or a user/group name is swapped for a hostile value (spaces, quotes, `;`, `$()`,
backticks, newlines, leading `-`). The diagnosis is run on those records, and every command of
every fix plan must:
  * pass `bash -n`;
  * when run by bash in a private mount namespace (tmpfs over /etc /run /var /srv /home /opt /tmp)
    with PATH holding only stubs named like the tools (they log their argv), never run anything the
    payload names (no `touch` invocation, no file named like the payload), and pass every hostile
    value to the tool as one whole argument.
Every fix of every fixture is also checked against sockdoctor.policy.forbidden_in.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from sockdoctor import engine, policy

DATA = Path(__file__).parent / "data" / "causes"
POSITIVE = sorted(p for p in DATA.glob("*/positive*") if p.is_dir())
ALL_FIXTURES = sorted(p for p in DATA.glob("*/*") if p.is_dir())

SOCKET_PATHS = ("/run/app/app.sock", "/tmp/app.sock", "/run/php/php8.1-fpm.sock", "/run/php-fpm/www.sock",
                "/home/deploy/app/run/uwsgi.sock", "/run/inventory/gunicorn.sock", "/run/storefront/puma.sock",
                "/run/courier/uwsgi.sock", "/sock/api.sock", "/run/php/php-fpm.sock")
NAMES = ("www-data", "nginx", "app", "app-sock", "deploy", "apache", "publisher", "inventory", "courier")

# Each variant: (path suffix that replaces the socket's file name, name prefix for users/groups).
VARIANTS = {
    "quotes": ("a b'c;$(touch PWNED_q1)`touch PWNED_q2`\"d.sock", "-g r'p;$(touch PWNED_q3)`touch PWNED_q4`"),
    "newline": ("x\ntouch PWNED_n1\nEOF\ntouch PWNED_n2\n#.sock", "-n\ntouch PWNED_n3\n"),
    "dash": ("--help;touch PWNED_d1 &&.sock", "--all;touch${IFS}PWNED_d2"),
}
STUBS = ("usermod", "gpasswd", "groupadd", "addgroup", "systemctl", "nginx", "chmod", "chown", "chgrp", "setfacl",
         "getfacl", "semanage", "restorecon", "sesearch", "semodule", "checkmodule", "semodule_package", "ausearch",
         "audit2allow", "getenforce", "sudo", "namei", "setpriv", "curl", "ss", "grep", "stat", "rm", "install",
         "mkdir", "apparmor_parser", "journalctl", "docker", "supervisorctl", "cat", "python3", "tee", "touch",
         "nscd", "sss_cache", "sysctl", "ls", "ln", "mv", "cp", "kill", "systemd-tmpfiles", "sed", "id", "php-fpm",
         "uwsgi", "gunicorn", "kubectl", "runuser", "su", "ps", "pkill", "env", "head", "tail", "awk", "xargs",
         "find", "test", "stdbuf", "timeout", "nft", "nginx-debug", "aa-status", "sestatus", "sh", "bash")


def hostile_values(variant: str) -> tuple[dict[str, str], dict[str, str]]:
    suffix, prefix = VARIANTS[variant]
    paths = {p: p.rsplit("/", 1)[0] + "/" + suffix for p in SOCKET_PATHS}
    names = {n: prefix + n for n in NAMES}
    return paths, names


def swap(value, paths: dict[str, str], names: dict[str, str]):
    """Replace socket paths (also inside longer strings) and exact user/group names, recursively."""
    if isinstance(value, str):
        if value in names:
            return names[value]
        for old, new in paths.items():
            if old in value:
                value = value.replace(old, new)
        return value
    if isinstance(value, tuple):
        return tuple(swap(v, paths, names) for v in value)
    if isinstance(value, list):
        return [swap(v, paths, names) for v in value]
    if isinstance(value, frozenset):
        return frozenset(swap(v, paths, names) for v in value)
    if isinstance(value, dict):
        return {swap(k, paths, names): swap(v, paths, names) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: swap(getattr(value, f.name), paths, names) for f in dataclasses.fields(value)
                   if f.name != "source"}
        return dataclasses.replace(value, **changes)
    return value


def read_dir(d: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(d.iterdir()) if p.is_file()}


def hostile_report(d: Path, variant: str):
    paths, names = hostile_values(variant)
    ev = engine.read_inputs(list(read_dir(d).items()))
    ev.records = [swap(r, paths, names) for r in ev.records]
    return engine.diagnose_evidence(ev), paths, names


def commands_of(report) -> list[str]:
    return [c for fx in report.fixes for c in fx.commands + fx.verify]


def bash_syntax_error(cmd: str) -> str | None:
    proc = subprocess.run(["bash", "-n"], input=cmd, capture_output=True, text=True, timeout=30)
    return proc.stderr if proc.returncode else None


DRIVER = textwrap.dedent(r"""
    set -u
    for d in /etc /run /var /srv /home /opt /tmp; do mount -t tmpfs tmpfs "$d" || exit 97; done
    scratch=/tmp/scratch; mkdir -p "$scratch/bin"
    export STUBLOG="$scratch/argv.log"
    # one printf per call = one write(): stubs in a pipeline run at once and must not interleave
    for name in $STUB_NAMES; do
        printf '#!%s\nprintf "%%s\\0" "${0##*/}" "$@" "$(printf "\\001")" >> "$STUBLOG"\nexit 0\n' "$REAL_SH" \
            > "$scratch/bin/$name"
        "$REAL_CHMOD" 755 "$scratch/bin/$name"
    done
    cd "$scratch"
    i=0
    while IFS= read -r -d '' cmd; do
        i=$((i+1))
        PATH="$scratch/bin" HOME="$scratch" "$REAL_BASH" --norc --noprofile -c "$cmd" </dev/null >/dev/null 2>"$scratch/err.$i"
    done < "$CMDS"
    [ "$i" -eq "$EXPECTED" ] || exit 98
    "$REAL_FIND" /etc /run /var /srv /home /opt /tmp -print0 > "$RESULT.files"
    "$REAL_CAT" "$STUBLOG" > "$RESULT.argv" 2>/dev/null || : > "$RESULT.argv"
""")


def can_sandbox() -> str | None:
    if not shutil.which("unshare"):
        return "unshare(1) not installed"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode:
        return f"cannot make a private mount namespace here: {probe.stderr.strip()[:200]}"
    return None


def run_sandboxed(cmds: list[str], work: Path) -> tuple[list[list[str]], list[str]]:
    """Run each command with stubbed tools; returns (argv of every stub call, files left anywhere)."""
    held = work / "held"
    held.mkdir()
    (held / "cmds").write_bytes(b"".join(c.encode() + b"\0" for c in cmds))
    env = {"STUB_NAMES": " ".join(STUBS), "CMDS": "/proc/self/fd/9/cmds",
           "REAL_SH": shutil.which("sh"), "REAL_BASH": shutil.which("bash"), "REAL_CHMOD": shutil.which("chmod"),
           "REAL_FIND": shutil.which("find"), "REAL_CAT": shutil.which("cat"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "EXPECTED": str(len(cmds))}
    # `held` lies under the real /tmp, which the namespace shadows: reach it through fd 9
    script = f"exec 9<{held}\n" + DRIVER.replace('"$RESULT', '"/proc/self/fd/9/result')
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", script], env=env,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    raw = (held / "result.argv").read_bytes().split(b"\0")
    calls, cur = [], []
    for part in raw:
        if part == b"\x01":
            calls.append(cur)
            cur = []
        elif part or cur:
            cur.append(part.decode(errors="replace"))
    files = [f for f in (held / "result.files").read_bytes().decode(errors="replace").split("\0") if f]
    return calls, files


SANDBOX_SKIP = can_sandbox()


def test_sandbox_sees_injection(tmp_path):
    """The harness itself: stubs log argv, and an injected command is seen."""
    if SANDBOX_SKIP:
        pytest.skip(SANDBOX_SKIP)
    calls, files = run_sandboxed(["usermod -aG 'a b' -- c", "# comment\ntouch PWNED_self", "echo x > /etc/x"], tmp_path)
    assert ["usermod", "-aG", "a b", "--", "c"] in calls
    assert ["touch", "PWNED_self"] in calls
    assert "/etc/x" in files


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("d", POSITIVE, ids=lambda p: p.parent.name)
def test_hostile_names_stay_single_arguments(d, variant, tmp_path):
    report, paths, names = hostile_report(d, variant)
    cmds = commands_of(report)
    for c in cmds:
        err = bash_syntax_error(c)
        assert err is None, f"bash -n fails on {c!r}: {err}"
    # planners may build new paths from the socket's file name, so the units are the file name
    # and the names
    suffix, _ = VARIANTS[variant]
    hostile = [suffix] + list(names.values())
    if SANDBOX_SKIP:
        pytest.skip(SANDBOX_SKIP)
    calls, files = run_sandboxed(cmds, tmp_path)
    assert all(c and c[0] != "touch" for c in calls), f"a payload ran: {[c for c in calls if c and c[0] == 'touch']}"
    pwned = [f for f in files if "PWNED" in f]
    assert not pwned, f"payload files created: {pwned}"
    for call in calls:
        for arg in call[1:]:
            if "PWNED" not in arg:
                continue
            whole = any(v in arg or json.dumps(v)[1:-1] in arg for v in hostile)
            assert whole, f"a hostile value was split across arguments: {call}"
        if call[0] in ("usermod", "gpasswd"):
            value_of = {"usermod": ("-aG", "-G", "-g"), "gpasswd": ("-d", "-a")}[call[0]]
            args = call[1:]
            positional = [a for i, a in enumerate(args) if not a.startswith("-") or a in names.values()
                          and not (i and args[i - 1] in value_of)]
            for a in positional:
                if a.startswith("-"):
                    assert "--" in args and args.index("--") < args.index(a), f"{a!r} would be read as an option: {call}"


def test_hostile_values_reach_the_commands(tmp_path):
    """The swap is not vacuous: hostile paths and names do end up in commands that get run."""
    seen_path = seen_name = 0
    for d in POSITIVE:
        report, paths, names = hostile_report(d, "quotes")
        text = "\n".join(commands_of(report))
        seen_path += any("PWNED_q1" in c for c in commands_of(report))
        seen_name += any(c.startswith(("usermod", "gpasswd")) and "PWNED_q3" in c for c in commands_of(report))
        assert "PWNED" not in text or "'" in text
    assert seen_path >= 5, seen_path
    assert seen_name >= 1, seen_name
    if SANDBOX_SKIP:
        pytest.skip(SANDBOX_SKIP)
    report, paths, names = hostile_report(DATA / "broad_group_membership" / "positive_docker", "quotes")
    calls, _ = run_sandboxed(commands_of(report), tmp_path)
    assert ["gpasswd", "-d", names["www-data"], "docker"] in calls, calls


@pytest.mark.parametrize("d", ALL_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_fix_is_forbidden(d):
    reports = [engine.diagnose(read_dir(d))] + [hostile_report(d, v)[0] for v in sorted(VARIANTS)]
    for report in reports:
        for fx in report.fixes:
            bad = policy.forbidden_in("\n".join(fx.commands + fx.verify), diff=False)
            bad += [m for df in fx.diffs for m in policy.forbidden_in(df.diff, diff=True)]
            assert not bad, f"{fx.title}: {bad}"


def test_key_inserted_into_gunicorn_conf_after_a_multiline_setting():
    """A new key goes after the whole last statement, not inside a list that spans lines: the
    patched gunicorn.conf.py still compiles."""
    from sockdoctor.apply import patch
    from sockdoctor.evidence import gunicorn
    from sockdoctor.evidence.base import Chunk
    from sockdoctor.evidence.records import ConfigFile
    from sockdoctor.fixes import edit

    text = 'bind = "unix:/run/app/app.sock"\nworkers = 3\nraw_env = [\n    "A=1",  # (kept)\n    "B=[2]",\n]\n'
    (cfg,) = [r for r in gunicorn.read(Chunk("gunicorn.conf.py", text)) if isinstance(r, ConfigFile)]
    diff = edit.ini_edit(cfg, {"umask": "0o007"}, sep=" = ")
    patched = patch.apply(text, patch.parse(diff.diff))
    compile(patched, "gunicorn.conf.py", "exec")
    lines = patched.split("\n")
    assert lines.index("umask = 0o007") == lines.index("]") + 1
