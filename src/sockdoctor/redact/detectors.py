"""Find secrets in a text: candidates with exact character offsets, overlaps resolved.

Layers, most specific first (a lower priority number wins an overlap, then the longer span):
0 private key blocks; 1 shape-recognisable tokens and URL passwords; 2 headers, command-line
flags, Kubernetes Secret data; 3 generic ``name = value`` settings with secret-like names;
4 hostnames, public addresses and e-mail addresses (only with ``hosts=True``).
"""
from __future__ import annotations

import ipaddress
import re

from sockdoctor._dataclass import dataclass
from sockdoctor.redact import names
from sockdoctor.redact.patterns import DB_SCHEMES, PEM_BLOCK, TOKEN_PATTERNS, URL_SCHEME_BEFORE, URL_USERINFO

ALLOW_MARKER = "sockdoctor: allow"


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    kind: str
    priority: int


def find(text: str, *, hosts: bool = False) -> list[Candidate]:
    found: list[Candidate] = []
    found += _pem_blocks(text)
    found += _tokens(text)
    found += _url_passwords(text)
    found += _kubernetes_secret_data(text)
    for offset, line in _lines(text):
        found += _line_candidates(line, offset)
    if hosts:
        found += _hosts(text)
    found = [c for c in found if c.end > c.start and text[c.start:c.end].strip()]
    return _drop_allowed(text, _resolve(found))


def _resolve(found: list[Candidate]) -> list[Candidate]:
    kept: list[Candidate] = []
    for cand in sorted(found, key=lambda c: (c.priority, -(c.end - c.start), c.start)):
        if all(cand.end <= k.start or cand.start >= k.end for k in kept):
            kept.append(cand)
    return sorted(kept, key=lambda c: c.start)


def _drop_allowed(text: str, found: list[Candidate]) -> list[Candidate]:
    if ALLOW_MARKER not in text:
        return found
    allowed = [(off, off + len(line)) for off, line in _lines(text) if ALLOW_MARKER in line]
    return [c for c in found if not any(a <= c.start <= b for a, b in allowed)]


def _lines(text: str):
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


# --- 0 and 1: shapes --------------------------------------------------------------------------

def _pem_blocks(text: str) -> list[Candidate]:
    out = []
    for m in PEM_BLOCK.finditer(text):
        kind = "openssh_private_key" if "OPENSSH" in m.group("label") else "private_key"
        start, end = m.start("body"), m.end("body")
        while end > start and text[end - 1] in "\r\n":
            end -= 1
        if text[start:end].lstrip().startswith("<<SECRET:"):
            continue  # already redacted
        out.append(Candidate(start, end, kind, 0))
    return out


def _tokens(text: str) -> list[Candidate]:
    out = []
    for kind, rx in TOKEN_PATTERNS:
        group = "s" if "s" in rx.groupindex else 0
        for m in rx.finditer(text):
            out.append(Candidate(m.start(group), m.end(group), kind, 1))
    return out


def _url_passwords(text: str) -> list[Candidate]:
    out = []
    for m in URL_USERINFO.finditer(text):
        value = m.group("s")
        if not names.is_secret_value(value):
            continue
        before = URL_SCHEME_BEFORE.search(text, max(0, m.start() - 40), m.start())
        if not before:
            continue
        scheme = before.group("scheme").lower()
        kind = "database_password" if scheme in DB_SCHEMES or scheme.split("+")[0] in DB_SCHEMES \
            else "url_password"
        out.append(Candidate(m.start("s"), m.end("s"), kind, 1))
    return out


# --- 2: headers, flags, Kubernetes Secrets ------------------------------------------------------

_AUTH_HEADER = re.compile(
    r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]?\s*[\"']?\s*"
    r"(?:(?P<scheme>basic|bearer|token|digest|negotiate|ntlm|apikey|aws4-hmac-sha256|hmac|sso-key)\s+)?"
    r"(?P<s>[^\s\"';]+(?:(?<=,)\s*[^\s\"';]+)*)")
