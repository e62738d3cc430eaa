"""Text for people: the cause in one sentence first, then the trace, then the fix, copy-ready."""
from __future__ import annotations

BOLD, RED, YEL, GRN, DIM, RST = "\033[1m", "\033[31m", "\033[33m", "\033[32m", "\033[2m", "\033[0m"


def render(report: dict, color: bool = False) -> str:
    c = (lambda code, s: f"{code}{s}{RST}") if color else (lambda code, s: s)
    out: list[str] = []
    findings = report["findings"]
    if not findings:
        out.append(c(GRN, "No failure and no insecure configuration found."))
    fixes_by = {}
    for fx in report["fixes"]:
        fixes_by.setdefault(fx["finding"], []).append(fx)
    for f in findings:
        colour = RED if f["severity"] == "critical" else YEL
        out.append(c(BOLD + colour, f"{f['id']} {f['cause']}") + f"  [{f['severity']}, confidence {f['confidence']}]")
        out.append(f"  {f['summary']}")
        if f.get("origin"):
            o = f["origin"]
            out.append(f"  origin: {o['component']} {o['setting']}" + (f" ({o['source']})" if o.get("source") else ""))
        if f["evidence"]:
            out.append("  evidence:")
            for e in f["evidence"]:
                out.append(c(DIM, f"    {e['input']}:{e['line']}: ") + e["text"].strip()[:160])
        if f["trace"]:
            out.append("  permission check:")
            for t in f["trace"]:
                out.append(f"    {t}")
        for fx in fixes_by.get(f["id"], []):
            out.append(c(BOLD, f"  fix {fx['rank']}: {fx['title']}"))
            for d in fx["diffs"]:
                out.append(f"    # {d['path']}")
                for line in d["diff"].splitlines():
                    colour = GRN if line.startswith("+") else RED if line.startswith("-") else ""
                    out.append("    " + (c(colour, line) if colour else line))
            if fx["commands"]:
                out.append("    commands:")
                for cmd in fx["commands"]:
                    out.append(f"      {cmd}")
            if fx["verify"]:
                out.append("    verify:")
                for v in fx["verify"]:
                    out.append(f"      {v}")
            for n in fx.get("notes", []):
                out.append(c(DIM, f"    note: {n}"))
        out.append("")
    for w in report.get("warnings", []):
        out.append(c(YEL, f"warning: {w}"))
    return "\n".join(out).rstrip() + "\n"
