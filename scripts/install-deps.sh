#!/usr/bin/env bash
# Installs the Debian 12 packages netbox_ssl needs to build, test and demo.
# Does nothing (and needs no network) when they are already installed.
set -euo pipefail

PACKAGES=(
    g++ make cmake pkg-config openssl libssl-dev
    libpsl-dev publicsuffix                                 # public suffixes (chain rules, host lookup)
    libgtest-dev
    postgresql-15 postgresql-server-dev-15 postgresql-15-cron
    python3 python3-psycopg python3-cryptography
    clang-tidy cppcheck
    clang libclang-rt-14-dev
    debhelper postgresql-server-dev-all debootstrap unzip   # Debian package, make dist
    bison flex curl bzip2                                   # PostgreSQL 17/18 from source
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "netbox_ssl: installing ${missing[*]} needs root; re-run with sudo." >&2
    exit 1
fi
echo "netbox_ssl: installing ${missing[*]}"
# The Debian package would otherwise create and start a 'main' cluster; the
# scripts here always use their own throwaway cluster instead.
mkdir -p /etc/postgresql-common
if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
