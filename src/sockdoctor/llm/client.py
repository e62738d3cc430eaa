"""HTTP client for OpenAI-compatible Chat Completions and Anthropic Messages (urllib only).

The key goes only into the provider's header (``Authorization: Bearer`` / ``api-key`` for Azure /
``x-api-key``) of a request to the configured URL: redirects are refused (urllib would otherwise
re-send the headers to wherever the server points), and the key never appears in a message,
a log line or ``describe`` output.
"""
from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from sockdoctor._dataclass import dataclass, field
from sockdoctor.llm.sse import events

DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
ANTHROPIC_VERSION = "2023-06-01"
RETRY_STATUSES = {429, 500, 502, 503, 504, 529}


class LLMError(Exception):
    """One clear sentence for the user; ``partial`` holds any answer text received before it."""

    def __init__(self, message: str, partial: str = "", status: int | None = None):
        super().__init__(message)
        self.partial = partial
        self.status = status


@dataclass
class LLMConfig:
    provider: str  # "openai" | "anthropic"
    model: str
    base_url: str = ""
    api_key: str | None = field(default=None, repr=False)
    key_source: str = ""  # where the key came from, for messages ("$OPENAI_API_KEY")
    timeout: float = 60.0
    max_retries: int = 2
    max_wait: float = 30.0  # longest Retry-After we are willing to sleep
    max_tokens: int = 2048
    stream: bool = True

    def __post_init__(self) -> None:
        if self.provider not in DEFAULT_BASE_URLS:
            raise ValueError(f"unknown provider {self.provider!r} (openai or anthropic)")
        if not self.base_url:
            self.base_url = DEFAULT_BASE_URLS[self.provider]


@dataclass
class PreparedRequest:
    url: str
    headers: dict[str, str]
    body: bytes
    key_header: str | None  # the header that carries the key (value never shown)


@dataclass
class Answer:
    text: str
    attempts: int
    stop_reason: str | None = None


def endpoint(config: LLMConfig) -> str:
    base = config.base_url.rstrip("/")
    parsed = urllib.parse.urlsplit(base)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise LLMError(f"base URL {config.base_url!r} is not an http(s) URL")
    if config.provider == "openai":
        return base if parsed.path.endswith("/chat/completions") else base + "/chat/completions"
    if parsed.path.endswith("/messages"):
        return base
    return base + ("/messages" if parsed.path.endswith("/v1") else "/v1/messages")


