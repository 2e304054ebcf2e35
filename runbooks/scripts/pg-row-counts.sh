#!/usr/bin/env bash
# Counts the rows of the main tables and fails when one is below MIN_ROWS. The real query:
#   psql -XAtF ' ' -c "SELECT relname, n_live_tup FROM pg_stat_user_tables ORDER BY 1"
# (then exact counts on the tables that matter). Simulation: prints typical counts.
set -euo pipefail
min="${1:?usage: pg-row-counts.sh MIN_ROWS}"
status=0
while read -r table rows; do
  echo "${table} ${rows}"
  if (( rows < min )); then
    echo "${table}: ${rows} rows, below ${min}" >&2
    status=1
  fi
done <<'ROWS'
accounts 48211
invoices 310457
orders 1289034
ROWS
echo "pg_is_in_recovery: f"
exit "${status}"
