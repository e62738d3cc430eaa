"""A big error.log scanned with every CPU: chunks of the file shared out to forked processes,
their tallies merged in file order.

Each process runs the engine's pure-Python scan (sockdoctor.evidence.logscan) on the chunks it
claims; only the fan-out lives here, at the edge, because Pyodide has no processes. The chunks
shrink towards the end of the file (guided self-scheduling) and are claimed one at a time from a
pipe, so a process that a busy machine slows down takes fewer of them and the others do not wait
for it at the end. Below PARALLEL_MIN bytes, or when no process can be forked, this process scans
it all; a chunk whose process died is scanned again here.
"""
from __future__ import annotations

import os
import pickle

from sockdoctor.evidence.logscan import MAX_LINE, Tally

PARALLEL_MIN = 32 * 1024 * 1024
MAX_WORKERS = 8
MAX_CHUNKS = 255  # a claim is one byte read from the pipe (atomic, whatever the other readers do)


def scan_path(path: str, name: str | None = None, *, start: int = 0, keep: int = 50,
              workers: int | None = None) -> list:
    """Records of the log at ``path`` from byte ``start`` (see evidence.logscan.Tally)."""
    return tally_path(path, name, start=start, keep=keep, workers=workers).records()


def tally_path(path: str, name: str | None = None, *, start: int = 0, keep: int = 50,
               workers: int | None = None) -> Tally:
    """The Tally of the log at ``path`` from byte ``start`` (its ``lines`` is the line count)."""
    name = name or path
    size = os.path.getsize(path)
    if workers is None:
        workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
                      MAX_WORKERS)
    workers = max(1, min(workers, (size - start) // (PARALLEL_MIN // 2) or 1))
    if workers > 1:
        chunks = _chunks(path, start, size, workers)
        try:
            tallies = _scan_shared(path, name, keep, chunks, workers) if len(chunks) > 1 else None
        except OSError:  # no pipe to share the chunks through (EMFILE): one process does it all
            tallies = None
        if tallies is not None:
            total = tallies[0]
            for later in tallies[1:]:
                total.merge(later)
            return total
    with open(path, "rb") as fh:
        fh.seek(start)
        return Tally(name, keep).scan(fh)


def _chunks(path: str, start: int, size: int, workers: int) -> list[tuple[int, int]]:
    """Byte ranges covering [start, size), each starting at a line start: each a ``2 * workers``-th
    of what is left, down to a smallest chunk (PARALLEL_MIN // 4, or more to stay in MAX_CHUNKS)."""
    smallest = max(PARALLEL_MIN // 4, (size - start) // (MAX_CHUNKS // 2))
    cuts = [start]
    with open(path, "rb") as fh:
        while True:
            pos = cuts[-1] + max(smallest, (size - cuts[-1]) // (2 * workers))
            if pos >= size - smallest // 2 or len(cuts) == MAX_CHUNKS:
                break
            fh.seek(pos - 1)
            nl = _next_newline(fh)  # a cut inside a line moves to the line's end
            if nl == -1:
                break
            cuts.append(nl + 1)
            if cuts[-1] >= size:
                cuts.pop()
                break
    cuts.append(size)
    return list(zip(cuts, cuts[1:]))


def _next_newline(fh) -> int:
    """Offset of the next newline from fh's position, or -1."""
    while block := fh.read(MAX_LINE):
        nl = block.find(b"\n")
        if nl != -1:
            return fh.tell() - len(block) + nl
    return -1


def _scan_range(path: str, name: str, keep: int, first: int, end: int) -> Tally:
    with open(path, "rb") as fh:
        fh.seek(first)
        return Tally(name, keep).scan(fh, length=end - first)


def _claim(claims: int) -> int | None:
    claim = os.read(claims, 1)
    return claim[0] if claim else None


def _claim_and_scan(path: str, name: str, keep: int, chunks: list[tuple[int, int]], claims: int,
                    first: int | None = None) -> list[tuple[int, int, Tally]]:
    """(first chunk index, index after the last, Tally) of each run of consecutive chunks this
    process scans: ``first`` if given, then each it claims until the pipe is empty (a chunk
    claimed right after the one before it continues that one's Tally: fewer to send and merge).
    The kept lines sure to stay in the merge are parsed here, while the others still scan: the
    first ones of the file's first chunk and the last ones of its last chunk."""
    runs: list[list] = []
    with open(path, "rb") as fh:
        index = first if first is not None else _claim(claims)
        while index is not None:
            start, end = chunks[index]
            if not runs or runs[-1][1] != index:
                fh.seek(start)
                runs.append([index, index, Tally(name, keep)])
            run = runs[-1]
            run[2].scan(fh, length=end - start)
            run[1] = index + 1
            if index == 0:
                run[2].parse_kept(last=False)
            if index == len(chunks) - 1:
                run[2].parse_kept(first=False)
            index = _claim(claims)
    return [tuple(run) for run in runs]


def _scan_shared(path: str, name: str, keep: int, chunks: list[tuple[int, int]], workers: int) -> list[Tally]:
    """Tallies covering the chunks in file order. This process scans the first chunk, then it
    and ``workers - 1`` forked children claim the others from one pipe; each child sends back its
    tallies pickled (kept lines mostly raw: the cheapest to send and to merge)."""
    claims, to_claim = os.pipe()
    os.write(to_claim, bytes(range(1, len(chunks))))
    os.close(to_claim)
    children: list[tuple[int, int]] = []
    try:
        for _ in range(workers - 1):
            read_fd, write_fd = os.pipe()
            try:
                pid = os.fork()
            except OSError:
                os.close(read_fd)
                os.close(write_fd)
                raise
            if pid == 0:  # child: scan, send, and leave without running the parent's cleanups
                status = 1
                try:
                    os.close(read_fd)
                    with os.fdopen(write_fd, "wb") as out:
                        pickle.dump(_claim_and_scan(path, name, keep, chunks, claims), out, pickle.HIGHEST_PROTOCOL)
                    status = 0
                finally:
                    os._exit(status)
            os.close(write_fd)
            children.append((pid, read_fd))
    except OSError:
        pass  # the processes that did start share the work
    runs: dict[int, tuple[int, Tally]] = {}
    try:
        runs.update((a, (b, t)) for a, b, t in _claim_and_scan(path, name, keep, chunks, claims, first=0))
    finally:
        os.close(claims)
        for pid, read_fd in children:
            try:
                with os.fdopen(read_fd, "rb") as pipe:
                    runs.update((a, (b, t)) for a, b, t in pickle.load(pipe))
            except Exception:  # noqa: BLE001 - whatever it sent, the chunks it claimed are scanned again below
                pass
            finally:
                os.waitpid(pid, 0)
    tallies, index = [], 0
    while index < len(chunks):
        after, tally = runs.get(index, (index + 1, None))
        tallies.append(tally or _scan_range(path, name, keep, *chunks[index]))
        index = after
    return tallies
