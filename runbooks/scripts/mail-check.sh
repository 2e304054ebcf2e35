#!/usr/bin/env bash
# Simulated first test of a freshly restored mail server. The real checks are
#   printf 'QUIT\r\n' | nc -w 5 IP 25                  (expect a 220 ESMTP banner)
#   openssl s_client -quiet -connect IP:993 </dev/null   (expect "* OK ... ready")
# This script opens no connection: it prints the answers a healthy server gives.
set -euo pipefail
ip="${1:?usage: mail-check.sh IP [NAME]}"
name="${2:-mail.example.org}"
echo "simulated: SMTP banner from ${ip}:25"
echo "220 ${name} ESMTP Postfix"
echo "simulated: IMAPS greeting from ${ip}:993"
echo "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE AUTH=PLAIN] Dovecot ready."
