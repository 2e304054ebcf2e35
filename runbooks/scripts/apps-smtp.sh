#!/usr/bin/env bash
# Points the applications at the mail server. Simulation: prints what it would change.
#   reuse:  the name did not change; the apps only need a restart to drop cached DNS.
#   rename: every app's SMTP host moves to the new name, then a restart.
set -euo pipefail
plan="${1:?usage: apps-smtp.sh reuse|rename OLD_NAME NEW_NAME}"
old="${2:?usage: apps-smtp.sh reuse|rename OLD_NAME NEW_NAME}"
new="${3:?usage: apps-smtp.sh reuse|rename OLD_NAME NEW_NAME}"
case "${plan}" in
  reuse)
    echo "SMTP host unchanged: ${old}"
    echo "would run: ansible-playbook -i inventory/apps.ini apps.yml --tags restart"
    ;;
  rename)
    echo "SMTP host: ${old} -> ${new}"
    echo "would run: ansible-playbook -i inventory/apps.ini apps.yml --tags smtp,restart -e smtp_host=${new}"
    echo "then by hand: the apps not managed by Ansible (see the list in docs/procedures/mail/dns.md)"
    ;;
  *)
    echo "unknown plan: ${plan} (expected reuse or rename)" >&2
    exit 2
    ;;
esac
