"""sockdoctor.redact: spans, placeholders, restore, the allow marker, --hosts, and `sockdoctor redact`."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockdoctor import cli
from sockdoctor.redact import Mapping, redact, restore

CORPUS = Path(__file__).parent / "data" / "secrets"


def test_spans_are_exact_and_one_based():
    text = "user nginx;\n    fastcgi_param DB_PASSWORD s3cr3t-Pa55;\n"
    result = redact(text)
    assert len(result.findings) == 1
    span = result.findings[0]
    assert (span.kind, span.line, span.column, span.end_line, span.end_column) == ("database_password", 2, 31, 2, 42)
    assert text.split("\n")[1][span.column - 1:span.end_column - 1] == "s3cr3t-Pa55"
    assert result.text == f"user nginx;\n    fastcgi_param DB_PASSWORD {span.placeholder};\n"


def test_same_secret_same_placeholder_across_inputs_and_different_secrets_differ():
    mapping = Mapping()
    a = redact("DB_PASSWORD=alpha-Secret-1\nAPI_TOKEN=tok_9f8e7d6c5b4a\n", mapping=mapping)
    b = redact("psql postgres://app:alpha-Secret-1@db/app\nDB_PASSWORD=beta-Secret-2\n", mapping=mapping)
    assert a.findings[0].placeholder == b.findings[0].placeholder == "<<SECRET:database_password:1>>"
    assert b.findings[1].placeholder == "<<SECRET:database_password:2>>"
    assert a.findings[1].placeholder == "<<SECRET:token:1>>"
    assert restore(a.text + b.text, mapping) == ("DB_PASSWORD=alpha-Secret-1\nAPI_TOKEN=tok_9f8e7d6c5b4a\n"
                                                 "psql postgres://app:alpha-Secret-1@db/app\nDB_PASSWORD=beta-Secret-2\n")


def test_structure_survives():
    text = """user www-data;
