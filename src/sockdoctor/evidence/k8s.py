"""Kubernetes manifests (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
ReplicationController, and `kind: List`), multi-document and Helm-rendered (`# Source: x.yaml`).

One ContainerSpec(kind='k8s_container') per container and init container, named
`<workload>/<container>` (e.g. `web/nginx`): the pod's securityContext (runAsUser, runAsGroup,
fsGroup, supplementalGroups) merged with the container's (the container's wins), image,
volumes as `volumeName:mountPath` (`:ro` when readOnly), command + args. ``user`` is
`uid[:gid]` as text when runAsUser is set. ``path`` is the Helm `# Source:` template when shown,
else the input's path. Settings (section = the container name) record `workload` (Kind/name),
`pod_volume` (`name=emptyDir`, `name=hostPath:/run/x`, ...), each securityContext field with
the line it came from, `init` = 'true' for init containers. Invalid YAML -> ReadWarning.

A ConfigMap's `data` value that is an nginx configuration, a PHP-FPM pool or a uWSGI ini written
as a literal block (`nginx.conf: |`) is read as the file it is, in the manifest's coordinates: its
lines are handed to the reader as they stand in the manifest (indentation included, which these
formats ignore), so records cite the manifest's lines and columns, and the record's file is the
whole manifest, so a fix's diff edits the manifest at the right lines with its real context.
"""
from __future__ import annotations

import re

import yaml

from sockdoctor import _lazyre
from sockdoctor._dataclass import replace
from sockdoctor.evidence import cfgtext as ct
from sockdoctor.evidence.base import Chunk, Detection
from sockdoctor.evidence.cmdline import parse_command
from sockdoctor.evidence.records import ConfigFile, ContainerSpec, NginxConfigRecord, Setting

_DEEP = _lazyre.compile(r"[\[{](?:\s*[\[{]){100}")

KIND = "k8s"

WORKLOADS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController",
             "PodTemplate", "DeploymentConfig"}
_SC_FIELDS = ("runAsUser", "runAsGroup", "fsGroup", "supplementalGroups", "runAsNonRoot", "fsGroupChangePolicy")


def detect(chunk: Chunk) -> Detection | None:
    lines = chunk.text[:300_000].split("\n")[:5000]
    api = sum(1 for ln in lines if re.match(r"^apiVersion:\s*\S", ln))
    kinds = [m.group(1) for m in (re.match(r"^kind:\s*[\"']?(\w+)", ln) for ln in lines) if m]
    if not api or not kinds:
        return None
    work = [k for k in kinds if k in WORKLOADS or k == "List" or k == "ConfigMap"]
    if work:  # a ConfigMap's files are read too: its embedded pool or ini must not win the piece
        return Detection(KIND, 0.97, f"Kubernetes manifest: {', '.join(dict.fromkeys(work))}")
    return Detection(KIND, 0.75, f"Kubernetes manifest: {', '.join(dict.fromkeys(kinds))} (no workload)")


class _Node:
    """Small accessors over yaml nodes."""

    @staticmethod
    def get(node, key):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return v
        return None

    @staticmethod
    def path(node, *keys):
        for key in keys:
            node = _Node.get(node, key)
            if node is None:
                return None
        return node

    @staticmethod
    def scalar(node) -> str | None:
        if isinstance(node, yaml.ScalarNode) and not node.tag.endswith(":null"):
            return str(node.value)
        return None

    @staticmethod
    def items(node) -> list:
        return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and re.fullmatch(r"-?\d+", text.strip()) else None


def _pod_spec(doc):
    """(pod spec node, workload kind, name) for a workload document."""
    kind = _Node.scalar(_Node.get(doc, "kind"))
    name = _Node.scalar(_Node.path(doc, "metadata", "name")) or "?"
    if kind == "Pod":
        return _Node.get(doc, "spec"), kind, name
    if kind == "CronJob":
        return _Node.path(doc, "spec", "jobTemplate", "spec", "template", "spec"), kind, name
    if kind == "PodTemplate":
        return _Node.path(doc, "template", "spec"), kind, name
    if kind in WORKLOADS:
        return _Node.path(doc, "spec", "template", "spec"), kind, name
    return None, kind, name


def _sources(lines: list[str]) -> list[tuple[int, str]]:
    """(line index, template path) of Helm's `# Source: chart/templates/x.yaml` comments."""
    return [(i, m.group(1)) for i, m in ((i, re.match(r"^# Source: (\S+)", ln)) for i, ln in enumerate(lines)) if m]


