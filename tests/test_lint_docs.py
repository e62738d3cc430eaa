"""Rule documentation generated from the rules' DOC (scripts/gen_rule_docs.py)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from sockdoctor.lint.catalog import rule_modules
from sockdoctor.rules.base import DOC_PARTS
from shared_paths import SHARED_STR  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CAUSES_MD = Path(SHARED_STR + "/domain/causes.md")


def _gen():
    spec = importlib.util.spec_from_file_location("gen_rule_docs", ROOT / "scripts" / "gen_rule_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _causes() -> list[str]:
    text = CAUSES_MD.read_text()
    return sorted(set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M)))


def test_generator_writes_one_page_per_rule_with_every_doc_part(tmp_path):
    gen = _gen()
    assert gen.main(["--out", str(tmp_path)]) == 0
    assert gen.main(["--out", str(tmp_path), "--check"]) == 0
    pages = {p.stem: p.read_text() for p in tmp_path.glob("*.md")}
    assert {"invalid_suppression", "unused_suppression"} | set(rule_modules()) == set(pages)
    for cause, text in pages.items():
        assert text.startswith(f"# `{cause}`")
        for head in ("What it finds", "Why it matters", "Bad", "Good", "Fix"):
            assert f"## {head}" in text, (cause, head)
    (tmp_path / "invalid_suppression.md").write_text("stale")
    assert gen.main(["--out", str(tmp_path), "--check"]) == 1


def test_every_rule_has_a_complete_doc():
    for cause, mod in rule_modules().items():
        assert all((mod.DOC.get(part) or "").strip() for part in DOC_PARTS), cause


def test_every_cause_has_a_doc_page():
    causes = _causes()
    assert len(causes) >= 20  # the table parser still reads causes.md
    missing_rules = [c for c in causes if c not in rule_modules()]
    if missing_rules:
        pytest.skip(f"rules not written yet for: {', '.join(missing_rules)}")
    pages = _gen().pages()
    assert [c for c in causes if c not in pages] == []
    on_disk = {p.stem for p in (ROOT / "docs" / "rules").glob("*.md")}
    assert [c for c in causes if c not in on_disk] == [], "run scripts/gen_rule_docs.py"
