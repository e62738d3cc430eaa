"""What we send: a fixed system prompt, then the question, sockdoctor's report and the evidence,
all already redacted."""
from __future__ import annotations

SYSTEM = """\
You help a system administrator find why nginx cannot connect() to an upstream Unix socket and fix it.
The evidence was redacted on the user's machine: values written <<SECRET:kind:N>> are placeholders
for secrets. Keep a placeholder exactly as written when you refer to it; never guess its value.
sockdoctor's own deterministic diagnosis is included when available: build on it, and say clearly
where and why you disagree with it.
Propose least-privilege fixes only. Never propose: mode 0666/0777 or o+w on a socket or its
directories; listen.mode = 0666; a bare chmod-socket; `user root;`; adding the nginx worker to the
root, docker, sudo, wheel, adm, shadow or disk group; setenforce 0, aa-disable or aa-complain;
PrivateTmp=false or ProtectHome=false; chmod -R on a home directory.
Put every command in a fenced code block and every config change as a unified diff (```diff).
"""


def user_message(question: str, report_json: str | None, report_note: str, evidence: list[tuple[str, str]]) -> str:
    parts = [f"Question: {question.strip()}", ""]
    if report_json is not None:
        parts += ["## sockdoctor's report (JSON)", "```json", report_json.rstrip("\n"), "```", ""]
    else:
        parts += [f"## sockdoctor's report", report_note, ""]
    parts.append("## Evidence")
    for name, text in evidence:
        fence = "````" if "```" in text else "```"
        parts += ["", f"### {name}", fence, text.rstrip("\n"), fence]
    return "\n".join(parts) + "\n"
