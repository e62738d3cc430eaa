"""atheris target: the nginx lexer/parser, extraction and build never raise on any bytes.

    .venv/bin/python fuzz/fuzz_parse.py            # FUZZ_SECONDS=60 by default
"""
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
with atheris.instrument_imports():
    from sockdoctor.nginx import build, extract, parse_dump, parse_text

from _common import main  # noqa: E402


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    for payload in (parse_text(text, "/etc/nginx/nginx.conf"), parse_dump(text, "dump.txt")):
        extract(payload)
        again = parse_text(build(payload))
        extract(again)


if __name__ == "__main__":
    main("parse", test_one_input)
