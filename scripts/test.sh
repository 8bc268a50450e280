#!/usr/bin/env bash
# Runs every test of netbox_ssl and ends with "N passed, N failed":
#   1. GoogleTest unit tests of src/core, built with ASan + UBSan;
#   2. make && make install of the extension;
#   3. pg_regress (test/sql/, test/expected/) and isolation tests (test/isolation/)
#      against a throwaway cluster started as the postgres user;
#   4. checks of that server's log: no crash, no private key material;
#   5. the same pg_regress + isolation suite (and the hot-standby test) on
#      PostgreSQL 17 and 18, built from Debian's source packages by
#      scripts/build-pg.sh (cached by version); one "pgNN:" line per version;
#   6. META.json, make dist, and the Debian package installed into a minimal
#      chroot without build tools;
#   plus static analysis of src/, a deterministic libFuzzer run per target
#   (scripts/fuzz.sh --ci), the schema-identity test, the Janus load test
#   (pgbench, scripts/loadtest.sh LOAD_MODE=janus), the Python
#   application example, the outbox listener/worker/pg_cron tests, and a
#   pg_dump/restore round trip.
# Installs missing Debian packages first. Needs root (re-runs itself with sudo).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi

scripts/install-deps.sh || exit 1
mkdir -p build
rm -f build/pg-build-failed
# PostgreSQL 17 and 18 for the per-version section: built now, niced, in the
# background (they take the core the single-process sections leave idle);
# with a warm cache (/var/cache/netbox_ssl) this takes seconds.
( for v in ${NETBOX_SSL_OTHER_PG:-17 18}; do
      nice -n 19 bash scripts/build-pg.sh "$v" >"build/pg$v-build.log" 2>&1 || echo "$v" >>build/pg-build-failed
  done ) &
pg_build_pid=$!
export PATH="$(pg_config --bindir):$PATH"

passed=0
failed=0
failures=()
pass() { passed=$((passed + $1)); }
fail() { failed=$((failed + $1)); failures+=("$2"); }
section() { printf '\n=== %s ===\n' "$1"; }
version_lines=()  # "pgNN: N passed, N failed", printed before the total
# pg_regress + isolation (the Makefile's lists) against the running server;
# extra arguments go to make (e.g. PG_CONFIG=...). Sets n_ok and n_bad.
run_installcheck() {
    local log="$1"; shift
    rm -rf results regression.diffs regression.out test/isolation/results test/isolation/regression.*
    make installcheck "$@" >"$log" 2>&1
    # pg_regress 15 prints "test name ... ok"; 16 and later print TAP lines
    # ("ok 1 - name", "not ok 2 - name").
    grep -E '^(test |     )\S+ +\.\.\. |^(not )?ok [0-9]+ ' "$log"
    n_ok=$(grep -cE '^(test |     )\S+ +\.\.\. ok|^ok [0-9]+ ' "$log")
    n_bad=$(grep -cE '^(test |     )\S+ +\.\.\. FAILED|^not ok [0-9]+ |^Bail out!' "$log")
}

section "unit tests (GoogleTest, ASan + UBSan)"
# The differential test compares every certificate of the shared developer
# corpus when it is there (CMakeLists.txt looks beside the checkout and at
# /work/shared/corpus); on a machine without it those tests are skipped on
# purpose, and said so, instead of failing.
if [ -z "${NETBOX_SSL_CORPUS_DIR:-}" ] && [ ! -f ../shared/corpus/index.tsv ] && [ ! -f ../../shared/corpus/index.tsv ] \
   && [ ! -f /work/shared/corpus/index.tsv ]; then
    echo "NOTE: shared/corpus not found: the corpus unit tests are skipped (NETBOX_SSL_SKIP_CORPUS=1)"
    export NETBOX_SSL_SKIP_CORPUS=1
fi
if cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DNETBOX_SSL_SANITIZE=ON >build/cmake.log 2>&1 \
   && cmake --build build/asan -j"$(nproc)" >>build/cmake.log 2>&1; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        build/asan/unit_tests --gtest_color=no >build/unit.log 2>&1
    unit_rc=$?
    n_ok=$(grep -c '^\[       OK \]' build/unit.log)
    n_bad=$(grep '^\[  FAILED  \] .*\.' build/unit.log | grep -v 'listed below' | sort -u | wc -l)
    grep -E '^\[  (PASSED|FAILED)  \]|ERROR: (Address|Undefined|Leak)Sanitizer|runtime error' build/unit.log | head -20
    pass "$n_ok"
    [ "$n_bad" -gt 0 ] && fail "$n_bad" "unit tests (see build/unit.log)"
    if [ "$unit_rc" -ne 0 ] && [ "$n_bad" -eq 0 ]; then fail 1 "unit test binary exited $unit_rc (sanitizer report? see build/unit.log)"; fi
