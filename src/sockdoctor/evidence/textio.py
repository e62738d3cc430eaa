"""Bytes from a file or stdin -> text the readers can use, with warnings naming the line.

Handles a BOM (UTF-8/UTF-16/UTF-32), invalid UTF-8 (replaced, reported once per line up to a
limit), NUL bytes (removed, reported) and binary data (mostly non-text: reported, empty text)."""
from __future__ import annotations

import codecs

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
        text = data.decode(encoding, "replace")
        return text.replace("\x00", ""), warnings
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
    return text, warnings


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
