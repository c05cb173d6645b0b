#!/bin/sh
# Test certificates for the TLS tests and benchmark (tests/test_it_tls.c, tests/bench_tls.c).
#
#     sh tests/tls/make_certs.sh OUTDIR        (OUTDIR under build/, never committed)
#
# Writes into OUTDIR, with openssl only:
#   ca.pem ca.key              root CA "hl_net test root CA" (ECDSA P-256, 10 years)
#   inter.pem inter.key        intermediate CA signed by the root (ECDSA P-256, pathlen 0)
#   ec.pem ec.key              leaf for localhost (SAN DNS:localhost), ECDSA P-256, by inter
#   rsa.pem rsa.key            the same with an RSA-2048 key
#   expired.pem expired.key    leaf for localhost valid only 2020-01-01 .. 2020-01-02 (openssl ca
#                              -startdate/-enddate: OpenSSL 3.0's x509 has no -not_after)
#   other.pem other.key        leaf for other.example (SAN DNS:other.example), by inter
#   self.pem self.key          self-signed leaf for localhost (ECDSA P-256, CA:FALSE)
#   ca2.pem ca2.key            a second root CA that signed none of the above
#   NAME-chain.pem             leaf + intermediate, what a server sends (ec, rsa, expired, other)
#
# Idempotent: a complete OUTDIR (the stamp file OUTDIR/.complete) newer than this script and
# younger than 30 days is left alone; otherwise everything is made anew. Concurrent runs are
# serialised by the lock directory OUTDIR.lock. Takes about 0.6 s (the RSA key is the slow part).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: sh $0 OUTDIR" >&2
    exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
stamp=$out/.complete
lock=$out.lock

fresh() {
    [ -f "$stamp" ] && [ -z "$(find "$self" -newer "$stamp")" ] && [ -z "$(find "$stamp" -mtime +30)" ]
}

fresh && exit 0

# Lock: mkdir is atomic. A lock held for 30 s is left over from a killed run.
tries=0
until mkdir "$lock" 2>/dev/null; do
    if fresh; then exit 0; fi
    tries=$((tries + 1))
    if [ "$tries" -gt 30 ]; then
        echo "make_certs.sh: $lock held for 30 s; removing it" >&2
        rm -rf "$lock"
        tries=0
        continue
    fi
    sleep 1
done
trap 'rm -rf "$lock"' EXIT INT TERM
fresh && exit 0

tmp=$lock/work
rm -rf "$tmp"
mkdir -p "$tmp"
cd "$tmp"

cat >openssl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_other]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_self]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
# openssl ca, for the expired leaf (the only way to set past dates with OpenSSL 3.0)
[ca]
default_ca = ca_inter
[ca_inter]
dir = .
database = ./index.txt
serial = ./serial
new_certs_dir = ./newcerts
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
EOF

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
rand_serial() { echo "0x$(openssl rand -hex 8)"; }
# ca_cert NAME CN EXT [ISSUER]: a CA certificate, self-signed or signed by ISSUER.
ca_cert() {
    ec_key "$1.key"
    if [ $# -eq 3 ]; then
        openssl req -config openssl.cnf -new -x509 -key "$1.key" -subj "/CN=$2" -days 3650 \
            -set_serial "$(rand_serial)" -extensions "$3" -sha256 -out "$1.pem"
    else
        openssl req -config openssl.cnf -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
        openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -set_serial "$(rand_serial)" \
            -days 3650 -sha256 -extfile openssl.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
    fi
}
# leaf NAME CN EXT: a leaf signed by the intermediate (key made beforehand), plus its chain.
leaf() {
    openssl req -config openssl.cnf -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA inter.pem -CAkey inter.key -set_serial "$(rand_serial)" \
        -days 825 -sha256 -extfile openssl.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
    cat "$1.pem" inter.pem >"$1-chain.pem"
}

ca_cert ca "hl_net test root CA" v3_ca
ca_cert inter "hl_net test intermediate CA" v3_inter ca
ca_cert ca2 "hl_net unrelated test CA" v3_ca

ec_key ec.key
leaf ec localhost v3_leaf
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
leaf rsa localhost v3_leaf
ec_key other.key
leaf other other.example v3_other

ec_key expired.key
openssl req -config openssl.cnf -new -key expired.key -subj "/CN=localhost" -out expired.csr
: >index.txt
rand_serial | sed 's/^0x//' >serial
mkdir -p newcerts
openssl ca -config openssl.cnf -batch -notext -cert inter.pem -keyfile inter.key \
    -startdate 20200101000000Z -enddate 20200102000000Z -extensions v3_leaf \
    -in expired.csr -out expired.pem 2>/dev/null
cat expired.pem inter.pem >expired-chain.pem

ec_key self.key
openssl req -config openssl.cnf -new -x509 -key self.key -subj "/CN=localhost" -days 825 \
    -set_serial "$(rand_serial)" -extensions v3_self -sha256 -out self.pem

# Publish: files first, the stamp last.
for f in *.pem *.key; do
    mv -f "$f" "$out/$f"
done
chmod 644 "$out"/*.key # test keys: readable by whoever runs the servers
date >"$stamp"
cd "$out"
rm -rf "$tmp"