location / {
    proxy_set_header Authorization $http_authorization;
    proxy_set_header Authorization "Bearer abcDEF123456ghiJKL789";
    proxy_pass http://unix:/run/gunicorn/app.sock;
}
[Service]
User=app
Group=www-data
Environment=SECRET_KEY=${SECRET_KEY}
Environment=SECRET_KEY_FILE=/etc/app/secret.key
ExecStart=/srv/app/venv/bin/gunicorn --umask 007 --bind unix:/run/app/app.sock app.wsgi
listen.mode = 0660
srw-rw---- 1 app www-data 0 Jan 15 03:40 /run/app/app.sock
password = <your-password-here>
"""
    result = redact(text)
    assert [f.line for f in result.findings] == [4]
    assert result.text.replace(result.findings[0].placeholder, "abcDEF123456ghiJKL789") == text


def test_private_key_keeps_header_footer_and_line_numbers():
    text = ("key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  b3BlbnNzaC1rZXktdjEAAAAA\n  QyNTUxOQAAACBfakefake\n"
            "  -----END OPENSSH PRIVATE KEY-----\nnext: line\n")
    result = redact(text)
    assert [f.kind for f in result.findings] == ["openssh_private_key"]
    assert result.text.count("\n") == text.count("\n")
    assert "-----BEGIN OPENSSH PRIVATE KEY-----" in result.text and "b3Blbn" not in result.text
    assert result.text.split("\n")[5] == "next: line"
    assert restore(result.text, result.mapping) == text
    # an answer that dropped the padding lines still gets the whole key back
    answer = f"Replace it:\n{result.findings[0].placeholder}\nthen reload."
    assert "QyNTUxOQAAACBfakefake" in restore(answer, result.mapping)


def test_allow_comment_keeps_a_value():
    text = "api_token = public-demo-token-123  # sockdoctor: allow\napi_token = private-token-456\n"
    result = redact(text)
    assert [f.line for f in result.findings] == [2]
    assert "public-demo-token-123" in result.text and "private-token-456" not in result.text


def test_hosts_option_masks_hosts_ips_emails_but_not_paths_or_private_addresses():
    text = ("server_name shop.example.com;\nclient: 203.0.113.50, upstream 10.0.0.5, ops@example.com\n"
            "proxy_pass http://unix:/run/shop/app.sock;\nExecStart=/srv/shop/bin/app\n")
    plain = redact(text)
    assert plain.findings == []
    masked = redact(text, hosts=True)
    assert {f.kind for f in masked.findings} == {"hostname", "email"}  # 203.0.113.0/24 is documentation space
    assert "shop.example.com" not in masked.text and "ops@example.com" not in masked.text
    assert "10.0.0.5" in masked.text and "/run/shop/app.sock" in masked.text and "/srv/shop/bin/app" in masked.text
    public = redact("client: 8.8.8.8\n", hosts=True)
    assert [f.kind for f in public.findings] == ["ip_address"]


def test_redacting_twice_changes_nothing_and_never_reuses_a_number():
    first = redact("password = one-Secret-1\n")
    again = redact(first.text + "password = two-Secret-2\n")
    assert len(again.findings) == 1
    assert again.findings[0].placeholder == "<<SECRET:password:2>>"


def test_mapping_round_trips_and_rejects_garbage():
    result = redact("DB_PASSWORD=alpha-Secret-1\n-----BEGIN RSA PRIVATE KEY-----\nAAAA\nBBBB\n-----END RSA PRIVATE KEY-----\n")
    loaded = Mapping.from_json(result.mapping.to_json())
    assert restore(result.text, loaded) == restore(result.text, result.mapping)
    for bad in ["", "{}", "[1]", json.dumps({"format": "sockdoctor-redaction-map", "entries": [{"kind": "x"}]})]:
        with pytest.raises(ValueError):
            Mapping.from_json(bad)


_FRAGMENTS = [
    "password = hunter2-but-longer", "Authorization: Bearer abcdefghijklmnopqrstuvwx", "user www-data;",
    "-----BEGIN PRIVATE KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "-----END PRIVATE KEY-----",
    "AKIAABCDEFGHIJKLMNOP", "postgres://app:pw-Secret-9@db/app", "<<SECRET:password:1>>", "srw-rw---- 1 a b 0 x /run/a.sock",
    "env[DB_PASSWORD] = x y z", "\t", "", "  ", "$http_authorization", "sockdoctor: allow",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=30)), max_size=12),
       st.booleans())
def test_restore_inverts_redact(parts, hosts):
    text = "\n".join(parts)
    result = redact(text, hosts=hosts)
    assert restore(result.text, result.mapping) == text
    assert result.text.count("\n") == text.count("\n")


# --- the command ---------------------------------------------------------------------------------

def test_cli_redact_map_file_is_0600_and_restore_puts_values_back(tmp_path, capsys):
    src = tmp_path / "app.env"
    src.write_text("DB_PASSWORD=alpha-Secret-1\nGITHUB_TOKEN=ghp_" + "a1B2" * 9 + "\n")
    map_file = tmp_path / "map.json"
    assert cli.main(["redact", "--map", str(map_file), str(src)]) == 0
    redacted = capsys.readouterr().out
    assert "alpha-Secret-1" not in redacted and "<<SECRET:github_token:1>>" in redacted
    assert stat.S_IMODE(os.stat(map_file).st_mode) == 0o600
    # a second run with the same map gives the same placeholders, and extends the map
    other = tmp_path / "other.conf"
    other.write_text("fastcgi_param DB_PASSWORD alpha-Secret-1;\nfastcgi_param API_KEY zz-other-Secret-2;\n")
    assert cli.main(["redact", "--map", str(map_file), str(other)]) == 0
    second = capsys.readouterr().out
    assert "<<SECRET:database_password:1>>" in second and "<<SECRET:api_key:1>>" in second
    assert stat.S_IMODE(os.stat(map_file).st_mode) == 0o600
    answer = tmp_path / "answer.md"
    answer.write_text(redacted + second)
    assert cli.main(["redact", "--restore", "--map", str(map_file), str(answer)]) == 0
    assert capsys.readouterr().out == src.read_text() + other.read_text()


def test_cli_errors_are_one_line_exit_2(tmp_path, capsys):
    binary = tmp_path / "core"
    binary.write_bytes(b"abc\n\x00\x01")
    assert cli.main(["redact", str(binary)]) == 2
    assert capsys.readouterr().err.strip() == f"sockdoctor: {binary}:2: binary data (NUL byte); nothing redacted"
    bad_map = tmp_path / "map.json"
    bad_map.write_text("{nope")
    assert cli.main(["redact", "--map", str(bad_map), str(binary)]) == 2
    assert cli.main(["redact", "--restore", str(binary)]) == 2
    text = tmp_path / "a.txt"
    text.write_text("x\n")
    assert cli.main(["redact", "--restore", "--map", str(bad_map), str(text)]) == 2
    err = capsys.readouterr().err
    assert "not a redaction map" in err and "Traceback" not in err


def test_cli_list_and_json(tmp_path, capsys):
    src = tmp_path / "a.conf"
    src.write_text("user nginx;\nproxy_set_header X-Api-Key k3y-Value-7788990011;\n")
    assert cli.main(["redact", "--list", "--json", str(src)]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    finding = data["inputs"][0]["findings"][0]
    assert finding["line"] == 2 and finding["placeholder"] == "<<SECRET:token:1>>"
    assert f"{src}:2:{finding['column']}: token <<SECRET:token:1>>" in captured.err
