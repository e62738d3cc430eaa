"""Typed, stable placeholders and the mapping that remembers what they stand for.

A placeholder looks like ``<<SECRET:aws_secret_key:1>>``. One ``Mapping`` gives the same value the
same placeholder every time it is seen, in every text redacted with that mapping, so a report, a
paste and an LLM answer can be put back together with ``restore``.
"""
from __future__ import annotations

import json
import re

from sockdoctor._dataclass import dataclass

PLACEHOLDER_RE = re.compile(r"<<SECRET:([a-z0-9_]+):([0-9]+)>>")
MAP_FORMAT = "sockdoctor-redaction-map"


@dataclass(frozen=True)
class Entry:
    placeholder: str
    kind: str
    value: str
    pad: int = 0  # newlines written after the placeholder so a multi-line secret keeps line numbers


class Mapping:
    """value -> placeholder (and back). Plain data; serialise with ``to_json``/``from_json``."""

    def __init__(self) -> None:
        self._by_value: dict[str, Entry] = {}
        self._by_placeholder: dict[str, Entry] = {}
        self._counts: dict[str, int] = {}

    def placeholder_for(self, kind: str, value: str) -> Entry:
        entry = self._by_value.get(value)
        if entry is not None:
            return entry
        number = self._counts.get(kind, 0) + 1
        self._counts[kind] = number
        entry = Entry(f"<<SECRET:{kind}:{number}>>", kind, value, value.count("\n"))
        self._add(entry)
        return entry

    def _add(self, entry: Entry) -> None:
        self._by_value[entry.value] = entry
        self._by_placeholder[entry.placeholder] = entry
        match = PLACEHOLDER_RE.fullmatch(entry.placeholder)
        if match:
            kind, number = match.group(1), int(match.group(2))
            self._counts[kind] = max(self._counts.get(kind, 0), number)

    def reserve_numbers_in(self, text: str) -> None:
        """Never hand out a placeholder that ``text`` already contains (e.g. redacting twice)."""
        for match in PLACEHOLDER_RE.finditer(text):
            kind, number = match.group(1), int(match.group(2))
            if self._counts.get(kind, 0) < number:
                self._counts[kind] = number

    def get(self, placeholder: str) -> Entry | None:
        return self._by_placeholder.get(placeholder)

    def entries(self) -> list[Entry]:
        return list(self._by_placeholder.values())

    def values(self) -> list[str]:
        return list(self._by_value)

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def __contains__(self, placeholder: object) -> bool:
        return placeholder in self._by_placeholder

    def to_json(self) -> str:
        return json.dumps({
            "format": MAP_FORMAT,
            "version": 1,
            "entries": [{"placeholder": e.placeholder, "kind": e.kind, "value": e.value, "pad": e.pad}
                        for e in self.entries()],
        }, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Mapping":
        """Raises ValueError when ``text`` is not a redaction map."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a redaction map (line {exc.lineno}: {exc.msg})") from None
        if not isinstance(data, dict) or data.get("format") != MAP_FORMAT:
            raise ValueError("not a redaction map (no \"format\": \"sockdoctor-redaction-map\")")
        mapping = cls()
        for index, item in enumerate(data.get("entries") or []):
            try:
                entry = Entry(str(item["placeholder"]), str(item["kind"]), str(item["value"]),
                              int(item.get("pad", 0)))
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"not a redaction map (entry {index + 1} is malformed)") from None
            if not PLACEHOLDER_RE.fullmatch(entry.placeholder):
                raise ValueError(f"not a redaction map (entry {index + 1}: bad placeholder)")
            mapping._add(entry)
        return mapping
