#!/usr/bin/env bash
# The Janus renewal end to end, on a throwaway local cluster:
# installs missing Debian packages, builds and installs netbox_ssl, starts a
# temporary PostgreSQL (as the postgres user), then walks through the
# tutorial: import, assign, find the candidate, preview, renew, verify,
# and shows the one-call revert.
# Set SANDBOX_KEEP=1 to keep the cluster's directory afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi

scripts/install-deps.sh
mkdir -p build
echo "Building and installing netbox_ssl..."
make -s >build/make.log 2>&1 || { tail -30 build/make.log; exit 1; }
make -s install >>build/make.log 2>&1 || { tail -30 build/make.log; exit 1; }

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
sandbox_start
echo "Throwaway PostgreSQL $(pg_config --version | awk '{print $2}') running in $SANDBOX_DIR"
echo

psql -X -v ON_ERROR_STOP=1 -q \
     -v old="$(cat test/fixtures/janus-old.pem)" \
     -v new="$(cat test/fixtures/janus-new.pem)" <<'SQL'
\pset footer off
\echo '== 0. CREATE EXTENSION netbox_ssl'
CREATE EXTENSION netbox_ssl;

\echo '== 1. Import the current certificate for www.example.com and deploy it on three objects'
SELECT ssl_import(:'old', private_key_location => 'vault:secret/www', tenant => 'web') AS old_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
VALUES (:old_id, 'ipam.service', 101), (:old_id, 'ipam.service', 102), (:old_id, 'dcim.device', 7);
SELECT id, common_name, status, valid_to::date, serial_number,
       (SELECT count(*) FROM ssl_assignment a WHERE a.certificate_id = c.id) AS assignments
  FROM ssl_certificate c;

\echo '== 2. A replacement arrives: which stored certificate does it renew?'
SELECT ssl_renewal_candidate(:'new') AS candidate_id;

\echo '== 3. The Janus comparison'
SELECT field, current_value, new_value, matches FROM ssl_renewal_preview(:old_id, :'new')
 WHERE field <> 'spki_sha256';

\echo '== 4. Renew & Transfer, in one transaction'
BEGIN;
SET LOCAL netbox_ssl.actor = 'demo-admin';
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
COMMIT;

\echo '== 5. Verify: the old certificate is replaced, every assignment moved, both events linked'
SELECT id, status, replaced_by, valid_to::date,
       (SELECT count(*) FROM ssl_assignment a WHERE a.certificate_id = c.id) AS assignments
  FROM ssl_certificate c ORDER BY id;
SELECT id, certificate_id, object_type, object_id FROM ssl_assignment ORDER BY id;
SELECT certificate_id, event_type, old_status, new_status, related_certificate_id, actor
  FROM ssl_lifecycle_event ORDER BY id;

\echo '== 6. Renewing the old certificate again is refused with SQLSTATE 55000, naming the successor'
\set ON_ERROR_STOP 0
\set VERBOSITY default
SELECT ssl_renew(:old_id, :'new');
\set ON_ERROR_STOP 1

\echo '== 7. Changed your mind? One call reverts the renewal (rolled back here, to keep the result)'
BEGIN;
SELECT ssl_revert_renewal(:new_id) AS back_to;
SELECT id, status, (SELECT count(*) FROM ssl_assignment a WHERE a.certificate_id = c.id) AS assignments
  FROM ssl_certificate c ORDER BY id;
ROLLBACK;

SELECT CASE WHEN (SELECT status FROM ssl_certificate WHERE id = :old_id) = 'replaced'
             AND (SELECT count(*) FROM ssl_assignment WHERE certificate_id = :new_id) = 3
             AND (SELECT count(*) FROM ssl_assignment WHERE certificate_id = :old_id) = 0
             AND (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type IN ('renewed', 'activated')) = 2
            THEN 'Janus renewal succeeded: 3 assignments moved from certificate ' || :old_id || ' to ' || :new_id
            ELSE 'Janus renewal FAILED' END AS outcome \gset
\echo
\echo :outcome
SQL

# The same workflow on NetBox's own tables (the NetBox SSL plugin's, created
# as its Django migrations create them), with the bridge attached: once from
# NetBox's side (the statements its UI sends), once from psql; both sides
# end equal (docs/netbox.md, "Walk-through"). Its own throwaway cluster.
echo
echo "== NetBox: the Janus renewal on the plugin's tables, with the bridge attached (test/netbox/walkthrough.sh)"
bash test/netbox/walkthrough.sh
