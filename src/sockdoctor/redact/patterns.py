"""Secrets recognisable by their own shape, wherever they appear.

Each entry is (kind, compiled regex). When the regex has a group named ``s`` only that group is the
secret (the rest is context that stays); otherwise the whole match is.
"""
from __future__ import annotations

import re

_B = r"(?<![A-Za-z0-9_])"  # left boundary that also works before '-' and '.'
_E = r"(?![A-Za-z0-9_])"

TOKEN_PATTERNS: list[tuple[str, re.Pattern]] = [(kind, re.compile(rx)) for kind, rx in [
    ("aws_access_key_id", _B + r"(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}" + _E),
    ("aws_session_token", _B + r"(?:FwoGZXIvYXdz|IQoJb3JpZ2luX2Vj|FQoGZXIvYXdz)[A-Za-z0-9/+=]{80,}"),
    ("aws_account_id", r"\barn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?P<s>\d{12}):"),
    ("github_token", _B + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})" + _E),
    ("gitlab_token", _B + r"gl(?:pat|dt|rt|ptt|cbt|oas|soat|ffct|imt|agent)-[A-Za-z0-9_-]{20,}"),
    ("slack_token", _B + r"(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})"),
    ("slack_webhook", r"hooks\.slack\.com/(?:services|workflows)/(?P<s>[A-Za-z0-9/_-]{20,})"),
    ("stripe_key", _B + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}" + _E),
    ("stripe_key", _B + r"whsec_[A-Za-z0-9]{24,}" + _E),
    ("anthropic_key", _B + r"sk-ant-[A-Za-z0-9_-]{20,}"),
    ("openai_key", _B + r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}"),
    ("openai_key", _B + r"sk-(?!ant-)[A-Za-z0-9]{32,}" + _E),
    ("twilio_key", _B + r"(?:AC|SK)[0-9a-f]{32}" + _E),
    ("sendgrid_key", _B + r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{30,64}"),
    ("google_api_key", _B + r"AIza[0-9A-Za-z_-]{35}" + _E),
    ("gcp_client_secret", _B + r"GOCSPX-[A-Za-z0-9_-]{20,}"),
    ("npm_token", _B + r"npm_[A-Za-z0-9]{36}" + _E),
    ("vault_token", _B + r"hv[sbr]\.[A-Za-z0-9_-]{24,}"),
    ("digitalocean_token", _B + r"do[por]_v1_[a-f0-9]{64}" + _E),
    ("age_secret_key", _B + r"AGE-SECRET-KEY-1[0-9A-Z]{58}" + _E),
    ("jwt", _B + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    ("azure_storage_key", r"(?i:AccountKey)=(?P<s>[A-Za-z0-9+/]{40,}={0,2})"),
    ("azure_storage_key", r"(?i:SharedAccessKey)=(?P<s>[A-Za-z0-9+/]{20,}={0,2})"),
    ("azure_sas_signature", r"[?&;]sig=(?P<s>[A-Za-z0-9%+/]{20,}(?:=|%3[dD]){0,2})"),
    ("password_hash", r"(?P<s>\$(?:apr1|1|5|6)\$[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{22,86}"
                      r"|\$2[abxy]?\$\d\d\$[./0-9A-Za-z]{53}"
                      r"|\$y\$[./0-9A-Za-z]+\$[./0-9A-Za-z]{1,64}\$[./0-9A-Za-z]{43}"
                      r"|\$argon2(?:id|i|d)\$[^\s:'\"]+)"),
    ("password_hash", r"(?m)^[^:\s#]+:(?P<s>\{S?SHA\}[A-Za-z0-9+/]{20,}={0,2})"),
    ("private_key", r"(?<![A-Za-z0-9+/])LS0tLS1CRUdJTi[A-Za-z0-9+/]{40,}={0,2}"),
]]

# Whole PEM/OpenSSH private key blocks. The header and footer lines stay; the body is the secret.
PEM_BLOCK = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----"
    r"(?P<sep>\\r\\n|\\n|\r?\n)"
    r"(?P<body>.*?)"
    r"(?:(?:\\r\\n|\\n|\r?\n)[ \t]*-----END (?P=label)-----|(?=\n\s*\n)|\Z)",
    re.S,
)

DB_SCHEMES = {
    "postgres", "postgresql", "pgsql", "mysql", "mysql2", "mariadb", "mongodb", "mongodb+srv",
    "redis", "rediss", "amqp", "amqps", "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse",
    "couchdb", "neo4j", "bolt", "cassandra", "memcached", "elasticsearch", "influxdb", "jdbc:mysql",
    "jdbc:postgresql", "jdbc:sqlserver", "postgresql+psycopg2", "postgresql+asyncpg",
    "mysql+pymysql", "mysql+mysqldb",
}

URL_USERINFO = re.compile(r"://(?P<user>[^/\s:@'\"<>]*):(?P<s>[^@\s/'\"<>]+)@")
URL_SCHEME_BEFORE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.:-]*)\Z")
