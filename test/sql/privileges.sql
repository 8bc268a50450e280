-- Privileges (1.2): PUBLIC may only parse; the group roles netbox_ssl_reader,
-- netbox_ssl_operator and netbox_ssl_admin carry the rest; a hostile
-- search_path (shadowing tables or the = operator) redirects nothing.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
DROP ROLE IF EXISTS nbs_plain, nbs_reader, nbs_operator, nbs_admin;
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set other `cat test/fixtures/other-cn.pem`
\set p384 `cat test/fixtures/p384.pem`
CREATE ROLE nbs_plain;
CREATE ROLE nbs_reader IN ROLE netbox_ssl_reader;
CREATE ROLE nbs_operator IN ROLE netbox_ssl_operator;
CREATE ROLE nbs_admin IN ROLE netbox_ssl_admin;
GRANT CREATE ON SCHEMA public TO nbs_operator;
SELECT current_database() AS db \gset
GRANT CREATE ON DATABASE :"db" TO nbs_operator;

CREATE FUNCTION public.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN state || ': ' || msg;
END $$;
CREATE TEMP TABLE pems AS SELECT :'old' AS old, :'new' AS new, :'other' AS other, :'p384' AS p384;
GRANT SELECT ON pems TO PUBLIC;

-- What each role may call: the functions of the extension and who can run them.
SELECT p.oid::regprocedure AS function,
       has_function_privilege('nbs_plain', p.oid, 'EXECUTE') AS plain,
       has_function_privilege('nbs_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('nbs_operator', p.oid, 'EXECUTE') AS operator,
       has_function_privilege('nbs_admin', p.oid, 'EXECUTE') AS admin
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'netbox_ssl')
   AND p.prorettype <> 'trigger'::regtype
 ORDER BY p.oid::regprocedure::text;

-- A role with no grant: parsing only.
SET ROLE nbs_plain;
SELECT (ssl_parse((SELECT old FROM pems))).common_name AS plain_can_parse;
SELECT try('SELECT count(*) FROM ssl_certificate') AS plain_reads;
SELECT try('SELECT ssl_import((SELECT old FROM pems))') AS plain_imports;
RESET ROLE;

-- The operator imports, renews, assigns, refreshes and reverts; actor is recorded.
SET ROLE nbs_operator;
SELECT ssl_import((SELECT old FROM pems)) AS old_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'ipam.service', 1);
SELECT ssl_renew(:old_id, (SELECT new FROM pems)) AS new_id \gset
SELECT ssl_refresh_status() AS refreshed;
SELECT ssl_revert_renewal(:new_id) = :old_id AS reverted;
UPDATE ssl_certificate SET tenant = 'team-a' WHERE id = :old_id;
-- ... but cannot rewrite the inventory behind the functions' back.
SELECT try(format('UPDATE ssl_certificate SET common_name = %L WHERE id = %s', 'evil', :old_id)) AS edit_parsed_column;
SELECT try(format('UPDATE ssl_certificate SET replaced_by = %s WHERE id = %s', :new_id, :old_id)) AS set_replaced_by;
SELECT try(format('DELETE FROM ssl_certificate WHERE id = %s', :old_id)) AS delete_certificate;
SELECT try('INSERT INTO ssl_lifecycle_event (certificate_id, event_type) VALUES (1, ''forged'')') AS forge_event;
SELECT try('DELETE FROM ssl_lifecycle_event') AS delete_history;
SELECT try(format('SELECT ssl_purge_certificate(%s)', :new_id)) AS purge;
SELECT try('SELECT ssl_auto_archive()') AS auto_archive;
RESET ROLE;
SELECT event_type, actor FROM ssl_lifecycle_event ORDER BY id;

-- A reader sees everything and changes nothing.
SET ROLE nbs_reader;
SELECT count(*) AS reader_sees FROM ssl_certificate;
SELECT count(*) AS expiring FROM ssl_expiring('1000 years');
SELECT try(format('INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (%s, %L, 2)', :old_id, 'x')) AS reader_assigns;
SELECT try('SELECT ssl_refresh_status()') AS reader_refreshes;
RESET ROLE;

-- The admin may also archive and purge.
SET ROLE nbs_admin;
SELECT ssl_auto_archive('1000 years') AS archived;
SELECT ssl_purge_certificate(:new_id) AS purged_events;
RESET ROLE;

-- A hostile search_path: a schema placed before pg_catalog with its own
-- ssl_certificate table and = operators on text and bigint that are always
-- true (which would make "WHERE id = $1" match every row).
SET ROLE nbs_operator;
CREATE SCHEMA evil;
CREATE TABLE evil.ssl_certificate (id bigint, common_name text, fingerprint_sha256 text, status text);
CREATE TABLE evil.ssl_lifecycle_event (id bigint);
CREATE FUNCTION evil.always(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.always);
CREATE FUNCTION evil.always(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.always);
SET search_path = evil, pg_catalog, public;
SELECT ssl_import((SELECT other FROM pems)) AS other_id \gset
SELECT ssl_renewal_candidate((SELECT p384 FROM pems)) IS NULL AS no_false_candidate;
SELECT ssl_renew(:other_id, (SELECT p384 FROM pems), NULL, true) > :other_id AS renewed;
SELECT count(*) AS evil_rows FROM evil.ssl_certificate;
RESET search_path;
DROP SCHEMA evil CASCADE;
RESET ROLE;
-- Only the renewed certificate is replaced (with = always true, an unguarded
-- "WHERE id = $1" would have replaced every row).
SELECT id, common_name, status FROM ssl_certificate ORDER BY id;

DROP FUNCTION public.try(text);
REVOKE CREATE ON SCHEMA public FROM nbs_operator;
REVOKE CREATE ON DATABASE :"db" FROM nbs_operator;
DROP ROLE nbs_plain, nbs_reader, nbs_operator, nbs_admin;
