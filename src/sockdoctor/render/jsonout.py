"""JSON for people and programs: the outer levels one item per line, the inner ones compact.

``json.dumps(indent=...)`` switches to the pure-Python encoder, ten times slower than the C one
on a report with a thousand sockets; this keeps the C encoder for everything below ``depth``, made
once rather than once per value as ``json.dumps`` makes it."""
from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii


def _default(o):
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


# json.dumps's defaults: ascii, ", " and ": ", circular check, NaN allowed, keys unsorted
_MARKERS: dict = {}  # the circular check's open containers; empty between calls
_ENCODE = c_make_encoder(_MARKERS, _default, encode_basestring_ascii, None, ": ", ", ", False, False, True) \
    if c_make_encoder is not None else None


def _compact(value) -> str:
    if _ENCODE is None or isinstance(value, float):  # floats: json.dumps's own repr and NaN handling
        return json.dumps(value)
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    try:
        return "".join(_ENCODE(value, 0))
    except BaseException:
        _MARKERS.clear()
        raise


def dumps(value, depth: int = 3, _pad: str = "") -> str:
    if depth <= 0 or not isinstance(value, (dict, list)) or not value:
        return _compact(value)
    inner = _pad + " "
    if isinstance(value, dict):
        items = [f"{inner}{encode_basestring_ascii(str(k))}: {dumps(v, depth - 1, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + _pad + "}"
    return "[\n" + ",\n".join(inner + dumps(v, depth - 1, inner) for v in value) + "\n" + _pad + "]"
