#!/usr/bin/env bash
# Debian packages the real-service tests use. Installs only what is missing; needs root.
# Without root the tests that need these packages skip themselves with the reason.
set -euo pipefail
PKGS=(nginx-light uwsgi-core uwsgi-plugin-python3 php-fpm acl curl iproute2 util-linux passwd chromium)
if [ "$(id -u)" != 0 ]; then
  echo "install-system-deps: not root, skipping Debian packages" >&2
  exit 0
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
exit 0
