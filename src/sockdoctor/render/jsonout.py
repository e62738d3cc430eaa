"""JSON for people and programs: the outer levels one item per line, the inner ones compact.

``json.dumps(indent=...)`` switches to the pure-Python encoder, ten times slower than the C one
on a report with a thousand sockets; this keeps the C encoder for everything below ``depth``."""
from __future__ import annotations

import json


def dumps(value, depth: int = 3, _pad: str = "") -> str:
    if depth <= 0 or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value)
    inner = _pad + " "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(str(k))}: {dumps(v, depth - 1, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + _pad + "}"
    return "[\n" + ",\n".join(inner + dumps(v, depth - 1, inner) for v in value) + "\n" + _pad + "]"
