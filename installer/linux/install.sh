#!/bin/sh
# Install pi-agent as a systemd service.
#   sudo ./install.sh ./pi-agent-linux-x64 [./pi-agent.yaml]
# Puts the binary in /opt/pi-agent, the config in /etc/pi-agent (kept if present), creates the
# pi-agent system user, installs and enables the unit. Re-running upgrades the binary and keeps
# the config and the state directory (/var/lib/pi-agent): the new agent migrates the store.
set -eu
BIN=${1:?usage: install.sh PATH/TO/pi-agent-linux-x64 [CONFIG.yaml]}
CONFIG=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }

id pi-agent >/dev/null 2>&1 || useradd --system --home-dir /var/lib/pi-agent --shell /usr/sbin/nologin pi-agent
install -d -m 0755 /opt/pi-agent
install -m 0755 "$BIN" /opt/pi-agent/pi-agent.new
mv -f /opt/pi-agent/pi-agent.new /opt/pi-agent/pi-agent
install -d -m 0750 -o root -g pi-agent /etc/pi-agent
if [ -n "$CONFIG" ] && [ ! -e /etc/pi-agent/pi-agent.yaml ]; then
  install -m 0640 -o root -g pi-agent "$CONFIG" /etc/pi-agent/pi-agent.yaml
fi
[ -e /etc/pi-agent/pi-agent.env ] || install -m 0600 -o root -g root /dev/null /etc/pi-agent/pi-agent.env
install -m 0644 "$HERE/pi-agent.service" /etc/systemd/system/pi-agent.service
systemctl daemon-reload
systemctl enable pi-agent.service
if [ -e /etc/pi-agent/pi-agent.yaml ]; then
  systemctl restart pi-agent.service
  echo "pi-agent installed and started. Status: sudo -u pi-agent /opt/pi-agent/pi-agent status --config /etc/pi-agent/pi-agent.yaml"
else
  echo "pi-agent installed. Write /etc/pi-agent/pi-agent.yaml (see conf/pi-agent.example.yaml), then: systemctl start pi-agent"
fi
