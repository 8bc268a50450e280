#!/usr/bin/env bash
# Builds PostgreSQL NN (17, 18, ...) from Debian's own source package and
# installs it into a cache directory outside the clone, keyed by version:
#   /var/cache/netbox_ssl/pgNN-<debian source version>/   (prefix, with .complete)
#   /opt/pgNN -> that directory                            (what callers use)
# A complete cached build of the same version is reused at once, so a repeat
# run costs an index update and nothing else. Then:
#   make PG_CONFIG=/opt/pgNN/bin/pg_config && make install PG_CONFIG=...
# Usage: sudo bash scripts/build-pg.sh 17      (prints the prefix on its last line)
# The source comes from the newer Debian suites' deb-src entries (NN=17:
# trixie, NN>=18: forky, then sid), added in a separate sources file used only
# for source fetching: the system's binary packages are never upgraded.
# Configured minimally (no ICU, readline, zlib, SSL: the suite needs none of
# them in the server); pg_isolation_regress is installed where PGXS looks.
set -euo pipefail
NN="${1:?usage: build-pg.sh MAJOR (e.g. 17)}"
CACHE_ROOT="${NETBOX_SSL_PG_CACHE:-/var/cache/netbox_ssl}"
LINK="/opt/pg$NN"
JOBS="${PG_BUILD_JOBS:-$(nproc)}"
log() { echo "build-pg.sh: $*" >&2; }
if [ "$(id -u)" -ne 0 ]; then log "needs root (apt, /var/cache, /opt); re-run with sudo"; exit 1; fi

case "$NN" in
    17) SUITES="trixie" ;;
    *)  SUITES="forky sid" ;;
esac
# The mirror's index can be ahead of its pool (seen: trixie's index named
# 17.12-0+deb13u1 while only 17.11's files were served). Then this pinned
# source package is used instead: its upstream tarball, checked against the
# SHA-256 from its .dsc.
case "$NN" in
    17) FALLBACK_VERSION="17.11-0+deb13u1"
        FALLBACK_SHA256="dd27f2b3c59e73ed14aa3324901242bf69a032a6347805f274e6260322d42979" ;;
    *)  FALLBACK_VERSION=""; FALLBACK_SHA256="" ;;
esac

# The mirror the system already uses for its own suite (no host is named here).
codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
mirror="$(apt-cache policy | awk -v s="$codename/main" '$3 == s && $2 ~ /^https?:/ {print $2; exit}')"
srclist="/etc/apt/sources.list.d/netbox-ssl-src-pg$NN.list"
newest_cached() { ls -d "$CACHE_ROOT/pg$NN-"*/.complete 2>/dev/null | sed 's,/\.complete$,,' | sort -V | tail -1; }

version=""
if [ -n "$mirror" ]; then
    : >"$srclist.tmp"
    for s in $SUITES; do
        echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main" >>"$srclist.tmp"
    done
    mv "$srclist.tmp" "$srclist"
    # Update only this file's indexes; keep every other list as it is.
    if apt-get update -qq -o Dir::Etc::sourcelist="$srclist" -o Dir::Etc::sourceparts=- \
           -o APT::Get::List-Cleanup=0 >&2; then
        version="$(apt-cache showsrc "postgresql-$NN" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -1)"
    fi
fi
if [ -z "$version" ]; then
    cached="$(newest_cached)"
    if [ -n "$cached" ]; then
        log "source index unavailable; using the cached build $cached"
        ln -sfn "$cached" "$LINK"; echo "$LINK"; exit 0
    fi
    log "cannot find the source package postgresql-$NN (suites: $SUITES)"; exit 1
fi

use_cache() {
    local prefix="$CACHE_ROOT/pg$NN-$1"
    if [ -f "$prefix/.complete" ] && [ -x "$prefix/bin/pg_config" ]; then
        log "PostgreSQL $NN ($1): cached build in $prefix"
        ln -sfn "$prefix" "$LINK"; echo "$LINK"; exit 0
    fi
}
use_cache "$version"

# PostgreSQL 17+ release tarballs no longer ship the generated parser files.
need=()
for p in bison flex perl gcc make dpkg-dev curl bzip2 xz-utils; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

# Fetch the source: the index's version, else the pinned one.
work="$CACHE_ROOT/src/pg$NN"
rm -rf "$work"; mkdir -p "$work"
upstream() { local v="${1%-*}"; echo "${v#*:}"; }
if (cd "$work" && apt-get source --download-only -qq "postgresql-$NN=$version" >"$work/source.log" 2>&1); then
    orig="$(ls "$work"/postgresql-"$NN"_*.orig.tar.* | head -1)"
elif cached="$(newest_cached)" && [ -n "$cached" ]; then
    log "the mirror does not serve postgresql-$NN $version yet; using the cached build $cached"
    rm -rf "$work"; ln -sfn "$cached" "$LINK"; echo "$LINK"; exit 0
elif [ -n "$FALLBACK_VERSION" ]; then
    log "the mirror does not serve postgresql-$NN $version yet; using $FALLBACK_VERSION"
    version="$FALLBACK_VERSION"
    use_cache "$version"
    dir="$(apt-cache showsrc "postgresql-$NN" | awk '/^Directory:/ {print $2; exit}')"
    orig="$work/postgresql-${NN}_$(upstream "$version").orig.tar.bz2"
    curl -fsS -o "$orig" "$mirror/$dir/$(basename "$orig")" \
        || { log "cannot fetch $(basename "$orig")"; exit 1; }
    echo "$FALLBACK_SHA256  $orig" | sha256sum -c --quiet - || { log "checksum mismatch: $orig"; exit 1; }
else
    cat "$work/source.log" >&2; exit 1
fi
PREFIX="$CACHE_ROOT/pg$NN-$version"

log "PostgreSQL $NN ($version): building from source into $PREFIX"
start=$(date +%s)

rm -rf "$PREFIX"
# Only the upstream tarball of the source package is built: Debian's patches
# move files to Debian's multi-version layout, which a private prefix must not.
tar -xf "$orig" -C "$work"
srcdir="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name "postgresql-$NN*" | head -1)"
[ -n "$srcdir" ] || { log "apt-get source left no source tree in $work"; exit 1; }

cd "$srcdir"
{
    ./configure --prefix="$PREFIX" --without-icu --without-readline --without-zlib \
        --without-llvm --disable-nls CFLAGS="-O2" \
    && make -j"$JOBS" -C src all \
    && make -C src install \
    && make -C config install \
    && make -j"$JOBS" -C src/test/isolation all
} >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
# PGXS runs $(pgxsdir)/src/test/isolation/pg_isolation_regress (and pg_regress
# from src/test/regress, which "make -C src install" already puts there).
pgxs="$("$PREFIX/bin/pg_config" --pgxs)"
pgxsdir="$(dirname "$(dirname "$(dirname "$pgxs")")")"
install -d "$pgxsdir/src/test/isolation"
install -m 755 src/test/isolation/pg_isolation_regress src/test/isolation/isolationtester \
    "$pgxsdir/src/test/isolation/"
[ -x "$pgxsdir/src/test/regress/pg_regress" ] || { log "pg_regress missing under $pgxsdir"; exit 1; }
"$PREFIX/bin/postgres" --version >&2
cd /
rm -rf "$work"
# Older builds of the same major are replaced by this one.
for old in "$CACHE_ROOT/pg$NN-"*; do
    [ "$old" = "$PREFIX" ] || rm -rf "$old"
done
touch "$PREFIX/.complete"
ln -sfn "$PREFIX" "$LINK"
log "PostgreSQL $NN ($version) built in $(( $(date +%s) - start )) s"
echo "$LINK"
