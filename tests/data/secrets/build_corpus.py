"""Build the labelled secrets corpus (run once; the output files are committed).

    .venv/bin/pip install cryptography && .venv/bin/python tests/data/secrets/build_corpus.py

Every secret here is FAKE: random strings in the real formats, and keys generated on the spot with
`cryptography`. None is, or was ever, a credential for anything.

Writes files/*.txt (realistic configs and command output) and labels.json: for each file, every
secret (kind, value, exact 1-based span; end_column is just past the last character) and every
near-miss (something that looks secret-ish but is not: paths, file hashes, UUIDs, commit ids,
ETags, base64 of public data, variable references, placeholders). Anything in a file that is not
labelled a secret is not one.

Decisions: obvious placeholders (``<password>``, ``xxxxxxxx``, ``REDACTED``, ``your-api-key-here``)
are near-misses; weak real-looking passwords (``changeme``, ``hunter2``) are secrets. Public keys,
certificates, Stripe publishable keys and ARNs without an account id are near-misses.
"""
from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261127
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"


class Doc:
    """A text built piece by piece, remembering where each labelled value went."""

    def __init__(self, name: str, fmt: str):
        self.name, self.fmt = name, fmt
        self.parts: list[str] = []
        self.length = 0
        self.secrets: list[tuple[str, str, int]] = []
        self.near: list[tuple[str, str, int]] = []

    def t(self, text: str) -> "Doc":
        self.parts.append(text)
        self.length += len(text)
        return self

    def s(self, kind: str, value: str) -> "Doc":
        self.secrets.append((kind, value, self.length))
        return self.t(value)

    def n(self, kind: str, value: str) -> "Doc":
        self.near.append((kind, value, self.length))
        return self.t(value)

    def text(self) -> str:
        return "".join(self.parts)

    def labels(self) -> dict:
        text = self.text()
        starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

        def pos(offset: int) -> tuple[int, int]:
            line = max(i for i, s in enumerate(starts) if s <= offset)
            return line + 1, offset - starts[line] + 1

        def label(kind, value, offset):
            line, col = pos(offset)
            end_line, end_col = pos(offset + len(value))
            assert text[offset:offset + len(value)] == value
            return {"kind": kind, "value": value, "line": line, "column": col,
                    "end_line": end_line, "end_column": end_col}

        return {"file": self.name, "format": self.fmt,
                "secrets": [label(*x) for x in self.secrets],
                "near_misses": [label(*x) for x in self.near]}


class Fake:
    """Random values in real formats."""

    def __init__(self, rng: random.Random):
        self.r = rng

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def hex(self, n: int) -> str:
        return self.chars(HEX, n)

    def password(self) -> str:
        weak = ["changeme", "hunter2", "admin123", "Summer2024!", "P@ssw0rd", "letmein1", "secret"]
        if self.r.random() < 0.15:
            return self.r.choice(weak)
        words = ["blue", "Otter", "maple", "Quartz", "river", "Falcon", "ember", "Cobalt", "tundra"]
        if self.r.random() < 0.5:
            return self.r.choice(words) + self.r.choice("-_.!#%") + self.r.choice(words) + str(self.r.randint(10, 999))
        return self.chars(ALNUM + "!#%^*-_=+", self.r.randint(12, 28))

    def url_password(self) -> str:
        return self.chars(ALNUM + "-_.~!*", self.r.randint(10, 24))

    def aws_id(self, prefix: str = "AKIA") -> str:
        return prefix + self.chars(string.ascii_uppercase + "234567", 16)

    def aws_secret(self) -> str:
        return self.chars(B64, 40)

    def aws_session(self) -> str:
        return "IQoJb3JpZ2luX2Vj" + self.chars(B64, self.r.randint(280, 360)) + "=="

    def account(self) -> str:
        return str(self.r.randint(10**11, 10**12 - 1))

    def azure_key(self) -> str:
        return base64.b64encode(self.r.randbytes(64)).decode()

    def github(self) -> str:
        if self.r.random() < 0.3:
            return "github_pat_11" + self.chars(string.ascii_uppercase + string.digits, 20) + "_" + self.chars(ALNUM, 59)
        return self.r.choice(["ghp_", "gho_", "ghs_", "ghu_"]) + self.chars(ALNUM, 36)

    def gitlab(self) -> str:
        return "glpat-" + self.chars(ALNUM + "-_", 20)

    def slack(self) -> str:
        return f"xoxb-{self.r.randint(10**10, 10**12)}-{self.r.randint(10**10, 10**12)}-{self.chars(ALNUM, 24)}"

    def slack_hook(self) -> str:
        return f"T{self.chars(string.ascii_uppercase + string.digits, 9)}/B{self.chars(string.ascii_uppercase + string.digits, 10)}/{self.chars(ALNUM, 24)}"

    def stripe(self) -> str:
        return self.r.choice(["sk_live_", "rk_live_", "sk_test_"]) + self.chars(ALNUM, self.r.choice([24, 99]))

    def openai(self) -> str:
        if self.r.random() < 0.7:
            return "sk-proj-" + self.chars(B64URL, 74) + "T3BlbkFJ" + self.chars(B64URL, 74)
        return "sk-" + self.chars(ALNUM, 20) + "T3BlbkFJ" + self.chars(ALNUM, 20)

    def anthropic(self) -> str:
        return "sk-ant-api03-" + self.chars(B64URL, 93) + "AA"

    def twilio(self, prefix: str) -> str:
        return prefix + self.hex(32)

    def sendgrid(self) -> str:
        return "SG." + self.chars(B64URL, 22) + "." + self.chars(B64URL, 43)

    def google(self) -> str:
        return "AIza" + self.chars(B64URL, 35)

    def npm(self) -> str:
        return "npm_" + self.chars(ALNUM, 36)

    def bearer(self) -> str:
        return self.chars(ALNUM + "-._~", self.r.randint(24, 48))

    def basic(self) -> str:
        return base64.b64encode(f"{self.r.choice(['admin', 'deploy', 'ci', 'ops'])}:{self.password()}".encode()).decode()

    def jwt(self) -> str:
        def part(obj):
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
        head = part({"alg": "HS256", "typ": "JWT"})
        body = part({"sub": str(self.r.randint(1, 99999)), "name": self.r.choice(["ana", "li", "sam"]),
                     "iat": 1700000000 + self.r.randint(0, 10**7)})
        return f"{head}.{body}.{self.chars(B64URL, 43)}"

    def htpasswd(self) -> str:
        kind = self.r.choice(["apr1", "sha", "bcrypt"])
        if kind == "apr1":
            return f"$apr1${self.chars(ALNUM + './', 8)}${self.chars(ALNUM + './', 22)}"
        if kind == "sha":
            return "{SHA}" + base64.b64encode(self.r.randbytes(20)).decode()
        return f"$2y$10${self.chars(ALNUM + './', 53)}"

    def django_key(self) -> str:
        return self.chars(string.ascii_lowercase + string.digits + "!@#%^&*(-_=+)", 50)

    def laravel_key(self) -> str:
        return "base64:" + base64.b64encode(self.r.randbytes(32)).decode()

    def token(self) -> str:
        return self.chars(ALNUM, self.r.randint(24, 40))

    # near-misses
    def sha256(self) -> str:
        return hashlib.sha256(self.r.randbytes(64)).hexdigest()

    def commit(self) -> str:
        return hashlib.sha1(self.r.randbytes(32)).hexdigest()

    def uuid(self) -> str:
        return str(uuid.UUID(bytes=self.r.randbytes(16), version=4))

    def etag(self) -> str:
        return f'"{self.r.randint(0x1000, 0xfffff):x}-{self.r.randint(0x10000000000, 0xfffffffffff):x}"'

    def public_b64(self) -> str:
        text = self.r.choice(["Hello, world! This is public data for the demo page.",
                              "The quick brown fox jumps over the lazy dog, twice over.",
                              "Release notes: fixed the socket permissions in the unit file."])
        return base64.b64encode(text.encode()).decode()


