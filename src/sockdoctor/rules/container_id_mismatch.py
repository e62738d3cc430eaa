from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "container_id_mismatch"
KIND = "failure"
SEVERITY = "critical"
ERRNOS = (13,)
STATIC = True
DOC = {
    "what": "Containers share the socket through a volume; its numeric uid/gid mean nothing to nginx's workers, and group_add/fsGroup/supplementalGroups on a root master never reach the workers (initgroups replaces them).",
    "why": "nginx's workers are 'other' on the socket and get EACCES although the container 'has' the group.",
    "bad": "web:\n  image: nginx:1.27-alpine\n  group_add: [\"1000\"]",
    "good": "api:\n  user: \"1000:101\"   # socket group = nginx's gid in the official image",
    "fix": "Create the socket with a numeric group the workers really have (101 in the official image), or add nginx to a group with the socket's gid inside the nginx image.",
}


def check(host):
    if not host.containers:
        return []
    out = []
    nginx_ct = [c for c in host.containers if (c.image or "").startswith("nginx") or c.name in ("web", "nginx")]
    for info in host.sockets.values():
        d = C.decision(host, info)
        if not (d and d.allowed is False and d.errno == 13) or not C.failing_13(host, info):
            continue
        master_groups = set()
        for p in host.proc:
            if p.uids and p.uids[0] == 0 and p.groups:
                master_groups |= set(p.groups)
        node = info.node
        gid = node.gid if node else None
        added = [g for c in nginx_ct for g in c.group_add] + [str(g) for c in nginx_ct for g in c.supplemental_groups]
        if gid is None and not added:
            continue
        if not (added or (gid is not None and gid in master_groups)):
            continue
        ev = [s.source for c in nginx_ct for s in c.settings if s.key in ("group_add", "supplementalGroups", "fsGroup")]
        src = next((c for c in nginx_ct), None)
        out.append(C.make(globals(), info.path,
                          f"{info.path} is owned by numeric ids {node.owner if node else '?'}:{node.group if node else '?'} from another container; "
                          f"the nginx workers ({host.worker.creds.label()}) do not have that group: group_add/fsGroup reach only the root master, "
                          f"and each worker's initgroups() replaces them.",
                          evidence=C.evidence_for(host, info, ev), trace=C.creds_line(host) + C.node_trace(d),
                          origin=Origin("docker-compose" if src and src.kind == "compose_service" else "kubernetes",
                                        "group_add (web) / user (api)", src.path if src else None),
                          errno=13, confidence=0.9))
    return out
