"""nginx configuration: a lexer/parser written for sockdoctor (no crossplane at run time).

    payload = parse_text(text, "/etc/nginx/sites-enabled/app")   # one pasted file
    payload = parse_dump(nginx_T_output, "paste.txt")           # `nginx -T` output
    payload = parse_tree("/etc/nginx/nginx.conf", fs.read_file, fs.list_glob)
    record = extract(payload)                                   # -> NginxConfigRecord
    text = build(payload)                                       # back to config text

Everything here is pure Python and never raises on bad configuration text: problems are
``ParseError`` data in the payload (and ``errors`` in the record).
"""
from sockdoctor.nginx.build import build, build_files, quote_arg, to_crossplane
from sockdoctor.nginx.extract import extract, socket_target, user_and_group
from sockdoctor.nginx.parser import (
    Directive, ParseError, ParsedFile, Payload, parse_dump, parse_text, parse_tree, split_dump, walk,
)

__all__ = [
    "Directive", "ParseError", "ParsedFile", "Payload",
    "parse_text", "parse_dump", "parse_tree", "split_dump", "walk",
    "extract", "socket_target", "user_and_group",
    "build", "build_files", "quote_arg", "to_crossplane",
]
