#!/usr/bin/env bash
# Install what building, running and testing the project needs (Debian 12).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  build-essential cmake pkg-config git ca-certificates
  libevent-dev libssl-dev zlib1g-dev libjansson-dev libcmocka-dev
  clang libclang-rt-14-dev clang-format
  erlang-base erlang-dev erlang-ssl erlang-crypto erlang-public-key
  systemd iproute2 procps psmisc curl jq python3 python3-yaml dnsmasq-base openssl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
