#!/bin/sh
# Remove the pi-agent service and binary. Keeps /etc/pi-agent and /var/lib/pi-agent (buffered data
# that has not reached Databricks yet lives there) unless --purge is given.
set -eu
[ "$(id -u)" = 0 ] || { echo "uninstall.sh: run as root (sudo)" >&2; exit 1; }
systemctl disable --now pi-agent.service 2>/dev/null || true
rm -f /etc/systemd/system/pi-agent.service
systemctl daemon-reload
rm -rf /opt/pi-agent
if [ "${1:-}" = "--purge" ]; then
  rm -rf /etc/pi-agent /var/lib/pi-agent /var/log/pi-agent
  userdel pi-agent 2>/dev/null || true
  echo "pi-agent removed with its config and state."
else
  echo "pi-agent removed. Config (/etc/pi-agent) and state (/var/lib/pi-agent) kept; --purge removes them."
fi