_SECRET_HEADER = re.compile(
    r"(?i)\b(?:x-api-key|api-key|apikey|x-auth-token|x-access-token|private-token|job-token|"
    r"x-vault-token|x-goog-api-key|x-amz-security-token|ocp-apim-subscription-key|x-functions-key|"
    r"x-hub-signature(?:-256)?|x-gitlab-token|x-shopify-access-token|x-figma-token|x-secret|"
    r"x-webhook-secret)(?![\w-])[\"']?(?:\s*[:=]\s*|\s+)[\"']?(?P<s>[^\s\"';,]+)")


def _headers(line: str, offset: int) -> list[Candidate]:
    out = []
    for m in _AUTH_HEADER.finditer(line):
        value = m.group("s")
        if not m.group("scheme") and not names.looks_random(value):
            continue
        if m.group("scheme") and m.group("scheme").lower() == "digest":
            end = len(line.rstrip().rstrip(";").rstrip("\"'"))
            if end > m.start("s") and names.is_secret_value(line[m.start("s"):end]):
                out.append(Candidate(offset + m.start("s"), offset + end, "authorization", 2))
            continue
        if names.is_secret_value(value):
            out.append(Candidate(offset + m.start("s"), offset + m.end("s"), "authorization", 2))
    for m in _SECRET_HEADER.finditer(line):
        if names.is_secret_value(m.group("s")):
            out.append(Candidate(offset + m.start("s"), offset + m.end("s"), "token", 2))
    return out


def _shell_words(line: str) -> list[tuple[int, int]]:
    """Spans of shell words (quotes kept inside the span)."""
    spans, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            break
        start, quote = i, None
        while i < n and (quote or line[i] not in " \t"):
            ch = line[i]
            if quote:
                if ch == quote:
                    quote = None
                elif ch == "\\" and quote == '"':
                    i += 1
            elif ch in "\"'":
                quote = ch
            elif ch == "\\":
                i += 1
            i += 1
        spans.append((start, min(i, n)))
    return spans


def _unquote_span(line: str, start: int, end: int) -> tuple[int, int]:
    while end - start >= 2 and line[start] in "\"'" and line[end - 1] == line[start]:
        start, end = start + 1, end - 1
    return start, end


_FLAG = re.compile(r"^--?(?P<name>[A-Za-z][\w.-]*)(?:=(?P<v>.*))?$")
_LOGIN_CLIENTS = re.compile(r"\b(?:docker|podman|buildah|skopeo|helm|nerdctl|oras)\b(?:\s+\S+)*?\s+login\b|\bsshpass\b")
_DB_CLIENTS = re.compile(r"\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump|mysqlsh)\b")


def _flags_and_env(line: str, offset: int) -> list[Candidate]:
    out = []
    spans = _shell_words(line)
    words = [line[a:b] for a, b in spans]
    db_client = bool(_DB_CLIENTS.search(line))
    login_client = bool(_LOGIN_CLIENTS.search(line))
    for i, (a, b) in enumerate(spans):
        word = words[i]
        # NAME=VALUE, possibly inside Environment=, with the quotes around the whole pair
        body_a = a
        if word.startswith("Environment="):
            body_a = a + len("Environment=")
        qa, qb = _unquote_span(line, body_a, b)
        pair = re.match(r"(?P<name>[A-Za-z_][\w.-]*)=", line[qa:qb])
        if pair and not line[qa:qb].startswith("-"):
            va, vb = _unquote_span(line, qa + pair.end(), qb)
            va = _skip_credential_id(line, pair.group("name"), va, vb)
            kind = names.secret_kind(pair.group("name"))
            if kind and names.is_secret_value(line[va:vb], kind):
                out.append(Candidate(offset + va, offset + vb, _public_kind(kind), 2))
            continue
        if word in {"-p", "--password"} and login_client and i + 1 < len(spans):
            va, vb = _unquote_span(line, *spans[i + 1])
            if names.is_secret_value(line[va:vb]):
                out.append(Candidate(offset + va, offset + vb, "password", 2))
            continue
        if db_client and word.startswith("-p") and len(word) > 2:
            va, vb = _unquote_span(line, a + 2, b)
            if names.is_secret_value(line[va:vb]):
                out.append(Candidate(offset + va, offset + vb, "database_password", 2))
            continue
        flag = _FLAG.match(word)
        if not flag:
            continue
        name = flag.group("name")
        if name in {"u", "user"} and i + 1 < len(spans) and "curl" in line:
            na, nb = _unquote_span(line, *spans[i + 1])
            user_pass = line[na:nb]
            if ":" in user_pass and names.is_secret_value(user_pass.split(":", 1)[1]):
                out.append(Candidate(offset + na + user_pass.index(":") + 1, offset + nb, "url_password", 2))
            continue
        if word in {"-a", "--pass"} and "redis-cli" in line or word == "-p" and "sshpass" in line:
            kind = "database_password" if "redis-cli" in line else "password"
        else:
            kind = names.secret_kind(name)
        if not kind:
            continue
        if flag.group("v") is not None:
            va, vb = _unquote_span(line, a + word.index("=") + 1, b)
        elif i + 1 < len(spans) and not words[i + 1].startswith("-"):
            va, vb = _unquote_span(line, *spans[i + 1])
        else:
            continue
        if names.is_secret_value(line[va:vb], kind):
            out.append(Candidate(offset + va, offset + vb, _public_kind(kind), 2))
    for i in range(len(words) - 4):
        if words[i:i + 3] == ["aws", "configure", "set"]:
            kind = names.secret_kind(words[i + 3])
            va, vb = _unquote_span(line, *spans[i + 4])
            if kind and names.is_secret_value(line[va:vb], kind):
                out.append(Candidate(offset + va, offset + vb, _public_kind(kind), 2))
    if "htpasswd" in words:
        args = words[words.index("htpasswd") + 1:]
        options = "".join(w[1:] for w in args if w.startswith("-"))
        if "b" in options and len([w for w in args if not w.startswith("-")]) >= 3:
            va, vb = _unquote_span(line, *spans[-1])
            if names.is_secret_value(line[va:vb]):
                out.append(Candidate(offset + va, offset + vb, "password", 2))
    return out


