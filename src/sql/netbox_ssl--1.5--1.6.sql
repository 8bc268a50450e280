\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.6'" to load this file. \quit

-- netbox_ssl 1.5 -> 1.6: speed (issue "Speed") and trust (issue "Trust").
-- Each part below belongs to one topic; the concept files in
-- src/sql/concepts/ hold the current definition of every object.

-- ===========================================================================
-- Part 0: columns shared by several parts
-- ===========================================================================

-- Where a poller fetches revocation data from (CRL Distribution Points and
-- Authority Information Access), parsed on import. Rows stored before 1.6 are
-- filled from their stored PEM in part S.
ALTER TABLE @extschema@.ssl_certificate
    ADD COLUMN crl_urls text[] DEFAULT '{}'::text[] NOT NULL,
    ADD COLUMN ocsp_urls text[] DEFAULT '{}'::text[] NOT NULL,
    ADD COLUMN ca_issuers_urls text[] DEFAULT '{}'::text[] NOT NULL;
COMMENT ON COLUMN @extschema@.ssl_certificate.crl_urls IS 'The URIs of the CRL Distribution Points extension (fullName URIs), in certificate order; ''{}'' when there are none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_urls IS 'The OCSP responder URIs of the Authority Information Access extension, in certificate order; ''{}'' when there are none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ca_issuers_urls IS 'The caIssuers URIs of the Authority Information Access extension, in certificate order; ''{}'' when there are none.';

-- (end of part 0)

-- ===========================================================================
-- Part P: parse without waste; revocation URL columns
-- ===========================================================================

-- ssl_parse returns the three revocation URL columns of part 0 too, last.
-- ssl_certificate_info is still only a function result and a PL/pgSQL
-- variable type (no table column, view or index uses it), so attributes can
-- be added in place; the C parser fills them in this order
-- (src/pg/adapter.hpp, kParseColumns).
ALTER TYPE @extschema@.ssl_certificate_info
    ADD ATTRIBUTE crl_urls text[],
    ADD ATTRIBUTE ocsp_urls text[],
    ADD ATTRIBUTE ca_issuers_urls text[];

-- Backfill the rows stored before 1.6 from their stored PEM, as 1.4 did for
-- its parser columns: with the guard off so that updated_at keeps meaning
-- "last edited by someone", one set-based UPDATE of only the rows that have
-- URLs, and row by row should a stored PEM no longer parse (that row keeps
-- '{}' rather than failing the upgrade).
ALTER TABLE @extschema@.ssl_certificate DISABLE TRIGGER ssl_certificate_guard;
DO $$
DECLARE
    r record;
BEGIN
    BEGIN
        UPDATE @extschema@.ssl_certificate AS c
           SET crl_urls = p.crl_urls, ocsp_urls = p.ocsp_urls, ca_issuers_urls = p.ca_issuers_urls
          FROM @extschema@.ssl_certificate AS c2
               CROSS JOIN LATERAL @extschema@.ssl_parse(c2.pem_content) AS p
         WHERE c2.id = c.id
           AND (p.crl_urls, p.ocsp_urls, p.ca_issuers_urls) IS DISTINCT FROM (c.crl_urls, c.ocsp_urls, c.ca_issuers_urls);
    EXCEPTION WHEN OTHERS THEN
        FOR r IN SELECT id, pem_content FROM @extschema@.ssl_certificate LOOP
            BEGIN
                UPDATE @extschema@.ssl_certificate AS c
                   SET crl_urls = p.crl_urls, ocsp_urls = p.ocsp_urls, ca_issuers_urls = p.ca_issuers_urls
                  FROM @extschema@.ssl_parse(r.pem_content) AS p
                 WHERE c.id = r.id
                   AND (p.crl_urls, p.ocsp_urls, p.ca_issuers_urls) IS DISTINCT FROM (c.crl_urls, c.ocsp_urls, c.ca_issuers_urls);
            EXCEPTION WHEN OTHERS THEN
                RAISE WARNING 'certificate % no longer parses (%); its crl_urls, ocsp_urls and ca_issuers_urls stay empty',
                    r.id, SQLERRM;
            END;
        END LOOP;
    END;
END
$$;
ALTER TABLE @extschema@.ssl_certificate ENABLE TRIGGER ssl_certificate_guard;

-- (end of part P)

-- ===========================================================================
-- Part S: one write path for import and renew, bulk import by the batch
-- ===========================================================================

-- (end of part S)

-- ===========================================================================
-- Part V: chain validation sharing work, compliance in one pass
-- ===========================================================================

-- (end of part V)

-- ===========================================================================
-- Part T: chain validation rules, path building, public suffixes, max_depth
-- ===========================================================================

-- (end of part T)

-- ===========================================================================
-- Part R: revocation (CRL, OCSP) and where to fetch it from
-- ===========================================================================

-- (end of part R)