else
    tail -30 build/cmake.log
    fail 1 "unit test build"
fi

section "static analysis (clang-tidy, cppcheck)"
if bash scripts/lint.sh >build/lint.log 2>&1; then tail -1 build/lint.log; pass 1
else head -40 build/lint.log; fail 1 "static analysis (see build/lint.log)"; fi

section "fuzzing (libFuzzer, CI mode: corpora and regressions replayed, then -seed=1 for fixed runs)"
# Deterministic: the same inputs on every run. FUZZ_SECONDS=N switches to
# the random mode (N seconds per target) for a longer, exploratory run.
if { if [[ -n "${FUZZ_SECONDS:-}" ]]; then bash scripts/fuzz.sh "$FUZZ_SECONDS"; else bash scripts/fuzz.sh --ci; fi; } \
        >build/fuzz.log 2>&1; then
    sed -n '/fuzz.sh: summary/,$p' build/fuzz.log
    pass 6  # one per target: fuzz_pem fuzz_der fuzz_private_key fuzz_bundle fuzz_csr fuzz_chain
else
    tail -20 build/fuzz.log
    fail 1 "fuzzing (see build/fuzz.log)"
fi

section "build and install the extension"
if make -s >build/make.log 2>&1 && make -s install >>build/make.log 2>&1; then
    echo "installed into $(pg_config --pkglibdir)"
else
    tail -30 build/make.log
    fail 1 "extension build"
    echo; echo "$passed passed, $failed failed"; exit 1
fi

section "pg_regress and isolation tests"
# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
if ! sandbox_start; then
    fail 1 "start throwaway PostgreSQL"
    echo; echo "$passed passed, $failed failed"; exit 1
fi
run_installcheck build/installcheck.log
pass "$n_ok"
version_lines+=("pg$(pg_config --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/'): $n_ok passed, $n_bad failed")
if [ "$n_bad" -gt 0 ]; then
    fail "$n_bad" "pg_regress/isolation (see regression.diffs, test/isolation/regression.diffs)"
    cat regression.diffs test/isolation/regression.diffs 2>/dev/null | head -60
fi
if [ $((n_ok + n_bad)) -eq 0 ]; then tail -30 build/installcheck.log; fail 1 "installcheck did not run"; fi

section "schema identity (test/schema/identity.sh: fresh install = 1.0 + updates)"
if bash test/schema/identity.sh >build/schema_identity.log 2>&1; then
    tail -1 build/schema_identity.log; pass 1
else
    head -60 build/schema_identity.log; fail 1 "schema identity (see build/schema_identity.log)"
fi

section "Janus load: renewals and reverts against multi-row assignment DELETEs (scripts/loadtest.sh, own cluster, about 50 s)"
# Security item 13: any deadlock (40P01), unexpected error or broken invariant fails.
if LOAD_MODE=janus LOAD_SECONDS=30 LOAD_SKIP_BUILD=1 SANDBOX_PORT=54381 bash scripts/loadtest.sh >build/loadtest.log 2>&1; then
    grep -E '^  (number of transactions|tps)|^deadlocks =|^all invariants hold' build/loadtest.log; pass 1
else
    grep -E '^  (number of transactions|tps)|^deadlocks =|INVARIANT VIOLATED' build/loadtest.log || tail -30 build/loadtest.log
    fail 1 "Janus load test (scripts/loadtest.sh LOAD_MODE=janus, see build/loadtest.log)"
fi

section "application example (examples/janus.py, psycopg)"
createdb example_app
first=$(PGDATABASE=example_app /usr/bin/python3 examples/janus.py test/fixtures/janus-old.pem test/fixtures/janus-new.pem 2>&1)
first_rc=$?
second=$(PGDATABASE=example_app /usr/bin/python3 examples/janus.py test/fixtures/janus-old.pem test/fixtures/janus-new.pem 2>&1)
second_rc=$?
echo "$first" | tail -1
echo "$second" | tail -1
if [ "$first_rc" -eq 0 ] && grep -q '^renewed: certificate 1 -> 2, 1 assignment' <<<"$first" \
   && [ "$second" != "" ] && [ "$second_rc" -eq 1 ] && grep -q 'already replaced by certificate 2' <<<"$second"; then
    pass 1
else
    echo "$first"; echo "$second"
    fail 1 "examples/janus.py"
