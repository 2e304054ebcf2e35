#!/usr/bin/env bash
# Simulated `curl -sv -o /dev/null -w '%{http_code}\n' URL`: like curl, the verbose
# connection log goes to stderr and the status code to stdout. Opens no connection.
set -euo pipefail
url="${1:?usage: http-check.sh URL [IP]}"
ip="${2:-198.51.100.20}"
host="${url#*://}"; host="${host%%/*}"
{
  echo "* simulated: curl -sv ${url}"
  echo "*   Trying ${ip}:443..."
  echo "* Connected to ${host} (${ip}) port 443"
  echo "> GET / HTTP/2"
  echo "> Host: ${host}"
  echo "< HTTP/2 200"
  echo "< content-type: text/html; charset=utf-8"
} >&2
echo 200
