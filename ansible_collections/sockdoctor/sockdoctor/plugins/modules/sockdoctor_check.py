#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the sockdoctor repository)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sockdoctor_check
short_description: Diagnose why nginx cannot connect() to its upstream Unix sockets
version_added: "0.1.0"
description:
  - Runs the C(sockdoctor check) engine on the target host and returns its report as data.
  - Read-only. On the live host it reads the nginx configuration, the worker's credentials,
    file metadata on each socket path, listeners and logs, and probes each socket with the
    worker's credentials (as root). With O(root) it reads a filesystem tree instead (an
    unpacked image, a chroot) and does not probe.
  - The task fails only when sockdoctor itself could not run. Problems on the host are
    reported in RV(findings) and the RV(sockdoctor_failed) flag, so a play can act on them.
  - Needs the C(sockdoctor) package importable by the module's interpreter; the role
    C(sockdoctor.sockdoctor.sockdoctor) installs it from a wheel shipped by the controller.
options:
  socket:
    description: Only diagnose this socket path (default every upstream socket nginx names).
    type: path
  root:
    description: Read this filesystem tree instead of the live host.
    type: path
  nginx_user:
    description: The nginx worker user, when no evidence on the host shows it.
    type: str
  nginx_conf:
    description: The nginx main config (default the running master's C(-c), else /etc/nginx/nginx.conf).
    type: path
  probe:
    description: Connect to each socket as the worker (live host, as root only).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - sockdoctor maintainers
notes:
  - Exit statuses of the CLI map to RV(sockdoctor_failed) (findings) and task failure (error).
seealso:
  - module: sockdoctor.sockdoctor.sockdoctor_fix
"""

EXAMPLES = r"""
- name: Diagnose every upstream socket
  sockdoctor.sockdoctor.sockdoctor_check:
  register: sockdoctor

- name: Diagnose one socket inside an unpacked image
  sockdoctor.sockdoctor.sockdoctor_check:
    root: /srv/images/web-2024-06
    socket: /run/gunicorn/app.sock
  register: image_check

- name: Stop when a socket is broken or insecure
  ansible.builtin.fail:
    msg: "{{ sockdoctor.summary }}"
  when: sockdoctor.sockdoctor_failed
"""

RETURN = r"""
report:
  description: The whole C(sockdoctor check --format json) report (schema_version 1).
  returned: success
  type: dict
findings:
  description: The findings, best explanation of the failure first, insecure configuration after.
  returned: success
  type: list
  elements: dict
  sample:
    - id: F1
      cause: worker_not_in_socket_group
      severity: critical
      socket: /run/gunicorn/app.sock
      summary: nginx workers (nginx) are not owner or group of /run/gunicorn/app.sock
fixes:
  description: Ranked fix plans per finding (commands, diffs, verify).
  returned: success
  type: list
  elements: dict
summary:
  description: One line per socket with its verdict, first cause and first fix title.
  returned: success
  type: list
  elements: dict
  sample:
    - socket: /run/gunicorn/app.sock
      verdict: denied (socket_no_write)
      cause: worker_not_in_socket_group
      causes: [worker_not_in_socket_group]
      fix: Add the nginx user to the socket's group
sockdoctor_failed:
  description: True when a socket fails or is insecurely configured (CLI exit status 1).
  returned: success
  type: bool
exit_status:
  description: What C(sockdoctor check) would exit with (0 clean, 1 findings).
  returned: success
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sockdoctor.sockdoctor.plugins.module_utils.runner import check_report, summary


def main():
    module = AnsibleModule(
        argument_spec=dict(
            socket=dict(type="path"),
            root=dict(type="path"),
            nginx_user=dict(type="str"),
            probe=dict(type="bool", default=True),
            nginx_conf=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        data, status = check_report(root=p["root"], socket=p["socket"], nginx_user=p["nginx_user"], probe=p["probe"],
                                    nginx_conf=p["nginx_conf"])
    except RuntimeError as exc:
        module.fail_json(msg=str(exc), sockdoctor_failed=True)
    except Exception as exc:  # an internal error must still come back as a result, not a traceback
        module.fail_json(msg="sockdoctor check failed: %s: %s" % (type(exc).__name__, exc), sockdoctor_failed=True)
    module.exit_json(
        changed=False,
        report=data,
        findings=data.get("findings", []),
        fixes=data.get("fixes", []),
        summary=summary(data),
        sockdoctor_failed=status != 0,
        exit_status=status,
    )


if __name__ == "__main__":
    main()
