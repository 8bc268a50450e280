-- The Janus renewal, step by step as in the NetBox SSL tutorial.
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set samekey `cat test/fixtures/janus-new-samekey.pem`
\set upper `cat test/fixtures/janus-new-upper.pem`
\set other `cat test/fixtures/other-cn.pem`

-- Step 1: an existing certificate with three assignments.
SELECT ssl_import(:'old', 'vault:secret/www', 'acme') AS old_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id, notes)
VALUES (:old_id, 'ipam.service', 101, 'https on web-1'),
       (:old_id, 'ipam.service', 102, 'https on web-2'),
       (:old_id, 'virtualization.virtualmachine', 7, NULL);
SELECT ssl_import(:'other') AS other_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:other_id, 'dcim.device', 1);

-- Step 2: the replacement arrives; the same Common Name finds the candidate.
SELECT ssl_renewal_candidate(:'new') = :old_id AS candidate_found;
SELECT ssl_renewal_candidate(:'new', 'acme') = :old_id AS candidate_same_tenant,
       ssl_renewal_candidate(:'new', 'other-tenant') IS NULL AS no_candidate_other_tenant,
       ssl_renewal_candidate(:'old') IS NULL AS never_itself,
       ssl_renewal_candidate(:'upper') = :old_id AS case_insensitive;

-- Step 3: the Janus comparison.
SELECT * FROM ssl_renewal_preview(:old_id, :'new');

-- Step 4: Renew & Transfer.
SELECT ssl_renew(:old_id, :'new') AS new_id \gset

-- Step 5: verify.
SELECT id, common_name, status, replaced_by = :new_id AS replaced_by_new, tenant, private_key_location
  FROM ssl_certificate WHERE id IN (:old_id, :new_id) ORDER BY id;
-- Assignments moved, not copied: same ids, none left on the old certificate.
SELECT id, certificate_id = :new_id AS on_new, object_type, object_id, notes
  FROM ssl_assignment WHERE object_type <> 'dcim.device' ORDER BY id;
SELECT count(*) AS left_on_old FROM ssl_assignment WHERE certificate_id = :old_id;
-- Unrelated assignments are untouched.
SELECT certificate_id = :other_id AS untouched FROM ssl_assignment WHERE object_type = 'dcim.device';
-- A lifecycle event on each, linking them.
SELECT certificate_id = :old_id AS on_old, event_type, old_status, new_status,
       related_certificate_id = CASE WHEN certificate_id = :old_id THEN :new_id ELSE :old_id END AS links_other
  FROM ssl_lifecycle_event WHERE event_type IN ('renewed', 'activated') ORDER BY id;
-- The new certificate is now the candidate's answer for its CN.
SELECT ssl_renewal_candidate(:'samekey') = :new_id AS candidate_is_successor;

-- Assignments cannot be added to the replaced certificate; the error names
-- the certificate that replaced it.
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'ipam.service', 103);
UPDATE ssl_assignment SET certificate_id = :old_id WHERE object_id = 101;
SELECT count(*) AS left_on_old FROM ssl_assignment WHERE certificate_id = :old_id;
-- The successor takes them.
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:new_id, 'ipam.service', 103);

-- The next replacement reuses the first certificate's RSA key: the preview
-- shows the key change against the current one and the reuse against the first.
SELECT field, matches, new_value FROM ssl_renewal_preview(:new_id, :'samekey') WHERE field IN ('key', 'spki_sha256', 'assignments');
SELECT field, matches, new_value FROM ssl_renewal_preview(:old_id, :'samekey') WHERE field IN ('key', 'spki_sha256');
-- Renewing with a new key location records it on the new row only.
SELECT ssl_renew(:new_id, :'samekey', 'vault:secret/www-2025') AS third_id \gset
SELECT id, status, private_key_location, (SELECT count(*) FROM ssl_assignment a WHERE a.certificate_id = c.id) AS assignments
  FROM ssl_certificate c WHERE common_name ILIKE 'www.example.com' ORDER BY id;

-- A CN that differs only in letter case is the same name.
SELECT ssl_renew(:third_id, :'upper') AS fourth_id \gset
SELECT status, common_name FROM ssl_certificate WHERE id = :fourth_id;

-- Renewing across names needs allow_cn_change.
\set api2 `cat test/fixtures/p384.pem`
SELECT ssl_renew(:other_id, :'api2');
SELECT ssl_renew(:other_id, :'api2', allow_cn_change => true) IS NOT NULL AS renewed_across_names;
SELECT object_type, certificate_id <> :other_id AS moved FROM ssl_assignment WHERE object_type = 'dcim.device';

-- An expired certificate can be renewed too; its renewed event records that.
\set expired `cat test/fixtures/expired.pem`
SELECT ssl_import(:'expired') AS expired_id \gset
UPDATE ssl_certificate SET tenant = 'legacy' WHERE id = :expired_id;
\set nocn `cat test/fixtures/no-cn.pem`
SELECT ssl_renew(:expired_id, :'nocn', NULL, true) AS from_expired \gset
SELECT event_type, old_status, new_status FROM ssl_lifecycle_event
 WHERE certificate_id = :expired_id ORDER BY id;
SELECT tenant FROM ssl_certificate WHERE id = :from_expired;

-- The whole chain of renewals of www.example.com, from the audit trail.
SELECT c.id - :old_id AS step, c.status, e.event_type, e.related_certificate_id - :old_id AS related_step
  FROM ssl_certificate c JOIN ssl_lifecycle_event e ON e.certificate_id = c.id
 WHERE lower(c.common_name) = 'www.example.com' AND e.event_type NOT LIKE 'assignment%' ORDER BY e.id;

-- After several renewals, the hint names the certificate in service now.
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'ipam.service', 105);
SELECT :fourth_id AS in_service_now;
