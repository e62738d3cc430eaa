"""The rules lint knows: every module of `sockdoctor.rules` with a CAUSE, plus lint-only diagnostics."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from sockdoctor.lint.suppress import LINT_ONLY


def rule_modules() -> dict[str, ModuleType]:
    """cause -> rule module, sorted by cause (empty while no rule modules exist)."""
    import sockdoctor.rules as pkg

    out = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        cause = getattr(mod, "CAUSE", None)
        if isinstance(cause, str):
            out[cause] = mod
    return dict(sorted(out.items()))


def rule_info(cause: str, modules: dict[str, ModuleType] | None = None) -> dict:
    """{cause, kind, severity, static, doc} for a cause; a bare entry for causes without a module."""
    if cause in LINT_ONLY:
        meta = LINT_ONLY[cause]
        return {"cause": cause, "kind": "lint", "severity": meta["severity"], "static": True, "doc": meta["DOC"]}
    mod = (modules if modules is not None else rule_modules()).get(cause)
    if mod is None:
        return {"cause": cause, "kind": "", "severity": "", "static": False, "doc": {}}
    return {"cause": cause, "kind": getattr(mod, "KIND", ""), "severity": getattr(mod, "SEVERITY", ""),
            "static": bool(getattr(mod, "STATIC", False)), "doc": dict(getattr(mod, "DOC", {}) or {})}


def title(cause: str) -> str:
    return cause.replace("_", " ").capitalize()
