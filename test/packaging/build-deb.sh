#!/usr/bin/env bash
# Builds the Debian package from a clean copy of this tree:
#   dpkg-buildpackage -us -uc -b   (in build/deb/netbox-ssl-<version>/)
# and leaves postgresql-NN-netbox-ssl_<version>_<arch>.deb in build/deb/.
# The copy keeps the work tree untouched (dh_auto_clean runs "make clean").
# Usage: sudo bash test/packaging/build-deb.sh   (installs its build deps)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
out="$root/build/deb"
version="$(dpkg-parsechangelog -l debian/changelog -S Version)"
need=()
for p in dpkg-dev debhelper postgresql-server-dev-all g++ libssl-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
rm -rf "$out"
src="$out/netbox-ssl-${version%-*}"
mkdir -p "$src"
tar -C "$root" --exclude=./.git --exclude=./build --exclude='./build-*' --exclude=./results \
    --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude='./netbox_ssl--*.sql' -cf - . \
    | tar -C "$src" -xf -
start=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/dpkg-buildpackage.log" 2>&1 \
    || { tail -40 "$out/dpkg-buildpackage.log"; exit 1; }
ls "$out"/*.deb
echo "built in $(( $(date +%s) - start )) s"
