"""The LLM client and `sockdoctor ask` against a local stub server on 127.0.0.1 (never the internet).

The stub speaks OpenAI Chat Completions and Anthropic Messages, streaming and not, records every
request, and can be told to fail in every way the client must handle.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sockdoctor import cli
from sockdoctor.llm import LLMConfig, LLMError, complete
from sockdoctor.llm.answer import StreamRestorer, insecure_proposals
from sockdoctor.llm.prompt import SYSTEM
from sockdoctor.redact import redact
from shared_paths import SHARED_STR  # noqa: E402

CORPUS = Path(__file__).parent / "data" / "secrets"
CASES = Path(SHARED_STR) / "cases"
KEY = "sk-test-KEY-0123456789abcdef-never-real"


# --- the stub ---------------------------------------------------------------------------------

class Stub:
    """A scripted HTTP server. ``replies`` is a list of callables handler -> None, used in order
    (the last one repeats)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.replies: list = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                stub.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                      "body": body.decode("utf-8"), "host": self.headers.get("Host")})
                index = min(len(stub.requests), len(stub.replies)) - 1
                stub.replies[index](self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that gave up (the timeout test) is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def send(handler, status: int, body: bytes | str, content_type="application/json", headers=None, length=True):
    if isinstance(body, str):
        body = body.encode()
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if length:
        handler.send_header("Content-Length", str(len(body)))
    else:
        handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()
    if not length:
        handler.close_connection = True


def openai_json(text: str):
    return lambda h: send(h, 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": text},
                                                             "finish_reason": "stop"}]}))


def openai_stream(pieces: list[str], done=True, raw_events: list[str] | None = None):
    events = raw_events or [json.dumps({"choices": [{"delta": {"content": p}, "finish_reason": None}]}) for p in pieces]
    body = "".join(f"data: {e}\n\n" for e in events) + ("data: [DONE]\n\n" if done else "")
    return lambda h: send(h, 200, body, "text/event-stream", length=False)


def anthropic_json(text: str):
    return lambda h: send(h, 200, json.dumps({"type": "message", "content": [{"type": "text", "text": text}],
                                              "stop_reason": "end_turn"}))


def anthropic_stream(pieces: list[str], done=True, extra: str = ""):
    out = ["event: message_start\ndata: " + json.dumps({"type": "message_start", "message": {"id": "m"}}),
           "event: content_block_start\ndata: " + json.dumps({"type": "content_block_start", "index": 0,
                                                               "content_block": {"type": "text", "text": ""}}),
           "event: ping\ndata: {\"type\": \"ping\"}"]
    for p in pieces:
        out.append("event: content_block_delta\ndata: " + json.dumps(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}))
    if extra:
        out.append(extra)
    if done:
        out.append("event: message_delta\ndata: " + json.dumps({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}))
        out.append("event: message_stop\ndata: {\"type\": \"message_stop\"}")
    body = "".join(e + "\n\n" for e in out)
    return lambda h: send(h, 200, body, "text/event-stream", length=False)


def status(code: int, message="nope", headers=None):
    return lambda h: send(h, code, json.dumps({"error": {"message": message, "type": "x"}}), headers=headers)


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                 "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SOCKDOCTOR_LLM_BASE_URL", "SOCKDOCTOR_LLM_MODEL",
                 "SOCKDOCTOR_LLM_PROVIDER"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def config(stub, provider="openai", **kw) -> LLMConfig:
    base = stub.url + ("/v1" if provider == "openai" else "")
    return LLMConfig(provider=provider, model="test-model", base_url=base, api_key=KEY,
                     key_source="$TEST_KEY", **kw)


# --- corpus helpers ---------------------------------------------------------------------------

def corpus_inputs(pattern="*-1.txt"):
    labels = {f["file"]: f for f in json.loads((CORPUS / "labels.json").read_text())["files"]}
    files = sorted((CORPUS / "files").glob(pattern))
    return files, [s for f in files for s in labels[f.name]["secrets"]], labels


def telling_values(files, secrets, labels):
    """Secret values whose presence in a request would be a leak: a value that also occurs in the
    file outside its labelled spans (a weak password such as "secret" inside a path) or in the fixed
    system prompt cannot tell us anything."""
    outside = []
    for f in files:
        text = f.read_text()
        lines = text.split("\n")
        for s in labels[f.name]["secrets"]:
            if s["line"] == s["end_line"]:
                line = lines[s["line"] - 1]
                lines[s["line"] - 1] = line[:s["column"] - 1] + "\0" * len(s["value"]) + line[s["end_column"] - 1:]
        outside.append("\n".join(lines))
    rest = "\n".join(outside) + SYSTEM
    values = []
    for s in secrets:
        for part in s["value"].split("\n"):
            part = part.strip()
            if len(part) >= 6 and part not in rest:
                values.append(part)
    return values


