"""A big error.log scanned with every CPU: ranges of the file in forked processes, merged in order.

Each process runs the engine's pure-Python scan (sockdoctor.evidence.logscan) on its range; only
the fan-out lives here, at the edge, because Pyodide has no processes. Below PARALLEL_MIN bytes,
or when forking fails, the scan runs in this process.
"""
from __future__ import annotations

import os
import pickle

from sockdoctor.evidence.logscan import MAX_LINE, Tally

PARALLEL_MIN = 32 * 1024 * 1024
MAX_WORKERS = 8


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
        bounds = _line_bounds(path, start, size, workers)
        tallies = _scan_forked(path, name, keep, bounds)
        if tallies is not None:
            total = tallies[0]
            for later in tallies[1:]:
                total.merge(later)
            return total
    with open(path, "rb") as fh:
        fh.seek(start)
        return Tally(name, keep).scan(fh)


def _line_bounds(path: str, start: int, size: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` byte ranges covering [start, size), each starting at a line start."""
    cuts = [start]
    with open(path, "rb") as fh:
        for i in range(1, parts):
            pos = start + (size - start) * i // parts
            fh.seek(pos - 1)
            chunk = fh.read(MAX_LINE + 1)
            nl = chunk.find(b"\n")
            cut = size if nl == -1 else pos + nl
            if cut > cuts[-1]:
                cuts.append(cut)
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _scan_range(path: str, name: str, keep: int, first: int, end: int) -> Tally:
    with open(path, "rb") as fh:
        fh.seek(first)
        return Tally(name, keep).scan(fh, length=end - first)


def _scan_forked(path: str, name: str, keep: int, bounds: list[tuple[int, int]]) -> list[Tally] | None:
    """The first range in this process, each other one in a forked child that sends its Tally
    back pickled through a pipe. None when a child could not be started or failed."""
    children: list[tuple[int, int]] = []
    try:
        for first, end in bounds[1:]:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: scan, send, and leave without running the parent's cleanups
                status = 1
                try:
                    os.close(read_fd)
                    with os.fdopen(write_fd, "wb") as out:
                        pickle.dump(_scan_range(path, name, keep, first, end).parse_kept(), out,
                                    pickle.HIGHEST_PROTOCOL)
                    status = 0
                finally:
                    os._exit(status)
            os.close(write_fd)
            children.append((pid, read_fd))
    except OSError:
        _reap(children)
        return None
    tallies = [_scan_range(path, name, keep, *bounds[0])]
    failed = False
    for pid, read_fd in children:
        with os.fdopen(read_fd, "rb") as pipe:
            try:
                tallies.append(pickle.load(pipe))
            except (EOFError, pickle.UnpicklingError):
                failed = True
        _, status = os.waitpid(pid, 0)
        failed = failed or status != 0
    return None if failed else tallies


def _reap(children: list[tuple[int, int]]) -> None:
    for pid, read_fd in children:
        os.close(read_fd)
        os.waitpid(pid, 0)
