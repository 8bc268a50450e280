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
