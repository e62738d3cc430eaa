"""Run every benchmark in bench/ (each prints its own figures; see bench/README.md)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["nginx_fleet.py", "errorlog_bench.py", "redact_bench.py", "diagnose_bench.py", "check_bench.py", "lint_bench.py"]

if __name__ == "__main__":
    failed = 0
    for name in SCRIPTS:
        script = HERE / name
        if not script.exists():
            continue
        print(f"== {name}", flush=True)
        failed |= subprocess.call([sys.executable, str(script), *sys.argv[1:]])
    sys.exit(failed)
