"""Markdown for tickets."""
from __future__ import annotations


def render(report: dict) -> str:
    out = ["# sockdoctor report", ""]
    if not report["findings"]:
        out.append("No failure and no insecure configuration found.")
    fixes_by = {}
    for fx in report["fixes"]:
        fixes_by.setdefault(fx["finding"], []).append(fx)
    for f in report["findings"]:
        out += [f"## {f['id']} `{f['cause']}` ({f['severity']})", "", f["summary"], ""]
        if f.get("origin"):
            o = f["origin"]
            out += [f"**Origin:** {o['component']} `{o['setting']}`" + (f" ({o['source']})" if o.get("source") else ""), ""]
        if f["evidence"]:
            out += ["**Evidence**", "", "```"] + [f"{e['input']}:{e['line']}: {e['text'].strip()}" for e in f["evidence"]] + ["```", ""]
        if f["trace"]:
            out += ["**Permission check**", "", "```"] + f["trace"] + ["```", ""]
        for fx in fixes_by.get(f["id"], []):
            out += [f"### Fix {fx['rank']}: {fx['title']}", ""]
            for d in fx["diffs"]:
                out += ["```diff", d["diff"].rstrip(), "```", ""]
            if fx["commands"]:
                out += ["```sh"] + fx["commands"] + ["```", ""]
            if fx["verify"]:
                out += ["Verify:", "", "```sh"] + fx["verify"] + ["```", ""]
            out += [f"> {n}" for n in fx.get("notes", [])] + ([""] if fx.get("notes") else [])
    if report.get("warnings"):
        out += ["## Warnings", ""] + [f"- {w}" for w in report["warnings"]]
    return "\n".join(out).rstrip() + "\n"