def _kubernetes_secret_data(text: str) -> list[Candidate]:
    """Values under ``data:``/``stringData:`` in a ``kind: Secret`` YAML document."""
    if not re.search(r"(?m)^\s*kind:\s*[\"']?Secret\b", text):
        return []
    out, offset = [], 0
    for doc in re.split(r"(?m)(?<=\n)(?=---[ \t]*$)", text):
        if re.search(r"(?m)^\s*kind:\s*[\"']?Secret\b", doc):
            out += _secret_doc(doc, offset)
        offset += len(doc)
    return out


def _secret_doc(doc: str, base: int) -> list[Candidate]:
    out, data_indent, block_indent = [], None, None
    for off, line in _lines(doc):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if stripped and indent >= block_indent:
                out.append(Candidate(base + off + indent, base + off + len(line.rstrip()), "k8s_secret", 2))
                continue
            block_indent = None
        if data_indent is not None and stripped and indent <= data_indent:
            data_indent = None
        m = re.match(r"^(\s*)(data|stringData):\s*$", line)
        if m:
            data_indent = len(m.group(1))
            continue
        if data_indent is None or not stripped or stripped.startswith("#"):
            continue
        kv = re.match(r"^\s*[\"']?[\w.-]+[\"']?:[ \t]*(?P<v>(?:.*\S)?)", line)
        if not kv:
            continue
        value = kv.group("v")
        if value in {"|", "|-", "|+", ">", ">-", ">+"}:
            block_indent = indent + 1
            continue
        va, vb = _unquote_span(line, kv.start("v"), kv.end("v"))
        if vb > va and names.is_secret_value(line[va:vb]):
            out.append(Candidate(base + off + va, base + off + vb, "k8s_secret", 2))
    return out


# --- 3: generic settings -----------------------------------------------------------------------

_JSON_PAIR = re.compile(r"\"(?P<name>[^\"\\]{1,80})\"\s*:\s*\"(?P<v>(?:[^\"\\]|\\.)*)\"")
_BRACKETED = re.compile(r"\b(?:env|php_(?:admin_)?(?:value|flag))\s*\[(?P<name>[^\]\[]{1,100})\]\s*=[ \t]*(?P<v>(?:.*[^\s;])?)")
_DIRECTIVE = re.compile(
    r"^\s*(?:fastcgi_param|uwsgi_param|scgi_param|proxy_set_header|grpc_set_header|add_header|set|"
    r"passenger_env_var|proxy_set_body|SetEnv|RequestHeader\s+set|Header\s+set)\s+"
    r"(?P<name>\"[^\"]*\"|'[^']*'|\S+)\s+(?P<v>\"[^\"]*\"|'[^']*'|[^;\s]+(?:\s+[^;\s]+)*?)\s*(?:;|\s+if=|$)")
