-- netbox_ssl 1.2 -> 1.3: planner costs.
-- The default COST of a C function (1, one operator) tells the planner that
-- parsing a certificate is as cheap as an integer comparison, so it never
-- considers a parallel plan for a scan that parses every row and may call
-- the parser early in a plan. These values put the functions in the range
-- PostGIS uses for its expensive functions; they follow the measured costs
-- in docs/performance.md (parse tens to hundreds of microseconds, import and
-- renew a few hundred microseconds to milliseconds).

\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.3'" to load this file. \quit

-- Fix: ssl_renewal_candidate parsed its input only when an active certificate
-- existed to join with, so on an empty inventory a private key, garbage or
-- oversized input returned NULL instead of its error. It now parses first.
CREATE OR REPLACE FUNCTION @extschema@.ssl_renewal_candidate(pem text, tenant text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parsed @extschema@.ssl_certificate_info := @extschema@.ssl_parse(pem);
BEGIN
    IF parsed.common_name IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT c.id
              FROM @extschema@.ssl_certificate AS c
             WHERE lower(c.common_name) = lower(parsed.common_name)
               AND c.status = 'active'
               AND c.fingerprint_sha256 <> parsed.fingerprint_sha256
               AND (ssl_renewal_candidate.tenant IS NULL OR c.tenant = ssl_renewal_candidate.tenant)
             ORDER BY c.valid_to DESC, c.id DESC
             LIMIT 1);
END
$$;

ALTER FUNCTION @extschema@.ssl_parse(text) COST 5000;
ALTER FUNCTION @extschema@.ssl_parse(bytea) COST 5000;
ALTER FUNCTION @extschema@.ssl_import(text, text, text) COST 20000;
ALTER FUNCTION @extschema@.ssl_import(bytea, text, text) COST 20000;
ALTER FUNCTION @extschema@.ssl_renew(bigint, text, text, boolean) COST 50000;
ALTER FUNCTION @extschema@.ssl_renew(bigint, bytea, text, boolean) COST 50000;
ALTER FUNCTION @extschema@.ssl_renewal_candidate(text, text) COST 6000;
ALTER FUNCTION @extschema@.ssl_caller() COST 10;
