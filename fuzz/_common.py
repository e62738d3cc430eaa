"""Shared by the atheris targets: the seed corpus (tests/data and the worked cases) and the run
loop. `make fuzz` runs each target for FUZZ_SECONDS (default 60)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_SHARED = REPO.parent / "shared" if (REPO.parent / "shared" / "cases").is_dir() else Path("/work/shared")
SEED_ROOTS = [REPO / "tests" / "data", REPO / "examples", Path(os.environ.get("SOCKDOCTOR_SHARED") or _SHARED) / "cases"]
MAX_SEED = 64 * 1024


def seed_corpus(target: str) -> Path:
    """A corpus directory for ``target`` holding copies of the fixtures (created once, then grown
    by libFuzzer with whatever new coverage it finds)."""
    corpus = REPO / "build" / "fuzz" / target
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        n = 0
        for root in SEED_ROOTS:
            if not root.is_dir():
                continue
            for p in sorted(root.rglob("*")):
                if p.is_file() and p.stat().st_size <= MAX_SEED:
                    (corpus / f"seed-{n:05d}").write_bytes(p.read_bytes())
                    n += 1
    return corpus


def main(target: str, test_one_input) -> None:
    import atheris

    seconds = int(os.environ.get("FUZZ_SECONDS", "60"))
    corpus = seed_corpus(target)
    crashes = REPO / "build" / "fuzz" / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    argv = [sys.argv[0], f"-max_total_time={seconds}", "-max_len=65536", "-rss_limit_mb=2048",
            "-timeout=20", f"-artifact_prefix={crashes}/{target}-", "-print_final_stats=1",
            *sys.argv[1:], str(corpus)]
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