_WHOLE_LINE = re.compile(
    r"^\s*(?:export\s+|set\s+|-\s+|setenv\s+)?[\"']?(?P<name>[A-Za-z_$][\w.\-\[\]$]*)[\"']?\s*"
    r"(?P<op>=|:=|:(?=\s|$))[ \t]*(?P<v>(?:.*\S)?)")
_INLINE = re.compile(  # the value is looked ahead, so a quoted value is searched for pairs too
    r"(?<![\w.$-])(?P<name>[A-Za-z_][\w.-]*)(?:\s*=\s*|[\"']?:\s+)"
    r"(?=(?P<v>\"[^\"]*\"|'[^']*'|[^\s;,&'\"<>)\]}]+))")


_QUOTED_PAIR = re.compile(  # PHP define('DB_PASSWORD', 'x'), 'password' => 'x', Lua/Python tuples
    r"(?P<q>[\"'])(?P<name>[\w.-]{2,80})(?P=q)\s*(?:,|=>|:)\s*(?P<q2>[\"'])(?P<v>(?:(?!(?P=q2)).)*)(?P=q2)")
_NETRC = re.compile(r"^\s*(?:machine\s+\S+|default)\b.*?\s(?:password|passwd)\s+(?P<v>\S+)")
_PGPASS = re.compile(r"^(?:[\w.*-]+|\[[0-9A-Fa-f:]+\]):(?:\d{1,5}|\*):[^:\s]+:[^:\s]+:(?P<v>\S+)\s*$")
_SQL_PASSWORD = re.compile(r"(?i)\b(?:IDENTIFIED\s+(?:WITH\s+\S+\s+)?BY|PASSWORD)\s+(?P<q>['\"])(?P<v>(?:(?!(?P=q)).)+)(?P=q)")
_AUTH_TUPLE = re.compile(r"(?i)(?:\bauth\s*=\s*\(|\b\w*BasicAuth\s*\()\s*['\"][^'\"]*['\"]\s*,\s*(?P<q>['\"])(?P<v>(?:(?!(?P=q)).)+)(?P=q)")
_SPACED_SETTING = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.-]*)\s+(?P<v>\"[^\"]*\"|'[^']*'|[^\s;#]+)\s*;?\s*(?:#.*)?$")
_SECURE_LINK = re.compile(r"(?:^|[{;])\s*secure_link_(?:md5|secret)\s+(?P<v>\"[^\"]*\"|'[^']*'|[^;]+)\s*;")


def _special_formats(line: str, offset: int) -> list[Candidate]:
    out = []
    for rx, kind in ((_NETRC, "password"), (_PGPASS, "database_password")):
        m = rx.match(line)
        if m and names.is_secret_value(m.group("v")):
            out.append(Candidate(offset + m.start("v"), offset + m.end("v"), kind, 2))
    for rx, kind in ((_SQL_PASSWORD, "database_password"), (_AUTH_TUPLE, "password")):
        for m in rx.finditer(line):
            if names.is_secret_value(m.group("v")):
                out.append(Candidate(offset + m.start("v"), offset + m.end("v"), kind, 2))
    m = _SPACED_SETTING.match(line)  # redis "requirepass x", haproxy/ssh-style "name value" lines
    if m and not line.lstrip().startswith(("#", ";", "//")):
        out += _named_value(line, offset, m.group("name"), m.start("v"), m.end("v"))
    m = _SECURE_LINK.search(line)
    if m:
        va, vb = _unquote_span(line, m.start("v"), m.end("v"))
        for word in re.finditer(r"(?<!\S)[^\s$]+(?!\S)", line[va:vb]):
            if names.is_secret_value(word.group()):
                out.append(Candidate(offset + va + word.start(), offset + va + word.end(), "secret", 2))
    return out


# Every line rule below needs one of these somewhere in the line; most lines of a config have none.
_KEYWORD = re.compile(r"(?i)pass|pw|secret|token|key|auth|credential|salt|pepper|bearer|signature|sig=|"
                      r"identified|machine|login|mysql|mariadb|redis|curl|dsn|secure_link")


