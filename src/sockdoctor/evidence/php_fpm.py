"""PHP-FPM pool files (`[www]` + `listen`, `pm`, ...) and the global php-fpm.conf (`[global]`).

One ConfigFile(kind='php_fpm') per file; settings carry the pool name as section. Commented
settings (`;listen.owner = www-data`, `;listen.mode = 0660`) are kept with commented=True so a fix
can uncomment the exact line. Values are unquoted and inline `; comments` removed; `$pool` is
left as written (PHP-FPM expands it per pool).
"""
from __future__ import annotations

import re

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection

KIND = "php_fpm"

DIALECT = ct.IniDialect(key_re=r"[A-Za-z_][\w.]*(?:\[[^\]=]*\])?", seps="=", comments=";#", inline_comments=";",
                        strip_quotes=True)
# Keys no other INI-shaped format uses.
_POOL_KEYS = _lazyre.compile(r"^(listen\.(owner|group|mode|acl_users|acl_groups|allowed_clients|backlog)|pm(\.[\w]+)?|"
                             r"php_(admin_)?(value|flag)\[.*\]|request_terminate_timeout|request_slowlog_timeout|"
                             r"catch_workers_output|security\.limit_extensions|clear_env|ping\.(path|response)|"
                             r"access\.(log|format)|slowlog|rlimit_files|decorate_workers_output)$")
_GLOBAL_KEYS = _lazyre.compile(r"^(pid|error_log|include|daemonize|emergency_restart_(threshold|interval)|"
                               r"process_control_timeout|process\.max|log_level|events\.mechanism|syslog\.(facility|ident)|"
                               r"systemd_interval|rlimit_core)$")
_OTHER_SECTIONS = _lazyre.compile(r"^(Unit|Service|Socket|Install|uwsgi|supervisord|program:.*|group:.*|unix_http_server|"
                                  r"inet_http_server|supervisorctl|rpcinterface:.*|eventlistener:.*|fcgi-program:.*)$")


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:200_000].split("\n")[:1000]
    sections = ct.ini_sections(lines)
    if not sections or any(_OTHER_SECTIONS.match(s) for s in sections):
        return None
    keys = set()
    for line in lines:
        m = re.match(r"^\s*;?\s*([A-Za-z_][\w.]*(?:\[[^\]=]*\])?)\s*=", line)
        if m:
            keys.add(m.group(1))
    pool = sorted(k for k in keys if _POOL_KEYS.match(k))
    glob = sorted(k for k in keys if _GLOBAL_KEYS.match(k))
    has_listen = "listen" in keys
    if "global" in sections and glob:
        score = 0.7 + min(0.25, 0.05 * len(glob))
        return Detection(KIND, round(score, 3), f"[global] section with PHP-FPM keys {', '.join(sorted(glob)[:4])}")
    if not pool:
        return None
    score = 0.55 + min(0.3, 0.06 * len(pool)) + (0.1 if has_listen else 0.0)
    return Detection(KIND, round(min(score, 0.97), 3),
                     f"pool section(s) {', '.join(f'[{s}]' for s in sections[:3])} with PHP-FPM keys "
                     f"{', '.join(([] if not has_listen else ['listen']) + pool[:4])}")


def _read(chunk: Chunk) -> list:
    cfg, warnings = ct.read_ini_file(chunk, KIND, DIALECT)
    return [cfg, *warnings]


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
