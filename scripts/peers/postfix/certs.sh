#!/usr/bin/env bash
# Makes the certificates of the Postfix test peer's STARTTLS in DIR: a CA (ca.pem, ca.key), the
# server's (server.pem, server.key: mail.example.com and 127.0.0.1) and a client's (client.pem,
# client.key: CN=smtpuser, emailAddress smtpuser@example.com), both signed by the CA. P-256 keys,
# valid one day: made afresh at every start, in about 0.1 s.
#
#   certs.sh DIR
set -euo pipefail
dir=${1:?usage: certs.sh DIR}
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
key ca.key
openssl req -x509 -new -key ca.key -days 1 -subj "/O=saslkit tests/CN=saslkit test CA" \
  -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign" -out ca.pem
sign() {
  local name=$1 subject=$2 extensions=$3
  key "$name.key"
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
  printf '%s\n' "$extensions" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
    -extfile "$name.ext" -out "$name.pem"
  rm -f "$name.csr" "$name.ext"
}
sign server "/O=saslkit tests/CN=mail.example.com" \
  "subjectAltName=DNS:mail.example.com,IP:127.0.0.1
extendedKeyUsage=serverAuth"
sign client "/O=saslkit tests/CN=smtpuser/emailAddress=smtpuser@example.com" \
  "subjectAltName=email:smtpuser@example.com
extendedKeyUsage=clientAuth"
chmod 644 ./*.pem
chmod 600 ./*.key
