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

-- T1: public suffixes (libpsl). ssl_host_probes gives no "*." probe above a
-- public suffix, so *.co.uk no longer matches foo.co.uk; both probe
-- functions become STABLE (the list changes with the publicsuffix package).
-- 1.6 (issue "Trust"): a wildcard whose base is a public suffix ("*.co.uk",
-- "*.github.io") is never a valid certificate name (CA/B BR 3.2.2.6), so
-- it matches nothing. The list is libpsl's (Debian publicsuffix); STABLE,
-- not IMMUTABLE, because a package update changes it. Executable by every
-- role, like the other host helpers: it reveals nothing.
CREATE FUNCTION netbox_ssl_internal.ssl_wildcard_allowed(pattern text) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_wildcard_allowed';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_wildcard_allowed(pattern text) IS 'Internal: false only for a wildcard "*.<base>" whose base is a public suffix (ICANN or private section of the Public Suffix List, via libpsl), e.g. *.co.uk or *.github.io; true for any other pattern or name.';

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_host_probes(hostname text) RETURNS text[]
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    name text := hostname;
    ip_key text;
    parent text;
BEGIN
    IF name ~ '^\[.*\]$' THEN
        name := substr(name, 2, length(name) - 2);  -- [2001:db8::1], as in URLs
    ELSE
        name := regexp_replace(name, '\.$', '');  -- absolute name
    END IF;
    IF name ~ ':' OR name ~ '^[0-9.]+$' THEN
        ip_key := netbox_ssl_internal.ssl_host_ip_key(name);
        IF ip_key IS NULL THEN
            RAISE EXCEPTION 'host "%" looks like an IP address but is not a valid one', hostname
                USING ERRCODE = '22023',
                      HINT = 'Give a dotted-quad IPv4 address without leading zeros, or an IPv6 address without zone or prefix length.';
        END IF;
        RETURN ARRAY[ip_key];
    END IF;
    IF name = '' OR name ~ '(^|\.)(\.|$)' OR name ~ '[*[:space:]/@]' THEN
        RAISE EXCEPTION 'host "%" is not a host name', hostname
            USING ERRCODE = '22023',
                  HINT = 'Give a DNS name (A-labels for internationalised names) or an IP address; wildcards belong in certificates, not in the name looked up.';
    END IF;
    name := netbox_ssl_internal.ssl_host_dns_key(name);
    parent := substr(name, strpos(name, '.') + 1);
    -- "*" stands for exactly one whole label, and only above a name of at
    -- least two labels: *.example.com covers www.example.com, but *.com
    -- covers nothing (as OpenSSL's X509_check_host decides). Since 1.6 a
    -- parent that is a public suffix gives no wildcard probe either:
    -- *.co.uk does not cover foo.co.uk.
    IF strpos(name, '.') > 0 AND strpos(parent, '.') > 0
       AND netbox_ssl_internal.ssl_wildcard_allowed('*.' || parent) THEN
        RETURN ARRAY[name, '*.' || parent];
    END IF;
    RETURN ARRAY[name];
END
$_$;

ALTER FUNCTION @extschema@.ssl_host_probes(hostname text) STABLE;

COMMENT ON FUNCTION @extschema@.ssl_host_probes(hostname text) IS 'The index keys that can cover a host: for a DNS name the name and "*." || its parent (when the parent has two labels or more and is not a public suffix); for an IP address its ssl_host_ip_key. 22023 for an empty name, an empty label, a wildcard, or an invalid IP-looking string.';

COMMENT ON FUNCTION @extschema@.ssl_certificates_for_host(hostname text, include_inactive boolean) IS 'The certificates whose DNS SANs (or CN, when there is no DNS SAN) or IP SANs cover a host, following RFC 6125: case-insensitive, "*" only as the whole left-most label and for exactly one label, never above a public suffix (*.co.uk matches nothing), IP addresses only against IP SANs. Only active ones unless include_inactive. Latest valid_to first. Index-backed.';

-- (end of part T)

-- ===========================================================================
-- Part R: revocation (CRL, OCSP) and where to fetch it from
-- ===========================================================================

-- (end of part R)
