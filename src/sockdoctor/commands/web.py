"""`sockdoctor web`: serve the zero-backend page (built by `make web`) on 127.0.0.1.

    make web && sockdoctor web                 # http://127.0.0.1:8765/
    sockdoctor web --port 0 --dir web/dist     # any free port; the URL is printed
    sockdoctor web --llm-origin https://api.openai.com

Everything runs in the browser (Pyodide); this server only hands out files, with the MIME types
WebAssembly needs and a Content-Security-Policy that lets scripts and connections go only to the
page's own origin ('wasm-unsafe-eval' lets Pyodide compile its WebAssembly). A header policy can
only be narrowed by the page, never widened, so the page cannot add the LLM provider's origin
itself: "Ask an LLM" works only for origins named with --llm-origin (repeatable); the page says so
when the browser blocks the request. On another static host, set the same header there.
"""
from __future__ import annotations

import functools
import http.server
import pathlib
import urllib.parse

from sockdoctor.cli import UsageError

DEFAULT_PORT = 8765
MIME = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
        ".json": "application/json", ".py": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8",
        ".whl": "application/zip", ".zip": "application/zip", ".css": "text/css",
        ".html": "text/html; charset=utf-8", ".log": "text/plain; charset=utf-8"}


def add_parser(subparsers) -> None:
    import argparse
    p = subparsers.add_parser("web", help="serve the zero-backend page on 127.0.0.1",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    p.add_argument("--dir", default="web/dist", help="the built page (default web/dist)")
    p.add_argument("--llm-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow the page to connect to this LLM provider origin (https://host[:port])")


def content_security_policy(llm_origins: list[str] = ()) -> str:
    connect = " ".join(["'self'", *llm_origins])
    return ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
            f"connect-src {connect}; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _origin(value: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username:
        raise UsageError(f"--llm-origin {value!r}: give an origin such as https://api.openai.com")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise UsageError(f"--llm-origin {value!r}: plain http is allowed only for a local provider")
    return f"{parts.scheme}://{parts.netloc}"


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME}
    csp = content_security_policy()

    def end_headers(self):
        self.send_header("Content-Security-Policy", self.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):  # quiet: the terminal shows only the URL and errors
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            super().log_message(format, *args)


def make_server(directory: str, port: int = DEFAULT_PORT, llm_origins: list[str] = ()):
    """A ThreadingHTTPServer for ``directory`` on 127.0.0.1 (not started)."""
    root = pathlib.Path(directory)
    if not (root / "index.html").is_file():
        raise UsageError(f"{directory}: no index.html here; build the page with `make web`")
    handler = type("PageHandler", (Handler,), {"csp": content_security_policy([_origin(o) for o in llm_origins])})
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(root)))


def run(args) -> int:
    try:
        server = make_server(args.dir, args.port, args.llm_origin)
    except OSError as exc:
        raise UsageError(f"127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    host, port = server.server_address[:2]
    print(f"sockdoctor web: serving {args.dir} at http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
