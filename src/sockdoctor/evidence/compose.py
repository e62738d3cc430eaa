"""docker compose files -> one ContainerSpec(kind='compose_service') per service.

Read with PyYAML's node API (`yaml.compose`, safe loader: no tags executed) so every key keeps its
line. Per service: image (or `build:` context as `build:<ctx>` in settings), user, group_add,
volumes (short syntax as written; long syntax as `source:target[:ro]`), command (a list as is, a
string - including folded `command: >` text - split like a shell), and settings for every key
(section = service name, key = the compose key, one Setting per list element, nested mappings as
`key.sub`, each with the line of its value). ``command``/``entrypoint`` also give a CommandLine.
Invalid YAML gives a ReadWarning `input:line: ...` and no records.
"""
from __future__ import annotations

import re

import yaml

from sockdoctor import _lazyre
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.cmdline import parse_command, split
from sockdoctor.evidence.records import ContainerSpec, Setting

_DEEP = _lazyre.compile(r"[\[{](?:\s*[\[{]){100}")

KIND = "compose"

SERVICE_KEYS = {"image", "build", "command", "entrypoint", "volumes", "user", "group_add", "ports", "depends_on",
                "environment", "restart", "networks", "container_name", "expose", "env_file", "cap_add", "cap_drop",
                "security_opt", "healthcheck", "working_dir", "labels", "deploy", "privileged", "read_only",
                "tmpfs", "userns_mode", "network_mode", "volumes_from", "links", "logging", "profiles", "init"}


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:200_000].split("\n")[:2000]
    if any(re.match(r"^(apiVersion|kind):\s", ln) for ln in lines):
        return None
    top = [m.group(1) for m in (re.match(r"^([A-Za-z_][\w-]*):", ln) for ln in lines) if m]
    svc_keys = {m.group(1) for m in (re.match(r"^\s{2,8}([a-z_]+):", ln) for ln in lines) if m} & SERVICE_KEYS
    if "services" in top:
        score = 0.7 + min(0.27, 0.05 * len(svc_keys))
        return Detection(KIND, round(score, 3), f"top-level `services:` with {', '.join(sorted(svc_keys)[:4])}")
    if top and svc_keys & {"image", "build"} and len(svc_keys) >= 2:
        return Detection(KIND, 0.6, "compose v1 services (image/build keys)")
    return None


def _scalar(node) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag.endswith(":null") else str(node.value)
    return None


def _line(chunk: Chunk, node) -> int:
    return node.start_mark.line


def _flat(chunk: Chunk, lines: list[str], service: str, key: str, node) -> list[Setting]:
    """Settings for one service key: scalars, one per list element, nested mappings as key.sub."""
    def src(n) -> object:
        idx = n.start_mark.line
        return chunk.source(idx, lines[idx].rstrip("\r") if idx < len(lines) else "")

    if isinstance(node, yaml.ScalarNode):
        return [Setting(service, key, _scalar(node), src(node))]
    if isinstance(node, yaml.SequenceNode):
        out = []
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                out.append(Setting(service, key, _scalar(item), src(item)))
            elif isinstance(item, yaml.MappingNode):
                pairs = [(k.value, _scalar(v)) for k, v in item.value if isinstance(k, yaml.ScalarNode)]
                out.append(Setting(service, key, ",".join(f"{k}={v}" for k, v in pairs), src(item)))
        return out
    if isinstance(node, yaml.MappingNode):
        out = []
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                out.extend(_flat(chunk, lines, service, f"{key}.{k.value}", v))
        return out
    return []


def _volume(item) -> str | None:
    if isinstance(item, yaml.ScalarNode):
        return str(item.value)
    if isinstance(item, yaml.MappingNode):
        d = {k.value: _scalar(v) for k, v in item.value if isinstance(k, yaml.ScalarNode)}
        text = f"{d.get('source') or ''}:{d.get('target') or ''}"
        if str(d.get("read_only", "")).lower() == "true":
            text += ":ro"
        return text
    return None


def _command(node) -> list[str]:
    if isinstance(node, yaml.ScalarNode):
        return split(str(node.value)) if node.value else []
    if isinstance(node, yaml.SequenceNode):
        return [str(i.value) for i in node.value if isinstance(i, yaml.ScalarNode)]
    return []


def _services(root) -> list:
    if not isinstance(root, yaml.MappingNode):
        return []
    for k, v in root.value:
        if isinstance(k, yaml.ScalarNode) and k.value == "services" and isinstance(v, yaml.MappingNode):
            return v.value
    # compose v1: services at the top level
    return [(k, v) for k, v in root.value if isinstance(v, yaml.MappingNode)
            and any(isinstance(kk, yaml.ScalarNode) and kk.value in ("image", "build") for kk, _ in v.value)]


def _read(chunk: Chunk) -> list:
    lines = ct.file_lines(chunk.text)
    path, _ = ct.file_identity(chunk, lines)
    deep = _DEEP.search(chunk.text)
    if deep:
        idx = chunk.text.count("\n", 0, deep.start())
        return [ct.warning(chunk, idx, "YAML nested too deeply to be a real file; not read")]
    try:
        root = yaml.compose(chunk.text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        idx = mark.line if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return [ct.warning(chunk, idx, f"invalid YAML: {problem}", lines[idx] if idx < len(lines) else "")]
    out: list = []
    for knode, snode in _services(root):
        if not isinstance(knode, yaml.ScalarNode) or not isinstance(snode, yaml.MappingNode):
            continue
        name = str(knode.value)
        idx = knode.start_mark.line
        src = chunk.source(idx, lines[idx].rstrip("\r") if idx < len(lines) else "")
        settings: list[Setting] = []
        spec: dict = {"image": None, "user": None, "group_add": [], "volumes": [], "command": [], "entrypoint": []}
        cmd_src = None
        for k, v in snode.value:
            if not isinstance(k, yaml.ScalarNode):
                continue
            key = str(k.value)
            settings.extend(_flat(chunk, lines, name, key, v))
            if key == "image":
                spec["image"] = _scalar(v)
            elif key == "user":
                spec["user"] = _scalar(v)
            elif key == "group_add" and isinstance(v, yaml.SequenceNode):
                spec["group_add"] = [str(i.value) for i in v.value if isinstance(i, yaml.ScalarNode)]
            elif key == "volumes" and isinstance(v, yaml.SequenceNode):
                spec["volumes"] = [x for x in (_volume(i) for i in v.value) if x is not None]
            elif key in ("command", "entrypoint"):
                spec[key] = _command(v)
                vi = k.start_mark.line
                cmd_src = chunk.source(vi, lines[vi].rstrip("\r") if vi < len(lines) else "")
        command = spec["entrypoint"] + spec["command"]
        end = snode.end_mark.line
        end = end + 1 if end < len(lines) and lines[end][:snode.end_mark.column].strip() else end
        while end > idx + 1 and not lines[end - 1].strip():
            end -= 1
        out.append(ContainerSpec("compose_service", name, src, path=path, image=spec["image"], user=spec["user"],
                                 group_add=tuple(spec["group_add"]), volumes=tuple(spec["volumes"]),
                                 command=tuple(command), settings=tuple(settings),
                                 lines=tuple(lines[idx:end]), first_line=chunk.first_line + idx))
        if command and cmd_src is not None:
            cmd = parse_command(command, cmd_src)
            if cmd is not None:
                out.append(cmd)
    if not out:
        out.append(ct.warning(chunk, 0, "compose file without services"))
    return out


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
