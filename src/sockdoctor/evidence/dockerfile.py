"""Dockerfile -> one ContainerSpec(kind='dockerfile') per build stage (the last one is the image
that runs), plus a CommandLine for the final stage's CMD/ENTRYPOINT.

Per stage: ``image`` (FROM), ``user`` (the last USER), ``volumes`` (VOLUME, JSON or plain
form), ``command`` (ENTRYPOINT + CMD as Docker combines them; shell form is split like the
shell would). ``settings`` hold every instruction (section '', key = instruction, value = its
arguments, source = its first line) and, for RUN, each account/permission command found in it
(section 'RUN', key = useradd/groupadd/adduser/addgroup/usermod/gpasswd/chown/chmod/install/
mkdir/setfacl, value = its arguments, source = the physical line it is on). Line continuations
(`\\` or the `# escape=` character), comment lines inside continuations and heredocs
(`RUN <<EOF ... EOF`) are handled. The ContainerSpec name is the stage alias (`AS build`), else
`stage<N>`; the last stage is additionally marked by Setting('FROM', 'final', 'true').
"""
from __future__ import annotations

import json
import re
import shlex

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.cmdline import parse_command, split
from sockdoctor.evidence.records import ContainerSpec, Setting

KIND = "dockerfile"

INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
                "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
ACCOUNT_COMMANDS = {"useradd", "groupadd", "adduser", "addgroup", "usermod", "gpasswd", "chown", "chmod", "install",
                    "mkdir", "setfacl", "chgrp", "deluser", "delgroup", "userdel", "groupmod"}
_INSTR = _lazyre.compile(r"^\s*([A-Za-z]+)(?:\s+(.*))?$", re.S)
_HEREDOC = _lazyre.compile(r"<<-?\s*[\"']?(\w+)[\"']?")


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:200_000].split("\n")[:1000]
    code = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not code:
        return None
    first = code[0].split(None, 1)[0].upper() if code[0].split() else ""
    has_from = any(re.match(r"^FROM\s+\S+", ln, re.I) for ln in code[:50])
    instr = sum(1 for ln in code if ln.split(None, 1)[0] in INSTRUCTIONS)
    if not has_from or first not in ("FROM", "ARG"):
        return None
    ratio = instr / len(code)
    score = 0.55 + 0.4 * ratio if instr >= 2 else 0.55
    return Detection(KIND, round(min(score, 0.96), 3), f"FROM + {instr - 1} other Dockerfile instruction(s)")


def _logical_lines(lines: list[str]) -> list[tuple[int, str, list[tuple[int, int]]]]:
    """(first index, joined text, [(offset in text, line index)]) for each instruction."""
    escape = "\\"
    for ln in lines[:5]:
        m = re.match(r"^\s*#\s*escape\s*=\s*(\S)", ln)
        if m:
            escape = m.group(1)
    out = []
    i = 0
    n = len(lines)
    while i < n:
        raw = lines[i].rstrip("\r")
        if not raw.strip() or raw.lstrip().startswith("#"):
            i += 1
            continue
        start = i
        text = raw
        spans = [(0, i)]
        i += 1
        while text.rstrip().endswith(escape) and i < n:
            text = text.rstrip()[:-1]
            nxt = lines[i].rstrip("\r")
            i += 1
            if nxt.lstrip().startswith("#"):
                spans.append((len(text), i - 1))
                text += " " + escape  # comment lines inside a continuation are dropped
                continue
            spans.append((len(text) + 1, i - 1))
            text += " " + nxt
        docs = _HEREDOC.findall(text) if "<<" in text else []
        for word in docs:
            body: list[str] = []
            while i < n and lines[i].rstrip("\r").strip() != word:
                spans.append((len(text) + 1 + sum(len(b) + 1 for b in body), i))
                body.append(lines[i].rstrip("\r"))
                i += 1
            i += 1  # the terminator
            text += "\n" + "\n".join(body)
        out.append((start, text, spans))
    return out


def _line_at(spans: list[tuple[int, int]], offset: int) -> int:
    idx = spans[0][1]
    for off, line in spans:
        if off <= offset:
            idx = line
    return idx


def _json_list(args: str) -> list[str] | None:
    a = args.strip()
    if not a.startswith("["):
        return None
    try:
        val = json.loads(a)
    except ValueError:
        return None
    return [str(v) for v in val] if isinstance(val, list) else None


