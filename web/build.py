"""Build the static page into web/dist/ (run by `make web`, after `npm ci` in web/).

dist/ holds: the page (copied from web/src), the pinned Pyodide runtime (from web/node_modules),
and wheels/: sockdoctor's own wheel and a pure-Python PyYAML wheel, both unpacked into Pyodide's
site-packages by worker.js. Nothing is fetched from another origin at run time.

PyYAML: the npm `pyodide` package carries no package wheels, so the pure-Python part of the PyYAML
installed in the build's Python (its yaml/*.py; without the optional libyaml binding) is packed as
a py3-none-any wheel.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import pathlib
import shutil
import subprocess
import sys
import zipfile

WEB = pathlib.Path(__file__).resolve().parent
ROOT = WEB.parent
PYODIDE_FILES = ["pyodide.mjs", "pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm",
                 "python_stdlib.zip", "pyodide-lock.json", "package.json"]


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def pyyaml_wheel(out: pathlib.Path) -> str:
    import yaml

    version = importlib.metadata.version("PyYAML")
    src = pathlib.Path(yaml.__file__).parent
    dist_info = f"PyYAML-{version}.dist-info"
    files = {f"yaml/{p.name}": p.read_bytes() for p in sorted(src.glob("*.py"))}
    files[f"{dist_info}/METADATA"] = (f"Metadata-Version: 2.1\nName: PyYAML\nVersion: {version}\n"
                                      "Summary: pure-Python part of PyYAML, repacked for Pyodide\n").encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: sockdoctor web/build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [_record_line(n, d) for n, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    name = f"PyYAML-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out / name, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in files.items():
            zf.writestr(zipfile.ZipInfo(n, (2020, 1, 1, 0, 0, 0)), d)
    return name


def project_wheel(out: pathlib.Path) -> str:
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(out)],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"web/build.py: pip wheel failed:\n{done.stdout}{done.stderr}")
    return sorted(p.name for p in out.glob("sockdoctor-*.whl"))[-1]


def build(dist: pathlib.Path = WEB / "dist") -> pathlib.Path:
    runtime = WEB / "node_modules" / "pyodide"
    if not (runtime / "pyodide.mjs").exists():
        sys.exit("web/build.py: web/node_modules/pyodide is missing; run `npm ci` in web/ first")
    if dist.exists():
        shutil.rmtree(dist)
    shutil.copytree(WEB / "src", dist)
    (dist / "pyodide").mkdir()
    for name in PYODIDE_FILES:
        shutil.copy2(runtime / name, dist / "pyodide" / name)
    wheels = dist / "wheels"
    wheels.mkdir()
    names = [pyyaml_wheel(wheels), project_wheel(wheels)]
    (wheels / "index.json").write_text(json.dumps({"wheels": names}, indent=1) + "\n")
    examples = sorted(p.name for p in (dist / "examples").iterdir() if p.is_dir())
    index = {name: sorted(f.name for f in (dist / "examples" / name).iterdir() if f.is_file())
             for name in examples}
    (dist / "examples" / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return dist


if __name__ == "__main__":
    print(f"web/build.py: built {build(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else WEB / 'dist')}")
