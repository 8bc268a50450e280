SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
DROP ROLE IF EXISTS regress_hist_op;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
-- Security items 4, 10, 11 and 12 (docs/security.md): the true actor, complete
-- history, no user-settable internal switches, CSR key match. Item 13 (no
-- deadlock) is test/isolation/specs/renew_delete_race.spec.
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set samekey `cat test/fixtures/janus-new-samekey.pem`
\set other `cat test/fixtures/p384.pem`
\set csr `cat test/fixtures/csr/rsa-san.csr.pem`
\set csrcert `cat test/fixtures/csr/rsa-san.cert.pem`

CREATE ROLE regress_hist_op LOGIN;
GRANT netbox_ssl_operator TO regress_hist_op;
SELECT ssl_import(:'old') AS a \gset
SELECT ssl_import(:'other') AS b \gset

-- Item 4: actor is the calling role; netbox_ssl.actor is only on_behalf_of.
SET ROLE regress_hist_op;
BEGIN;
SET LOCAL netbox_ssl.actor = 'postgres';
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:a, 'dcim.device', 1), (:a, 'dcim.device', 2);
COMMIT;
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:b, 'dcim.device', 3);
RESET ROLE;
SELECT certificate_id = :a AS on_a, event_type, object_id, actor, on_behalf_of
  FROM ssl_lifecycle_event WHERE event_type = 'assignment_added' ORDER BY id;
-- Inside the extension's SECURITY DEFINER functions too (ssl_renew is one).
SET ROLE regress_hist_op;
BEGIN;
SET LOCAL netbox_ssl.actor = 'alice';
SELECT ssl_renew(:a, :'new') = :a + 2 AS renewed;
SELECT event_type, actor, on_behalf_of FROM ssl_lifecycle_event WHERE occurred_at = now() ORDER BY id;
ROLLBACK;
RESET ROLE;

-- Item 10: a move by UPDATE is logged on both certificates ...
SET ROLE regress_hist_op;
UPDATE ssl_assignment SET certificate_id = :b WHERE certificate_id = :a AND object_id = 2;
RESET ROLE;
SELECT certificate_id = :a AS on_a, event_type, object_type, object_id, description
  FROM ssl_lifecycle_event WHERE occurred_at = (SELECT max(occurred_at) FROM ssl_lifecycle_event) ORDER BY id;
-- ... and seen by the revert check: a renewal whose successor had an
-- assignment moved away since cannot be reverted automatically.
BEGIN;
SELECT ssl_renew(:a, :'new') AS c \gset
SELECT count(*) AS renewal_logged_assignment_events FROM ssl_lifecycle_event
 WHERE occurred_at = now() AND event_type LIKE 'assignment%';
UPDATE ssl_assignment SET certificate_id = :b WHERE certificate_id = :c;
SAVEPOINT s;
SELECT ssl_revert_renewal(:c);
ROLLBACK TO s;
-- Moving it back is a change too.
UPDATE ssl_assignment SET certificate_id = :c WHERE certificate_id = :b AND object_id = 1;
SELECT ssl_revert_renewal(:c);
ROLLBACK;
-- Without a change since the renewal, the revert still works and its move
-- back logs no assignment events.
BEGIN;
SELECT ssl_renew(:a, :'new') AS c \gset
SELECT ssl_revert_renewal(:c) = :a AS reverted;
SELECT certificate_id = :a AS on_a, event_type, old_status, new_status FROM ssl_lifecycle_event
 WHERE occurred_at = now() ORDER BY id;
ROLLBACK;

-- Item 10: every status transition is logged, also a repeated identical one
-- in the same transaction (replaced -> active twice).
BEGIN;
SELECT ssl_renew(:a, :'new') AS c \gset
UPDATE ssl_certificate SET status = 'revoked' WHERE id = :c;
UPDATE ssl_certificate SET status = 'active' WHERE id = :a;
SELECT ssl_renew(:a, :'samekey') AS d \gset
UPDATE ssl_certificate SET status = 'revoked' WHERE id = :d;
UPDATE ssl_certificate SET status = 'active' WHERE id = :a;
SELECT event_type, old_status, new_status FROM ssl_lifecycle_event
 WHERE certificate_id = :a AND occurred_at = now() ORDER BY id;
ROLLBACK;

-- Item 11: no user-settable switches. The purge switch is no setting any more
-- (the prefix is reserved), the authority-matching placeholder has no effect,
-- and the internal switch function is not callable by operators.
SET netbox_ssl.purging_certificate = :b;
SELECT netbox_ssl_internal.ssl_internal_get('purging') AS purging;
DELETE FROM ssl_lifecycle_event WHERE certificate_id = :b;
INSERT INTO ssl_certificate_authority (name, type) VALUES ('Regress Hand CA', 'internal') RETURNING id AS ca \gset
SET ROLE regress_hist_op;
BEGIN;
SET LOCAL netbox_ssl_authorities.matching = 'on';
UPDATE ssl_certificate SET issuing_ca_id = :ca WHERE id = :b;
SELECT issuing_ca_id = :ca AS linked, issuing_ca_source FROM ssl_certificate WHERE id = :b;
ROLLBACK;
SELECT netbox_ssl_internal.ssl_internal_set('matching', 1);
RESET ROLE;
-- A switch set in a subtransaction that fails is cleared with it.
BEGIN;
SAVEPOINT s;
SELECT netbox_ssl_internal.ssl_internal_set('purging', :b);
SELECT 1 / 0;
ROLLBACK TO s;
SELECT netbox_ssl_internal.ssl_internal_get('purging') AS purging_after_abort;
ROLLBACK;
-- The expiry thresholds are checked against each other.
SET netbox_ssl.expiry_critical_days = 40;
SET netbox_ssl.expiry_warning_days = 10;
SET netbox_ssl.expiry_warning_days = 60;
SET netbox_ssl.expiry_critical_days = 40;
SHOW netbox_ssl.expiry_critical_days;
RESET netbox_ssl.expiry_critical_days;
RESET netbox_ssl.expiry_warning_days;

-- Item 12: a request is linked only to a certificate for its key.
SELECT ssl_import_csr(:'csr') AS r \gset
SET ROLE regress_hist_op;
UPDATE ssl_csr SET status = 'issued', resulting_certificate_id = :b WHERE id = :r;
RESET ROLE;
SELECT status, resulting_certificate_id FROM ssl_csr WHERE id = :r;
SELECT ssl_import(:'csrcert') AS e \gset
SELECT status, resulting_certificate_id = :e AS linked_to_its_certificate FROM ssl_csr WHERE id = :r;

-- The session is still usable after every error above.
SELECT count(*) > 0 AS alive FROM ssl_lifecycle_event;

SET client_min_messages = warning;
DROP EXTENSION netbox_ssl CASCADE;
DROP OWNED BY regress_hist_op;
DROP ROLE regress_hist_op;
