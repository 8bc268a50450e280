#!/usr/bin/env bash
# DoS bounds of netbox_ssl (security item 1, docs/security.md):
#  1. every hostile PEM shape up to the input limit (1 MB) is refused or
#     parsed within DOS_BOUND_MS (default 1000 ms) by every entry point;
#  2. statement_timeout stops long core work within DOS_OVERSHOOT_MS
#     (default 100 ms) of its deadline.
# Each case runs DOS_RUNS times (default 3); the worst time is printed and
# compared with the bound. Times are measured in the server
# (clock_timestamp), so client and network do not count.
#
#   bash test/security/dos_bounds.sh
#
# Connects with the usual PG* variables to a server where the extension is
# installed, and uses a scratch database (DOS_DB, default dos_bounds) that it
# drops and recreates; needs a superuser. With DOS_SANDBOX_PORT=N it starts
# its own throwaway cluster on port N (scripts/pg-sandbox.sh) instead.
# Exits 1 when a bound is exceeded, 2 on setup errors.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bound_ms="${DOS_BOUND_MS:-1000}"
overshoot_ms="${DOS_OVERSHOOT_MS:-100}"
runs="${DOS_RUNS:-3}"
db="${DOS_DB:-dos_bounds}"

if [[ -n "${DOS_SANDBOX_PORT:-}" ]]; then
    # shellcheck source=/dev/null
    source scripts/pg-sandbox.sh
    SANDBOX_PORT="$DOS_SANDBOX_PORT" sandbox_start >/dev/null
    trap 'sandbox_stop >/dev/null 2>&1 || true' EXIT
fi

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" "$@"; }
psql_db() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" "$@"; }

psql_admin -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || exit 2
psql_db >/dev/null <<'SQL' || exit 2
SET client_min_messages = warning;
CREATE EXTENSION netbox_ssl;
-- Milliseconds one call takes, whatever it answers (errors are expected).
CREATE FUNCTION dos_ms(call text) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    BEGIN
        EXECUTE call;
    EXCEPTION WHEN others THEN NULL;
    END;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
-- How far past its deadline a call ran that statement_timeout stopped:
-- -1 when it was not stopped (it finished first).
-- The caller sets statement_timeout (SET LOCAL) before the statement.
CREATE FUNCTION dos_overshoot_ms(call text, timeout_ms int) RETURNS double precision LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE call;
    EXCEPTION WHEN query_canceled THEN
        RETURN extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000 - timeout_ms;
    END;
    RETURN -1;
END $$;
CREATE TABLE dos_input(name text PRIMARY KEY, pem text);
-- The hostile shapes, about 1 MB each (just under the default limit).
INSERT INTO dos_input VALUES
  ('repeated BEGIN',            repeat('-----BEGIN', 104000)),
  ('BEGIN lines on one line',   repeat('-----BEGIN CERTIFICATE-----', 38000)),
  ('BEGIN lines',               repeat(E'-----BEGIN CERTIFICATE-----\n', 37000)),
  ('END lines',                 repeat(E'-----END CERTIFICATE-----\n', 40000)),
  ('dashes',                    repeat('-', 1040000)),
  ('long BEGIN line',           '-----BEGIN ' || repeat('A', 1040000)),
  ('BEGIN without END',         E'-----BEGIN CERTIFICATE-----\n' || repeat(repeat('A', 64) || E'\n', 16000)),
  ('key label at the end',      repeat('-----BEGIN', 100000) || E'\n-----BEGIN PRIVATE KEY-----\n'),
  ('empty certificate blocks',  repeat(E'-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', 19000)),
  ('blocks on one line',        (SELECT string_agg(format('-----BEGIN X%s-----AAAA-----END X%s-----', i, i), '')
                                   FROM generate_series(1, 22000) AS i)),
  ('blocks, distinct labels',   (SELECT string_agg(format(E'-----BEGIN X%s-----\nAAAA\n-----END X%s-----\n', i, i), '')
                                   FROM generate_series(1, 22000) AS i));
SQL
leaf="$(cat test/fixtures/chain/leaf.pem)"
int="$(cat test/fixtures/chain/intermediate.pem)"
root="$(cat test/fixtures/chain/root.pem)"
# A stored certificate whose issuer_chain is planted (triggers bypassed).
leaf_id="$(psql_db -v leaf="$leaf" -v int="$int" -v root="$root" <<'SQL'
SELECT ssl_trust_anchor_load(:'root') \g /dev/null
SELECT ssl_import(:'leaf' || :'int');
SQL
)" || exit 2

