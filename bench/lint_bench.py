#!/usr/bin/env python3
"""`sockdoctor lint` on generated repositories of N config files of mixed kinds.

    .venv/bin/python bench/lint_bench.py                 # sizes 1000 2500 5000 10000
    .venv/bin/python bench/lint_bench.py --sizes 500 1000

For each size: `readers` = engine.read_inputs on the same files (already in memory), `lint` =
lint_paths (walk + read + classify + read + static analysis + suppressions). Reported: seconds,
microseconds per file (flat = linear) and lint/readers (the issue's target: <= 1.5).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sockdoctor.engine import read_inputs  # noqa: E402
from sockdoctor.lint import LintConfig, lint_paths  # noqa: E402

TEMPLATES = {
    "nginx/sites-available/app{i}.conf": "upstream app{i} {{\n    server unix:/run/app{i}/app.sock;\n}}\n"
                                         "server {{\n    listen 80;\n    server_name app{i}.example.com;\n"
                                         "    location / {{\n        proxy_pass http://app{i};\n    }}\n}}\n",
    "php/pool.d/app{i}.conf": "[app{i}]\nuser = app{i}\ngroup = app{i}\nlisten = /run/php/app{i}.sock\n"
                              "listen.owner = app{i}\nlisten.group = www-data\nlisten.mode = 0660\npm = ondemand\n"
                              "pm.max_children = 5\n",
    "uwsgi/app{i}.ini": "[uwsgi]\nmodule = app{i}.wsgi\nmaster = true\nsocket = /run/uwsgi/app{i}.sock\n"
                        "chmod-socket = 660\nchown-socket = app{i}:www-data\nvacuum = true\n",
    "systemd/app{i}.service": "[Unit]\nDescription=app{i}\n\n[Service]\nUser=app{i}\nGroup=www-data\n"
                              "ExecStart=/usr/bin/gunicorn --umask 0117 --bind unix:/run/app{i}/app.sock app:app\n"
                              "RuntimeDirectory=app{i}\n\n[Install]\nWantedBy=multi-user.target\n",
    "compose/app{i}/docker-compose.yml": "services:\n  app:\n    image: app{i}:1\n    command: gunicorn --umask 0117 "
                                         "--bind unix:/sock/app.sock app:app\n    volumes:\n      - sock:/sock\n"
                                         "volumes:\n  sock:\n",
    "k8s/app{i}.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app{i}\nspec:\n  containers:\n"
                       "    - name: app\n      image: app{i}:1\n      volumeMounts:\n        - name: s\n"
                       "          mountPath: /run/app\n  volumes:\n    - name: s\n      emptyDir: {{}}\n",
}


def make_repo(root: Path, n_files: int) -> None:
    i = 0
    made = 0
    while made < n_files:
        for pattern, text in TEMPLATES.items():
            if made >= n_files:
                break
            path = root / pattern.format(i=i)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text.format(i=i))
            made += 1
        i += 1


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2500, 5000, 10000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_repo(root, n)
            texts = [(p.relative_to(root).as_posix(), p.read_text()) for p in sorted(root.rglob("*")) if p.is_file()]
            readers = best_of(lambda: read_inputs(texts), args.repeat)
            lint = best_of(lambda: lint_paths([root], LintConfig(), all_files=True, root=root), args.repeat)
            checked = len(lint_paths([root], LintConfig(), all_files=True, root=root).texts) if n <= 2000 else n
        r = {"files": n, "checked": checked, "readers_s": round(readers, 3), "lint_s": round(lint, 3),
             "lint_us_per_file": round(lint / n * 1e6), "ratio": round(lint / readers, 2)}
        rows.append(r)
        if not args.json:
            if len(rows) == 1:
                print(f"{'files':>6} {'checked':>7} {'readers s':>9} {'lint s':>7} {'µs/file':>8} {'lint/readers':>12}")
            print(f"{r['files']:>6} {r['checked']:>7} {r['readers_s']:>9} {r['lint_s']:>7} {r['lint_us_per_file']:>8} "
                  f"{r['ratio']:>12}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
