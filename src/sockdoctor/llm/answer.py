"""The answer side: put placeholders back while streaming, and check what the answer proposes."""
from __future__ import annotations

import re

from sockdoctor.policy import forbidden_in
from sockdoctor.redact import Mapping, restore

_OPEN = "<<SECRET:"
_TRAILING_PLACEHOLDER = re.compile(r"<<SECRET:[a-z0-9_]+:[0-9]+>>\n*\Z")


class StreamRestorer:
    """Feed stream pieces, get restored text; a placeholder split across pieces is held back."""

    def __init__(self, mapping: Mapping):
        self.mapping = mapping
        self.pending = ""

    def feed(self, piece: str) -> str:
        self.pending += piece
        cut = self._safe_end(self.pending)
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        return restore(ready, self.mapping)

    def flush(self) -> str:
        ready, self.pending = self.pending, ""
        return restore(ready, self.mapping)

    @staticmethod
    def _safe_end(text: str) -> int:
        """Index up to which ``text`` holds no unfinished placeholder (nor the newlines after one)."""
        opened = text.rfind(_OPEN)
        if opened != -1 and ">>" not in text[opened:]:
            return opened
        for k in range(min(len(_OPEN) - 1, len(text)), 0, -1):
            if text.endswith(_OPEN[:k]):
                return len(text) - k
        # hold a placeholder that ends the text (with any newlines after it): the newlines that
        # follow may be a multi-line secret's padding, which restore() consumes with it
        m = _TRAILING_PLACEHOLDER.search(text)
        return m.start() if m else len(text)


_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)[^\n]*$")
_NEGATED = re.compile(r"(?i)\b(?:never|don't|do not|avoid|instead of|rather than|not)\b")


def proposals(answer: str) -> list[tuple[str, bool]]:
    """(text, is_diff) for each fenced code block, plus inline `code` spans not in a negated sentence."""
    out: list[tuple[str, bool]] = []
    lines = answer.split("\n")
    prose: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        fence, lang = m.group("fence"), m.group("lang").lower()
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        text = "\n".join(body)
        out.append((_strip_prompts(text), lang in {"diff", "patch", "udiff"} or None))
    for line in prose:
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            if _NEGATED.search(sentence):
                continue
            for code in re.findall(r"`([^`\n]+)`", sentence):
                out.append((code, False))
    return out


def _strip_prompts(text: str) -> str:
    return "\n".join(re.sub(r"^(\s*)(?:\$|[\w.-]+@[\w.-]+:[^$#]*[$#])\s+", r"\1", line) for line in text.split("\n"))


def insecure_proposals(answer: str) -> list[str]:
    """Messages for everything the answer proposes that sockdoctor never would."""
    found: list[str] = []
    for text, is_diff in proposals(answer):
        for message in forbidden_in(text, diff=is_diff):
            if message not in found:
                found.append(message)
    return found
