"""`getfacl` output (with or without `-p`, `-c`, several files, `default:` entries, `#effective:`).

Without `-p`, getfacl strips the leading `/` from the `# file:` name; it is put back when the
command shows the absolute argument, or when no command is shown and the name has a `/` inside.
"""
from __future__ import annotations


from sockdoctor import _lazyre
from sockdoctor.evidence import _cmdout as co
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.records import AclEntry, AclRecord, ReadWarning

KIND = "getfacl"

_HEAD = _lazyre.compile(r"^# (?P<key>file|owner|group|flags): ?(?P<val>.*)$")
_ENTRY = _lazyre.compile(r"^(?P<default>default:|d:)?(?P<tag>user|group|mask|other|u|g|m|o):(?P<q>[^:]*):(?P<perms>[rwxX-]{3})"
                         r"(?:\s+#effective:\s*(?P<eff>[rwx-]{3}))?\s*$")
_TAGS = {"u": "user", "g": "group", "m": "mask", "o": "other"}


def detect(chunk: Chunk) -> Detection | None:
    lines = co.sample_lines(chunk)
    heads = sum(1 for ln in lines if _HEAD.match(ln.strip()))
    entries = sum(1 for ln in lines if _ENTRY.match(ln.strip()))
    noise = sum(1 for ln in lines if ln.startswith("getfacl: "))
    if not entries:
        return co.detection(KIND, 0.0, "", chunk, programs=("getfacl",))
    score = co.content_score(heads + entries + noise, len(lines), base=0.55 if heads else 0.4, span=0.43)
    return co.detection(KIND, score, f"{entries} ACL entr(y/ies) (`user::rw-`), {heads} `# file:` header line(s)",
                        chunk, programs=("getfacl",))


def read(chunk: Chunk) -> list:
    seg = co.producer(chunk.command)
    args = co.path_args(seg.argv) if seg and seg.program == "getfacl" else []
    out: list = []
    block: dict | None = None
    n_blocks = 0

    def flush():
        nonlocal block, n_blocks
        if block and block["entries"]:
            path = block.get("path")
            if path is None and n_blocks < len(args):
                path = args[n_blocks]
            elif path and not path.startswith("/"):
                if "/" + path in args or (not args and "/" in path):
                    path = "/" + path
            out.append(AclRecord(path, block.get("owner"), block.get("group"), tuple(block["entries"]),
                                 block["src"], flags=block.get("flags")))
            n_blocks += 1
        block = None

    for idx, raw in enumerate(chunk.lines()):
        line = raw.rstrip("\r").strip()
        if not line:
            flush()
            continue
        if line.startswith("getfacl: Removing leading"):
            continue
        src = chunk.source(idx, raw.rstrip("\r"))
        m = _HEAD.match(line)
        if m:
            if m.group("key") == "file" and block and block["entries"]:
                flush()
            if block is None:
                block = {"entries": [], "src": src}
            block["path" if m.group("key") == "file" else m.group("key")] = m.group("val").strip()
            continue
        m = _ENTRY.match(line)
        if m:
            if block is None:
                block = {"entries": [], "src": src}
            tag = _TAGS.get(m.group("tag"), m.group("tag"))
            block["entries"].append(AclEntry(tag, m.group("q"), m.group("perms"), m.group("eff"),
                                             default=bool(m.group("default"))))
            continue
        out.append(ReadWarning(src, "line not understood as `getfacl` output"))
    flush()
    return out
