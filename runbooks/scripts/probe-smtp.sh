#!/usr/bin/env bash
# Simulated SMTP probe of a host that is down. The real check is
#   nc -vz -w 3 HOST 25
# which exits 1 when nothing answers. This script opens no connection: it prints what
# the real probe reports during the outage and exits 1 the same way, so the runbook
# can be rehearsed on any machine, offline.
set -euo pipefail
host="${1:?usage: probe-smtp.sh HOST [PORT]}"
port="${2:-25}"
echo "simulated: nc -vz -w 3 ${host} ${port}"
echo "nc: connect to ${host} port ${port} (tcp) timed out: no answer"
exit 1
