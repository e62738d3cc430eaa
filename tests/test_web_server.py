"""`sockdoctor web` and the page's build pieces that need no browser (see test_web_page.py for those)."""
from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys
import threading
import urllib.request
import zipfile

import pytest

from sockdoctor.cli import UsageError
from sockdoctor.commands import web

ROOT = pathlib.Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-incident"


@pytest.fixture()
def site(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "pyodide.asm.wasm").write_bytes(b"\0asm\1\0\0\0")
    (tmp_path / "pyodide.mjs").write_text("export const x = 1;\n")
    return tmp_path


def _serve(directory, llm_origins=()):
    server = web.make_server(str(directory), 0, list(llm_origins))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.headers, resp.read()


def test_mime_types_and_security_headers(site):
    server, base = _serve(site)
    try:
        headers, body = _get(base + "pyodide.asm.wasm")
        assert headers["Content-Type"] == "application/wasm" and body.startswith(b"\0asm")
        assert _get(base + "pyodide.mjs")[0]["Content-Type"] == "text/javascript"
        headers, _ = _get(base)
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self' 'wasm-unsafe-eval';" in csp
        assert "connect-src 'self';" in csp
        assert "unsafe-inline" not in csp and "http" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
    finally:
        server.shutdown()
        server.server_close()


def test_llm_origin_is_added_to_connect_src_only(site):
    server, base = _serve(site, ["https://api.openai.com/"])
    try:
        csp = _get(base)[0]["Content-Security-Policy"]
        assert "connect-src 'self' https://api.openai.com;" in csp
        assert "script-src 'self' 'wasm-unsafe-eval';" in csp
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("origin", ["ftp://x", "https://api.openai.com/v1", "http://example.com", "https://u:p@h"])
def test_bad_llm_origin_is_a_usage_error(site, origin):
    with pytest.raises(UsageError, match="--llm-origin"):
        web.make_server(str(site), 0, [origin])


def test_missing_build_is_a_one_line_usage_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sockdoctor", "web", "--port", "0", "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "make web" in done.stderr


def test_pyyaml_wheel_is_pure_python_and_importable(tmp_path):
    spec = importlib.util.spec_from_file_location("web_build", ROOT / "web" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    name = build.pyyaml_wheel(tmp_path)
    assert name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(tmp_path / name) as zf:
        names = zf.namelist()
    assert "yaml/__init__.py" in names and not [n for n in names if n.endswith((".so", ".pyd"))]
    # -S -I: no site-packages, so only the wheel can provide yaml
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import yaml; "
            "assert yaml.__file__.startswith(sys.argv[1]), yaml.__file__; "
            "print(yaml.safe_load('a: [1, 2]'), yaml.__with_libyaml__)")
    done = subprocess.run([sys.executable, "-S", "-I", "-c", code, str(tmp_path / name)],
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "{'a': [1, 2]} False", done.stderr


@pytest.fixture()
def bridge():
    spec = importlib.util.spec_from_file_location("sockdoctor_web_bridge_test", ROOT / "web" / "src" / "bridge.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bridge_splits_redacts_and_honours_kind_corrections(bridge):
    paste = (SEED / "ls.txt").read_text() + "\nEnvironment=API_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345\n"
    first = json.loads(bridge.analyse(json.dumps({"inputs": [["paste.txt", paste]]})))
    assert first["pieces"] and first["pieces"][0]["input"] == "paste.txt"
    assert first["pieces"][0]["kind"] == "ls"
    redacted = first["redacted"][0]
    assert "ghp_0123456789" not in redacted["text"] and redacted["findings"]
    placeholder = redacted["findings"][0]["placeholder"]
    assert placeholder in redacted["text"]
    assert first["report"] is not None or "analysis" in first["unavailable"]

    key = f"paste.txt:{first['pieces'][0]['first_line']}"
    second = json.loads(bridge.analyse(json.dumps({"inputs": [["paste.txt", paste]], "overrides": {key: "stat"}})))
    assert second["pieces"][0]["kind"] == "stat" and second["pieces"][0]["reason"] == "set by you"
    # same secret, same placeholder: the answer of an LLM can be restored with the page's mapping
    assert second["redacted"][0]["findings"][0]["placeholder"] == placeholder
    answer = json.loads(bridge.llm_answer(f"Rotate {placeholder}, then run:\n```sh\nchmod 777 /run/app.sock\n```\n"))
    assert "ghp_0123456789abcdefghijABCDEFGHIJ012345" in answer["text"]
    assert answer["insecure"], answer
    assert not json.loads(bridge.llm_answer("Run `usermod -aG www-data nginx`."))["insecure"]


def test_bridge_llm_request_carries_only_redacted_text(bridge):
    paste = "Environment=API_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345\n" + (SEED / "ls.txt").read_text()
    result = json.loads(bridge.analyse(json.dumps({"inputs": [["paste.txt", paste]]})))
    prompt = json.loads(bridge.llm_request(json.dumps({"question": "why?", "redacted": result["redacted"],
                                                        "report": result["report"]})))
    assert "ghp_0123456789" not in prompt["user"] and "why?" in prompt["user"]
    assert result["redacted"][0]["findings"][0]["placeholder"] in prompt["user"]