def keys(rng: random.Random) -> dict:
    """Fresh private keys (fake: generated now, used nowhere)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    def pem(key, fmt, enc=serialization.NoEncryption()):
        return key.private_bytes(serialization.Encoding.PEM, fmt, enc).decode()

    out = {"rsa": [], "ec": [], "pkcs8": [], "openssh": [], "ssh_pub": [], "cert_body": []}
    for _ in range(6):
        out["rsa"].append(pem(rsa.generate_private_key(65537, 2048), serialization.PrivateFormat.TraditionalOpenSSL))
        out["ec"].append(pem(ec.generate_private_key(ec.SECP256R1()), serialization.PrivateFormat.TraditionalOpenSSL))
        out["pkcs8"].append(pem(ec.generate_private_key(ec.SECP384R1()), serialization.PrivateFormat.PKCS8))
        ed = ed25519.Ed25519PrivateKey.generate()
        out["openssh"].append(pem(ed, serialization.PrivateFormat.OpenSSH).replace("-----BEGIN PRIVATE KEY", "-----BEGIN OPENSSH PRIVATE KEY"))
        out["ssh_pub"].append(ed.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode())
        out["cert_body"].append(base64.b64encode(rng.randbytes(600)).decode())
    return out


def pem_parts(block: str) -> tuple[str, str, str]:
    """(header line + newline, body, newline + footer line + newline)."""
    lines = block.strip("\n").split("\n")
    return lines[0] + "\n", "\n".join(lines[1:-1]), "\n" + lines[-1] + "\n"


# --- templates: each writes one realistic file -------------------------------------------------

def nginx_site(d: Doc, f: Fake, k: dict, i: int) -> None:
    app = ["ledger", "shop", "wiki", "api"][i % 4]
    d.t("user ").n("user", "www-data").t(";\nworker_processes auto;\n\nhttp {\n")
    d.t("    log_format main '$remote_addr - $remote_user [$time_local] \"$request\" $status';\n")
    d.t("    upstream ").t(app).t("_app {\n        server unix:").n("path", f"/run/{app}/gunicorn.sock").t(" fail_timeout=0;\n    }\n")
    d.t("    server {\n        listen 443 ssl;\n        server_name ").t(f"{app}.example.org;\n")
    d.t("        ssl_certificate_key ").n("path", f"/etc/ssl/private/{app}.key").t(";\n")
    d.t("        ssl_password_file ").n("path", f"/etc/nginx/ssl/{app}.pass").t(";\n")
    d.t("        auth_basic ").n("config_value", '"Restricted area"').t(";\n")
    d.t("        auth_basic_user_file ").n("path", "/etc/nginx/.htpasswd").t(";\n")
    d.t("        etag on;\n")
    d.t("        location / {\n")
    d.t("            proxy_set_header Authorization ").n("variable", "$http_authorization").t(";\n")
    d.t("            proxy_set_header X-Request-Id ").n("variable", "$request_id").t(";\n")
    d.t("            proxy_pass http://").t(app).t("_app;\n        }\n")
    d.t("        location /internal/ {\n")
    d.t('            proxy_set_header Authorization "Bearer ').s("authorization", f.bearer()).t('";\n')
    d.t("            proxy_set_header X-Api-Key ").s("api_key", f.token()).t(";\n")
    d.t("            proxy_pass http://unix:").n("path", f"/run/{app}/internal.sock").t(":/;\n        }\n")
    d.t("        location /legacy/ {\n")
    d.t("            proxy_set_header Authorization \"Basic ").s("authorization", f.basic()).t("\";\n")
    d.t("            more_set_input_headers 'Authorization: Bearer ").s("authorization", f.jwt()).t("';\n")
    d.t("            add_header X-Build ").n("git_commit", f.commit()).t(";\n")
    d.t("            proxy_pass http://10.0.3.7:8080;\n        }\n")
    d.t("        location ~ \\.php$ {\n            include fastcgi_params;\n")
    d.t("            fastcgi_param DB_PASSWORD ").s("database_password", f.password()).t(";\n")
    d.t("            fastcgi_param APP_SECRET \"").s("generic_secret", f.token()).t("\";\n")
    d.t("            fastcgi_param STRIPE_KEY ").s("stripe_key", f.stripe()).t(";\n")
    d.t("            fastcgi_param PATH_INFO ").n("variable", "$fastcgi_path_info").t(";\n")
    d.t("            fastcgi_pass unix:").n("path", "/run/php/php8.2-fpm.sock").t(";\n        }\n")
    d.t("        location /uwsgi/ {\n            include uwsgi_params;\n")
    d.t("            uwsgi_param SECRET_KEY ").s("generic_secret", f.django_key().replace(";", "x").replace("(", "y")).t(";\n")
    d.t("            uwsgi_param SENTRY_AUTH_TOKEN ").s("generic_secret", f.hex(64)).t(";\n")
    d.t("            uwsgi_pass unix:").n("path", f"/run/uwsgi/{app}.sock").t(";\n        }\n    }\n}\n")


def systemd_unit(d: Doc, f: Fake, k: dict, i: int) -> None:
    app = ["billing", "tracker", "notes", "forms"][i % 4]
    d.t(f"$ systemctl cat {app}.service\n# /etc/systemd/system/{app}.service\n[Unit]\nDescription={app} app\nAfter=network.target\n\n[Service]\n")
    d.t("User=").n("user", app).t("\nGroup=").n("user", "www-data").t("\nUMask=").n("mode", "0007").t("\n")
    d.t("RuntimeDirectory=").t(app).t("\nRuntimeDirectoryMode=").n("mode", "0750").t("\n")
    d.t("Environment=DJANGO_SETTINGS_MODULE=").t(app).t(".settings\n")
    d.t('Environment="DATABASE_PASSWORD=').s("database_password", f.password()).t('" "DEBUG=0"\n')
    d.t("Environment=AWS_ACCESS_KEY_ID=").s("aws_access_key_id", f.aws_id()).t("\n")
    d.t("Environment=AWS_SECRET_ACCESS_KEY=").s("aws_secret_key", f.aws_secret()).t("\n")
    d.t("Environment=AWS_REGION=").n("config_value", "eu-west-1").t("\n")
    d.t("Environment=SENDGRID_API_KEY=").s("sendgrid_key", f.sendgrid()).t("\n")
    d.t("Environment=REDIS_URL=redis://:").s("database_password", f.url_password()).t("@127.0.0.1:6379/0\n")
    d.t("Environment=SECRET_KEY_FILE=").n("path", f"/etc/{app}/secret.key").t("\n")
    d.t("Environment=INVOCATION_HINT=").n("uuid", f.uuid()).t("\n")
    d.t("EnvironmentFile=").n("path", f"/etc/{app}/env").t("\n")
    d.t("ExecStart=").n("path", f"/srv/{app}/venv/bin/gunicorn").t(" --workers 3 --umask 007 --bind unix:")
    d.t(f"/run/{app}/gunicorn.sock {app}.wsgi:application\n")
    d.t("PrivateTmp=true\nProtectHome=true\n\n[Install]\nWantedBy=multi-user.target\n")
    d.t(f"\n$ systemctl show {app} -p InvocationID -p MainPID\nInvocationID=").n("hex_id", f.hex(32)).t("\nMainPID=4412\n")


def php_fpm_pool(d: Doc, f: Fake, k: dict, i: int) -> None:
    pool = ["wiki", "shop", "crm", "blog"][i % 4]
    d.t(f"; /etc/php/8.2/fpm/pool.d/{pool}.conf\n[{pool}]\nuser = ").n("user", pool).t("\ngroup = ").n("user", pool).t("\n")
    d.t("listen = ").n("path", f"/run/php/{pool}.sock").t("\nlisten.owner = www-data\nlisten.group = www-data\nlisten.mode = ").n("mode", "0660").t("\n")
    d.t("pm = dynamic\npm.max_children = 5\n")
    d.t("env[DB_HOST] = 127.0.0.1\nenv[DB_PASSWORD] = ").s("database_password", f.password()).t("\n")
    d.t("env[MAILER_DSN] = smtp://mailer:").s("url_password", f.url_password()).t("@smtp.example.net:587\n")
    d.t("env[APP_KEY] = ").s("generic_secret", f.laravel_key()).t("\n")
    d.t("env[TWILIO_ACCOUNT_SID] = ").s("twilio_key", f.twilio("AC")).t("\n")
    d.t("env[TWILIO_AUTH_TOKEN] = ").s("twilio_key", f.hex(32)).t("\n")
    d.t("env[TMPDIR] = ").n("path", "/tmp").t("\nenv[SESSION_SECRET] = ").n("variable", "$SESSION_SECRET").t("\n")
    d.t("php_admin_value[mysql.default_password] = ").s("database_password", f.password()).t("\n")
    d.t("php_admin_value[smtp_password] = ").s("password", f.password()).t("\n")
    d.t("php_admin_value[error_log] = ").n("path", f"/var/log/php-fpm/{pool}-error.log").t("\n")
    d.t("php_admin_value[session.save_path] = ").n("path", "/var/lib/php/sessions").t("\n")
    d.t("php_value[session.hash_function] = sha256\n")
    d.t("; password_min_length = 12 is enforced in the app\n")


def dotenv(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("# .env (EnvironmentFile=/etc/app/env)\nAPP_ENV=production\nAPP_DEBUG=false\n")
    d.t("APP_KEY=").s("generic_secret", f.laravel_key()).t("\n")
    d.t("DB_CONNECTION=pgsql\nDB_HOST=db.internal\nDB_USERNAME=app\nDB_PASSWORD=").s("database_password", f.password()).t("\n")
    d.t("DATABASE_URL=postgresql://app:").s("database_password", f.url_password()).t("@db.internal:5432/app\n")
    d.t("MONGO_URL=mongodb+srv://svc:").s("database_password", f.url_password()).t("@cluster0.mongodb.net/prod?retryWrites=true\n")
    d.t("AMQP_URL=amqps://worker:").s("database_password", f.url_password()).t("@mq.internal:5671/%2F\n")
    d.t("GITHUB_TOKEN=").s("github_token", f.github()).t("\n")
    d.t("GITLAB_TOKEN=").s("gitlab_token", f.gitlab()).t("\n")
    d.t("SLACK_BOT_TOKEN=").s("slack_token", f.slack()).t("\n")
    d.t("SLACK_WEBHOOK_URL=https://hooks.slack.com/services/").s("slack_token", f.slack_hook()).t("\n")
    d.t("OPENAI_API_KEY=").s("openai_key", f.openai()).t("\n")
    d.t("ANTHROPIC_API_KEY=").s("anthropic_key", f.anthropic()).t("\n")
    d.t("STRIPE_SECRET_KEY=").s("stripe_key", f.stripe()).t("\n")
    d.t("STRIPE_PUBLISHABLE_KEY=").n("public_key", "pk_live_" + f.chars(ALNUM, 24)).t("\n")
    d.t("MAIL_PASSWORD=").n("placeholder", "<your-smtp-password>").t("\n")
    d.t("SENTRY_DSN=").n("placeholder", "xxxxxxxxxxxxxxxx").t("\n")
    d.t("SESSION_LIFETIME=120\nTOKEN_TTL=3600\n")
    d.t("JWT_SECRET=").s("generic_secret", f.token()).t("\n")
    d.t("ASSET_SHA256=").n("sha256", f.sha256()).t("\n")
    d.t("RELEASE=").n("git_commit", f.commit()).t("\n")


def yaml_app(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("# config/production.yml\nserver:\n  socket: ").n("path", "/run/app/puma.sock").t("\n  umask: ").n("mode", "0007").t("\n")
    d.t("database:\n  adapter: postgresql\n  host: db.internal\n  username: app\n  password: ").s("database_password", f.password()).t("\n")
    d.t("  password_file: ").n("path", "/run/secrets/db_password").t("\n")
    d.t("redis:\n  url: rediss://default:").s("database_password", f.url_password()).t("@cache.internal:6380\n")
    d.t("smtp:\n  user: mailer\n  password: \"").s("password", f.password()).t("\"\n")
    d.t("aws:\n  access_key_id: ").s("aws_access_key_id", f.aws_id()).t("\n  secret_access_key: ").s("aws_secret_key", f.aws_secret()).t("\n")
    d.t("  role_arn: arn:aws:iam::").s("aws_account_id", f.account()).t(":role/app-writer\n")
    d.t("  bucket_arn: ").n("arn_no_account", f"arn:aws:s3:::app-assets-{i}").t("\n")
    d.t("google:\n  maps_api_key: ").s("google_api_key", f.google()).t("\n")
    d.t("secrets:\n  secret_key_base: ").s("generic_secret", f.hex(128)).t("\n")
    d.t("  api_token: ").n("variable", "${API_TOKEN}").t("\n")
    d.t("  webhook_secret: ").n("placeholder", "REDACTED").t("\n")
    d.t("assets:\n  manifest_digest: ").n("sha256", "sha256:" + f.sha256()).t("\n  build_id: ").n("uuid", f.uuid()).t("\n")
    d.t("auth:\n  token_expiry: 3600\n  require_password: true\n")


def ini_files(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("$ cat /etc/app/uwsgi.ini\n[uwsgi]\nsocket = ").n("path", "/run/uwsgi/app.sock").t("\nchmod-socket = ").n("mode", "660").t("\n")
    d.t("uid = ").n("user", "app").t("\ngid = ").n("user", "www-data").t("\n")
    d.t("env = DJANGO_SECRET_KEY=").s("generic_secret", f.django_key().replace(" ", "")).t("\n")
    d.t("env = DB_PASS=").s("database_password", f.password()).t("\n")
    d.t("\n$ cat ~/.my.cnf\n[client]\nuser = backup\npassword = ").s("database_password", f.password()).t("\n")
    d.t("socket = ").n("path", "/run/mysqld/mysqld.sock").t("\n")
    d.t("\n$ cat /etc/supervisor/conf.d/worker.conf\n[program:worker]\ncommand=").n("path", "/srv/app/venv/bin/celery").t(" -A app worker\n")
    d.t("environment=BROKER_URL=\"amqp://celery:").s("database_password", f.url_password()).t("@localhost:5672//\",CELERY_RESULT_BACKEND=\"rpc://\"\n")
    d.t("\n$ cat ~/.aws/credentials\n[default]\naws_access_key_id = ").s("aws_access_key_id", f.aws_id()).t("\n")
    d.t("aws_secret_access_key = ").s("aws_secret_key", f.aws_secret()).t("\n")
    d.t("[temp]\naws_access_key_id = ").s("aws_access_key_id", f.aws_id("ASIA")).t("\n")
    d.t("aws_secret_access_key = ").s("aws_secret_key", f.aws_secret()).t("\n")
    d.t("aws_session_token = ").s("aws_session_token", f.aws_session()).t("\n")
    d.t("region = eu-central-1\n")
    d.t("\n$ cat /etc/app/app.ini\n[security]\nsecret_key = ").s("generic_secret", f.token()).t("\n")
    d.t("admin_password = ").s("password", f.password()).t("\ncookie_secure = true\n")
    d.t("password_hash_algorithm = ").n("config_value", "argon2id").t("\n")
    d.t("[database]\ntype = postgres\nhost = 127.0.0.1:5432\nname = app\nuser = app\npassword = ").n("placeholder", "********").t("\n")


def json_files(d: Doc, f: Fake, k: dict, i: int) -> None:
    body = k["pkcs8"][i % 6]
    head, mid, foot = pem_parts(body)
    d.t("$ cat /etc/app/service-account.json\n{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-project-").t(str(i)).t("\",\n")
    d.t("  \"private_key_id\": \"").s("gcp_private_key_id", f.hex(40)).t("\",\n")
    d.t("  \"private_key\": \"").t(head.replace("\n", "\\n")).s("private_key", mid.replace("\n", "\\n")).t(foot.replace("\n", "\\n")).t("\",\n")
    d.t("  \"client_email\": \"app@demo-project.iam.gserviceaccount.com\",\n  \"client_id\": \"").n("numeric_id", str(f.r.randint(10**20, 10**21))).t("\",\n")
    d.t("  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}\n")
    d.t("\n$ docker inspect web --format '{{json .Config.Env}}'\n[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin\",\"DB_PASSWORD=").s("database_password", f.password().replace('"', "")).t("\",")
    d.t("\"NPM_TOKEN=").s("npm_token", f.npm()).t("\",\"HOSTNAME=").n("hex_id", f.hex(12)).t("\"]\n")
    d.t("\n$ cat config.json\n{\"auth\": {\"client_secret\": \"").s("generic_secret", "GOCSPX-" + f.chars(B64URL, 28)).t("\", ")
    d.t("\"password\": \"\", \"etag\": ").n("etag", json.dumps(f.etag())[1:-1].replace('"', "")).t(", ")
    d.t("\"checksum\": \"").n("sha256", f.sha256()).t("\", \"api_key\": \"").s("api_key", f.token()).t("\", ")
    d.t("\"logo\": \"data:image/png;base64,").n("public_base64", f.public_b64()).t("\"}}\n")


def compose(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("# docker-compose.yml\nservices:\n  web:\n    image: nginx:1.25-alpine@").n("sha256", "sha256:" + f.sha256()).t("\n")
    d.t("    volumes:\n      - ").n("path", "./sock:/sock").t("\n    group_add:\n      - \"1000\"\n")
    d.t("  api:\n    image: registry.example.com/api:").n("git_commit", f.commit()[:12]).t("\n    environment:\n")
    d.t("      - POSTGRES_PASSWORD=").s("database_password", f.password()).t("\n")
    d.t("      - MYSQL_ROOT_PASSWORD=").s("database_password", f.password()).t("\n")
    d.t("      - SENTRY_DSN=https://").n("hex_id", f.hex(32)).t("@o123.ingest.sentry.io/456\n")
    d.t("      - APP_SECRET=").n("variable", "${APP_SECRET}").t("\n")
    d.t("      DATABASE_URL: \"mysql://root:").s("database_password", f.url_password()).t("@db:3306/app\"\n")
    d.t("  worker:\n    environment:\n      AZURE_STORAGE_CONNECTION_STRING: \"DefaultEndpointsProtocol=https;AccountName=acct").t(str(i)).t(";AccountKey=").s("azure_storage_key", f.azure_key()).t(";EndpointSuffix=core.windows.net\"\n")
    d.t("      GITHUB_TOKEN: ").s("github_token", f.github()).t("\n      TZ: Europe/Berlin\n")
    d.t("    secrets:\n      - db_password\nsecrets:\n  db_password:\n    file: ").n("path", "./secrets/db_password.txt").t("\n")


def k8s_secret(d: Doc, f: Fake, k: dict, i: int) -> None:
    pw = f.password()
    d.t("$ kubectl get secret app -o yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: prod\n  uid: ").n("uuid", f.uuid()).t("\n  resourceVersion: \"48211\"\ntype: Opaque\ndata:\n")
    d.t("  DB_PASSWORD: ").s("k8s_secret", base64.b64encode(pw.encode()).decode()).t("\n")
    d.t("  API_TOKEN: ").s("k8s_secret", base64.b64encode(f.token().encode()).decode()).t("\n")
    d.t("  tls.key: ").s("private_key", base64.b64encode(k["ec"][i % 6].encode()).decode()).t("\n")
    d.t("stringData:\n  REDIS_PASSWORD: ").s("k8s_secret", f.password()).t("\n")
    d.t("---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      securityContext:\n        fsGroup: 101\n      containers:\n      - name: app\n        env:\n")
    d.t("        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef: {name: app, key: DB_PASSWORD}\n")
    d.t("        - name: BUILD_SHA\n          value: \"").n("git_commit", f.commit()).t("\"\n")
    d.t("        - name: LICENSE_B64\n          value: \"").n("public_base64", f.public_b64()).t("\"\n")
    d.t("        volumeMounts:\n        - name: sock\n          mountPath: ").n("path", "/var/run/app").t("\n")


def shell_history(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("$ history | tail -n 20\n")
    d.t("  501  export AWS_ACCESS_KEY_ID=").s("aws_access_key_id", f.aws_id()).t("\n")
    d.t("  502  export AWS_SECRET_ACCESS_KEY=").s("aws_secret_key", f.aws_secret()).t("\n")
    d.t("  503  aws configure set aws_secret_access_key ").s("aws_secret_key", f.aws_secret()).t("\n")
    d.t("  504  mysql -u root -p'").s("database_password", f.password().replace("'", "")).t("' app < dump.sql\n")
    d.t("  505  PGPASSWORD=").s("database_password", f.url_password()).t(" psql -h db.internal -U app app\n")
    d.t("  506  psql \"postgresql://app:").s("database_password", f.url_password()).t("@db.internal/app?sslmode=require\"\n")
    d.t("  507  curl -H \"Authorization: Bearer ").s("authorization", f.bearer()).t("\" https://api.example.com/v1/status\n")
    d.t("  508  curl -u deploy:").s("url_password", f.url_password()).t(" https://ci.example.com/job/build\n")
    d.t("  509  git clone https://oauth2:").s("gitlab_token", f.gitlab()).t("@gitlab.example.com/team/app.git\n")
    d.t("  510  redis-cli -a ").s("database_password", f.url_password()).t(" ping\n")
    d.t("  511  htpasswd -b /etc/nginx/.htpasswd admin ").s("password", f.url_password()).t("\n")
    d.t("  512  docker run -e API_TOKEN=").s("generic_secret", f.token()).t(" app:latest\n")
    d.t("  513  sha256sum ").n("path", "/srv/app/release.tar.gz").t("\n")
    d.t("  514  git log -1 --format=%H\n  515  chmod 0660 ").n("path", "/run/app/app.sock").t("\n")
    d.t("  516  ls -la ").n("path", "/run/app/").t("\n  517  sudo -u www-data test -w /run/app/app.sock && echo ok\n")
    d.t("  518  echo $DB_PASSWORD\n  519  ./manage.py shell --settings=app.settings\n")
    d.t("  520  npm config set //registry.npmjs.org/:_authToken=").s("npm_token", f.npm()).t("\n")


def command_output(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("$ sha256sum /srv/app/release.tar.gz\n").n("sha256", f.sha256()).t("  /srv/app/release.tar.gz\n")
    d.t("$ git log -3 --oneline\n").n("git_commit", f.commit()[:7]).t(" Fix socket group\n").n("git_commit", f.commit()[:7]).t(" Bump gunicorn\n")
    d.t("$ git rev-parse HEAD\n").n("git_commit", f.commit()).t("\n")
    d.t("$ curl -sI https://static.example.com/app.js\nHTTP/2 200\netag: ").n("etag", f.etag()).t("\nx-request-id: ").n("uuid", f.uuid()).t("\n")
    d.t("$ cat /etc/machine-id\n").n("hex_id", f.hex(32)).t("\n")
    d.t("$ docker ps --no-trunc -q\n").n("hex_id", f.hex(64)).t("\n")
    d.t("$ ls -la /run/app/\ntotal 0\ndrwxr-x---  2 app  www-data  60 Mar  3 10:05 .\nsrw-rw----  1 app  www-data   0 Mar  3 10:05 app.sock\n")
    d.t("$ cat ~/.ssh/id_ed25519.pub\n").n("public_key", k["ssh_pub"][i % 6]).t(" deploy@web1\n")
    d.t("$ ps -o user,pid,args -C nginx\nUSER   PID COMMAND\nroot   811 nginx: master process /usr/sbin/nginx\nwww-data 815 nginx: worker process\n")
    d.t("$ grep -c . /var/log/nginx/access.log\n48211\n")
    d.t("$ tail -n 2 /var/log/nginx/access.log\n")
    d.t('203.0.113.9 - - [03/Mar/2025:10:05:44 +0000] "GET /api/export?format=csv&access_token=').s("url_query_token", f.token()).t(' HTTP/1.1" 200 512\n')
    d.t('203.0.113.9 - - [03/Mar/2025:10:05:45 +0000] "GET /hook?sig_check=0&page=2&request=').n("uuid", f.uuid()).t(' HTTP/1.1" 200 12\n')
    d.t("$ cat /etc/nginx/.htpasswd\nadmin:").s("htpasswd_hash", f.htpasswd()).t("\nops:").s("htpasswd_hash", f.htpasswd()).t("\n")
    d.t("$ curl -v https://api.example.com/me 2>&1 | grep '^>'\n> GET /me HTTP/1.1\n> Host: api.example.com\n> Authorization: Bearer ").s("authorization", f.jwt()).t("\n> Accept: */*\n")


def keys_files(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("$ sudo cat /etc/ssl/private/app.key\n")
    head, mid, foot = pem_parts(k["rsa"][i % 6])
    d.t(head).s("private_key", mid).t(foot)
    d.t("$ cat ~/.ssh/id_ed25519\n")
    head, mid, foot = pem_parts(k["openssh"][i % 6])
    d.t(head).s("openssh_private_key", mid).t(foot)
    d.t("$ cat /etc/ssl/certs/app.crt\n-----BEGIN CERTIFICATE-----\n")
    body = k["cert_body"][i % 6]
    d.n("certificate", "\n".join(body[j:j + 64] for j in range(0, len(body), 64))).t("\n-----END CERTIFICATE-----\n")
    d.t("$ cat deploy/values.yaml\ntls:\n  key: |\n")
    head, mid, foot = pem_parts(k["ec"][i % 6])
    d.t("    " + head).s("private_key", mid.replace("\n", "\n    ")).t(foot.replace("\n", "\n    ").rstrip(" ")).t("  cert: ").n("path", "/etc/ssl/certs/app.crt").t("\n")
    d.t("$ stat -c '%a %U:%G %n' /etc/ssl/private/app.key\n").n("mode", "640").t(" root:ssl-cert /etc/ssl/private/app.key\n")


def urls_and_logs(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("$ sudo tail -n 4 /var/log/nginx/error.log\n")
    d.t("2025/03/03 10:05:44 [crit] 815#815: *1 connect() to unix:/run/app/app.sock failed (13: Permission denied) while connecting to upstream, client: 198.51.100.7, server: app.example.com, request: \"GET /api/v1/report?api_key=")
    d.s("url_query_token", f.token()).t(" HTTP/1.1\", upstream: \"http://unix:/run/app/app.sock:/api/v1/report\", host: \"app.example.com\"\n")
    d.t("2025/03/03 10:05:45 [error] 815#815: *2 upstream prematurely closed connection, request: \"GET /static/app.js?v=").n("hex_id", f.hex(20)).t(" HTTP/1.1\"\n")
    d.t("2025/03/03 10:05:46 [warn] 815#815: *3 an upstream response is buffered, request: \"POST /login HTTP/1.1\", upstream: \"http://unix:/run/app/app.sock:/login\"\n")
    d.t("$ cat /etc/app/urls.txt\n")
    d.t("backup=sftp://backup:").s("url_password", f.url_password()).t("@backup.example.net/srv/backups\n")
    d.t("webdav=https://sync:").s("url_password", f.url_password()).t("@dav.example.com/remote.php/dav\n")
    d.t("docs=https://docs.example.com/guide#section-").n("hex_id", f.hex(8)).t("\n")
    d.t("proxy=http://").n("variable", "${PROXY_USER}:${PROXY_PASS}").t("@proxy.internal:3128\n")
    d.t("sas=https://acct.blob.core.windows.net/c/f.zip?sv=2022-11-02&se=2025-03-04&sr=b&sp=r&sig=").s("azure_storage_key", f.chars(ALNUM, 43) + "%3D").t("\n")
    d.t("s3=https://bucket.s3.amazonaws.com/f?X-Amz-Credential=").s("aws_access_key_id", f.aws_id("ASIA")).t("%2F20250303%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=").s("url_query_token", f.hex(64)).t("\n")
    d.t("ws=wss://stream.example.com/socket?token=").s("url_query_token", f.jwt()).t("\n")
    d.t("ftp=ftp://anonymous@ftp.example.org/pub/\n")


def htpasswd_shadow(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("$ sudo cat /etc/nginx/conf.d/.htpasswd-admin\n")
    for user in ["alice", "bob", "carol"]:
        d.t(user + ":").s("htpasswd_hash", f.htpasswd()).t("\n")
    d.t("$ getent passwd www-data app\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\napp:x:998:998::/srv/app:/bin/bash\n")
    d.t("$ sudo getent shadow app\napp:").s("htpasswd_hash", f"$6${f.chars(ALNUM + './', 16)}${f.chars(ALNUM + './', 86)}").t(":19800:0:99999:7:::\n")
    d.t("$ sudo getent shadow nginx\nnginx:!:19800::::::\n")
    d.t("$ getent group www-data\nwww-data:x:33:app\n")
    d.t("$ id app\nuid=998(app) gid=998(app) groups=998(app),33(www-data)\n")


def misc_tokens(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("# ci/variables.yml (GitLab CI)\nvariables:\n  DEPLOY_HOST: web1.example.com\n")
    d.t("  SLACK_TOKEN: \"").s("slack_token", f.slack()).t("\"\n")
    d.t("  OPENAI_API_KEY: \"").s("openai_key", f.openai()).t("\"\n")
    d.t("  SENDGRID_KEY: ").s("sendgrid_key", f.sendgrid()).t("\n")
    d.t("  TWILIO_API_KEY: ").s("twilio_key", f.twilio("SK")).t("\n")
    d.t("  STRIPE_WEBHOOK_SECRET: ").s("stripe_key", "whsec_" + f.chars(ALNUM, 32)).t("\n")
    d.t("  ANTHROPIC_KEY: ").s("anthropic_key", f.anthropic()).t("\n")
    d.t("  CI_JOB_JWT: ").s("jwt", f.jwt()).t("\n")
    d.t("  IMAGE_DIGEST: ").n("sha256", "sha256:" + f.sha256()).t("\n")
    d.t("  CACHE_KEY: ").n("config_value", "deps-v3").t("\n")
    d.t("  SRI: ").n("public_base64", "sha384-" + base64.b64encode(f.r.randbytes(48)).decode()).t("\n")
    d.t("  CORRELATION_ID: ").n("uuid", f.uuid()).t("\n")
    d.t("script:\n  - curl -sf -H \"PRIVATE-TOKEN: ").s("gitlab_token", f.gitlab()).t("\" https://gitlab.example.com/api/v4/projects\n")
    d.t("  - echo \"session=").s("jwt", f.jwt()).t("\" > /dev/null\n")
    d.t("  - test \"$API_KEY\" != \"").n("placeholder", "your-api-key-here").t("\"\n")


# --- held-out templates: written after the detectors were tuned on the ones above, and scored as
# a separate split, so the benchmark also shows how the detectors do on formats they were not tuned on.

def wp_config(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("<?php\n// wp-config.php\ndefine( 'DB_NAME', 'wordpress' );\ndefine( 'DB_USER', 'wp' );\n")
    d.t("define( 'DB_PASSWORD', '").s("database_password", f.password().replace("'", "")).t("' );\n")
    d.t("define( 'DB_HOST', 'localhost:/run/mysqld/mysqld.sock' );\n")
    d.t("define( 'AUTH_KEY', '").s("generic_secret", f.django_key().replace("'", "")).t("' );\n")
    d.t("define( 'NONCE_SALT', '").s("generic_secret", f.django_key().replace("'", "")).t("' );\n")
    d.t("define( 'WP_CONTENT_DIR', '").n("path", "/srv/www/wp-content").t("' );\n$table_prefix = 'wp_';\n")


def java_props(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("# application.properties\nserver.port=8080\nspring.datasource.url=jdbc:postgresql://db:5432/app\n")
    d.t("spring.datasource.username=app\nspring.datasource.password=").s("database_password", f.password()).t("\n")
    d.t("spring.mail.password=").s("password", f.password()).t("\n")
    d.t("app.jwt.signing-key=").s("generic_secret", f.hex(64)).t("\n")
    d.t("logging.file.path=").n("path", "/var/log/app").t("\nmanagement.endpoints.web.exposure.include=health\n")
    d.t("app.build.commit=").n("git_commit", f.commit()).t("\n")
    d.t("<!-- tomcat context.xml -->\n<Resource name=\"jdbc/app\" username=\"app\" password=\"").s("database_password", f.url_password()).t("\" url=\"jdbc:mysql://db/app\"/>\n")


def netrc_pgpass(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("$ cat ~/.netrc\nmachine api.example.com login deploy password ").s("password", f.url_password()).t("\n")
    d.t("$ cat ~/.pgpass\ndb.internal:5432:app:app:").s("database_password", f.url_password()).t("\n")
    d.t("$ cat ~/.git-credentials\nhttps://deploy:").s("github_token", f.github()).t("@github.com\n")
    d.t("$ cat /etc/pip.conf\n[global]\nindex-url = https://pypi:").s("url_password", f.url_password()).t("@pypi.internal.example.com/simple\n")
    d.t("$ cat ~/.docker/config.json\n{\"auths\": {\"registry.example.com\": {\"auth\": \"").s("authorization", f.basic()).t("\"}}}\n")
    d.t("$ cat ~/.npmrc\n//registry.npmjs.org/:_authToken=").s("npm_token", f.npm()).t("\n")


def terraform_env(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("# terraform.tfvars\nregion = \"eu-west-1\"\n")
    d.t("db_password = \"").s("database_password", f.password().replace('"', "")).t("\"\n")
    d.t("cloudflare_api_token = \"").s("generic_secret", f.token()).t("\"\n")
    d.t("instance_ami = \"ami-0").n("hex_id", f.hex(16)).t("\"\n")
    d.t("\n$ printenv | sort\nHOME=/root\nAWS_ACCESS_KEY_ID=").s("aws_access_key_id", f.aws_id()).t("\n")
    d.t("AWS_SECRET_ACCESS_KEY=").s("aws_secret_key", f.aws_secret()).t("\n")
    d.t("GH_TOKEN=").s("github_token", f.github()).t("\nPWD=").n("path", "/srv/infra").t("\nSHLVL=1\n")
    d.t("\n$ ps auxe | grep gunicorn\napp 4412 0.3 1.2 /srv/app/venv/bin/gunicorn app.wsgi DJANGO_SECRET_KEY=").s("generic_secret", f.token()).t(" LANG=C.UTF-8\n")


def nginx_more(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("location /upstream-api/ {\n    proxy_set_header Authorization \"Token ").s("authorization", f.hex(40)).t("\";\n")
    d.t("    more_set_headers \"X-Api-Key: ").s("api_key", f.token()).t("\";\n")
    d.t("    proxy_set_header Cookie ").n("variable", "$http_cookie").t(";\n")
    d.t("    set $upstream_token \"").s("generic_secret", f.token()).t("\";\n")
    d.t("    proxy_pass https://api.partner.example;\n}\nlocation /health { return 200 \"").n("uuid", f.uuid()).t("\"; }\n")
    d.t("location /files/ { secure_link_md5 \"$secure_link_expires$uri ").s("generic_secret", f.token()).t("\"; }\n")


def rails_db(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("# config/database.yml\nproduction:\n  <<: *default\n  database: app_production\n  username: app\n")
    d.t("  password: <%= ENV['APP_DATABASE_PASSWORD'] %>\n".replace("<%=", "<%=")).t("  socket: ").n("path", "/run/postgresql/.s.PGSQL.5432").t("\n")
    d.t("staging:\n  url: postgres://app:").s("database_password", f.url_password()).t("@10.0.0.5/app_staging\n")
    d.t("# config/credentials (decrypted)\nsecret_key_base: ").s("generic_secret", f.hex(128)).t("\n")
    d.t("aws:\n  access_key_id: ").s("aws_access_key_id", f.aws_id()).t("\n  secret_access_key: ").s("aws_secret_key", f.aws_secret()).t("\n")
    d.t("$ journalctl -u puma --since today | tail -n 1\nMar 03 10:05:44 web1 puma[4412]: Puma starting, listening on unix://").n("path", "/run/app/puma.sock").t("\n")


HOLDOUT = [wp_config, java_props, netrc_pgpass, terraform_env, nginx_more, rails_db]


# --- second held-out set: written and scored once before any detector change for it.

def server_confs(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("# /etc/redis/redis.conf\nunixsocket ").n("path", "/run/redis/redis.sock").t("\nunixsocketperm ").n("mode", "770").t("\n")
    d.t("requirepass ").s("database_password", f.url_password()).t("\nmasterauth ").s("database_password", f.url_password()).t("\n")
    d.t("# /etc/haproxy/haproxy.cfg\nuserlist admins\n    user admin password ").s("htpasswd_hash", f"$6${f.chars(ALNUM + './', 16)}${f.chars(ALNUM + './', 86)}").t("\n")
    d.t("# /etc/apache2/sites-enabled/app.conf\nSetEnv DB_PASSWORD ").s("database_password", f.password().replace(" ", "")).t("\n")
    d.t("AuthUserFile ").n("path", "/etc/apache2/.htpasswd").t("\nProxyPass / unix:").n("path", "/run/app/app.sock").t("|http://localhost/\n")
    d.t("-- provisioning.sql\nCREATE USER 'app'@'localhost' IDENTIFIED BY '").s("database_password", f.url_password()).t("';\n")
    d.t("ALTER ROLE app WITH PASSWORD '").s("database_password", f.url_password()).t("';\n")


def client_confs(d: Doc, f: Fake, k: dict, i: int) -> None:
    d.t("$ cat ~/.kube/config\nusers:\n- name: deployer\n  user:\n    token: ").s("generic_secret", f.jwt()).t("\n")
    d.t("    client-key-data: ").s("private_key", base64.b64encode(k["rsa"][i % 6].encode()).decode()).t("\n")
    d.t("$ cat ~/.pypirc\n[pypi]\nusername = __token__\npassword = pypi-").s("password", f.chars(B64URL, 60)).t("\n")
    d.t("$ history | grep login\n  88  docker login -u ci -p ").s("password", f.url_password()).t(" registry.example.com\n")
    d.t("  89  wget --user=ci --password=").s("password", f.url_password()).t(" https://files.example.com/a.tgz\n")
    d.t("  90  curl --oauth2-bearer ").s("authorization", f.bearer()).t(" https://api.example.com/\n")
    d.t("$ cat app/settings.py\nDATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'PASSWORD': '").s("database_password", f.url_password()).t("'}}\n")
    d.t("r = requests.get(url, auth=('svc', '").s("password", f.url_password()).t("'))\n")
    d.t("dsn = \"host=db.internal user=app password=").s("database_password", f.url_password()).t(" dbname=app sslmode=require\"\n")
    d.t("$ cat /etc/credstore/app.conf\nSetCredential=db-password:").s("database_password", f.url_password()).t("\n")
    d.t("LoadCredential=tls-key:").n("path", "/etc/ssl/private/app.key").t("\n")


HOLDOUT2 = [server_confs, client_confs]


TEMPLATES = [nginx_site, systemd_unit, php_fpm_pool, dotenv, yaml_app, ini_files, json_files, compose,
             k8s_secret, shell_history, command_output, keys_files, urls_and_logs, htpasswd_shadow,
             misc_tokens]
COPIES = 4


def build() -> dict:
    rng = random.Random(SEED)
    fake = Fake(rng)
    generated = keys(rng)
    files_dir = HERE / "files"
    files_dir.mkdir(exist_ok=True)
    for old in files_dir.glob("*.txt"):
        old.unlink()
    labels = []
    for copy in range(COPIES):
        for template in TEMPLATES:
            name = f"{template.__name__}-{copy + 1}.txt"
            doc = Doc(name, template.__name__)
            template(doc, fake, generated, copy + TEMPLATES.index(template))
            (files_dir / name).write_text(doc.text())
            labels.append(doc.labels())
    for copy in range(COPIES):
        for template in HOLDOUT:
            name = f"holdout-{template.__name__}-{copy + 1}.txt"
            doc = Doc(name, template.__name__)
            template(doc, fake, generated, copy)
            (files_dir / name).write_text(doc.text())
            labels.append(dict(doc.labels(), split="holdout"))
    for copy in range(COPIES):
        for template in HOLDOUT2:
            name = f"holdout2-{template.__name__}-{copy + 1}.txt"
            doc = Doc(name, template.__name__)
            template(doc, fake, generated, copy)
            (files_dir / name).write_text(doc.text())
            labels.append(dict(doc.labels(), split="holdout2"))
    data = {"version": 1, "seed": SEED, "note": "All secrets are fake (random, generated by build_corpus.py).",
            "files": labels}
    (HERE / "labels.json").write_text(json.dumps(data, indent=1) + "\n")
    return data


if __name__ == "__main__":
    result = build()
    secrets = [s for f in result["files"] for s in f["secrets"]]
    near = [n for f in result["files"] for n in f["near_misses"]]
    print(f"{len(result['files'])} files, {len(secrets)} secrets of {len({s['kind'] for s in secrets})} kinds, "
          f"{len(near)} near-misses of {len({n['kind'] for n in near})} kinds")
