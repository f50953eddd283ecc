#!/usr/bin/env bash
# Installs what the tests need from Debian's packages, only when it is missing, so a fresh
# machine can run `npm ci && npm test` and a prepared one loses no time.
set -euo pipefail
need=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
# the real clients the API must satisfy (Debian's python, /usr/bin/python3, sees these)
[ -x /usr/bin/baremetal ] || need+=(python3-ironicclient)
/usr/bin/python3 -c 'import openstack' >/dev/null 2>&1 || need+=(python3-openstacksdk)
if [ ${#need[@]} -gt 0 ]; then
  echo "test-deps: installing Debian packages: ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
