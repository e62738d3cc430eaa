"""Which reader reads which input kind. One module per kind, named after the kind."""
from __future__ import annotations

import importlib
from types import ModuleType

# kind -> short title shown to users. Order matters only for ties in detection.
KINDS: dict[str, str] = {
    "nginx_config": "nginx configuration or `nginx -T` dump",
    "nginx_grep": "`nginx -T | grep -n` lines",
    "error_log": "nginx error.log lines",
    "access_log": "nginx access.log lines",
    "ls": "`ls -l` / `ls -la` / `ls -ld` output",
    "stat": "`stat` output",
    "namei": "`namei -l` output",
    "getfacl": "`getfacl` output",
    "find": "`find` output",
    "ps": "`ps` output",
    "proc_status": "/proc/PID/status excerpt",
    "id": "`id` output",
    "group": "/etc/group or `getent group` lines",
    "passwd": "/etc/passwd or `getent passwd` lines",
    "ss": "`ss -xl` output",
    "sysctl": "`sysctl` lines",
    "audit": "audit.log / ausearch AVC lines, audit2why output",
    "kernel_log": "dmesg / kern.log lines (AppArmor, OOM killer)",
    "mac_status": "`getenforce` / `sestatus` / `aa-status` output",
    "probe_output": "`curl --unix-socket` / `setpriv` probe output",
    "systemd_unit": "systemd unit or drop-in (`systemctl cat`)",
    "systemctl_show": "`systemctl show` output",
    "systemctl_status": "`systemctl status` output",
    "journal": "journalctl / application log lines",
    "php_fpm": "PHP-FPM pool or global config",
    "uwsgi": "uWSGI ini",
    "gunicorn": "gunicorn.conf.py or gunicorn command line",
    "puma": "puma.rb / unicorn.rb",
    "supervisord": "supervisord.conf",
    "tmpfiles": "tmpfiles.d lines",
    "apparmor_profile": "AppArmor profile",
    "dockerfile": "Dockerfile",
    "compose": "docker compose file",
    "k8s": "Kubernetes manifest",
}


def reader(kind: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"sockdoctor.evidence.{kind}")
    except ModuleNotFoundError as exc:
        if exc.name == f"sockdoctor.evidence.{kind}":
            return None
        raise


def readers() -> list[ModuleType]:
    return [m for m in (reader(k) for k in KINDS) if m is not None]
