#!/usr/bin/env bash
# Prints the timestamp of the latest nightly backup of a host (UTC, ISO 8601).
# The real command lists the archives on the backup server:
#   borg list --last 1 --format '{time}' backup.example.org:/srv/borg/HOST
# This simulation prints the nightly 01:00 UTC run: today's if it is past 01:00, else
# yesterday's. It reads nothing and opens no connection.
set -euo pipefail
host="${1:?usage: backup-info.sh HOST}"
: "${host}"
hour=$((10#$(date -u +%H)))
if (( hour >= 1 )); then
  date -u +%Y-%m-%dT01:00:00Z
else
  date -u -d yesterday +%Y-%m-%dT01:00:00Z
fi
