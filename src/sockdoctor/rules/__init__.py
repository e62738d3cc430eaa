"""One module per cause in domain/causes.md (see base.py for what a rule module provides)."""
from __future__ import annotations

import importlib
from types import ModuleType

FAILURE_CAUSES = [
    # EACCES, most specific layer first
    "stale_worker_groups", "container_id_mismatch", "worker_user_unexpected", "acl_denies",
    "parent_dir_no_search", "protected_symlinks", "socket_mode_too_strict", "worker_not_in_socket_group",
    "selinux_denied", "apparmor_denied",
    # ENOENT
    "socket_path_mismatch", "private_namespace", "runtime_directory_lifecycle", "duplicate_socket_owner",
    "server_cannot_create_socket", "upstream_not_running",
    # other errnos
    "not_a_socket", "stale_socket_no_listener", "listen_backlog_full", "socket_type_mismatch",
]
INSECURE_CAUSES = ["world_writable_socket", "worker_runs_as_root", "broad_group_membership", "socket_in_shared_tmp"]
CAUSES = FAILURE_CAUSES + INSECURE_CAUSES


def rule(cause: str) -> ModuleType:
    return importlib.import_module(f"sockdoctor.rules.{cause}")


def all_rules() -> list[ModuleType]:
    return [rule(c) for c in CAUSES]
