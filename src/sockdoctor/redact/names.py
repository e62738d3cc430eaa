"""Is this setting's name one that holds a secret, and is this value really one?

These heuristics decide the generic detections (``password = ...``, ``env[DB_PASS] = ...``,
``Environment=API_TOKEN=...``). Documented decisions:

- Values that only point at a secret are kept: variables (``$http_authorization``, ``${DB_PASS}``,
  ``%(ENV_X)s``, ``{{ .Values.x }}``), paths (``/run/secrets/db``), booleans, short numbers.
- Obvious placeholders are kept: ``<password>``, ``xxxxxxxx``, ``********``, ``REDACTED``,
  ``your-api-key-here``. Weak but real-looking values such as ``changeme`` or ``secret`` ARE
  redacted: in a real config they may well be the password.
"""
from __future__ import annotations

import re

_PASS_DIRECTIVES = {"proxy", "fastcgi", "uwsgi", "scgi", "grpc", "memcached", "pass"}
_NOT_SECRET_SUFFIXES = {
    "file", "files", "path", "dir", "directory", "length", "len", "min", "max", "ttl", "expiry",
    "expires", "expiration", "timeout", "lifetime", "age", "header", "type", "enabled", "enable",
    "required", "require", "policy", "authentication", "prompt", "command", "cmd", "count",
    "size", "algorithm", "algo", "name", "user", "username", "format", "mode", "url", "endpoint",
    "host", "port", "env", "var", "field", "param", "rounds", "cost", "iterations", "store",
    "storage", "provider", "backend", "location", "uri", "ref", "id", "ids", "reset", "change",
    "strength", "complexity", "hint", "label", "description", "method", "methods", "scope",
    "scopes", "audience", "issuer", "realm", "chars", "characters", "encoding", "digits",
}
_DB_WORDS = {"db", "database", "mysql", "postgres", "postgresql", "pg", "psql", "redis", "mongo",
             "mongodb", "mariadb", "sql", "amqp", "rabbitmq", "rabbit", "mssql", "sqlserver",
             "oracle", "dsn", "datasource", "jdbc", "clickhouse", "elastic", "couchdb", "cassandra"}
_PASSWORD_WORDS = {"password", "passwd", "pass", "pwd", "passphrase", "passwort", "pw"}


def words(name: str) -> list[str]:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip("\"'[]$"))
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def secret_kind(name: str) -> str | None:
    """The kind of secret a setting called ``name`` holds, or None when it does not hold one."""
    w = words(name)
    if not w:
        return None
    joined = "_".join(w)
    if w[-3:] == ["private", "key", "id"]:
        return "gcp_private_key_id"
    if w[-1] == "auth" and len(w) > 1 and w[-2] in {"basic", "http"}:
        return "password"
    if w[-1] in _NOT_SECRET_SUFFIXES:
        return None
    if joined in {"requirepass", "masterauth", "masterpass", "rootpw", "bindpw"}:
        return "database_password" if joined != "rootpw" and joined != "bindpw" else "password"
    if w[0] in {"load", "import"} and "credential" in w or joined.startswith(("loadcredential", "importcredential")):
        return None  # systemd LoadCredential=ID:PATH names a file
    if "bearer" in w:
        return "token"
    if w[0] in _PASS_DIRECTIVES and "pass" in w:
        return None  # proxy_pass, fastcgi_pass_header, ...: nginx directives, not passwords
    if "aws" in w and "secret" in w:
        return "aws_secret_key"
    if ("aws" in w or "amz" in w) and ("session" in w or "security" in w) and "token" in w:
        return "aws_session_token"
    if _PASSWORD_WORDS.intersection(w) or joined.endswith("password") or "passwd" in joined:
        return "database_password" if _DB_WORDS.intersection(w) else "password"
    if "token" in w or joined.endswith("token"):
        return "token"
    if {"secret", "secrets", "credential", "credentials", "salt", "pepper"}.intersection(w) \
            or joined.endswith("secret"):
        return "secret"
    if "apikey" in joined or ("api" in w and "key" in w) or w[-1] in {"apikey", "accesskey"}:
        return "api_key"
    if w[-1] == "key" or "signature" in w:
        return "key"
    if w in (["auth"], ["authorization"], ["x", "auth"]):
        return "auth"  # docker config.json "auth": base64(user:password), only when it looks random
    return None


_VARIABLE = re.compile(r"^(?:\$\{?[A-Za-z_]|\$\(|%\(|%[A-Z_]+%|\{\{|\{%|<%|`|\$\$|@@|env:|vault:|"
                       r"secretKeyRef|ENC\[|!vault|!secret|op://|arn:aws:secretsmanager)")
_PLACEHOLDER = re.compile(r"^(?:<[^<>]*>|[xX]{3,}|\*{3,}|\.{3,}|_+|-+|#+|\?+)$"
                          r"|^(?i:redacted|removed|hidden|masked|placeholder|none|null|nil|undefined|"
                          r"todo|tbd|fixme|example|sample|dummy|notset|not-set|not_set|unset)$"
                          r"|^(?i:your|my|enter|insert|put|replace)[-_ ]?.*[-_ ]?(?i:here|me)$"
                          r"|^(?i:<<SECRET:)")
_PUBLIC_PREFIXES = ("pk_live_", "pk_test_", "ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-", "sha256:", "sha512:",
                    "sha384-", "sha256-", "sha512-", "-----BEGIN CERTIFICATE", "-----BEGIN PUBLIC KEY")
_BOOLEAN = re.compile(r"^(?i:true|false|yes|no|on|off|y|n|enabled?|disabled?|required|optional|"
                      r"auto|always|never|default|inherit|ignore|strict|lax|prompt|empty)$")


def is_secret_value(value: str, kind: str | None = None) -> bool:
    """False for values that are not themselves secrets (see the module docstring)."""
    v = value.strip().strip("\"'").strip()
    if not v or "<<SECRET:" in v:
        return False
    if _VARIABLE.match(v) or _PLACEHOLDER.match(v) or _BOOLEAN.match(v):
        return False
    if v[0] == "/" or v.startswith(("~/", "./", "../", "file:", "unix:", "@/")):
        return False
    if v.startswith(_PUBLIC_PREFIXES):
        return False
    if re.fullmatch(r"\d{1,7}(?:\.\d+)?[smhdSMHDkKmMgG]?", v):
        return False
    if kind in {"key", "auth"}:
        return looks_random(v)
    if kind in {"token", "secret", "api_key"} and len(v) < 4:
        return False
    return True


def entropy(value: str) -> float:
    from math import log2
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * log2(c / n) for c in counts.values()) if n else 0.0


def looks_random(value: str) -> bool:
    """A long, high-entropy token (a key, not a word or a path)."""
    v = value.strip("\"'")
    if len(v) < 16 or " " in v or v[0] in "/~.":
        return False
    if re.fullmatch(r"[0-9a-fA-F]+", v):
        return len(v) >= 24
    return entropy(v) >= 3.3 and bool(re.search(r"\d", v)) and bool(re.search(r"[A-Za-z]", v))