fi

section "outbox: listening session (test/outbox/listen_test.py, psycopg)"
if /usr/bin/python3 test/outbox/listen_test.py >build/outbox_listen.log 2>&1; then
    tail -1 build/outbox_listen.log; pass 1
else
    cat build/outbox_listen.log; fail 1 "NOTIFY listening test (test/outbox/listen_test.py)"
fi

section "outbox: webhook worker at-least-once (test/outbox/worker_test.sh)"
if bash test/outbox/worker_test.sh >build/outbox_worker.log 2>&1; then
    grep '^ok:' build/outbox_worker.log; pass 1
else
    tail -40 build/outbox_worker.log; fail 1 "outbox worker (test/outbox/worker_test.sh)"
fi

section "pg_cron recipe of docs/outbox.md (test/outbox/cron_recipe.sh, own cluster, about a minute)"
if bash test/outbox/cron_recipe.sh >build/cron_recipe.log 2>&1; then
    tail -1 build/cron_recipe.log; pass 1
else
    tail -40 build/cron_recipe.log; fail 1 "pg_cron recipe (test/outbox/cron_recipe.sh)"
fi

section "chain validation agreement (test/limbo/run.sh: x509-limbo and real-site chains, own cluster)"
if bash test/limbo/run.sh >build/limbo.log 2>&1; then
    grep -E 'agree' build/limbo.log; pass 1
else
    tail -40 build/limbo.log; fail 1 "limbo agreement (test/limbo/run.sh, see build/limbo.log)"
fi

section "NetBox walk-through of scripts/demo.sh (test/netbox/walkthrough.sh, own cluster)"
if NETBOX_WALK_PORT=54385 bash test/netbox/walkthrough.sh >build/netbox_walkthrough.log 2>&1; then
    tail -1 build/netbox_walkthrough.log; pass 1
else
    tail -30 build/netbox_walkthrough.log; fail 1 "NetBox walk-through (test/netbox/walkthrough.sh, see build/netbox_walkthrough.log)"
fi

section "dump and restore"
if bash test/dump/dump_restore.sh; then pass 1; else fail 1 "pg_dump / restore (test/dump/dump_restore.sh)"; fi

section "hot standby (test/standby/run.sh: pg_basebackup -R, reads answer, writers 25006)"
if SANDBOX_PORT=$((${SANDBOX_PORT:-54329} + 10)) bash test/standby/run.sh >build/standby.log 2>&1; then
    tail -1 build/standby.log; pass 1
else
    tail -40 build/standby.log; fail 1 "hot standby (test/standby/run.sh, see build/standby.log)"
fi

section "PGXN: LICENSE, META.json (test/packaging/check-meta.py) and make dist"
if /usr/bin/python3 test/packaging/check-meta.py && make -s dist >build/dist.log 2>&1 \
   && unzip -l "$(tail -1 build/dist.log)" >build/dist-list.log \
   && grep -qE ' netbox_ssl-[0-9.]+/META\.json$' build/dist-list.log; then
    echo "ok: $(tail -1 build/dist.log), $(tail -1 build/dist-list.log | awk '{print $2}') files"
    pass 1
else
    cat build/dist.log; fail 1 "META.json / make dist"
fi

section "Debian package (dpkg-buildpackage, then apt install into a minimal chroot without build tools)"
if bash test/packaging/build-deb.sh >build/deb.log 2>&1; then
    tail -1 build/deb.log; pass 1
    for deb in build/deb/postgresql-*-netbox-ssl_*.deb; do
        if bash test/packaging/install-test.sh "$deb" >build/deb_install.log 2>&1; then
            tail -1 build/deb_install.log; pass 1
        else
            tail -30 build/deb_install.log; fail 1 "package install test ($deb, see build/deb_install.log)"
        fi
    done
else
    tail -30 build/deb.log; fail 1 "dpkg-buildpackage (test/packaging/build-deb.sh, see build/deb.log)"
fi

