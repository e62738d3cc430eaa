"""Redaction benchmark: recall and precision per kind, sockdoctor vs detect-secrets, same corpus.

    .venv/bin/python bench/redact_bench.py [--json] [--no-detect-secrets]

Corpus: tests/data/secrets/ (labels.json gives every secret's and near-miss's exact span).

Scoring, the same for both tools:
- a labelled secret is *found* when some finding overlaps it; sockdoctor is also scored *covered*
  (every character of the secret lies inside a finding: nothing of it leaks);
- a finding is a true positive when it overlaps a labelled secret; precision = TP / findings;
- a near-miss is *flagged* when some finding overlaps it.
detect-secrets reports a line and a value, not a span: each of its findings becomes every occurrence
of the value on that line (all occurrences in the file for values it reports once per file); its
"Private Key" finding becomes the whole BEGIN...END block.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "secrets"

TARGET_GROUPS = {
    "private keys": {"private_key", "openssh_private_key"},
    "cloud keys": {"aws_access_key_id", "aws_secret_key", "aws_session_token", "aws_account_id",
                   "gcp_private_key_id", "azure_storage_key", "google_api_key"},
    "database passwords": {"database_password"},
    "authorization headers": {"authorization"},
}
TARGETS = {"group_recall": 1.0, "overall_recall": 0.98, "precision": 0.95}


def load_corpus() -> list[dict]:
    labels = json.loads((CORPUS / "labels.json").read_text())
    out = []
    for item in labels["files"]:
        path = CORPUS / "files" / item["file"]
        text = path.read_text()
        starts = _line_starts(text)
        for label in item["secrets"] + item["near_misses"]:
            label["start"] = starts[label["line"] - 1] + label["column"] - 1
            label["end"] = starts[label["end_line"] - 1] + label["end_column"] - 1
            assert text[label["start"]:label["end"]] == label["value"], (item["file"], label)
        out.append({"path": path, "text": text, "secrets": item["secrets"], "near": item["near_misses"],
                    "split": item.get("split", "tuned")})
    return out


def _line_starts(text: str) -> list[int]:
    return [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]


def sockdoctor_findings(text: str) -> list[tuple[int, int, str]]:
    sys.path.insert(0, str(ROOT / "src"))
    from sockdoctor.redact import redact

    starts = _line_starts(text)
    return [(starts[f.line - 1] + f.column - 1, starts[f.end_line - 1] + f.end_column - 1, f.kind)
            for f in redact(text).findings]


def detect_secrets_findings(path: Path, text: str) -> list[tuple[int, int, str]]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    with default_settings():
        collection = SecretsCollection()
        collection.scan_file(str(path))
    starts = _line_starts(text)
    lines = text.split("\n")
    out = []
    for _, secret in collection:
        line_no = secret.line_number
        if secret.type == "Private Key":
            begin = starts[line_no - 1]
            end = text.find("-----END", begin)
            end = text.find("\n", end) if end != -1 else len(text)
            out.append((begin, end if end != -1 else len(text), secret.type))
            continue
        value = secret.secret_value or ""
        if not value:
            out.append((starts[line_no - 1], starts[line_no - 1] + len(lines[line_no - 1]), secret.type))
            continue
        index = text.find(value)
        while index != -1:
            out.append((index, index + len(value), secret.type))
            index = text.find(value, index + 1)
    return out


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _covered(span: tuple[int, int], findings: list) -> bool:
    pos = span[0]
    for start, end, _ in sorted(findings):
        if start <= pos < end:
            pos = end
        if pos >= span[1]:
            return True
    return pos >= span[1]


def evaluate(corpus: list[dict], finder) -> dict:
    """finder(entry) -> [(start, end, kind)]. Returns counts per label kind and totals."""
    per_kind = defaultdict(lambda: {"secrets": 0, "found": 0, "covered": 0})
    per_near = defaultdict(lambda: {"near_misses": 0, "flagged": 0})
    per_tool_kind = defaultdict(lambda: {"findings": 0, "true": 0})
    missed = []
    false_positives = []
    for entry in corpus:
        findings = finder(entry)
        for label in entry["secrets"]:
            span = (label["start"], label["end"])
            row = per_kind[label["kind"]]
            row["secrets"] += 1
            if any(_overlaps(span, f[:2]) for f in findings):
                row["found"] += 1
            if _covered(span, findings):
                row["covered"] += 1
            else:
                missed.append((entry["path"].name, label["line"], label["kind"], label["value"][:40]))
        for label in entry["near"]:
            row = per_near[label["kind"]]
            row["near_misses"] += 1
            if any(_overlaps((label["start"], label["end"]), f[:2]) for f in findings):
                row["flagged"] += 1
        for start, end, kind in findings:
            row = per_tool_kind[kind]
            row["findings"] += 1
            if any(_overlaps((start, end), (s["start"], s["end"])) for s in entry["secrets"]):
                row["true"] += 1
            else:
                false_positives.append((entry["path"].name, kind, entry["text"][start:end][:40]))
    secrets = sum(r["secrets"] for r in per_kind.values())
    findings = sum(r["findings"] for r in per_tool_kind.values())
    true = sum(r["true"] for r in per_tool_kind.values())
    groups = {}
    for group, kinds in TARGET_GROUPS.items():
        n = sum(per_kind[k]["secrets"] for k in kinds if k in per_kind)
        groups[group] = {"secrets": n, "covered": sum(per_kind[k]["covered"] for k in kinds if k in per_kind),
                         "found": sum(per_kind[k]["found"] for k in kinds if k in per_kind)}
    return {
        "secrets": secrets,
        "found": sum(r["found"] for r in per_kind.values()),
        "covered": sum(r["covered"] for r in per_kind.values()),
        "findings": findings,
        "true_findings": true,
        "precision": true / findings if findings else 1.0,
        "recall_found": sum(r["found"] for r in per_kind.values()) / secrets,
        "recall_covered": sum(r["covered"] for r in per_kind.values()) / secrets,
        "near_misses": sum(r["near_misses"] for r in per_near.values()),
        "near_misses_flagged": sum(r["flagged"] for r in per_near.values()),
        "per_kind": dict(per_kind), "per_near": dict(per_near), "per_tool_kind": dict(per_tool_kind),
        "groups": groups, "missed": missed, "false_positives": false_positives,
    }


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f}%" if b else "    -"


def report(ours: dict, theirs: dict | None, seconds: dict) -> str:
    lines = []
    kinds = sorted(ours["per_kind"])
    lines.append(f"{'kind':22} {'n':>4}  {'sockdoctor':>10}  {'detect-secrets':>14}")
    for kind in kinds:
        row = ours["per_kind"][kind]
        other = _pct(theirs["per_kind"][kind]["found"], row["secrets"]) if theirs else "-"
        lines.append(f"{kind:22} {row['secrets']:4}  {_pct(row['covered'], row['secrets']):>10}  {other:>14}")
    lines.append("")
    lines.append(f"{'near-miss kind':22} {'n':>4}  {'flagged by sockdoctor':>21}  {'by detect-secrets':>17}")
    for kind in sorted(ours["per_near"]):
        row = ours["per_near"][kind]
        other = str(theirs["per_near"][kind]["flagged"]) if theirs else "-"
        lines.append(f"{kind:22} {row['near_misses']:4}  {row['flagged']:21}  {other:>17}")
    lines.append("")
    for name, result in [("sockdoctor", ours), ("detect-secrets", theirs)]:
        if not result:
            continue
        lines.append(f"{name}: recall {_pct(result['found'], result['secrets'])} found, "
                     f"{_pct(result['covered'], result['secrets'])} fully covered; precision "
                     f"{_pct(result['true_findings'], result['findings'])} ({result['findings']} findings); "
                     f"near-misses flagged {result['near_misses_flagged']}/{result['near_misses']}; "
                     f"{seconds[name]:.2f}s")
        for group, row in result["groups"].items():
            lines.append(f"  {group:22} {_pct(row['covered'] if name == 'sockdoctor' else row['found'], row['secrets'])} of {row['secrets']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-detect-secrets", action="store_true")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    corpus = load_corpus()
    seconds = {}
    start = time.perf_counter()
    ours = evaluate(corpus, lambda e: sockdoctor_findings(e["text"]))
    seconds["sockdoctor"] = time.perf_counter() - start
    theirs = None
    if not args.no_detect_secrets:
        try:
            import detect_secrets  # noqa: F401
        except ImportError:
            print("detect-secrets is not installed (pip install detect-secrets); skipping it", file=sys.stderr)
        else:
            start = time.perf_counter()
            theirs = evaluate(corpus, lambda e: detect_secrets_findings(e["path"], e["text"]))
            seconds["detect-secrets"] = time.perf_counter() - start
    splits = {}
    for split in sorted({e["split"] for e in corpus}):
        part = [e for e in corpus if e["split"] == split]
        splits[split] = {"sockdoctor": evaluate(part, lambda e: sockdoctor_findings(e["text"]))}
        if theirs:
            splits[split]["detect-secrets"] = evaluate(part, lambda e: detect_secrets_findings(e["path"], e["text"]))
    if args.json:
        print(json.dumps({"sockdoctor": ours, "detect-secrets": theirs, "seconds": seconds, "splits": splits},
                         indent=1, default=str))
    else:
        print(f"corpus: {len(corpus)} files, {ours['secrets']} secrets of {len(ours['per_kind'])} kinds, "
              f"{ours['near_misses']} near-misses of {len(ours['per_near'])} kinds\n")
        print(report(ours, theirs, seconds))
        print("\nby split (tuned: the detectors were developed on it; holdout/holdout2: formats written\n"
              "after that and scored before any change for them; see bench/README.md for first-run figures)")
        for split, results in splits.items():
            for name, result in results.items():
                print(f"  {split:9} {name:15} recall {_pct(result['found'], result['secrets'])} found, "
                      f"{_pct(result['covered'], result['secrets'])} covered of {result['secrets']:3}, "
                      f"precision {_pct(result['true_findings'], result['findings'])}, "
                      f"near-misses flagged {result['near_misses_flagged']}/{result['near_misses']}")
        if args.show_misses:
            for miss in ours["missed"]:
                print("MISSED", *miss)
            for fp in ours["false_positives"]:
                print("FALSE+", *fp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
