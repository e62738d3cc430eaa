"""What every rule module provides (one module per cause in domain/causes.md).

    CAUSE = "worker_not_in_socket_group"     # the cause name
    KIND = "failure" | "insecure"            # insecure: reported whether or not anything fails
    SEVERITY = "critical" | "high" | "medium" | "low"
    ERRNOS = (13,)                           # errnos this cause explains (empty for insecure ones)
    STATIC = True                            # decidable from config files alone (lint uses these)
    DOC = {"what": ..., "why": ..., "bad": ..., "good": ..., "fix": ...}   # rendered to docs/rules/
    def check(host) -> list[Finding]         # host: sockdoctor.model.Host
"""
from __future__ import annotations

REQUIRED = ("CAUSE", "KIND", "SEVERITY", "ERRNOS", "STATIC", "DOC", "check")
DOC_PARTS = ("what", "why", "bad", "good", "fix")