section "other PostgreSQL versions (scripts/build-pg.sh, cached in /var/cache/netbox_ssl): pg_regress, isolation, standby"
# Each version: its own copy of the tree (build/pgNN/src), its own build
# and install (make PG_CONFIG=/opt/pgNN/bin/pg_config), its own throwaway
# cluster with that version's binaries.
for v in ${NETBOX_SSL_OTHER_PG:-17 18}; do
    echo "--- PostgreSQL $v"
    if [ -n "${pg_build_pid:-}" ]; then wait "$pg_build_pid"; pg_build_pid=; fi
    if grep -qx "$v" build/pg-build-failed 2>/dev/null || [ ! -x "/opt/pg$v/bin/pg_config" ]; then
        tail -20 "build/pg$v-build.log"; fail 1 "PostgreSQL $v build (build/pg$v-build.log)"
        version_lines+=("pg$v: 0 passed, 1 failed"); continue
    fi
    grep '^build-pg.sh: ' "build/pg$v-build.log" | tail -1
    pgc="/opt/pg$v/bin/pg_config"
    tree="build/pg$v/src"
    rm -rf "build/pg$v"; mkdir -p "$tree"
    tar --exclude=./.git --exclude=./build --exclude='./build-*' --exclude=./results --exclude='*.o' --exclude='*.so' \
        --exclude='*.bc' --exclude='./netbox_ssl--*.sql' --exclude=./test/isolation/results -cf - . | tar -C "$tree" -xf -
    if ! (make -C "$tree" -s PG_CONFIG="$pgc" && make -C "$tree" -s PG_CONFIG="$pgc" install) >"build/pg$v-make.log" 2>&1; then
        tail -30 "build/pg$v-make.log"; fail 1 "extension build for PostgreSQL $v (build/pg$v-make.log)"
        version_lines+=("pg$v: 0 passed, 1 failed"); continue
    fi
    # A subshell: its own sandbox and PG* variables; the main server stays up.
    counts=$(
        cd "$tree" || exit 1
        base_port=${SANDBOX_PORT:-54329}
        export SANDBOX_BINDIR="/opt/pg$v/bin" SANDBOX_PORT=$((base_port + v - 10))
        SANDBOX_DIR=
        # shellcheck source=scripts/pg-sandbox.sh
        source scripts/pg-sandbox.sh
        trap sandbox_stop EXIT
        sandbox_start >&2 || { echo "0 1"; exit 0; }
        run_installcheck "../installcheck.log" PG_CONFIG="$pgc" >&2
        if [ "$n_bad" -gt 0 ]; then cat regression.diffs test/isolation/regression.diffs 2>/dev/null | head -60 >&2; fi
        [ $((n_ok + n_bad)) -eq 0 ] && { tail -20 ../installcheck.log >&2; n_bad=1; }
        sandbox_stop
        if SANDBOX_PORT=$((base_port + 12 + 2 * (v - 17))) bash test/standby/run.sh >../standby.log 2>&1; then
            tail -1 ../standby.log >&2; n_ok=$((n_ok + 1))
        else
            tail -30 ../standby.log >&2; n_bad=$((n_bad + 1))
        fi
        echo "$n_ok $n_bad"
    )
    read -r v_ok v_bad <<<"${counts:-0 1}"
    pass "$v_ok"
    [ "$v_bad" -gt 0 ] && fail "$v_bad" "PostgreSQL $v (see build/pg$v/)"
    version_lines+=("pg$v: $v_ok passed, $v_bad failed")
done

section "server log checks"
cp "$SANDBOX_LOG" build/server.log
if grep -E 'terminated by signal|was terminated|PANIC|server process .* exited with exit code [^0]' build/server.log; then
    fail 1 "server log shows a crashed backend"
else
    echo "ok: no backend crashed"; pass 1
fi
key_leaked=0
# The keys test/sql/errors.sql, test/sql/bad_input.sql and test/sql/sec_keylog.sql send in
# every error situation (docs/security.md, item 5).
for keyfile in test/fixtures/key-only.pem test/fixtures/leaf-with-key.pem; do
    # Every base64 line of the private key blocks must be absent from the log.
    while read -r line; do
        [ ${#line} -ge 40 ] && grep -qF "$line" build/server.log && { key_leaked=1; echo "key line in the log: $keyfile"; }
    done < <(sed -n '/PRIVATE KEY-----/,/END .*PRIVATE KEY-----/p' "$keyfile" | grep -v -- '-----')
done
# DER keys: every 64-character piece of their base64 and hex forms.
for keyfile in test/fixtures/key-only.der; do
    for form in "$(base64 -w0 "$keyfile")" "$(od -An -tx1 -v "$keyfile" | tr -d ' \n')"; do
        for ((i = 0; i + 64 <= ${#form}; i += 64)); do
            grep -qiF "${form:i:64}" build/server.log && { key_leaked=1; echo "key piece in the log: $keyfile"; }
        done
    done
done
if [ "$key_leaked" -eq 0 ]; then echo "ok: no private key material in the server log"; pass 1
else fail 1 "private key material found in the server log"; fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "duration: $SECONDS s"
for l in "${version_lines[@]}"; do echo "$l"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