def _line_candidates(line: str, offset: int) -> list[Candidate]:
    if not line.strip():
        return []
    if not _KEYWORD.search(line):
        m = _PGPASS.match(line)
        if m and names.is_secret_value(m.group("v")):
            return [Candidate(offset + m.start("v"), offset + m.end("v"), "database_password", 2)]
        return []
    out = _headers(line, offset) + _flags_and_env(line, offset) + _special_formats(line, offset)
    for rx in (_JSON_PAIR, _QUOTED_PAIR, _BRACKETED, _DIRECTIVE, _INLINE):
        for m in rx.finditer(line):
            if rx is _INLINE and _prose_colon(line, m):
                continue
            out += _named_value(line, offset, m.group("name"), m.start("v"), m.end("v"))
    m = _WHOLE_LINE.match(line)
    if m and not line.lstrip().startswith(("#", ";", "//")):
        va, vb = m.start("v"), m.end("v")
        value = line[va:vb]
        if value[:1] not in "\"'":
            cut = re.search(r"\s+[#;]", value)
            if cut:
                vb = va + cut.start()
        out += _named_value(line, offset, m.group("name"), va, vb)
    return out


def _prose_colon(line: str, m: re.Match) -> bool:
    """``credentials: prefer ...`` in a sentence: a plain word, a colon, a plain word."""
    if "=" in line[m.end("name"):m.start("v")] or not m.group("name").isalpha():
        return False
    if m.start("name") == len(line) - len(line.lstrip()):
        return False  # a "name: value" line of its own is a setting, not prose
    value = m.group("v").strip("\"'")
    return value.isalpha() or len(value) < 6


def _named_value(line: str, offset: int, name: str, va: int, vb: int) -> list[Candidate]:
    kind = names.secret_kind(name)
    if not kind:
        return []
    va, vb = _unquote_span(line, va, vb)
    if line[va:vb].endswith(",") and line[va:vb][:1] not in "\"'":
        vb -= 1
    va = _skip_credential_id(line, name, va, vb)
    if not names.is_secret_value(line[va:vb], kind):
        return []
    return [Candidate(offset + va, offset + vb, _public_kind(kind), 3)]


def _skip_credential_id(line: str, name: str, va: int, vb: int) -> int:
    """systemd SetCredential=ID:VALUE: the ID is a name, the value the secret."""
    value = line[va:vb]
    if name.lower().startswith("setcredential") and ":" in value and not value.startswith("<<SECRET:"):
        return va + value.index(":") + 1
    return va


def _public_kind(kind: str) -> str:
    return {"key": "secret_key", "auth": "authorization"}.get(kind, kind)


# --- 4: hosts ----------------------------------------------------------------------------------

_TLDS = {
    "com", "net", "org", "io", "dev", "info", "biz", "co", "uk", "de", "fr", "nl", "eu", "us", "ca",
    "au", "jp", "cn", "ru", "br", "es", "it", "se", "no", "fi", "dk", "pl", "ch", "at", "be", "cz",
    "ie", "nz", "za", "kr", "tw", "hk", "sg", "mx", "ar", "cl", "pt", "gr", "tr", "ua", "ro", "hu",
    "cloud", "ai", "me", "tech", "xyz", "site", "online", "app", "shop", "store", "blog", "edu",
    "gov", "mil", "int", "internal", "local", "lan", "corp", "home", "intranet", "example", "test",
    "localdomain", "svc", "cluster",
}
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_HOSTNAME = re.compile(r"(?<![\w.@-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                       r"(?P<tld>[A-Za-z]{2,24})(?![\w-]|\.[A-Za-z0-9])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")


def _hosts(text: str) -> list[Candidate]:
    out = [Candidate(m.start(), m.end(), "email", 4) for m in _EMAIL.finditer(text)]
    for m in _HOSTNAME.finditer(text):
        if m.group("tld").lower() in _TLDS:
            out.append(Candidate(m.start(), m.end(), "hostname", 4))
    for m in _IPV4.finditer(text):
        try:
            address = ipaddress.ip_address(m.group(0))
        except ValueError:
            continue
        if address.is_global:
            out.append(Candidate(m.start(), m.end(), "ip_address", 4))
    return out
