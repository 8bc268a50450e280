#!/usr/bin/env bash
# Import overhead of the outbox (docs/outbox.md, "Cost"): N ssl_import calls
# in one committed transaction with the outbox trigger disabled, enabled
# without consumers, and with one consumer, interleaved for ROUNDS rounds so
# load drift on a shared machine hits all three alike.
#   bash test/outbox/bench.sh [N=10000] [ROUNDS=4]
# Builds test/bench/gen_certs.cpp, starts its own sandbox; needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
n=${1:-10000}; rounds=${2:-4}
out=build/outbox_bench; mkdir -p "$out"
g++ -O2 -std=c++17 -Isrc -o "$out/gen_certs" test/bench/gen_certs.cpp -lcrypto -lpthread
"$out/gen_certs" --count "$n" --seed 7 --out "$out/certs.tsv" 2>/dev/null
chmod 755 "$out"; chmod 644 "$out/certs.tsv"
# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
sandbox_start
one() { # label, extra setup SQL
    psql -X -q -v ON_ERROR_STOP=1 <<SQL 2>&1 | grep -E '^Time: [0-9]+\.[0-9]+ ms' | tail -2 | head -1 | sed "s/^/$1 /"
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
$2
CREATE TEMP TABLE staging (id int, cn text, kt text, pem text);
\\copy staging FROM '$out/certs.tsv'
BEGIN; SELECT ssl_import(pem) FROM staging LIMIT 1; ROLLBACK;
CHECKPOINT;
\\timing on
BEGIN;
SELECT count(ssl_import(pem)) FROM staging;
COMMIT;
\\timing off
SQL
}
for _ in $(seq 1 "$rounds"); do
    one "outbox trigger disabled:" "ALTER TABLE ssl_lifecycle_event DISABLE TRIGGER ssl_lifecycle_event_outbox;"
    one "outbox, no consumer:    " ""
    one "outbox, 1 consumer:     " "SELECT ssl_outbox_subscribe('c1');"
done
