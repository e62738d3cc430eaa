"""sockdoctor.policy.forbidden_in: the "Fixes never proposed" list of domain/causes.md."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sockdoctor.policy import forbidden_in, proposed_lines
from shared_paths import SHARED_STR  # noqa: E402

NEVER = [
    "chmod 666 /run/app.sock", "chmod 0777 /run/app", "sudo chmod -R 777 /var/www/app", "chmod o+w /run/x.sock",
    "chmod a+rw /run/x", "chmod ugo+rwx /run/php", "chmod g+w,o+w /run/x", "install -d -m 0777 /run/app",
    "mkdir -m 777 /run/app", "d /run/app 0777 app app -", "listen.mode = 0666", "listen.mode=666",
    "SocketMode=0666", "SocketMode=0777", "RuntimeDirectoryMode=0777", "chmod-socket = 666", "chmod-socket",
    "chmod-socket =", "uwsgi --socket /run/x.sock --chmod-socket", "user root;", "  user root root;",
    "usermod -aG docker nginx", "usermod -a -G sudo,www-data www-data", "sudo usermod -G wheel nginx",
    "gpasswd -a nginx adm", "adduser nginx shadow", "addgroup nginx disk", "SupplementaryGroups=docker",
    "usermod -aG root www-data", "setenforce 0", "sudo setenforce Permissive", "SELINUX=disabled",
    "aa-disable /usr/sbin/nginx", "sudo aa-complain /etc/apparmor.d/usr.sbin.nginx", "PrivateTmp=false",
    "PrivateTmp=no", "ProtectHome=false", "ProtectHome=off", "chmod -R 755 /home/deploy", "chmod -R g+rx ~deploy",
    "chmod -R o+x $HOME", "gunicorn --umask 000 app:app", "UMask=0000", "GRUB_CMDLINE_LINUX=\"apparmor=0\"",
    "  /run/** rw,", "audit2allow -a -M nginx_sock", "User=root", "    user: root", '    user: "0:0"',
    "    privileged: true",
]
FINE = [
    "chmod 0660 /run/app.sock", "chmod 2750 /run/app", "chmod g+w /run/app.sock", "chmod +w notes.txt",
    "chmod 0710 /home/deploy", "chmod -R g+rX /srv/app", "listen.mode = 0660", "SocketMode=0660",
    "chmod-socket = 660", "user nginx;", "user www-data www-data;", "usermod -aG www-data nginx",
    "gpasswd -a nginx app-sock", "setenforce 1", "semanage fcontext -a -t httpd_var_run_t '/run/app(/.*)?'",
    "restorecon -Rv /run/app", "PrivateTmp=true", "ProtectHome=read-only", "UMask=0007",
    "gunicorn --umask 007 --bind unix:/run/app/app.sock app.wsgi", "d /run/app 0750 app www-data -",
    "nginx -t && systemctl reload nginx", "proxy_pass http://unix:/run/gunicorn/app.sock;",
    "RuntimeDirectoryMode=0750", "# never chmod 777 a socket", "User=app", "SocketUser=root", "  /run/app/app.sock rw,",
    "    user: \"1000:101\"", "audit2allow -i avc.log", "sudo -u nginx test -w /run/app.sock && echo ok",
]


@pytest.mark.parametrize("line", NEVER)
def test_never_proposed(line):
    assert forbidden_in(line), line


@pytest.mark.parametrize("line", FINE)
def test_least_privilege_lines_pass(line):
    assert forbidden_in(line) == []


def test_removed_diff_lines_are_fine_added_ones_are_not():
    removing = ("--- a/etc/systemd/system/gunicorn.socket\n+++ b/etc/systemd/system/gunicorn.socket\n"
                "@@ -5,2 +5,3 @@\n ListenStream=/run/gunicorn/app.sock\n-SocketMode=0666\n+SocketMode=0660\n+SocketGroup=nginx\n")
    assert forbidden_in(removing) == []
    assert proposed_lines(removing) == ["SocketMode=0660", "SocketGroup=nginx"]
    adding = removing.replace("+SocketMode=0660", "+SocketMode=0777")
    assert forbidden_in(adding) == ["world-writable socket or directory mode setting: SocketMode=0777"]
    # a context line shows what is there, it does not propose it
    assert forbidden_in("@@ -1,2 +1,2 @@\n user root;\n-worker_processes 1;\n+worker_processes auto;\n") == []
    assert forbidden_in("-user root;", diff=True) == []


def test_each_message_names_the_line():
    found = forbidden_in("cd /run\nchmod 777 /run/app.sock\nsystemctl restart app\nsetenforce 0\n")
    assert found == ["world-writable mode (o+w): chmod 777 /run/app.sock", "disables SELinux enforcement: setenforce 0"]


CASES = Path(SHARED_STR) / "cases"


# Wrong for one case, not insecure everywhere: the case checks own these, not the general policy.
CASE_SPECIFIC = {
    "chmod 755 /home/ec2-user", "chmod 711 /home/ec2-user", "chmod o+x /home/ec2-user",  # a targeted ACL is the fix there
    "chmod -R",  # policy forbids chmod -R on a home directory, not every recursive chmod
    "user ec2-user;", "chcon", "httpd_can_network_connect", "uwsgi_pass unix:@",
}


@pytest.mark.skipif(not CASES.is_dir(), reason="no shared cases")
def test_every_never_string_of_the_cases_is_caught():
    """Each case's `expected.never` strings are what a fix must not contain: policy must catch them
    (as the command or setting they name)."""
    missed = []
    for case in sorted(CASES.glob("*/case.yaml")):
        for never in yaml.safe_load(case.read_text())["expected"].get("never") or []:
            if never in CASE_SPECIFIC:
                continue
            probe = never if any(c in never for c in " =;") else f"chmod {never} /run/app.sock"
            if never.startswith("chmod") and len(never.split()) == 2:
                probe = f"{never} /run/app/app.sock"
            if not forbidden_in(probe):
                missed.append((case.parent.name, never))
    assert missed == []