def _shell_commands(text: str) -> list[tuple[int, list[str]]]:
    """(offset, argv) of each simple command in a RUN shell string."""
    out = []
    for m in re.finditer(r"[^;&|\n]+", text):
        seg = m.group(0)
        try:
            argv = shlex.split(seg, comments=True)
        except ValueError:
            argv = seg.split()
        while argv and re.match(r"^[A-Za-z_]\w*=", argv[0]):
            argv = argv[1:]
        while argv and argv[0] in ("sudo", "set", "exec", "then", "do", "else", "{", "(") and len(argv) > 1:
            if argv[0] == "set":
                argv = []
                break
            argv = argv[1:]
        if argv:
            lead = len(seg) - len(seg.lstrip())
            out.append((m.start() + lead, argv))
    return out


def _read(chunk: Chunk) -> list:
    lines = ct.file_lines(chunk.text)
    path, _ = ct.file_identity(chunk, lines)
    stages: list[dict] = []
    out: list = []
    for start, text, spans in _logical_lines(lines):
        m = _INSTR.match(text)
        if not m:
            out.append(ct.warning(chunk, start, "not a Dockerfile instruction, ignored", text))
            continue
        instr, args = m.group(1).upper(), (m.group(2) or "").strip()
        src = chunk.source(start, lines[start].rstrip("\r"))
        if instr not in INSTRUCTIONS:
            out.append(ct.warning(chunk, start, f"unknown instruction {instr}, ignored", text))
            continue
        if instr == "FROM":
            fm = re.match(r"^(?:--platform=\S+\s+)?(?P<image>\S+)(?:\s+AS\s+(?P<alias>\S+))?", args, re.I)
            stages.append({"source": src, "image": fm.group("image") if fm else args, "alias": fm.group("alias") if fm else None,
                           "user": None, "volumes": [], "entrypoint": None, "cmd": None, "settings": [], "start": start,
                           "cmd_src": None})
        if not stages:
            if instr != "ARG":
                out.append(ct.warning(chunk, start, f"{instr} before FROM", text))
            continue
        st = stages[-1]
        st["settings"].append(Setting("", instr, args, src))
        if instr == "USER":
            st["user"] = args.split()[0] if args else None
        elif instr == "VOLUME":
            vols = _json_list(args)
            st["volumes"].extend(vols if vols is not None else args.split())
        elif instr in ("CMD", "ENTRYPOINT"):
            argv = _json_list(args)
            if argv is None:
                argv = split(args)
                argv = ["/bin/sh", "-c", args] if argv and re.search(r"[;&|$]", args) else argv
            st["entrypoint" if instr == "ENTRYPOINT" else "cmd"] = argv
            st["cmd_src"] = src
        elif instr == "RUN":
            body = args
            body_off = text.find(args) if args else len(text)
            if body.startswith("--"):
                flags = re.match(r"^(?:--\S+\s+)+", body)
                if flags:
                    body_off += flags.end()
                    body = body[flags.end():]
            shell_args = _json_list(body)
            commands = [(0, shell_args)] if shell_args else _shell_commands(body)
            for off, argv in commands:
                prog = argv[0].rsplit("/", 1)[-1]
                if prog in ACCOUNT_COMMANDS:
                    idx = _line_at(spans, body_off + off)
                    st["settings"].append(Setting("RUN", prog, shlex.join(argv[1:]),
                                                  chunk.source(idx, lines[idx].rstrip("\r"))))
    for n, st in enumerate(stages):
        final = n == len(stages) - 1
        if final:
            st["settings"].append(Setting("FROM", "final", "true", st["source"]))
        command = list(st["entrypoint"] or []) + list(st["cmd"] or [])
        end = stages[n + 1]["start"] if not final else len(lines)
        out.append(ContainerSpec(KIND, st["alias"] or f"stage{n}", st["source"], path=path, image=st["image"],
                                 user=st["user"], volumes=tuple(st["volumes"]), command=tuple(command),
                                 settings=tuple(st["settings"]), lines=tuple(lines[st["start"]:end]),
                                 first_line=chunk.first_line + st["start"]))
        if final and command:
            cmd = parse_command(command, st["cmd_src"] or st["source"])
            if cmd is not None:
                out.append(cmd)
    return out


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
