from sockdoctor.report import Origin
from sockdoctor.rules import _common as C

CAUSE = "socket_type_mismatch"
KIND = "failure"
SEVERITY = "high"
ERRNOS = (91,)
STATIC = True
DOC = {
    "what": "The listener is a datagram or seqpacket socket; nginx needs a stream socket.",
    "why": "connect() fails with EPROTOTYPE (91).",
    "bad": "ListenDatagram=/run/app/app.sock",
    "good": "ListenStream=/run/app/app.sock",
    "fix": "Use ListenStream= / a stream listener.",
}


def check(host):
    out = []
    for info in host.sockets.values():
        dgram = [p for p in info.producers if p.setting and p.setting.key in ("ListenDatagram", "ListenSequentialPacket")]
        lst = [l for l in info.listeners if l.socket_type in ("dgram", "seqpacket")]
        if not (91 in info.errnos or dgram or lst):
            continue
        if not (dgram or lst) and 91 not in info.errnos:
            continue
        origin = Origin("systemd", dgram[0].setting.key, dgram[0].config.path) if dgram else None
        out.append(C.make(globals(), info.path,
                          f"{info.path} is not a stream socket; nginx needs SOCK_STREAM (EPROTOTYPE).",
                          evidence=C.evidence_for(host, info, [p.setting.source for p in dgram] + [l.source for l in lst]),
                          origin=origin, errno=91, confidence=0.9))
    return out
