"""``re.compile`` deferred to the first use.

The readers (``sockdoctor.evidence``) define their patterns at module level, and a process reads
only some kinds of input: `sockdoctor check` imports about fifty of them and uses ten (compiling
the other forty cost 5-8 ms of every start). Every reader's module-level pattern comes from here. A pattern from here compiles the first time one of its attributes is read,
then keeps the compiled pattern's methods on itself, so later calls cost what they cost on an
``re.Pattern``. It is not an ``re.Pattern``: pass ``.compiled`` where one is required.
"""
from __future__ import annotations

import re

_KEPT = ("match", "fullmatch", "search", "finditer", "findall", "sub", "subn", "split", "scanner",
         "pattern", "flags", "groups", "groupindex")


class LazyPattern:
    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.__dict__["_args"] = (pattern, flags)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if "compiled" not in self.__dict__:
            compiled = re.compile(*self.__dict__["_args"])
            self.__dict__.update({k: getattr(compiled, k) for k in _KEPT}, compiled=compiled)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"LazyPattern({self.__dict__['_args'][0]!r})"


def compile(pattern: str, flags: int = 0) -> LazyPattern:  # noqa: A001 -- as re.compile
    return LazyPattern(pattern, flags)