def _containers(chunk: Chunk, lines: list[str], doc, path: str) -> list:
    spec, kind, wname = _pod_spec(doc)
    if spec is None:
        return []

    def src(node):
        idx = node.start_mark.line
        return chunk.source(idx, lines[idx].rstrip("\r") if idx < len(lines) else "")

    pod_sc = _Node.get(spec, "securityContext")
    pod_volumes = []
    for v in _Node.items(_Node.get(spec, "volumes")):
        vname = _Node.scalar(_Node.get(v, "name")) or "?"
        vtype = next((k.value for k, _ in v.value if isinstance(k, yaml.ScalarNode) and k.value != "name"), "?") \
            if isinstance(v, yaml.MappingNode) else "?"
        detail = _Node.scalar(_Node.path(v, vtype, "path")) if vtype == "hostPath" else None
        pod_volumes.append((f"{vname}={vtype}" + (f":{detail}" if detail else ""), v))
    out: list = []
    for group, is_init in (("initContainers", True), ("containers", False)):
        for c in _Node.items(_Node.get(spec, group)):
            cname = _Node.scalar(_Node.get(c, "name")) or "?"
            settings = [Setting(cname, "workload", f"{kind}/{wname}", src(doc))]
            if is_init:
                settings.append(Setting(cname, "init", "true", src(c)))
            settings.extend(Setting(cname, "pod_volume", text, src(v)) for text, v in pod_volumes)
            sc: dict[str, object] = {}
            for scope, node in (("pod", pod_sc), ("container", _Node.get(c, "securityContext"))):
                if node is None:
                    continue
                for f in _SC_FIELDS:
                    val = _Node.get(node, f)
                    if val is None:
                        continue
                    if isinstance(val, yaml.SequenceNode):
                        sc[f] = [_int(_Node.scalar(i)) for i in val.value]
                        text = ",".join(str(_Node.scalar(i)) for i in val.value)
                    else:
                        sc[f] = _Node.scalar(val)
                        text = sc[f]
                    settings.append(Setting(cname, f"{scope}.securityContext.{f}", text, src(val)))
            mounts = []
            for m in _Node.items(_Node.get(c, "volumeMounts")):
                mname = _Node.scalar(_Node.get(m, "name")) or "?"
                mpath = _Node.scalar(_Node.get(m, "mountPath")) or "?"
                ro = (_Node.scalar(_Node.get(m, "readOnly")) or "").lower() == "true"
                text = f"{mname}:{mpath}" + (":ro" if ro else "")
                mounts.append(text)
                settings.append(Setting(cname, "volumeMounts", text, src(m)))
            command = [str(_Node.scalar(i)) for i in _Node.items(_Node.get(c, "command"))]
            args = [str(_Node.scalar(i)) for i in _Node.items(_Node.get(c, "args"))]
            image = _Node.scalar(_Node.get(c, "image"))
            run_as_user = _int(sc.get("runAsUser"))  # type: ignore[arg-type]
            run_as_group = _int(sc.get("runAsGroup"))  # type: ignore[arg-type]
            user = None
            if run_as_user is not None:
                user = str(run_as_user) + (f":{run_as_group}" if run_as_group is not None else "")
            supp = tuple(g for g in sc.get("supplementalGroups", []) if g is not None)  # type: ignore[union-attr]
            idx = c.start_mark.line
            end = c.end_mark.line
            spec_rec = ContainerSpec("k8s_container", f"{wname}/{cname}", src(c), path=path, image=image, user=user,
                                     volumes=tuple(mounts), command=tuple(command + args),
                                     run_as_user=run_as_user, run_as_group=run_as_group,
                                     fs_group=_int(sc.get("fsGroup")),  # type: ignore[arg-type]
                                     supplemental_groups=supp, settings=tuple(settings),
                                     lines=tuple(lines[idx:max(end, idx + 1)]), first_line=chunk.first_line + idx)
            out.append(spec_rec)
            cmd_node = _Node.get(c, "command") or _Node.get(c, "args")
            if command + args and cmd_node is not None:
                cmd = parse_command(command + args, src(cmd_node))
                if cmd is not None:
                    out.append(cmd)
    return out


