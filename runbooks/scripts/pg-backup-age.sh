#!/usr/bin/env bash
# Reports the age of the latest PostgreSQL base backup and fails when it is older than
# MAX_HOURS. The real source is
#   pgbackrest --stanza=main info --output=json
# This simulation reads nothing: it reports the nightly 01:00 UTC backup.
set -euo pipefail
max="${1:?usage: pg-backup-age.sh MAX_HOURS}"
hour=$((10#$(date -u +%H)))
if (( hour >= 1 )); then
  age=$((hour - 1)); day="$(date -u +%Y-%m-%d)"
else
  age=23; day="$(date -u -d yesterday +%Y-%m-%d)"
fi
echo "simulated: pgbackrest --stanza=main info"
echo "latest full backup: ${day}T01:00:00Z (label ${day//-/}-010000F)"
echo "wal archive: continuous up to now (simulated)"
echo "age ${age}h (limit ${max}h)"
if (( age > max )); then
  echo "the latest backup is older than ${max}h: check the backup job before restoring" >&2
  exit 1
fi