fail=0
printf '%-28s %-34s %10s\n' "shape" "entry point" "worst ms"
entries=(
    "ssl_parse(text)|SELECT ssl_parse(pem) FROM dos_input WHERE name = \$n\$%s\$n\$"
    "ssl_parse(bytea)|SELECT ssl_parse(convert_to(pem, 'UTF8')) FROM dos_input WHERE name = \$n\$%s\$n\$"
    "ssl_parse_csr|SELECT ssl_parse_csr(pem) FROM dos_input WHERE name = \$n\$%s\$n\$"
    "ssl_import_bundle|SELECT count(*) FROM dos_input, ssl_import_bundle(pem) WHERE name = \$n\$%s\$n\$"
    "ssl_chain_split_pem|SELECT ssl_chain_split_pem(pem) FROM dos_input WHERE name = \$n\$%s\$n\$"
    "ssl_validate_chain (planted)|UPDATE ssl_certificate SET issuer_chain = (SELECT pem FROM dos_input WHERE name = \$n\$%s\$n\$) WHERE id = $leaf_id; SELECT * FROM ssl_validate_chain($leaf_id)"
)
worst_all=0
mapfile -t shapes < <(psql_db -c "SELECT name FROM dos_input ORDER BY name")
for shape in "${shapes[@]}"; do
    for entry in "${entries[@]}"; do
        label="${entry%%|*}"
        # shellcheck disable=SC2059
        call="$(printf "${entry#*|}" "$shape")"
        worst="$(psql_db -v call="$call" -v runs="$runs" <<'SQL'
SET session_replication_role = replica;
SELECT round(max(dos_ms(:'call'))::numeric, 1) FROM generate_series(1, :runs);
SQL
)"
        printf '%-28s %-34s %10s\n' "$shape" "$label" "$worst"
        if awk -v w="$worst" -v b="$bound_ms" 'BEGIN { exit !(w > b) }'; then
            echo "  ^ above the bound of $bound_ms ms"
            fail=1
        fi
        worst_all="$(awk -v w="$worst" -v a="$worst_all" 'BEGIN { print (w > a ? w : a) }')"
    done
done
echo "worst hostile shape: $worst_all ms (bound $bound_ms ms)"

# Legitimate long calls, stopped by a 200 ms statement_timeout.
printf '\n%-60s %14s\n' "long call stopped by statement_timeout = 200 ms" "overshoot ms"
psql_db -v leaf="$leaf" -v int="$int" >/dev/null <<'SQL' || exit 2
SET session_replication_role = replica;
UPDATE ssl_certificate SET issuer_chain = repeat(:'int', 20000) WHERE issuer_chain IS NOT NULL;
INSERT INTO dos_input VALUES ('long bundle', :'leaf' || repeat(:'int', 20000));
SQL
long_calls=(
    "ssl_validate_chain, issuer_chain of 20,000 certificates|SELECT * FROM ssl_validate_chain($leaf_id)"
    "ssl_chain_split_pem, 20,000 certificates|SELECT ssl_chain_split_pem(pem) FROM dos_input WHERE name = 'long bundle'"
    "ssl_parse, 20,000 certificates (limit raised)|SELECT ssl_parse(pem) FROM dos_input WHERE name = 'long bundle'"
    "ssl_import_bundle, 20,000 certificates|SELECT count(*) FROM dos_input, ssl_import_bundle(pem, 'skip') WHERE name = 'long bundle'"
)
worst_over=0
for entry in "${long_calls[@]}"; do
    label="${entry%%|*}"
    call="${entry#*|}"
    worst=-1
    for ((i = 0; i < runs; i++)); do
        o="$(psql_db -v call="$call" <<'SQL'
BEGIN;
SET LOCAL netbox_ssl.max_input_bytes = '64MB';
SET LOCAL statement_timeout = 200;
SELECT round(dos_overshoot_ms(:'call', 200)::numeric, 1);
ROLLBACK;
SQL
)"
        if awk -v o="$o" 'BEGIN { exit !(o < 0) }'; then
            echo "  $label: finished before the deadline (not a long call here)"
        fi
        worst="$(awk -v w="$worst" -v o="$o" 'BEGIN { print (o > w ? o : w) }')"
    done
    printf '%-60s %14s\n' "$label" "$worst"
    if awk -v w="$worst" -v b="$overshoot_ms" 'BEGIN { exit !(w > b) }'; then
        echo "  ^ above the bound of $overshoot_ms ms"
        fail=1
    fi
    worst_over="$(awk -v w="$worst" -v a="$worst_over" 'BEGIN { print (w > a ? w : a) }')"
done
echo "worst overshoot past statement_timeout: $worst_over ms (bound $overshoot_ms ms)"

psql_admin -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
if [[ $fail -ne 0 ]]; then
    echo "dos_bounds: FAILED" >&2
    exit 1
fi
echo "dos_bounds: ok"
