# Certificates for TLS distribution tests, made with the openssl command
# (sourced, bash). tls_make_certs DIR HOST writes into DIR:
#   ca.pem             the test CA
#   gw.pem/gw.key      the gateway (SAN DNS:HOST)
#   node.pem/node.key  the OTP nodes (SAN DNS:HOST)
#   expired.pem/.key   signed by the CA, valid only in January 2020
#   other.pem/.key     SAN DNS:HOST, signed by another CA (otherca.pem)
#   badname.pem/.key   signed by the CA for a host that is not HOST
# Returns non-zero (and says which step) if openssl fails.

# tls_key DIR NAME: an EC P-256 key, DIR/NAME.key.
tls_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$1/$2.key" 2>/dev/null
}

# tls_ca DIR NAME CN: a self-signed CA, DIR/NAME.pem + .key, and the
# directory openssl ca needs (DIR/NAME.d).
tls_ca() {
    local d=$1 n=$2
    tls_key "$d" "$n" &&
        openssl req -x509 -new -key "$d/$n.key" -subj "/CN=$3" -days 30 \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -out "$d/$n.pem" 2>/dev/null || return 1
    mkdir -p "$d/$n.d" && : >"$d/$n.d/index.txt" &&
        echo 1000 >"$d/$n.d/serial" || return 1
    cat >"$d/$n.cnf" <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = $d/$n.d
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $d/$n.pem
private_key = $d/$n.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = supplied
CNF
}

# tls_leaf DIR CA NAME DNSNAME [STARTDATE ENDDATE]: a key and a
# certificate for DNSNAME signed by CA (valid for 30 days, or between the
# two dates, as YYYYMMDDHHMMSSZ).
tls_leaf() {
    local d=$1 ca=$2 n=$3 dns=$4 dates
    if [ $# -ge 6 ]; then
        dates=(-startdate "$5" -enddate "$6")
    else
        dates=(-days 30)
    fi
    tls_key "$d" "$n" &&
        openssl req -new -key "$d/$n.key" -subj "/CN=$dns" \
            -addext "subjectAltName=DNS:$dns" \
            -addext "keyUsage=critical,digitalSignature" \
            -addext "extendedKeyUsage=serverAuth,clientAuth" \
            -out "$d/$n.csr" 2>/dev/null &&
        openssl ca -batch -config "$d/$ca.cnf" "${dates[@]}" \
            -in "$d/$n.csr" -out "$d/$n.pem" -notext >/dev/null 2>&1
}

tls_make_certs() {
    local d=$1 host=$2
    tls_ca "$d" ca "distgw test CA" || { echo "openssl: the CA"; return 1; }
    tls_ca "$d" otherca "another CA" || { echo "openssl: the other CA"; return 1; }
    tls_leaf "$d" ca gw "$host" || { echo "openssl: gw.pem"; return 1; }
    tls_leaf "$d" ca node "$host" || { echo "openssl: node.pem"; return 1; }
    tls_leaf "$d" ca expired "$host" 20200101000000Z 20200102000000Z ||
        { echo "openssl: expired.pem"; return 1; }
    tls_leaf "$d" otherca other "$host" || { echo "openssl: other.pem"; return 1; }
    tls_leaf "$d" ca badname "not-$host.invalid" ||
        { echo "openssl: badname.pem"; return 1; }
}

# tls_optfile FILE CERT KEY CA: an ssl_dist_optfile for OTP, verifying
# peers both ways against CA.
tls_optfile() {
    cat >"$1" <<OPT
[{server, [{certfile, "$2"}, {keyfile, "$3"}, {cacertfile, "$4"},
           {verify, verify_peer}, {fail_if_no_peer_cert, true},
           {secure_renegotiate, true}]},
 {client, [{certfile, "$2"}, {keyfile, "$3"}, {cacertfile, "$4"},
           {verify, verify_peer}, {secure_renegotiate, true}]}].
OPT
}
