#!/usr/bin/env bash
# Restores the PostgreSQL data directory from the base backup and replays WAL up to the
# target. Simulation: prints the commands and touches nothing. PGDATA comes from the step.
#   TARGET: "latest" (replay every archived WAL) or a UTC time like 2024-05-02T14:30:00Z
set -euo pipefail
target="${1:?usage: pg-restore.sh latest|YYYY-MM-DDTHH:MM:SSZ}"
pgdata="${PGDATA:?PGDATA must be set by the step}"
echo "would run: mv ${pgdata} ${pgdata}.broken-$(date -u +%Y%m%dT%H%M%SZ)"
if [[ "${target}" == latest ]]; then
  echo "would run: pgbackrest --stanza=main --type=default restore"
else
  echo "would run: pgbackrest --stanza=main --type=time --target=${target} --target-action=promote restore"
fi
echo "would write: ${pgdata}/postgresql.auto.conf restore_command = 'pgbackrest --stanza=main archive-get %f \"%p\"'"
echo "simulated: restore finished, recovery.signal present in ${pgdata}"