def prepare(config: LLMConfig, system: str, user: str) -> PreparedRequest:
    url = endpoint(config)
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if config.stream else "application/json",
               "User-Agent": "sockdoctor"}
    key_header = None
    if config.provider == "openai":
        payload = {"model": config.model, "stream": config.stream, "max_tokens": config.max_tokens,
                   "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
        if config.api_key:
            host = urllib.parse.urlsplit(url).hostname or ""
            key_header = "api-key" if host.endswith(".openai.azure.com") else "Authorization"
    else:
        payload = {"model": config.model, "stream": config.stream, "max_tokens": config.max_tokens,
                   "system": system, "messages": [{"role": "user", "content": user}]}
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if config.api_key:
            key_header = "x-api-key"
    body = (json.dumps(payload, indent=1, ensure_ascii=False) + "\n").encode("utf-8")  # readable as shown
    return PreparedRequest(url, headers, body, key_header)


def describe(config: LLMConfig, request: PreparedRequest) -> str:
    """Exactly what would be sent, with the key's value replaced by where it comes from."""
    lines = [f"POST {request.url}"]
    for name, value in request.headers.items():
        lines.append(f"{name}: {value}")
    if request.key_header:
        shown = f"<key from {config.key_source or 'the environment'}, not shown>"
        lines.append(f"{request.key_header}: {'Bearer ' + shown if request.key_header == 'Authorization' else shown}")
    return "\n".join(lines) + "\n\n" + request.body.decode("utf-8")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise LLMError(f"the provider answered {code} redirecting to {_host_of(newurl)}; not following "
                       f"(the key would be sent along): use the final URL as --base-url", status=code)


def _host_of(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return parsed.netloc or url


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirect())


def complete(config: LLMConfig, system: str, user: str, *, on_text: Callable[[str], None] | None = None,
             sleep: Callable[[float], None] = time.sleep) -> Answer:
    """Send the request (with bounded retries) and return the whole answer; ``on_text`` gets stream pieces.

    Retries (at most ``max_retries``) happen only before any answer text was received: on 429 (after
    Retry-After, when it is no longer than ``max_wait``), 5xx, timeouts and refused connections.
    """
    request = prepare(config, system, user)
    host = _host_of(request.url)
    attempts = 0
    while True:
        attempts += 1
        received: list[str] = []
        try:
            return _attempt(config, request, host, attempts, on_text, received)
        except _Retryable as exc:
            if received or attempts > config.max_retries:
                raise LLMError(exc.final_message(attempts), "".join(received), exc.status) from None
            wait = exc.retry_after if exc.retry_after is not None else min(2 ** (attempts - 1), config.max_wait)
            if wait > config.max_wait:
                raise LLMError(f"{exc.message}; the provider asks to retry after {wait:.0f}s "
                               f"(more than {config.max_wait:.0f}s): try again later", status=exc.status) from None
            sleep(wait)
        except LLMError as exc:
            if not exc.partial and received:
                exc.partial = "".join(received)
            raise


class _Retryable(Exception):
    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message, self.status, self.retry_after = message, status, retry_after

    def final_message(self, attempts: int) -> str:
        return f"{self.message} (gave up after {attempts} attempt{'s' if attempts != 1 else ''})"


def _attempt(config, request, host, attempts, on_text, received) -> Answer:
    headers = dict(request.headers)
    if request.key_header == "Authorization":
        headers["Authorization"] = f"Bearer {config.api_key}"
    elif request.key_header:
        headers[request.key_header] = config.api_key
    req = urllib.request.Request(request.url, data=request.body, headers=headers, method="POST")
    try:
        response = _opener().open(req, timeout=config.timeout)
    except urllib.error.HTTPError as exc:
        raise _http_error(config, exc, host) from None
    except urllib.error.URLError as exc:
        raise _network_error(config, exc.reason, host) from None
    except (TimeoutError, socket.timeout, ConnectionError, OSError) as exc:
        raise _network_error(config, exc, host) from None
    with response:
        try:
            if config.stream and "text/event-stream" in (response.headers.get("Content-Type") or ""):
                text, stop = _read_stream(config, response, on_text, received)
            else:
                text, stop = _read_json(config, response)
                if on_text and text:
                    on_text(text)
                received.append(text)
        except (TimeoutError, socket.timeout) as exc:
            raise LLMError(f"{host} stopped sending the answer (no data for {config.timeout:.0f}s); "
                           "the answer is incomplete", "".join(received)) from exc
        except (http.client.IncompleteRead, ConnectionError, http.client.HTTPException) as exc:
            raise LLMError(f"the connection to {host} broke mid-answer ({type(exc).__name__}); "
                           "the answer is incomplete", "".join(received)) from None
    return Answer(text, attempts, stop)


def _read_json(config: LLMConfig, response) -> tuple[str, str | None]:
    raw = response.read()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise LLMError(f"malformed response from the provider: not JSON ({_snippet(raw)})") from None
    try:
        if config.provider == "openai":
            choice = data["choices"][0]
            return choice["message"].get("content") or "", choice.get("finish_reason")
        if data.get("type") == "error":
            raise LLMError(f"the provider reported an error: {_error_text(data)}")
        text = "".join(block.get("text", "") for block in data["content"] if block.get("type") == "text")
        return text, data.get("stop_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise LLMError(f"malformed response from the provider: unexpected JSON ({_snippet(raw)})") from None


def _read_stream(config: LLMConfig, response, on_text, received: list[str]) -> tuple[str, str | None]:
    done, stop = False, None
    for name, data in events(iter(response.readline, b"")):
        if config.provider == "openai" and data.strip() == "[DONE]":
            done = True
            break
        try:
            obj = json.loads(data)
        except json.JSONDecodeError:
            raise LLMError(f"malformed stream from the provider: an event is not JSON ({_snippet(data)})",
                           "".join(received)) from None
        if not isinstance(obj, dict):
            raise LLMError("malformed stream from the provider: an event is not a JSON object", "".join(received))
        if "error" in obj and (config.provider == "openai" or obj.get("type") == "error" or name == "error"):
            raise LLMError(f"the provider reported an error mid-stream: {_error_text(obj)}", "".join(received))
        piece = ""
        if config.provider == "openai":
            for choice in obj.get("choices") or []:
                piece += ((choice.get("delta") or {}).get("content") or "")
                stop = choice.get("finish_reason") or stop
        else:
            kind = obj.get("type") or name
            if kind == "content_block_delta" and (obj.get("delta") or {}).get("type") == "text_delta":
                piece = obj["delta"].get("text", "")
            elif kind == "message_delta":
                stop = (obj.get("delta") or {}).get("stop_reason") or stop
            elif kind == "message_stop":
                done = True
                break
        if piece:
            received.append(piece)
            if on_text:
                on_text(piece)
    if not done:
        raise LLMError("the answer stream ended before it was complete (no "
                       + ("[DONE]" if config.provider == "openai" else "message_stop")
                       + " event); the answer is incomplete", "".join(received))
    return "".join(received), stop


def _http_error(config: LLMConfig, exc: urllib.error.HTTPError, host: str) -> Exception:
    status = exc.code
    try:
        body = exc.read()
    except Exception:
        body = b""
    detail = _error_text(body)
    detail = f": {detail}" if detail else ""
    if config.api_key:
        detail = detail.replace(config.api_key, "<key>")
    if status == 401:
        return LLMError(f"{host} rejected the API key (401 Unauthorized){detail}; check "
                        f"{config.key_source or 'the key'}", status=status)
    if status == 403:
        return LLMError(f"{host} refused access (403 Forbidden){detail}; the key may lack access "
                        f"to model {config.model!r}", status=status)
    if status == 404:
        return LLMError(f"{host} has no such endpoint or model (404){detail}; check --base-url and --model",
                        status=status)
    if status == 429:
        return _Retryable(f"{host} is rate-limiting this key (429 Too Many Requests){detail}", status,
                          _retry_after(exc.headers.get("Retry-After")))
    if status in RETRY_STATUSES or status >= 500:
        return _Retryable(f"{host} failed (HTTP {status}){detail}", status,
                          _retry_after(exc.headers.get("Retry-After")))
    return LLMError(f"{host} refused the request (HTTP {status}){detail}", status=status)


def _network_error(config: LLMConfig, reason, host: str) -> Exception:
    if isinstance(reason, LLMError):
        return reason
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return _Retryable(f"no answer from {host} within {config.timeout:.0f}s (timeout)")
    if isinstance(reason, ConnectionRefusedError):
        return _Retryable(f"cannot connect to {host} (connection refused): is the server running?")
    if isinstance(reason, socket.gaierror):
        return LLMError(f"cannot resolve {host} ({reason.strerror or reason})")
    return _Retryable(f"cannot reach {host} ({reason})")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_text(body) -> str:
    try:
        data = json.loads(body) if isinstance(body, (bytes, str)) else body
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _snippet(body) if body else ""
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or "")[:300]
        return str(err)[:300]
    return ""


def _snippet(raw) -> str:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    text = " ".join(text.split())
    return (text[:80] + "...") if len(text) > 80 else text