def _read(chunk: Chunk) -> list:
    lines = ct.file_lines(chunk.text)
    default_path, _ = ct.file_identity(chunk, lines)
    helm = _sources(lines)
    out: list = []
    deep = _DEEP.search(chunk.text)
    if deep:
        idx = chunk.text.count("\n", 0, deep.start())
        return [ct.warning(chunk, idx, "YAML nested too deeply to be a real file; not read")]
    try:
        docs = list(yaml.compose_all(chunk.text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        idx = mark.line if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return [ct.warning(chunk, idx, f"invalid YAML: {problem}", lines[idx] if idx < len(lines) else "")]
    for doc in docs:
        if doc is None:
            continue
        items = [doc]
        if _Node.scalar(_Node.get(doc, "kind")) == "List":
            items = _Node.items(_Node.get(doc, "items"))
        start = doc.start_mark.line
        path = default_path
        for line_idx, tpl in helm:
            if line_idx <= start:
                path = tpl
        for item in items:
            if _Node.scalar(_Node.get(item, "kind")) == "ConfigMap":
                out.extend(_config_map_files(chunk, lines, item))
            else:
                out.extend(_containers(chunk, lines, item, path))
    return out


EMBEDDED_KINDS = ("nginx_config", "php_fpm", "uwsgi")
_OTHER_BREAKS = _lazyre.compile("\r(?!\n)|[\x85\u2028\u2029]")
_NGINX_KEY = _lazyre.compile(r"nginx|^default\.conf$|\.nginx$", re.I)


def _embedded_kind(key: str, text: str) -> str | None:
    """The kind of a whole block (never split at its blank lines: it is one file), by the readers'
    signatures; a key named for nginx (`nginx.conf`, `default.conf`) is nginx's when no
    signature speaks."""
    from sockdoctor.evidence import registry, split

    probe = Chunk(key, text, 1, None, key)
    scored = [(d.score, kind) for kind in EMBEDDED_KINDS
              if (d := registry.reader(kind).detect(probe)) is not None and d.score >= split.THRESHOLD]
    if scored:
        return max(scored)[1]
    return "nginx_config" if _NGINX_KEY.search(key) and "{" in text else None


def _config_map_files(chunk: Chunk, lines: list[str], doc) -> list:
    from sockdoctor.evidence import registry

    out: list = []
    data = _Node.get(doc, "data")
    if not isinstance(data, yaml.MappingNode):
        return out
    other_breaks = _OTHER_BREAKS.search(chunk.text) is not None
    for key, value in data.value:
        if not (isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode) and value.style == "|"):
            continue  # a folded or quoted value has no line of the manifest per line of the file
        # the block ends where the next key starts, or inside its last line when the text ends there
        first, end = value.start_mark.line + 1, value.end_mark.line + (1 if value.end_mark.column else 0)
        if other_breaks or not 0 < first <= end <= len(lines):
            # YAML counts line breaks our lines do not (a lone CR, NEL, U+2028): no safe mapping
            out.append(ct.warning(chunk, chunk.text.count("\n", 0, key.start_mark.index),
                                  f"ConfigMap key {key.value!r} not read: the manifest has line breaks other than newlines"))
            continue
        while end > first and not lines[end - 1].strip():
            end -= 1
        text = "\n".join(lines[first:end])
        kind = _embedded_kind(key.value, text)
        if kind is None:
            continue
        embedded = Chunk(chunk.name, text, chunk.first_line + first, None, key.value)
        out.extend(_in_manifest(r, chunk, lines, first) for r in registry.reader(kind).read(embedded))
    return out


def _in_manifest(rec, chunk: Chunk, lines: list[str], offset: int):
    """A record of a block ``offset`` lines into the manifest, with the manifest as its file:
    file lines shifted by ``offset``, the file's text the manifest's."""
    if isinstance(rec, ConfigFile) and rec.path == chunk.name:
        return replace(rec, lines=tuple(lines), first_line=chunk.first_line)
    if not isinstance(rec, NginxConfigRecord) or chunk.name not in rec.files:
        return rec
    name = chunk.name
    user_line = rec.user_file_line
    if user_line and user_line[0] == name:
        user_line = (name, user_line[1] + offset)
    sockets = tuple(replace(ref, file_line=ref.file_line + offset) if ref.file == name else ref for ref in rec.sockets)
    return replace(rec, files={**rec.files, name: tuple(lines)}, user_file_line=user_line, sockets=sockets,
                   file_offsets={**rec.file_offsets, name: chunk.first_line})


def read(chunk: Chunk) -> list:
    return ct.guarded(KIND, chunk, _read)
