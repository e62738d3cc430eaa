"""SARIF 2.1.0 for code scanning: one rule per cause (help from the rule's DOC), results located at
file:line:column, and a fix's unified diffs as SARIF `fixes` (artifactChanges with replacements)."""
from __future__ import annotations

import re

from sockdoctor import __version__
from sockdoctor.lint.catalog import rule_info, rule_modules, title

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/sockdoctor/sockdoctor"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
_HUNK = re.compile(r"^@@ -(?P<a>\d+)(?:,(?P<alen>\d+))? \+(?P<b>\d+)(?:,(?P<blen>\d+))? @@")


def _rule(cause: str, severity: str, modules) -> dict:
    info = rule_info(cause, modules)
    doc = info["doc"]
    sev = info["severity"] or severity
    what = doc.get("what") or title(cause)
    full = " ".join(x for x in (doc.get("what"), doc.get("why")) if x) or what
    md = [f"## {cause}", "", doc.get("what", ""), ""]
    if doc.get("why"):
        md += ["**Why it matters.** " + doc["why"], ""]
    if doc.get("bad"):
        md += ["Bad:", "", "```", doc["bad"], "```", ""]
    if doc.get("good"):
        md += ["Good:", "", "```", doc["good"], "```", ""]
    if doc.get("fix"):
        md += ["**Fix.** " + doc["fix"], ""]
    text = "\n".join(x for x in (what, doc.get("why"), doc.get("fix") and "Fix: " + doc["fix"]) if x)
    tags = ["security"] if info["kind"] in ("insecure", "") or sev in ("critical", "high") else []
    tags += [t for t in (info["kind"] or "finding", "sockdoctor") if t not in tags]
    return {
        "id": cause,
        "name": "".join(w.capitalize() for w in cause.split("_")),
        "shortDescription": {"text": what.split(". ")[0].rstrip(".")[:200]},
        "fullDescription": {"text": full},
        "help": {"text": text, "markdown": "\n".join(md).strip() + "\n"},
        "helpUri": f"{INFO_URI}/blob/main/docs/rules/{cause}.md",
        "defaultConfiguration": {"level": LEVEL.get(sev, "warning")},
        "properties": {"security-severity": SECURITY_SEVERITY.get(sev, "5.5"), "tags": tags,
                       "precision": "high", "problem.severity": "error" if LEVEL.get(sev) == "error" else "warning"},
    }


def diff_replacements(diff: str) -> list[dict]:
    """SARIF replacements for a unified diff: each run of -/+ lines replaces whole original lines."""
    out: list[dict] = []
    old = 0
    run_start, deleted, inserted = None, 0, []

    def flush():
        nonlocal run_start, deleted, inserted
        if run_start is not None:
            region = {"startLine": run_start, "startColumn": 1}
            if deleted:
                region["endLine"] = run_start + deleted
                region["endColumn"] = 1
            else:
                region["endLine"], region["endColumn"] = run_start, 1
            rep = {"deletedRegion": region}
            if inserted:
                rep["insertedContent"] = {"text": "".join(line + "\n" for line in inserted)}
            out.append(rep)
        run_start, deleted, inserted = None, 0, []

    in_hunk = False
    for line in diff.split("\n"):
        if m := _HUNK.match(line):
            flush()
            old, in_hunk = int(m.group("a")), True
            if m.group("alen") == "0":
                old += 1  # pure insertion after line a
            continue
        if not in_hunk:
            continue
        if line.startswith("-"):
            if run_start is None:
                run_start = old
            deleted += 1
            old += 1
        elif line.startswith("+"):
            if run_start is None:
                run_start = old
            inserted.append(line[1:])
        elif line.startswith("\\"):
            continue
        else:
            flush()
            old += 1
    flush()
    return out


def _artifact_location(name: str) -> dict:
    """Repo-relative names resolve against %SRCROOT%; files outside the root get a file: URI."""
    if name.startswith("/"):
        from pathlib import PurePosixPath

        return {"uri": PurePosixPath(name).as_uri()}
    from urllib.parse import quote

    return {"uri": quote(name), "uriBaseId": "%SRCROOT%"}


def _artifact(path: str, texts) -> str | None:
    p = path.lstrip("/")
    for name in texts:
        if name == path or name == p or p.endswith("/" + name) or name.endswith("/" + p):
            return name
    for prefix in ("a/", "b/"):
        if p.startswith(prefix) and p[2:] in texts:
            return p[2:]
    return None


def render(result) -> dict:
    """The SARIF log (a dict) for a lint.LintResult."""
    modules = rule_modules()
    report = result.report
    causes = sorted({f.cause for f in report.findings} | set(modules))
    sev_of = {f.cause: f.severity for f in report.findings}
    rules = [_rule(c, sev_of.get(c, ""), modules) for c in causes]
    index = {r["id"]: i for i, r in enumerate(rules)}
    fixes_by = {}
    for fx in report.fixes:
        fixes_by.setdefault(fx.finding, []).append(fx)
    results = []
    for f in report.findings:
        res = {
            "ruleId": f.cause,
            "ruleIndex": index[f.cause],
            "level": LEVEL.get(f.severity, "warning"),
            "message": {"text": f.summary},
            "properties": {"severity": f.severity, "confidence": round(f.confidence, 2),
                           **({"socket": f.socket} if f.socket else {})},
        }
        loc = result.locations.get(f.id)
        if loc:
            res["locations"] = [{"physicalLocation": {
                "artifactLocation": _artifact_location(loc.input),
                "region": {"startLine": loc.line, "startColumn": max(loc.column, 1)}}}]
            res["partialFingerprints"] = {"sockdoctor/v1": f"{f.cause}:{loc.input}:{_norm(result, loc)}"}
        sarif_fixes = []
        for fx in sorted(fixes_by.get(f.id, []), key=lambda x: x.rank):
            changes = []
            for d in fx.diffs:
                name = _artifact(d.path, result.texts)
                reps = diff_replacements(d.diff) if name else []
                if reps:
                    changes.append({"artifactLocation": _artifact_location(name),
                                    "replacements": reps})
            if changes:
                sarif_fixes.append({"description": {"text": fx.title}, "artifactChanges": changes})
        if sarif_fixes:
            res["fixes"] = sarif_fixes
        results.append(res)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "sockdoctor", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFO_URI, "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the directory lint ran from"}}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }


def _norm(result, loc) -> str:
    lines = result.texts.get(loc.input, "").split("\n")
    return " ".join(lines[loc.line - 1].split()) if 0 < loc.line <= len(lines) else str(loc.line)
