#!/usr/bin/env bash
# Makes a certificate chain and key for trying Content Credentials (C2PA) signing:
#   scripts/make-signing-cert.sh DIR ["Signer name"] ["Organisation"]
# writes DIR/signer-chain.pem (signing certificate, then its CA) and DIR/signer.key.
# The CA is made here too, so validators report the signer as untrusted: for real use, ask a
# certificate authority for a document-signing certificate with the same profile.
# C2PA's profile: an end-entity certificate (not self-signed, not a CA) with the
# digitalSignature key usage, an allowed extended key usage (here emailProtection) and an
# authority key identifier, issued by a CA with a subject key identifier.
set -euo pipefail
dir=${1:?usage: make-signing-cert.sh DIR [signer name] [organisation]}
name=${2:-Tinct test signer}
org=${3:-Tinct test}
# The keys are never readable by others, not even while they are being written.
umask 077
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/ext.cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[tinct_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[tinct_signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key" 2>/dev/null
openssl req -x509 -new -key "$work/ca.key" -sha256 -days 3650 -subj "/CN=$org CA/O=$org" \
    -config "$work/ext.cnf" -extensions tinct_ca -out "$work/ca.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/signer.key" 2>/dev/null
openssl req -new -key "$dir/signer.key" -subj "/CN=$name/O=$org" -config "$work/ext.cnf" -out "$work/signer.csr"
openssl x509 -req -in "$work/signer.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -sha256 -days 825 -extfile "$work/ext.cnf" -extensions tinct_signer -out "$work/signer.pem" 2>/dev/null
cat "$work/signer.pem" "$work/ca.pem" >"$dir/signer-chain.pem"
chmod 644 "$dir/signer-chain.pem"
echo "wrote $dir/signer-chain.pem and $dir/signer.key (ES256)"
