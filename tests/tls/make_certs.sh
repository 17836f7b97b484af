#!/bin/sh
# make_certs.sh: makes the TLS test certificates in DIR with the openssl command: a CA, a
# server certificate for localhost (DNS name, and 127.0.0.1 and ::1), a client certificate,
# and the wrong ones: a server certificate from another CA and one for another name.
#   usage: make_certs.sh DIR
# Keys are EC P-256 (quick to make; nng's mbedtls and Chromium take them). Files: ca.crt,
# server.crt/.key, client.crt/.key, other-ca.crt, other.crt/.key (localhost, other CA),
# wrongname.crt/.key (example.com, our CA), server.pem (certificate and key in one file),
# server-encrypted.key (server.key under the passphrase "secret").
set -eu
dir=${1:?usage: make_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
days=3650

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # name subject
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days $days -out "$1.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

leaf() { # name ca subject-cn extensions
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr"
    printf '%s\n' "$4" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days $days \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

server_ext='subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE'

ca ca "libmsock test CA"
ca other-ca "another test CA"
leaf server ca localhost "$server_ext"
leaf client ca "libmsock test client" 'extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE'
leaf other other-ca localhost "$server_ext"
leaf wrongname ca example.com 'subjectAltName=DNS:example.com
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE'
cat server.crt server.key >server.pem
openssl pkey -in server.key -aes256 -passout pass:secret -out server-encrypted.key
rm -f ./*.srl
