#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the sockdoctor repository)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sockdoctor_fix
short_description: Apply sockdoctor's least-privilege fix for broken or insecure nginx upstream sockets
version_added: "0.1.0"
description:
  - Diagnoses the target like M(sockdoctor.sockdoctor.sockdoctor_check), takes the fix plan
    of rank O(plan) and applies it with the same transaction as C(sockdoctor fix --apply),
    that is a backup of every file it edits, C(nginx -t) before the reload, and a rollback of every
    step when a step, the validation or the reload fails.
  - Idempotent. When the diagnosis finds nothing to fix, or the plan's edits are already in
    place, the task reports C(changed=false); a second run after a fix changes nothing.
  - In check mode nothing is touched; the task reports whether the plan would change
    anything, its script and its file diffs. With C(--diff) the file diffs are shown.
options:
  socket:
    description: Only diagnose and fix this socket path.
    type: path
  root:
    description: Fix a filesystem tree instead of the live host (file paths of the plan are
      resolved under it; nginx is validated and reloaded with C(-p ROOT/etc/nginx/ -c ROOT/etc/nginx/nginx.conf)).
    type: path
  nginx_user:
    description: The nginx worker user, when no evidence on the host shows it.
    type: str
  nginx_conf:
    description: The nginx main config used for C(nginx -t) and the reload.
    type: path
  plan:
    description: The Nth ranked fix of the report (as C(sockdoctor fix --plan N)).
    type: int
    default: 1
  run_dir:
    description: Parent directory of the run directories that hold the backups (for C(sockdoctor fix --rollback)).
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - sockdoctor maintainers
seealso:
  - module: sockdoctor.sockdoctor.sockdoctor_check
"""

EXAMPLES = r"""
- name: Show what the fix would change
  sockdoctor.sockdoctor.sockdoctor_fix:
  check_mode: true
  diff: true
  register: plan

- name: Apply the second-ranked plan, backups under /var/lib/sockdoctor/runs
  sockdoctor.sockdoctor.sockdoctor_fix:
    plan: 2
    run_dir: /var/lib/sockdoctor/runs
"""

RETURN = r"""
fix:
  description: The fix plan chosen (title, finding, commands, diffs, verify), empty when nothing to fix.
  returned: always
  type: dict
script:
  description: The plan as the reviewable shell script C(sockdoctor fix) prints.
  returned: when there is a plan and sockdoctor.apply is available
  type: str
problems:
  description: Reasons the plan cannot be applied safely (the task fails on them outside check mode).
  returned: when there is a plan
  type: list
  elements: str
findings_before:
  description: Causes found before the fix.
  returned: always
  type: list
  elements: str
findings_after:
  description: Causes found after the fix.
  returned: when applied
  type: list
  elements: str
run_dir:
  description: The run directory holding the backups (for C(sockdoctor fix --rollback RUN_DIR)).
  returned: when applied
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sockdoctor.sockdoctor.plugins.module_utils.runner import check


def file_diffs(fix_json, patches=None):
    if patches is not None:
        return [{"before_header": name, "after_header": name, "prepared": diff} for name, diff in patches]
    return [{"before_header": d["path"], "after_header": d["path"], "prepared": d["diff"]}
            for d in fix_json.get("diffs", [])]


def would_change(plan):
    """Edits still pending or group changes: checks and reloads alone change nothing."""
    return any(e.state != "done" for e in plan.edits) or bool(plan.groups)


def build_plan(report, fix, p):
    """The apply transaction's plan, or None when this build has no sockdoctor.apply."""
    try:
        from sockdoctor.apply import plan as P
    except ImportError:
        return None, None
    socket = next((f.socket for f in report.findings if f.id == fix.finding), None)
    services = P.Services.detect(p["root"], p["nginx_conf"])
    return P, P.build(fix, root=p["root"], services=services, socket=socket)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            socket=dict(type="path"),
            root=dict(type="path"),
            nginx_user=dict(type="str"),
            nginx_conf=dict(type="path"),
            plan=dict(type="int", default=1),
            run_dir=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        data, _, report = check(root=p["root"], socket=p["socket"], nginx_user=p["nginx_user"], probe=False,
                                 nginx_conf=p["nginx_conf"])
    except Exception as exc:
        module.fail_json(msg="sockdoctor check failed: %s" % exc)
    result = dict(changed=False, fix={}, findings_before=[f["cause"] for f in data.get("findings", [])])
    if not report.fixes:
        module.exit_json(**result)
    if not 1 <= p["plan"] <= len(report.fixes):
        module.fail_json(msg="plan %d: there are %d plans" % (p["plan"], len(report.fixes)), **result)
    fix = report.fixes[p["plan"] - 1]
    result["fix"] = data["fixes"][p["plan"] - 1]
    P, plan = build_plan(report, fix, p)
    if plan is None:
        result.update(changed=True, problems=["sockdoctor.apply is not available in this build"])
        if module._diff:
            result["diff"] = file_diffs(result["fix"])
        if module.check_mode:
            module.exit_json(**result)
        module.fail_json(msg="sockdoctor.apply is not available in this build: nothing applied", **result)
    patches = P.patches(plan)
    result.update(script=P.script(plan), problems=plan.problems(), changed=would_change(plan))
    if module._diff and patches:
        result["diff"] = file_diffs(result["fix"], patches)
    if module.check_mode:
        module.exit_json(**result)
    if plan.problems():
        module.fail_json(msg="refusing to apply: %s" % plan.problems()[0], **result)
    from sockdoctor.apply import txn

    try:
        run_dir, changed = txn.apply(plan, p["run_dir"])
    except txn.ApplyError as exc:
        module.fail_json(msg="sockdoctor fix failed and was rolled back: %s" % exc, **result)
    after, _, _ = check(root=p["root"], socket=p["socket"], nginx_user=p["nginx_user"], probe=False,
                                 nginx_conf=p["nginx_conf"])
    result.update(changed=changed, run_dir=run_dir, findings_after=[f["cause"] for f in after.get("findings", [])])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
