"""Bytes from a file or stdin -> text the readers can use, with warnings naming the line.

Handles a BOM (UTF-8/UTF-16/UTF-32), invalid UTF-8 (replaced, reported once per line up to a
limit), NUL bytes (removed, reported), binary data (mostly non-text: reported, empty text) and
over-long lines (cut to the max_line_length limit, reported)."""
from __future__ import annotations

import codecs

from sockdoctor import limits

MAX_LINE_WARNINGS = 5
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def _looks_binary(data: bytes) -> bool:
    """Mostly control bytes or undecodable sequences (an ELF, a core, a gzip) rather than text."""
    sample = data[:65536].decode("utf-8", "replace")
    if not sample:
        return False
    bad = sum(1 for ch in sample if ch == "\ufffd" or (ord(ch) < 0x20 and ch not in "\t\n\r\f\x1b") or ch == "\x7f")
    return bad / len(sample) > 0.3


def decode_input(data: bytes, name: str) -> tuple[str, list[str]]:
    warnings: list[str] = []
    encoding = "utf-8"
    for bom, enc in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom):], enc
            break
    if encoding != "utf-8":
        text = data.decode(encoding, "replace").replace("\x00", "")
        return cut_long_lines(text, name, warnings), warnings
    if _looks_binary(data):
        return "", [f"{name}:1: binary data (mostly non-text bytes); input ignored"]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode_lines(data, name, warnings)
    if "\x00" in text:
        bad = [i + 1 for i, line in enumerate(text.split("\n")) if "\x00" in line]
        for ln in bad[:MAX_LINE_WARNINGS]:
            warnings.append(f"{name}:{ln}: NUL byte(s) removed")
        if len(bad) > MAX_LINE_WARNINGS:
            warnings.append(f"{name}: NUL bytes on {len(bad) - MAX_LINE_WARNINGS} more line(s)")
        text = text.replace("\x00", "")
    return cut_long_lines(text, name, warnings), warnings


def cut_long_lines(text: str, name: str, warnings: list[str]) -> str:
    """Lines longer than the max_line_length limit cut to it, one warning per cut line (up to
    MAX_LINE_WARNINGS, then a count). Linear: only the long lines are touched."""
    limit = limits.value("max_line_length")
    if len(text) <= limit:
        return text
    parts: list[str] = []
    cut = 0
    lineno = 1
    pos = 0  # start of the current line
    done = 0  # text[:done] is already in parts
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        if end - pos > limit:
            cut += 1
            if cut <= MAX_LINE_WARNINGS:
                warnings.append(f"{name}:{lineno}: line of {end - pos} characters cut to {limit} "
                                f"(limit max_line_length, SOCKDOCTOR_MAX_LINE_LENGTH)")
            parts.append(text[done:pos + limit])
            done = end
        if nl < 0:
            break
        pos = nl + 1
        lineno += 1
    if not cut:
        return text
    parts.append(text[done:])
    text = "".join(parts)
    if cut > MAX_LINE_WARNINGS:
        warnings.append(f"{name}: {cut - MAX_LINE_WARNINGS} more over-long line(s) cut")
    return text


def _decode_lines(data: bytes, name: str, warnings: list[str]) -> str:
    parts = []
    bad = 0
    for i, raw in enumerate(data.split(b"\n")):
        try:
            parts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            parts.append(raw.decode("utf-8", "replace"))
            bad += 1
            if bad <= MAX_LINE_WARNINGS:
                warnings.append(f"{name}:{i + 1}: invalid UTF-8 replaced with U+FFFD")
    if bad > MAX_LINE_WARNINGS:
        warnings.append(f"{name}: invalid UTF-8 on {bad - MAX_LINE_WARNINGS} more line(s)")
    return "\n".join(parts)
