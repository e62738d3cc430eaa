"""The reader interface.

A reader is a module in ``sockdoctor.evidence`` with:

- ``KIND``: the input kind it reads (a name from ``registry.KINDS``),
- ``detect(chunk) -> Detection | None``: how sure it is that ``chunk`` is its kind, and why,
- ``read(chunk) -> list[record]``: records with provenance (``chunk.name`` and line numbers counted
  in the original input, i.e. ``chunk.first_line + index``).

Readers never raise on bad text: what cannot be read becomes a ``ReadWarning`` record.
"""
from __future__ import annotations

from sockdoctor._dataclass import dataclass
from sockdoctor.evidence.records import Source


@dataclass(frozen=True)
class Chunk:
    """A piece of one input: the whole file, or one piece of a mixed paste."""
    name: str  # input name (file name, '<stdin>', 'paste.txt')
    text: str
    first_line: int = 1  # line number of text's first line within the input
    command: str | None = None  # the shell command shown before it ('ls -la /run/app.sock')
    hint: str | None = None  # file name or fence language, a hint only

    def lines(self) -> list[str]:
        return self.text.split("\n")

    def source(self, index: int, text: str = "", column: int = 0) -> Source:
        """Source for line ``index`` (0-based) of this chunk."""
        return Source(self.name, self.first_line + index, column, text)


@dataclass(frozen=True)
class Detection:
    kind: str
    score: float  # 0..1
    reason: str  # which signature matched
