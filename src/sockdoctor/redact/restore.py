"""Put the values back: every known placeholder in a text becomes the value it stands for."""
from __future__ import annotations

import re

from sockdoctor.redact.placeholders import PLACEHOLDER_RE, Mapping

_PLACEHOLDER_AND_NEWLINES = re.compile("(?P<ph>" + PLACEHOLDER_RE.pattern + ")(?P<nl>\n*)")


def restore(text: str, mapping: Mapping) -> str:
    """Replace placeholders from ``mapping``; unknown placeholders are left as they are.

    A multi-line secret is written as its placeholder followed by as many newlines as the secret
    had (so line numbers stay put); those are consumed when all are present, so restoring a
    redacted text gives back the original exactly, and an LLM answer that dropped them still gets
    the full value.
    """
    def put_back(match: re.Match) -> str:
        entry = mapping.get(match.group("ph"))
        if entry is None:
            return match.group(0)
        newlines = match.group("nl")
        if entry.pad and len(newlines) >= entry.pad:
            newlines = newlines[entry.pad:]
        return entry.value + newlines

    return _PLACEHOLDER_AND_NEWLINES.sub(put_back, text)
