"""atheris target: decoding, the mixed-paste splitter and every reader never raise on any bytes.

    .venv/bin/python fuzz/fuzz_split.py            # FUZZ_SECONDS=60 by default
"""
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
with atheris.instrument_imports():
    from sockdoctor.evidence import registry, split
    from sockdoctor.evidence.textio import decode_input
    registry.readers()  # the readers are imported lazily: import (and instrument) them here

from _common import main  # noqa: E402


def test_one_input(data: bytes) -> None:
    text, _ = decode_input(data, "fuzz.txt")
    for piece in split.split("fuzz.txt", text):
        # engine.read_piece catches reader exceptions for users; here they must not happen at all
        if piece.kind is not None:
            registry.reader(piece.kind).read(piece.chunk)


if __name__ == "__main__":
    main("split", test_one_input)