def run_ask(monkeypatch, capsys, argv, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = cli.main(["ask", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- what is sent ----------------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_ask_sends_only_redacted_text_and_restores_the_answer(stub, monkeypatch, capsys, provider):
    files, secrets, labels = corpus_inputs()
    values = telling_values(files, secrets, labels)
    assert len(values) > 100
    # the model answers quoting two placeholders, split across stream pieces
    result = redact(files[0].read_text())
    first, last = result.findings[0].placeholder, result.findings[-1].placeholder
    pieces = ["Check ", first[:7], first[7:], " and\n", last, " then run:\n```\nsudo systemctl reload nginx\n```\n"]
    stub.replies = [openai_stream(pieces) if provider == "openai" else anthropic_stream(pieces)]
    key_var = "OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY"
    code, out, err = run_ask(monkeypatch, capsys,
                             ["--provider", provider, *map(str, files), str(CASES / "01-seed-nginx-uid101-vs-www-data-socket")],
                             {key_var: KEY, "SOCKDOCTOR_LLM_MODEL": "m",
                              "SOCKDOCTOR_LLM_BASE_URL": stub.url + ("/v1" if provider == "openai" else "")})
    assert code == 0, err
    assert len(stub.requests) == 1
    req = stub.requests[0]
    assert req["path"] == ("/v1/chat/completions" if provider == "openai" else "/v1/messages")
    leaked = [v for v in values if v in req["body"] or v in req["path"]]
    assert leaked == []
    assert KEY not in req["body"] and KEY not in req["path"]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    carrying = [k for k, v in headers.items() if KEY in v]
    if provider == "openai":
        assert carrying == ["authorization"] and headers["authorization"] == f"Bearer {KEY}"
    else:
        assert carrying == ["x-api-key"] and headers["x-api-key"] == KEY
        assert headers["anthropic-version"]
    assert req["host"] == f"127.0.0.1:{stub.port}"
    assert "<<SECRET:" in req["body"]
    # the answer came back with the original values, not the placeholders
    original = files[0].read_text()
    assert "<<SECRET:" not in out
    first_value = result.mapping.get(first).value
    assert first_value in out and first_value in original
    assert result.mapping.get(last).value in out
    assert KEY not in out and KEY not in err


def test_request_carries_the_report_or_says_it_is_missing(stub, monkeypatch, capsys):
    from sockdoctor import engine
    stub.replies = [openai_json("ok")]
    case = CASES / "03-debian-gunicorn-usermod-without-reload"
    code, out, err = run_ask(monkeypatch, capsys, [str(case / "paste.txt")],
                             {"OPENAI_API_KEY": KEY, "SOCKDOCTOR_LLM_MODEL": "m", "SOCKDOCTOR_LLM_BASE_URL": stub.url})
    assert code == 0
    body = json.loads(stub.requests[0]["body"])
    user = body["messages"][1]["content"]
    if hasattr(engine, "diagnose"):
        assert "sockdoctor's report (JSON)" in user
    else:
        assert "not available" in user and "not available" in err
    assert "/run/ledger/gunicorn.sock" in user  # structure survives


def test_show_request_prints_what_would_be_sent_and_sends_nothing(stub, monkeypatch, capsys):
    files, secrets, labels = corpus_inputs("dotenv-1.txt")
    code, out, err = run_ask(monkeypatch, capsys, ["--show-request", str(files[0])],
                             {"OPENAI_API_KEY": KEY, "SOCKDOCTOR_LLM_MODEL": "m", "SOCKDOCTOR_LLM_BASE_URL": stub.url})
    assert code == 0
    assert stub.requests == []
    assert KEY not in out
    assert f"POST {stub.url}/chat/completions" in out
    assert "Authorization: Bearer <key from $OPENAI_API_KEY, not shown>" in out
    assert "<<SECRET:database_password:1>>" in out
    assert [v for v in telling_values(files, secrets, labels) if v in out] == []
    # what is shown is byte for byte the body that would be sent
    body = out.split("\n\n", 1)[1]
    assert json.loads(body)["model"] == "m"


def test_unreadable_input_sends_nothing(stub, monkeypatch, capsys, tmp_path):
    good = tmp_path / "nginx.conf"
    good.write_text("user www-data;\nfastcgi_param DB_PASSWORD hunter2hunter2;\n")
    bad = tmp_path / "binary.log"
    bad.write_bytes(b"ok\n\xff\xfe\x00junk")
    stub.replies = [openai_json("never")]
    env = {"OPENAI_API_KEY": KEY, "SOCKDOCTOR_LLM_MODEL": "m", "SOCKDOCTOR_LLM_BASE_URL": stub.url}
    code, out, err = run_ask(monkeypatch, capsys, [str(good), str(bad)], env)
    assert code == 2 and "binary.log:2" in err
    code, out, err = run_ask(monkeypatch, capsys, [str(good), str(tmp_path / "missing.txt")], env)
    assert code == 2 and "missing.txt" in err
    assert stub.requests == []


def test_no_key_no_request(stub, monkeypatch, capsys, tmp_path):
    f = tmp_path / "a.conf"
    f.write_text("user nginx;\n")
    code, out, err = run_ask(monkeypatch, capsys, ["--base-url", "https://llm.example.invalid/v1", str(f)],
                             {"SOCKDOCTOR_LLM_MODEL": "m"})
    assert code == 2 and "OPENAI_API_KEY" in err


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_non_streaming(stub, provider):
    stub.replies = [openai_json("hello") if provider == "openai" else anthropic_json("hello")]
    answer = complete(config(stub, provider, stream=False), "sys", "user")
    assert answer.text == "hello"
    body = json.loads(stub.requests[0]["body"])
    assert body["stream"] is False
    if provider == "anthropic":
        assert body["system"] == "sys" and body["messages"] == [{"role": "user", "content": "user"}]


def test_insecure_answer_is_flagged(stub, monkeypatch, capsys, tmp_path):
    f = tmp_path / "ls.txt"
    f.write_text("srw-rw---- 1 www-data www-data 0 Jan 15 03:40 /run/gunicorn/app.sock\n")
    answer = ("Quick fix:\n```bash\nsudo chmod 777 /run/gunicorn/app.sock\n```\n"
              "```diff\n--- a/etc/nginx/nginx.conf\n+++ b/etc/nginx/nginx.conf\n@@ -1 +1 @@\n-user root;\n+user nginx;\n```\n")
    stub.replies = [openai_stream([answer])]
    code, out, err = run_ask(monkeypatch, capsys, [str(f)],
                             {"OPENAI_API_KEY": KEY, "SOCKDOCTOR_LLM_MODEL": "m", "SOCKDOCTOR_LLM_BASE_URL": stub.url})
    assert code == 1
    assert "WARNING" in err and "chmod 777 /run/gunicorn/app.sock" in err
    assert "user root" not in err  # a removed diff line is fine


def test_stream_restorer_holds_split_placeholders():
    result = redact("password = correct-horse-battery\n-----BEGIN PRIVATE KEY-----\nAAAA\nBBBB\n-----END PRIVATE KEY-----\n")
    text = result.text
    restorer = StreamRestorer(result.mapping)
    out = "".join(restorer.feed(text[i:i + 3]) for i in range(0, len(text), 3)) + restorer.flush()
    assert out == "password = correct-horse-battery\n-----BEGIN PRIVATE KEY-----\nAAAA\nBBBB\n-----END PRIVATE KEY-----\n"
    assert insecure_proposals("Never run `chmod 666 /run/x.sock`.") == []
    assert insecure_proposals("Run `chmod 666 /run/x.sock` now.")


# --- error paths ------------------------------------------------------------------------------

def test_401_names_the_key_variable_not_the_key(stub):
    stub.replies = [status(401, f"Incorrect API key provided: {KEY}")]
    with pytest.raises(LLMError) as exc:
        complete(config(stub), "s", "u")
    assert "401" in str(exc.value) and "$TEST_KEY" in str(exc.value) and KEY not in str(exc.value)
    assert len(stub.requests) == 1  # not retried


def test_403(stub):
    stub.replies = [status(403, "model not allowed")]
    with pytest.raises(LLMError, match="403 Forbidden.*model not allowed"):
        complete(config(stub), "s", "u")
    assert len(stub.requests) == 1


def test_429_waits_for_retry_after_then_succeeds(stub):
    stub.replies = [status(429, "slow down", {"Retry-After": "7"}), openai_stream(["fine"])]
    waits = []
    answer = complete(config(stub), "s", "u", sleep=waits.append)
    assert answer.text == "fine" and answer.attempts == 2 and waits == [7.0]


def test_429_with_a_long_retry_after_gives_up_at_once(stub):
    stub.replies = [status(429, "quota", {"Retry-After": "3600"})]
    waits = []
    with pytest.raises(LLMError, match="retry after 3600s"):
        complete(config(stub), "s", "u", sleep=waits.append)
    assert waits == [] and len(stub.requests) == 1


def test_5xx_retries_are_bounded(stub):
    stub.replies = [status(503, "overloaded")]
    waits = []
    with pytest.raises(LLMError, match=r"HTTP 503.*gave up after 3 attempts"):
        complete(config(stub, max_retries=2), "s", "u", sleep=waits.append)
    assert len(stub.requests) == 3 and waits == [1, 2]


def test_5xx_then_success(stub):
    stub.replies = [status(500), anthropic_stream(["ok"])]
    answer = complete(config(stub, "anthropic"), "s", "u", sleep=lambda s: None)
    assert answer.text == "ok" and len(stub.requests) == 2


def test_timeout(stub):
    def slow(handler):
        time.sleep(1.5)
        send(handler, 200, "{}")
    stub.replies = [slow]
    with pytest.raises(LLMError, match=r"timeout.*gave up after 1 attempt"):
        complete(config(stub, timeout=0.3, max_retries=0), "s", "u")


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = LLMConfig(provider="openai", model="m", base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=1)
    waits = []
    with pytest.raises(LLMError, match="connection refused.*gave up after 2 attempts"):
        complete(cfg, "s", "u", sleep=waits.append)
    assert waits == [1]


def test_malformed_stream(stub):
    stub.replies = [openai_stream([], raw_events=[json.dumps({"choices": [{"delta": {"content": "par"}}]}), "{not json"])]
    with pytest.raises(LLMError, match="malformed stream") as exc:
        complete(config(stub), "s", "u")
    assert exc.value.partial == "par"


def test_malformed_json(stub):
    stub.replies = [lambda h: send(h, 200, "<html>gateway</html>", "text/html")]
    with pytest.raises(LLMError, match="malformed response.*not JSON"):
        complete(config(stub, stream=False), "s", "u")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_truncated_stream(stub, monkeypatch, capsys, tmp_path, provider):
    stub.replies = [openai_stream(["The socket ", "group is"], done=False) if provider == "openai"
                    else anthropic_stream(["The socket ", "group is"], done=False)]
    f = tmp_path / "ls.txt"
    f.write_text("srw-rw---- 1 www-data www-data 0 Jan 15 03:40 /run/gunicorn/app.sock\n")
    key_var = "OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY"
    code, out, err = run_ask(monkeypatch, capsys, ["--provider", provider, "--max-retries", "0", str(f)],
                             {key_var: KEY, "SOCKDOCTOR_LLM_MODEL": "m", "SOCKDOCTOR_LLM_BASE_URL": stub.url})
    assert code == 3
    assert "The socket group is" in out
    errors = [line for line in err.strip().split("\n") if not line.startswith("sockdoctor: note:")]
    assert len(errors) == 1 and "ended before it was complete" in errors[0]


def test_anthropic_error_event_mid_stream(stub):
    extra = "event: error\ndata: " + json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    stub.replies = [anthropic_stream(["half"], done=False, extra=extra)]
    with pytest.raises(LLMError, match="mid-stream: Overloaded") as exc:
        complete(config(stub, "anthropic"), "s", "u")
    assert exc.value.partial == "half"


def test_redirect_is_not_followed_so_the_key_stays_home(stub):
    other = Stub()
    try:
        other.replies = [openai_json("stolen")]
        stub.replies = [lambda h: send(h, 307, "", headers={"Location": other.url + "/v1/chat/completions"})]
        with pytest.raises(LLMError, match="redirecting.*not following"):
            complete(config(stub), "s", "u")
        assert other.requests == []
    finally:
        other.close()


def test_report_is_built_from_redacted_text_and_a_failing_engine_does_not_block(stub, monkeypatch, capsys, tmp_path):
    from sockdoctor import engine
    seen = []

    class FakeReport:
        def __init__(self, texts):
            seen.append(texts)

        def to_json(self):
            return {"findings": [{"cause": "worker_not_in_socket_group", "evidence": list(seen[-1].values())}]}

    f = tmp_path / "unit.service"
    f.write_text("[Service]\nEnvironment=DB_PASSWORD=Tr0ub4dor-and-3\nUser=app\n")
    env = {"OPENAI_API_KEY": KEY, "SOCKDOCTOR_LLM_MODEL": "m", "SOCKDOCTOR_LLM_BASE_URL": stub.url}
    stub.replies = [openai_json("ok")]
    monkeypatch.setattr(engine, "diagnose", FakeReport, raising=False)
    code, out, err = run_ask(monkeypatch, capsys, [str(f)], env)
    assert code == 0
    assert "Tr0ub4dor-and-3" not in repr(seen) and "Tr0ub4dor-and-3" not in stub.requests[0]["body"]
    assert "sockdoctor's report (JSON)" in stub.requests[0]["body"] and "worker_not_in_socket_group" in stub.requests[0]["body"]

    def broken(texts):
        raise RuntimeError("boom")
    monkeypatch.setattr(engine, "diagnose", broken, raising=False)
    code, out, err = run_ask(monkeypatch, capsys, [str(f)], env)
    assert code == 0 and "diagnosis failed (RuntimeError)" in err
    assert len(stub.requests) == 2 and "Tr0ub4dor-and-3" not in stub.requests[1]["body"]
