"""`sockdoctor ask`: ask an LLM about the evidence, with your own key, sending only redacted text.

    export OPENAI_API_KEY=...  SOCKDOCTOR_LLM_MODEL=gpt-4o-mini
    sockdoctor ask paste.txt
    sockdoctor ask --provider anthropic --model claude-sonnet-4-5 nginx.conf ls.txt
    SOCKDOCTOR_LLM_BASE_URL=http://127.0.0.1:11434/v1 sockdoctor ask --model llama3.1 paste.txt
    sockdoctor ask --show-request paste.txt      # prints exactly what would be sent; sends nothing

The inputs are redacted locally first (see `sockdoctor redact`); if any input cannot be read,
nothing is sent. The answer is streamed with the placeholders put back, and every command and
diff line in it is checked against the fixes sockdoctor never proposes.
Exit status: 0 answered, 1 answered but the answer proposes something insecure, 2 bad input or
usage, 3 the provider could not be asked (the message says why).
"""
from __future__ import annotations

import ipaddress
import json
import os
import sys
import urllib.parse

from sockdoctor.cli import UsageError
from sockdoctor.commands.redact import load_map, read_inputs, save_map
from sockdoctor.llm import LLMConfig, LLMError, complete, describe, prepare
from sockdoctor.llm.answer import StreamRestorer, insecure_proposals
from sockdoctor.llm.client import KEY_ENV
from sockdoctor.llm.prompt import SYSTEM, user_message
from sockdoctor.redact import Mapping, redact

DEFAULT_QUESTION = ("Why can nginx not connect() to the upstream Unix socket, and what is the "
                    "least-privilege fix?")
NO_REPORT = "sockdoctor's own diagnosis is not available in this build; only the evidence is sent."


def add_parser(subparsers) -> None:
    import argparse
    p = subparsers.add_parser("ask", help="ask an LLM (your key) about redacted evidence",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="file, directory or - (default: stdin)")
    p.add_argument("-q", "--question", default=DEFAULT_QUESTION)
    p.add_argument("--provider", choices=["openai", "anthropic"],
                   help="API dialect (default: $SOCKDOCTOR_LLM_PROVIDER, else anthropic when only "
                        "ANTHROPIC_API_KEY is set, else openai)")
    p.add_argument("--base-url", help="API base URL (default: $SOCKDOCTOR_LLM_BASE_URL or the provider's)")
    p.add_argument("--model", help="model name (default: $SOCKDOCTOR_LLM_MODEL)")
    p.add_argument("--api-key-env", metavar="VAR",
                   help="environment variable holding the key (default: OPENAI_API_KEY / ANTHROPIC_API_KEY)")
    p.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data before giving up (60)")
    p.add_argument("--max-retries", type=int, default=2, help="retries on 429/5xx/timeouts (2)")
    p.add_argument("--hosts", action="store_true", help="also mask hostnames, public IPs, e-mail addresses")
    p.add_argument("--map", metavar="FILE", help="keep the placeholder mapping in FILE (mode 0600)")
    p.add_argument("--show-request", action="store_true", help="print exactly what would be sent; send nothing")


def config_from(args, environ=os.environ) -> LLMConfig:
    provider = args.provider or environ.get("SOCKDOCTOR_LLM_PROVIDER") or (
        "anthropic" if environ.get("ANTHROPIC_API_KEY") and not environ.get("OPENAI_API_KEY") else "openai")
    if provider not in KEY_ENV:
        raise UsageError(f"SOCKDOCTOR_LLM_PROVIDER={provider!r}: use openai or anthropic")
    model = args.model or environ.get("SOCKDOCTOR_LLM_MODEL")
    if not model:
        raise UsageError("no model: pass --model NAME or set SOCKDOCTOR_LLM_MODEL")
    key_var = args.api_key_env or KEY_ENV[provider]
    try:
        config = LLMConfig(provider=provider, model=model,
                           base_url=args.base_url or environ.get("SOCKDOCTOR_LLM_BASE_URL") or "",
                           api_key=environ.get(key_var) or None, key_source=f"${key_var}",
                           timeout=args.timeout, max_retries=max(0, args.max_retries), stream=not args.no_stream)
        prepare(config, "", "")  # validates the base URL
    except (ValueError, LLMError) as exc:
        raise UsageError(str(exc)) from None
    if not config.api_key and not args.show_request and not _is_local(config.base_url):
        raise UsageError(f"no API key: set {key_var} (the key is read from the environment only)")
    return config


def _is_local(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_private
    except ValueError:
        return False


def diagnosis_json(texts: dict[str, str]) -> str | None:
    """sockdoctor's own report for the (already redacted) texts, as JSON; None when unavailable."""
    from sockdoctor import engine
    if not hasattr(engine, "diagnose"):
        return None
    report = engine.diagnose(texts)
    data = report.to_json() if hasattr(report, "to_json") else report
    return json.dumps(data, indent=1, default=str, ensure_ascii=False)


def build_request_texts(inputs: list[tuple[str, str]], question: str, mapping: Mapping,
                        hosts: bool = False) -> tuple[str, str, str | None]:
    """(system, user message, note) with everything redacted through ``mapping``."""
    evidence = []
    for name, text in inputs:
        safe_name = redact(name, hosts=hosts, mapping=mapping).text
        evidence.append((safe_name, redact(text, hosts=hosts, mapping=mapping).text))
    note = None
    try:
        report = diagnosis_json(dict(evidence))
    except Exception as exc:  # the diagnosis is a bonus here; asking must still work
        report, note = None, f"sockdoctor's own diagnosis failed ({type(exc).__name__}); only the evidence is sent."
    if report is None and note is None:
        note = NO_REPORT
    message = user_message(redact(question, hosts=hosts, mapping=mapping).text, report, note or "", evidence)
    # belt and braces: the assembled message must hold nothing the detectors still see
    message = redact(message, hosts=hosts, mapping=mapping).text
    return SYSTEM, message, note


def run(args) -> int:
    config = config_from(args)
    inputs = read_inputs(args.inputs)  # UsageError on unreadable input: nothing is sent
    mapping = load_map(args.map)
    system, message, note = build_request_texts(inputs, args.question, mapping, args.hosts)
    if args.map:
        save_map(args.map, mapping)
    if args.show_request:
        sys.stdout.write(describe(config, prepare(config, system, message)))
        return 0
    if note:
        print(f"sockdoctor: note: {note}", file=sys.stderr)
    restorer = StreamRestorer(mapping)

    def show(piece: str) -> None:
        sys.stdout.write(restorer.feed(piece))
        sys.stdout.flush()

    try:
        answer = complete(config, system, message, on_text=show)
    except LLMError as exc:
        sys.stdout.write(restorer.flush())
        if exc.partial:
            sys.stdout.write("\n")
        sys.stdout.flush()
        print(f"sockdoctor: {exc}", file=sys.stderr)
        return 3
    sys.stdout.write(restorer.flush())
    if not answer.text.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()
    if answer.stop_reason in {"length", "max_tokens"}:
        print("sockdoctor: note: the answer was cut at the token limit", file=sys.stderr)
    from sockdoctor.redact import restore
    flagged = insecure_proposals(restore(answer.text, mapping))
    for message_line in flagged:
        print(f"sockdoctor: WARNING: the answer proposes what sockdoctor never would: {message_line}",
              file=sys.stderr)
    return 1 if flagged else 0
