#!/usr/bin/env bash
# Sets one DNS record through the provider's API. Simulation: it prints the request it
# would send and sends nothing. The token comes from the DNS_API_TOKEN environment
# variable; it is never printed, only whether it is there.
set -euo pipefail
type="${1:?usage: dns-set.sh TYPE NAME VALUE [TTL]}"
name="${2:?usage: dns-set.sh TYPE NAME VALUE [TTL]}"
value="${3:?usage: dns-set.sh TYPE NAME VALUE [TTL]}"
ttl="${4:-300}"
if [[ -n "${DNS_API_TOKEN:-}" ]]; then
  token_state="set (${#DNS_API_TOKEN} characters)"
else
  token_state="MISSING: the real call would be refused (401)"
fi
echo "would send: PUT https://api.dns.example.net/v1/zones/example.org/records/${name}/${type}"
echo "  body: {\"ttl\": ${ttl}, \"values\": [\"${value}\"]}"
echo "  token: ${token_state}"
echo "simulated answer: 200 OK, ${name} ${ttl} IN ${type} ${value}"
