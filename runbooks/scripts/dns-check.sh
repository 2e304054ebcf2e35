#!/usr/bin/env bash
# Simulated DNS checks, shaped like dig's output. No query leaves the machine.
#   dns-check.sh primary ZONE SERVER      the primary provider during its outage: no answer, exit 1
#   dns-check.sh secondary ZONE SERVER    the secondary's copy of the zone: SOA serial, exit 0
#   dns-check.sh delegation ZONE NS...    the delegation seen from the parent zone, exit 0
# The real commands are in docs/procedures/dns/failover.md.
set -euo pipefail
what="${1:?usage: dns-check.sh primary|secondary|delegation ZONE SERVER...}"
zone="${2:?usage: dns-check.sh primary|secondary|delegation ZONE SERVER...}"
shift 2
case "${what}" in
  primary)
    echo "simulated: dig +norec +time=2 +tries=1 @${1:?server} ${zone} SOA"
    echo ";; communications error to ${1}#53: timed out"
    echo ";; no servers could be reached"
    exit 1
    ;;
  secondary)
    serial="$(date -u +%Y%m%d)01"
    echo "simulated: dig +norec @${1:?server} ${zone} SOA +short"
    echo "${1}. hostmaster.${zone}. ${serial} 3600 600 1209600 300"
    ;;
  delegation)
    echo "simulated: dig +trace +nodnssec ${zone} NS"
    for ns in "$@"; do echo "${zone}. 172800 IN NS ${ns}."; done
    echo ";; Received from the parent zone's servers"
    ;;
  *)
    echo "unknown check: ${what}" >&2
    exit 2
    ;;
esac
