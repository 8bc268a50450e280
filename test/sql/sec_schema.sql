-- Security item 3: a role with CREATE on the extension's schema (as in an
-- old upgraded database where PUBLIC may create in public) adds overloads
-- with the names of the extension's helpers. On 1.4 every ssl_import then
-- failed for everyone with "function ... is not unique" (42725), because the
-- extension's own calls named @extschema@.ssl_find_authority and so on.
-- Since 1.5 those calls name netbox_ssl_internal, where only the extension's
-- owner can create objects, so nothing any other role adds changes them.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
DROP ROLE IF EXISTS nbs_squatter;
DROP ROLE IF EXISTS nbs_ops;
RESET client_min_messages;
CREATE EXTENSION netbox_ssl;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set other `cat test/fixtures/other-cn.pem`
\set root `cat test/fixtures/chain/root.pem`
\set leaf `cat test/fixtures/chain/leaf.pem`
\set int `cat test/fixtures/chain/intermediate.pem`
CREATE ROLE nbs_squatter;
CREATE ROLE nbs_ops IN ROLE netbox_ssl_operator;
GRANT CREATE ON SCHEMA public TO nbs_squatter;

-- Nobody but the owner can create in the internal schema.
SELECT has_schema_privilege('nbs_squatter', 'netbox_ssl_internal', 'CREATE') AS squatter_can_create,
       has_schema_privilege('public', 'netbox_ssl_internal', 'USAGE') AS public_usage;
SET ROLE nbs_squatter;
CREATE FUNCTION netbox_ssl_internal.ssl_find_authority(text, text, bigint, int DEFAULT 0)
    RETURNS TABLE (authority_id bigint, source text) LANGUAGE sql AS 'SELECT NULL::bigint, NULL::text';
RESET ROLE;

-- The attack of the audit, and the same for every helper the extension
-- calls: overloads that make an unqualified-by-schema call ambiguous.
SET ROLE nbs_squatter;
CREATE FUNCTION public.ssl_find_authority(text, text, bigint, int DEFAULT 0)
    RETURNS TABLE (authority_id bigint, source text) LANGUAGE sql AS 'SELECT NULL::bigint, NULL::text';
CREATE FUNCTION public.ssl_caller(int DEFAULT 0) RETURNS text LANGUAGE sql AS $$ SELECT 'forged' $$;
CREATE FUNCTION public.ssl_parse(text, int DEFAULT 0) RETURNS text LANGUAGE sql AS $$ SELECT 'forged' $$;
CREATE FUNCTION public.ssl_parse(bytea, int DEFAULT 0) RETURNS text LANGUAGE sql AS $$ SELECT 'forged' $$;
CREATE FUNCTION public.ssl_find_known_parsed(ssl_certificate_info, int DEFAULT 0)
    RETURNS TABLE (certificate_id bigint, match text) LANGUAGE sql AS 'SELECT NULL::bigint, NULL::text';
CREATE FUNCTION public.ssl_host_match_keys(text[], text, int DEFAULT 0) RETURNS text[] LANGUAGE sql AS $$ SELECT '{}'::text[] $$;
CREATE FUNCTION public.ssl_host_probes(text, int DEFAULT 0) RETURNS text[] LANGUAGE sql AS $$ SELECT '{}'::text[] $$;
CREATE FUNCTION public.ssl_chain_split_pem(text, int DEFAULT 0) RETURNS bytea[] LANGUAGE sql AS $$ SELECT '{}'::bytea[] $$;
CREATE FUNCTION public.ssl_signature_hash(text, int DEFAULT 0) RETURNS text LANGUAGE sql AS $$ SELECT 'forged' $$;
CREATE FUNCTION public.ssl_serial_der_octets(text, int DEFAULT 0) RETURNS bytea LANGUAGE sql AS $$ SELECT '\x00'::bytea $$;
CREATE FUNCTION public.ssl_acme_provider_for(text, text, int DEFAULT 0, OUT matched boolean, OUT provider text)
    LANGUAGE sql AS $$ SELECT true, 'forged' $$;
RESET ROLE;

-- Every extension path that calls those helpers still works, for an operator.
SET ROLE nbs_ops;
SELECT ssl_import(:'old') AS old_id \gset
SELECT ssl_import(:'other') > :old_id AS imported_other;
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'ipam.service', 1);
SELECT count(*) AS previewed FROM ssl_renewal_preview(:old_id, :'new');
SELECT ssl_renewal_candidate(:'new') = :old_id AS candidate_found;
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
SELECT match FROM ssl_find_known(:'new');
SELECT count(*) AS hosts FROM ssl_certificates_for_host('www.example.com');
SELECT actor <> 'forged' AS actor_not_forged FROM ssl_lifecycle_event ORDER BY id DESC LIMIT 1;
SELECT count(*) >= 0 AS compliance_checked FROM ssl_check_compliance(:new_id);
SELECT ssl_revert_renewal(:new_id) = :old_id AS reverted;
RESET ROLE;
SELECT ssl_trust_anchor_load(:'root') AS anchors;
SELECT ssl_import(:'leaf' || :'int') AS leaf_id \gset
SELECT status, depth FROM ssl_validate_chain(:leaf_id);
SELECT ssl_validate_all() > 0 AS validated_all;
SELECT matched, provider FROM netbox_ssl_internal.ssl_acme_provider_for('Let''s Encrypt', 'R11');
SELECT length(ssl_ari_cert_id(:leaf_id)) > 0 AS ari_id;

-- What stays the caller's business: a caller's own unqualified call of an
-- API name is resolved in the extension's schema, and a role that may create
-- there can still make that call ambiguous. Install the extension into a
-- schema without untrusted creators (README, "Schemas").
SELECT (ssl_parse(:'leaf'::text)).common_name;

DROP EXTENSION netbox_ssl CASCADE;
DROP FUNCTION public.ssl_find_authority(text, text, bigint, int), public.ssl_caller(int), public.ssl_parse(text, int),
    public.ssl_parse(bytea, int), public.ssl_host_match_keys(text[], text, int), public.ssl_host_probes(text, int),
    public.ssl_chain_split_pem(text, int), public.ssl_signature_hash(text, int), public.ssl_serial_der_octets(text, int),
    public.ssl_acme_provider_for(text, text, int);
REVOKE CREATE ON SCHEMA public FROM nbs_squatter;
DROP ROLE nbs_squatter;
DROP ROLE nbs_ops;
