"""Real-service scenarios for `sockdoctor check`: each in its own temp dir, port, nginx prefix,
users and groups; everything started by the test and removed afterwards, even on failure.

    with Scenario("seed") as sc:
        ng = sc.user("ng")
        app = sc.user("app")
        sock = sc.gunicorn(app, app, "run/app.sock", umask="007")
        sc.nginx(ng, sock)
        assert sc.curl() == 502
        result = sc.check()
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
BASE = "/run" if os.access("/run", os.W_OK) else None
APP = '''\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\\n"]
'''


def missing_requirements(*programs: str) -> str | None:
    """Why these scenarios cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (real users, groups and services)"
    for prog in ("nginx", "curl", "useradd", *programs):
        if not shutil.which(prog) and not (VENV_BIN / prog).exists():
            return f"{prog} not installed (scripts/install-system-deps.sh)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


class Scenario:
    def __init__(self, name: str):
        self.name = name
        self.tag = uuid.uuid4().hex[:6]
        # not under /tmp: a socket in a world-writable sticky dir is a finding of its own
        self.dir = Path(tempfile.mkdtemp(prefix=f"sd-{name}-", dir=BASE))
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.users: list[str] = []
        self.groups: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.nginx_conf = self.dir / "nginx.conf"
        self.nginx_pid_file = self.dir / "nginx.pid"
        self.error_log = self.dir / "error.log"

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Scenario":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.stop_nginx()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for s in getattr(self, "sockets", []):
            s.close()
        for user in self.users:
            subprocess.run(["userdel", user], capture_output=True)
        for group in self.groups + [u for u in self.users if _group_exists(u)]:
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- identities --------------------------------------------------------------------------
    def group(self, base: str) -> str:
        name = f"sd{base}{self.tag}"
        subprocess.run(["groupadd", "--system", name], check=True, capture_output=True)
        self.groups.append(name)
        return name

    def user(self, base: str, groups: tuple[str, ...] = ()) -> str:
        """A system user with its own group (removed with it) and the given supplementary groups."""
        name = f"sd{base}{self.tag}"
        argv = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                "--shell", "/usr/sbin/nologin"]
        if groups:
            argv += ["-G", ",".join(groups)]
        subprocess.run(argv + [name], check=True, capture_output=True)
        self.users.append(name)
        return name

    # --- files -------------------------------------------------------------------------------
    def mkdir(self, rel: str, mode: int = 0o755, owner: str | None = None, group: str | None = None) -> Path:
        path = self.dir / rel
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
        if owner or group:
            shutil.chown(path, owner, group)
        return path

    # --- app servers -------------------------------------------------------------------------
    def gunicorn(self, user: str, group: str, sock_rel: str, umask: str | None = None) -> str:
        sock = self.dir / sock_rel
        sock.parent.mkdir(parents=True, exist_ok=True)
        (self.dir / "app.py").write_text(APP)
        os.chmod(self.dir / "app.py", 0o644)
        argv = [str(VENV_BIN / "gunicorn"), "--bind", f"unix:{sock}", "--user", user, "--group", group,
                "--workers", "1", "--chdir", str(self.dir), "--log-level", "warning", "app:app"]
        if umask is not None:
            argv += ["--umask", umask]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(self.dir / "gunicorn.log", "wb"))
        self.procs.append(p)
        wait_for(lambda: sock.exists() or p.poll() is not None, what="gunicorn socket")
        if p.poll() is not None:
            raise RuntimeError("gunicorn exited: " + (self.dir / "gunicorn.log").read_text())
        wait_for(lambda: self._listening(str(sock)), what="gunicorn listening")
        return str(sock)

    def _spawn(self, argv: list[str], sock: Path, log: str) -> str:
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(self.dir / log, "wb"),
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        wait_for(lambda: self._listening(str(sock)) or p.poll() is not None, what=f"{argv[0]} listening")
        if p.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited: " + (self.dir / log).read_text())
        return str(sock)

    def uwsgi(self, user: str, group: str, sock_rel: str) -> str:
        """uWSGI with no chmod-socket: the socket keeps the umask's mode (0755 under umask 022)."""
        sock = self.dir / sock_rel
        sock.parent.mkdir(parents=True, exist_ok=True)
        shutil.chown(sock.parent, user, group)  # uWSGI drops privileges before it binds
        (self.dir / "app.py").write_text(APP)
        os.chmod(self.dir / "app.py", 0o644)
        ini = self.dir / "uwsgi.ini"
        ini.write_text(f"[uwsgi]\nplugins = python3\nuwsgi-socket = {sock}\nuid = {user}\ngid = {group}\n"
                       f"chdir = {self.dir}\nwsgi-file = {self.dir}/app.py\ncallable = app\n"
                       f"processes = 1\nmaster = false\ndisable-logging = true\n")
        old = os.umask(0o022)
        try:
            return self._spawn(["uwsgi", "--ini", str(ini)], sock, "uwsgi.log")
        finally:
            os.umask(old)

    def php_fpm(self, user: str, group: str, sock_rel: str, listen_owner: str | None = None) -> str:
        """A PHP-FPM pool; without ``listen_owner`` listen.owner/listen.group are left unset."""
        binary = next(iter(sorted(Path("/usr/sbin").glob("php-fpm*"))), None)
        sock = self.dir / sock_rel
        sock.parent.mkdir(parents=True, exist_ok=True)
        (self.dir / "index.php").write_text("<?php echo 'ok';\n")
        owner = f"listen.owner = {listen_owner}\nlisten.group = {listen_owner}\n" if listen_owner else ""
        conf = self.dir / "php-fpm.conf"
        conf.write_text(f"[global]\npid = {self.dir}/php-fpm.pid\nerror_log = {self.dir}/php-fpm.log\n"
                        f"daemonize = no\n[app]\nuser = {user}\ngroup = {group}\nlisten = {sock}\n{owner}"
                        f"pm = static\npm.max_children = 1\n")
        return self._spawn([str(binary), "-F", "-y", str(conf)], sock, "php-fpm.stderr")

    def never_accepting(self, sock_rel: str, owner: str) -> str:
        """A listener with backlog 0 that never accepts, its queue already full (EAGAIN for nginx)."""
        sock = self.dir / sock_rel
        sock.parent.mkdir(parents=True, exist_ok=True)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(sock))
        srv.listen(0)
        shutil.chown(sock, owner, owner)
        os.chmod(sock, 0o660)
        self.sockets = getattr(self, "sockets", [])
        self.sockets.append(srv)
        for _ in range(3):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex(str(sock))
            self.sockets.append(c)
        return str(sock)

    @staticmethod
    def _listening(path: str) -> bool:
        with open("/proc/net/unix") as f:
            return any(line.rstrip().endswith(" " + path) and int(line.split()[3], 16) & 0x10000 for line in f)

    def stale_socket(self, sock_rel: str, owner: str, mode: int = 0o600) -> str:
        """A socket file whose listener is gone (the app crashed without unlinking it)."""
        sock = self.dir / sock_rel
        sock.parent.mkdir(parents=True, exist_ok=True)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(sock))
        s.close()
        shutil.chown(sock, owner, owner)
        os.chmod(sock, mode)
        return str(sock)

    # --- nginx -------------------------------------------------------------------------------
    def nginx(self, user: str, sock: str, directive: str = "proxy_pass", private: tuple[str, ...] = ()) -> None:
        """nginx serving ``sock``; with ``private`` directories (relative to the scenario), nginx runs
        in a mount namespace of its own where each of them is an empty tmpfs (as PrivateTmp= or a
        container that does not share the directory would show it)."""
        for sub in ("logs", "tmp"):
            (self.dir / sub).mkdir(exist_ok=True)
        d = self.dir
        self.nginx_conf.write_text(f"""\
user {user};
worker_processes 1;
error_log {self.error_log};
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
{self._pass(directive, sock)}
        }}
    }}
}}
""")
        argv = self._nginx_argv()
        if private:
            mounts = "".join(f"mount -t tmpfs tmpfs {shlex.quote(str(d / rel))} && " for rel in private)
            argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", mounts + shlex.join(argv)]
        subprocess.run(argv, check=True, capture_output=True, timeout=15)
        wait_for(lambda: self.nginx_pid_file.exists(), what="nginx pid file")
        wait_for(self._nginx_worker_ready, what="nginx worker")

    @staticmethod
    def _pass(directive: str, sock: str) -> str:
        if directive == "proxy_pass":
            return f"            proxy_pass http://unix:{sock}:;"
        if directive == "uwsgi_pass":
            return f"            include /etc/nginx/uwsgi_params;\n            uwsgi_pass unix:{sock};"
        if directive == "fastcgi_pass":
            return (f"            include /etc/nginx/fastcgi_params;\n"
                    f"            fastcgi_param SCRIPT_FILENAME $document_root/index.php;\n"
                    f"            fastcgi_pass unix:{sock};")
        raise ValueError(directive)

    def _nginx_argv(self, *extra: str) -> list[str]:
        return ["nginx", "-p", str(self.dir), "-c", str(self.nginx_conf),
                "-g", f"pid {self.nginx_pid_file};", *extra]

    def _nginx_worker_ready(self) -> bool:
        """A worker has forked and dropped root (the port alone answers before that: the master
        holds the listening socket)."""
        for pid in _children(self.nginx_master()):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            uid = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("Uid:")), "0")
            if uid != "0":
                return True
        return False

    def nginx_master(self) -> int | None:
        try:
            return int(self.nginx_pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def reload_nginx(self) -> None:
        master = self.nginx_master()
        old = set(_children(master))
        subprocess.run(self._nginx_argv("-s", "reload"), check=True, capture_output=True, timeout=15)
        wait_for(lambda: (set(_children(master)) - old) and not (set(_children(master)) & old)
                 and self._nginx_worker_ready(), what="new nginx workers")

    def stop_nginx(self) -> None:
        master = self.nginx_master()
        if master is None:
            return
        try:
            os.kill(master, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            wait_for(lambda: not Path(f"/proc/{master}").exists(), timeout=10, what="nginx exit")
        except TimeoutError:
            os.kill(master, signal.SIGKILL)

    # --- observations ------------------------------------------------------------------------
    def curl(self) -> int:
        p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}",
                            f"http://127.0.0.1:{self.port}/"], capture_output=True, text=True, timeout=10)
        return int(p.stdout or 0)

    def error_log_text(self) -> str:
        try:
            return self.error_log.read_text()
        except OSError:
            return ""

    def check(self, *args: str) -> tuple[int, dict]:
        """Run `sockdoctor check --format json` against this scenario's nginx."""
        p = subprocess.run([sys.executable, "-m", "sockdoctor", "check", "--format", "json",
                            "--nginx-conf", str(self.nginx_conf), *args],
                           capture_output=True, text=True, timeout=60)
        if p.returncode not in (0, 1):
            raise AssertionError(f"check exited {p.returncode}: {p.stderr}")
        return p.returncode, json.loads(p.stdout)


def _group_exists(name: str) -> bool:
    with open("/etc/group") as f:
        return any(line.split(":", 1)[0] == name for line in f)


def _children(pid: int | None) -> list[int]:
    if pid is None:
        return []
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(name))
    return out
