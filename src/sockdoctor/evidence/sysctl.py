"""`sysctl` lines (`net.core.somaxconn = 4096`), `sysctl -n KEY` values and
`cat /proc/sys/...` values when the command names the key."""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import ReadWarning, SysctlRecord

KIND = "sysctl"

_LINE = _lazyre.compile(r"^(?P<key>(?:kernel|fs|net|vm|user|dev|abi|debug|crypto|sunrpc)(?:\.[\w-]+)+)\s*=\s*(?P<val>.*)$")


def _value_keys(chunk: Chunk) -> list[str]:
    seg = co.producer(chunk.command)
    if seg is None:
        return []
    if seg.program == "sysctl" and any(a in ("-n", "--values") or (a.startswith("-") and "n" in a and not a.startswith("--")) for a in seg.argv[1:]):
        return [a for a in seg.argv[1:] if not a.startswith("-")]
    if seg.program == "cat":
        return [a[len("/proc/sys/"):].replace("/", ".") for a in seg.argv[1:] if a.startswith("/proc/sys/")]
    return []


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    hits = sum(1 for ln in lines if _LINE.match(ln.strip()))
    score = co.content_score(hits, len(lines), base=0.5, span=0.45)
    det = co.detection(KIND, score, f"{hits} `key.sub = value` line(s) with a kernel key", chunk, programs=("sysctl",))
    if det is None and _value_keys(chunk) and len(lines) == len(_value_keys(chunk)):
        return Detection(KIND, 0.8, f"values of `{chunk.command}`")
    return det


def read(chunk: Chunk) -> list:
    out: list = []
    keys = _value_keys(chunk)
    n = 0
    for line, s, src in co.content_lines(chunk):
        m = _LINE.match(s)
        if m:
            out.append(SysctlRecord(m.group("key"), m.group("val").strip(), src))
        elif n < len(keys):
            out.append(SysctlRecord(keys[n], s, src))
            n += 1
        elif s.startswith("sysctl: "):
            out.append(ReadWarning(src, s))
        else:
            out.append(ReadWarning(src, "line not understood as `sysctl` output"))
    return out
