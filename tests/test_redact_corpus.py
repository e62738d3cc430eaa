"""The labelled secrets corpus (tests/data/secrets/): the issue's targets, measured, plus leak checks.

The targets: recall 100% on private keys, cloud keys, database passwords and Authorization
headers, at least 98% overall, precision at least 95% (bench/redact_bench.py prints the figures and
the same for detect-secrets).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from sockdoctor.redact import PLACEHOLDER_RE, redact, restore

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "secrets"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("redact_bench", ROOT / "bench" / "redact_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(bench):
    return bench.load_corpus()


@pytest.fixture(scope="module")
def scores(bench, corpus):
    return bench.evaluate(corpus, lambda entry: bench.sockdoctor_findings(entry["text"]))


def test_corpus_is_big_enough(corpus):
    secrets = [s for e in corpus for s in e["secrets"]]
    near = [n for e in corpus for n in e["near"]]
    assert len(secrets) >= 300 and len({s["kind"] for s in secrets}) >= 20
    assert len(near) >= 300


@pytest.mark.parametrize("group", ["private keys", "cloud keys", "database passwords", "authorization headers"])
def test_full_recall_on_the_critical_kinds(bench, scores, group):
    row = scores["groups"][group]
    missed = [m for m in scores["missed"] if m[2] in bench.TARGET_GROUPS[group]]
    assert row["secrets"] > 0
    assert row["covered"] == row["secrets"], missed


def test_overall_recall_and_precision(scores):
    assert scores["recall_covered"] >= 0.98, scores["missed"][:20]
    assert scores["precision"] >= 0.95, scores["false_positives"][:20]


def test_redacted_corpus_holds_no_secret_and_restores_exactly(corpus):
    for entry in corpus:
        result = redact(entry["text"])
        assert restore(result.text, result.mapping) == entry["text"], entry["path"].name
        assert result.text.count("\n") == entry["text"].count("\n")
        visible = PLACEHOLDER_RE.sub("", result.text)
        for label in entry["secrets"]:
            elsewhere = entry["text"][:label["start"]] + entry["text"][label["end"]:]
            for part in label["value"].split("\n"):
                part = part.strip()
                if len(part) >= 6 and part not in elsewhere:
                    assert part not in visible, (entry["path"].name, label["line"], label["kind"])
        assert redact(result.text, mapping=result.mapping).findings == []


def test_labels_match_the_files():
    labels = json.loads((CORPUS / "labels.json").read_text())
    assert "fake" in labels["note"].lower()
    for item in labels["files"]:
        assert (CORPUS / "files" / item["file"]).is_file()
