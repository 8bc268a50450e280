-- ALTER EXTENSION netbox_ssl UPDATE: from 1.0 to the current version, with
-- the data kept and the new lifecycle working on rows written by 1.0.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set other `cat test/fixtures/other-cn.pem`
CREATE EXTENSION netbox_ssl VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'netbox_ssl';
SELECT ssl_import(:'old') AS old_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'ipam.service', 1), (:old_id, 'ipam.service', 2);
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
SELECT ssl_import(:'other') AS other_id \gset
SELECT to_regprocedure('ssl_revert_renewal(bigint)') IS NULL AS no_revert_in_1_0;
CREATE TEMP TABLE before AS
SELECT (SELECT string_agg(format('%s:%s:%s:%s', id, status, replaced_by, fingerprint_sha256), ',' ORDER BY id) FROM ssl_certificate) AS certs,
       (SELECT string_agg(format('%s:%s', id, certificate_id), ',' ORDER BY id) FROM ssl_assignment) AS assignments,
       (SELECT string_agg(format('%s:%s:%s', id, certificate_id, event_type), ',' ORDER BY id) FROM ssl_lifecycle_event) AS events;

ALTER EXTENSION netbox_ssl UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'netbox_ssl';
-- Nothing was lost or changed.
SELECT b.certs = (SELECT string_agg(format('%s:%s:%s:%s', id, status, replaced_by, fingerprint_sha256), ',' ORDER BY id) FROM ssl_certificate) AS certs_kept,
       b.assignments = (SELECT string_agg(format('%s:%s', id, certificate_id), ',' ORDER BY id) FROM ssl_assignment) AS assignments_kept,
       b.events = (SELECT string_agg(format('%s:%s:%s', id, certificate_id, event_type), ',' ORDER BY id) FROM ssl_lifecycle_event) AS events_kept
  FROM before b;
SELECT count(*) FILTER (WHERE archive_pinned) AS pinned FROM ssl_certificate;
-- The 1.1 lifecycle works on rows written by 1.0: revert the 1.0 renewal.
SELECT ssl_revert_renewal(:new_id) = :old_id AS reverted;
SELECT id, status, (SELECT count(*) FROM ssl_assignment a WHERE a.certificate_id = c.id) AS assignments
  FROM ssl_certificate c ORDER BY id;
SELECT ssl_refresh_status() AS refreshed;
SELECT pg_describe_object(d.classid, d.objid, 0) AS uncommented_object
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'netbox_ssl')
   AND d.deptype = 'e'
   AND obj_description(d.objid, d.classid::regclass::text) IS NULL
   -- PostgreSQL 17+ also records the implicit row and array types of the
   -- extension's tables and views as members; they have no comment of their own.
   AND NOT EXISTS (SELECT 1 FROM pg_type t LEFT JOIN pg_class r ON r.oid = t.typrelid
                    WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid
                      AND (t.typcategory = 'A' OR r.relkind IN ('r', 'v', 'm', 'p', 'f')));
