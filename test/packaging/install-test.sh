#!/usr/bin/env bash
# The package-install test: the built .deb on a Debian system with no build
# tools. A minimal Debian chroot (debootstrap --variant=minbase, plus Debian's
# postgresql-NN from the same mirrors as this machine) is cached in
#   /var/cache/netbox_ssl/chroot-<suite>-pgNN/   (.complete marks it usable)
# and copied afresh for every run. In the copy: apt installs the .deb (apt,
# not dpkg, so its Depends are resolved as a user's apt would), the test
# checks that no compiler, make or pg_config is there, starts a cluster with
# Debian's binaries, and runs CREATE EXTENSION netbox_ssl and a parse.
# Usage: sudo bash test/packaging/install-test.sh build/deb/postgresql-15-netbox-ssl_*.deb
set -euo pipefail
cd "$(dirname "$0")/../.."
deb="$(readlink -f "${1:?usage: install-test.sh PACKAGE.deb}")"
pkg="$(dpkg-deb -f "$deb" Package)"
NN="$(sed -n 's/^postgresql-\([0-9]*\)-.*/\1/p' <<<"$pkg")"
suite="$(. /etc/os-release && echo "$VERSION_CODENAME")"
CACHE_ROOT="${NETBOX_SSL_PG_CACHE:-/var/cache/netbox_ssl}"
base="$CACHE_ROOT/chroot-$suite-pg$NN"
log() { echo "install-test: $*"; }

if [ ! -f "$base/.complete" ]; then
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    mirror="$(apt-cache policy | awk -v s="$suite/main" '$3 == s && $2 ~ /^https?:/ {print $2; exit}')"
    log "building the cached chroot $base (debootstrap $suite from this machine's mirror)"
    start=$(date +%s)
    rm -rf "$base"
    debootstrap --variant=minbase "$suite" "$base" "$mirror" >"$CACHE_ROOT/debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE_ROOT/debootstrap.log"; exit 1; }
    # The same suites (updates, security) as this machine, binary packages only.
    rm -f "$base/etc/apt/sources.list"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        case "$f" in *netbox-ssl-src*) continue ;; esac
        grep -qs "debian" "$f" && cp "$f" "$base/etc/apt/sources.list.d/"
    done
    # No 'main' cluster: the test makes its own.
    mkdir -p "$base/etc/postgresql-common"
    echo 'create_main_cluster = false' >"$base/etc/postgresql-common/createcluster.conf"
    chroot "$base" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-$NN" \
        >"$CACHE_ROOT/chroot-apt.log" 2>&1 || { tail -20 "$CACHE_ROOT/chroot-apt.log"; exit 1; }
    chroot "$base" apt-get clean
    touch "$base/.complete"
    log "cached chroot built in $(( $(date +%s) - start )) s"
fi

root="$(mktemp -d /tmp/netbox_ssl_chroot.XXXXXX)"
cleanup() {
    chroot "$root" runuser -u postgres -- /usr/lib/postgresql/$NN/bin/pg_ctl -D /tmp/pgdata -m immediate stop >/dev/null 2>&1 || true
    umount "$root/proc" 2>/dev/null || true
    umount "$root/dev" 2>/dev/null || true
    rm -rf --one-file-system "$root"
}
trap cleanup EXIT
cp -a "$base/." "$root/"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp "$deb" "$root/tmp/"
cp test/fixtures/janus-old.pem "$root/tmp/cert.pem"

log "installing $(basename "$deb") with apt"
chroot "$root" /bin/sh -c "DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 install -y -qq --no-install-recommends /tmp/$(basename "$deb")" \
    || { log "FAILED: apt could not install the package"; exit 1; }
# (Debian's postgresql-NN ships a pg_config and the PGXS makefiles itself;
# without a compiler, make and the server headers they build nothing.)
tools=$(chroot "$root" /bin/sh -c 'for t in cc gcc g++ c++ clang make; do command -v $t; done; ls /usr/include/postgresql/*/server/postgres.h 2>/dev/null' || true)
if [ -n "$tools" ]; then log "FAILED: the chroot has build tools: $tools"; exit 1; fi
log "ok: no compiler, make or server headers in the chroot"

bin=/usr/lib/postgresql/$NN/bin
chroot "$root" runuser -u postgres -- $bin/initdb -D /tmp/pgdata -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
chroot "$root" runuser -u postgres -- $bin/pg_ctl -D /tmp/pgdata -w -l /tmp/pg.log \
    -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start >/dev/null \
    || { cat "$root/tmp/pg.log"; exit 1; }
out=$(chroot "$root" runuser -u postgres -- psql -h /tmp -X -v ON_ERROR_STOP=1 -qAt postgres <<'SQL'
CREATE EXTENSION netbox_ssl;
SELECT extversion FROM pg_extension WHERE extname = 'netbox_ssl';
SELECT (ssl_parse(pg_read_file('/tmp/cert.pem'))).common_name;
SELECT ssl_import(pg_read_file('/tmp/cert.pem'));
SQL
) || { log "FAILED: CREATE EXTENSION / ssl_parse in the chroot"; cat "$root/tmp/pg.log"; exit 1; }
echo "$out"
want_version="$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" netbox_ssl.control)"
if [ "$(sed -n 1p <<<"$out")" != "$want_version" ] || [ "$(sed -n 3p <<<"$out")" != "1" ]; then
    log "FAILED: unexpected output"; exit 1
fi
log "ok: $pkg installed with apt; CREATE EXTENSION netbox_ssl $want_version, ssl_parse and ssl_import work on PostgreSQL $NN without build tools"
