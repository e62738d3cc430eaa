"""Shared helpers for the lint tests (not collected: no test_ prefix)."""
from __future__ import annotations

import importlib

import pytest

from sockdoctor.evidence.records import Source
from sockdoctor.lint import LintConfig, lint_texts
from sockdoctor.report import Diff, Finding, Fix, Origin

POOL = """[shop]
user = shop
group = shop
listen = /run/php/shop.sock
listen.owner = shop
listen.group = www-data
listen.mode = 0666
"""

POOL_DIFF = """--- a/pool.d/shop.conf
+++ b/pool.d/shop.conf
@@ -6,2 +6,2 @@
 listen.group = www-data
-listen.mode = 0666
+listen.mode = 0660
"""


def need_analysis():
    """Skip unless the analysis imports and runs on an empty input (it is being written alongside)."""
    try:
        importlib.import_module("sockdoctor.analysis")
    except ImportError:
        pytest.skip("analysis not available")
    from sockdoctor.engine import diagnose_evidence, read_inputs

    try:
        diagnose_evidence(read_inputs([("nginx.conf", "user www-data;\nevents {}\n")]), static_only=True)
    except (ImportError, AttributeError, NotImplementedError) as exc:
        pytest.skip(f"analysis not available: {type(exc).__name__}: {exc}")


@pytest.fixture
def no_analysis(monkeypatch):
    """Run lint's plumbing without the rules (their results are tested in test_lint_repos.py)."""
    monkeypatch.setattr("sockdoctor.lint.runner.analysis_available", lambda: False)


def synthetic_result(extra_text: str = ""):
    """A LintResult with one located finding and a fix with a diff, independent of the analysis."""
    result = lint_texts([("pool.d/shop.conf", POOL + extra_text)], LintConfig(), analyse=False)
    f = Finding("world_writable_socket", "high", 0.9, "/run/php/shop.sock",
                "listen.mode = 0666 lets any local user connect to /run/php/shop.sock",
                [Source("pool.d/shop.conf", 7, 1, "listen.mode = 0666")],
                origin=Origin("php-fpm", "listen.mode", "pool.d/shop.conf:7"), id="F99", failure=False)
    from sockdoctor.lint.runner import locate

    result.report.findings.insert(0, f)
    result.report.fixes.append(Fix("F99", 1, "Make the pool's socket 0660", diffs=[Diff("pool.d/shop.conf", POOL_DIFF)]))
    result.locations["F99"] = locate(f, result.texts)
    return result
