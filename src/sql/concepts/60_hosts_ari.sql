-- Host look-ups (which certificates cover a host name) and ACME Renewal
-- Information (ARI certificate ids and renewal windows).
-- ssl_certificate_host_keys_idx is here, next to the function it indexes.

-- ----------------------------------------------------------------------
-- Host look-up (RFC 6125 / RFC 9525)
-- ----------------------------------------------------------------------
-- The index holds, per certificate, the identifiers a TLS client compares;
-- a host name turns into the only keys that can cover it (itself and
-- "*." || its parent), so the GIN overlap test is exact. The helpers have
-- SQL-standard bodies or a fixed search_path, so the index expression does
-- not depend on the search_path of whoever writes a row (a pg_dump restore
-- runs with an empty one).
CREATE FUNCTION netbox_ssl_internal.ssl_host_dns_key(name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower((CASE WHEN ("right"(name, 1) = '.'::text) THEN "left"(name, '-1'::integer) ELSE name END COLLATE "C"));

COMMENT ON FUNCTION netbox_ssl_internal.ssl_host_dns_key(name text) IS 'Implementation of @extschema@.ssl_host_dns_key for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_host_dns_key(name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_host_dns_key($1) $_$;

COMMENT ON FUNCTION @extschema@.ssl_host_dns_key(name text) IS 'A DNS name as a host-lookup key: ASCII letters lower-cased (RFC 6125 compares A-labels case-insensitively), one trailing dot removed.';

CREATE FUNCTION netbox_ssl_internal.ssl_host_ip_key(address text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    BEGIN ATOMIC
 SELECT
         CASE
             WHEN (strpos(address, ':'::text) = 0) THEN
             CASE
                 WHEN (address ~ '^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$'::text) THEN ('IP:'::text || host((address)::inet))
                 ELSE NULL::text
             END
             WHEN (address ~ '^(([0-9A-Fa-f]{1,4}:){6}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|::([0-9A-Fa-f]{1,4}:){5}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|([0-9A-Fa-f]{1,4})?::([0-9A-Fa-f]{1,4}:){4}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,1}[0-9A-Fa-f]{1,4})?::([0-9A-Fa-f]{1,4}:){3}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,2}[0-9A-Fa-f]{1,4})?::([0-9A-Fa-f]{1,4}:){2}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,3}[0-9A-Fa-f]{1,4})?::[0-9A-Fa-f]{1,4}:([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,4}[0-9A-Fa-f]{1,4})?::([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4})?::[0-9A-Fa-f]{1,4}|(([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})?::)$'::text) THEN ('IP:'::text || host((address)::inet))
             ELSE NULL::text
         END AS "case";
END;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_host_ip_key(address text) IS 'Implementation of @extschema@.ssl_host_ip_key for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_host_ip_key(address text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_host_ip_key($1) $_$;

COMMENT ON FUNCTION @extschema@.ssl_host_ip_key(address text) IS 'An IPv4 (dotted quad, no leading zeros) or IPv6 (RFC 3986 syntax) address as a host-lookup key: ''IP:'' and PostgreSQL''s canonical inet text, so equal addresses written differently give one key. NULL for anything else, never an error.';

-- PL/pgSQL rather than one SQL query: it runs for every row written, and a
-- loop costs about a third of the equivalent query (26 against 91
-- microseconds a row). COST tells the planner a scan computing it is not
-- cheap.
CREATE FUNCTION netbox_ssl_internal.ssl_host_match_keys(sans text[], common_name text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE COST 500 PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    keys text[] := '{}';
    has_dns boolean := false;
    san text;
    k text;
BEGIN
    FOREACH san IN ARRAY coalesce(sans, '{}') LOOP
        IF starts_with(san, 'DNS:') THEN
            has_dns := true;
            k := netbox_ssl_internal.ssl_host_dns_key(substr(san, 5));
        ELSIF starts_with(san, 'IP:') THEN
            k := netbox_ssl_internal.ssl_host_ip_key(substr(san, 4));
        ELSE
            CONTINUE;
        END IF;
        IF k <> '' THEN
            keys := keys || k;
        END IF;
    END LOOP;
    IF NOT has_dns AND common_name <> '' THEN
        keys := keys || netbox_ssl_internal.ssl_host_dns_key(common_name);
    END IF;
    RETURN keys;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_host_match_keys(sans text[], common_name text) IS 'Implementation of @extschema@.ssl_host_match_keys for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_host_match_keys(sans text[], common_name text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_host_match_keys($1, $2) $_$;

COMMENT ON FUNCTION @extschema@.ssl_host_match_keys(sans text[], common_name text) IS 'The identifiers a certificate presents for host matching: its DNS SANs, or its common name when it has no DNS SAN, as ssl_host_dns_key; and its IP SANs as ssl_host_ip_key. Indexed by ssl_certificate_host_keys_idx.';

-- 1.6 (issue "Trust"): a wildcard whose base is a public suffix ("*.co.uk",
-- "*.github.io") is never a valid certificate name (CA/B BR 3.2.2.6), so
-- it matches nothing. The list is libpsl's (Debian publicsuffix); STABLE,
-- not IMMUTABLE, because a package update changes it. Executable by every
-- role, like the other host helpers: it reveals nothing.
CREATE FUNCTION netbox_ssl_internal.ssl_wildcard_allowed(pattern text) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_wildcard_allowed';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_wildcard_allowed(pattern text) IS 'Internal: false only for a wildcard "*.<base>" whose base is a public suffix (ICANN or private section of the Public Suffix List, via libpsl), e.g. *.co.uk or *.github.io; true for any other pattern or name.';

CREATE FUNCTION netbox_ssl_internal.ssl_host_probes(hostname text) RETURNS text[]
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

COMMENT ON FUNCTION netbox_ssl_internal.ssl_host_probes(hostname text) IS 'Implementation of @extschema@.ssl_host_probes for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_host_probes(hostname text) RETURNS text[]
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_host_probes($1) $_$;

COMMENT ON FUNCTION @extschema@.ssl_host_probes(hostname text) IS 'The index keys that can cover a host: for a DNS name the name and "*." || its parent (when the parent has two labels or more and is not a public suffix); for an IP address its ssl_host_ip_key. 22023 for an empty name, an empty label, a wildcard, or an invalid IP-looking string.';

-- PL/pgSQL, not an inlinable SQL function: the keys are nearly unique, but
-- the planner expects about 0.5% of the table to match; inlined into a
-- caller's "... LIMIT 1" it walked another index, and at 1,000,000 rows
-- started two parallel workers (20 ms) for a one-row answer. Here the query
-- is always the whole GIN look-up, without workers
-- (max_parallel_workers_per_gather = 0).
CREATE FUNCTION @extschema@.ssl_certificates_for_host(hostname text, include_inactive boolean DEFAULT false) RETURNS SETOF @extschema@.ssl_certificate
    LANGUAGE plpgsql STABLE ROWS 2 PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET max_parallel_workers_per_gather TO '0'
    AS $$
DECLARE
    probes text[] := netbox_ssl_internal.ssl_host_probes(hostname);
BEGIN
    RETURN QUERY
    SELECT c.*
      FROM @extschema@.ssl_certificate AS c
     WHERE netbox_ssl_internal.ssl_host_match_keys(c.sans, c.common_name) && probes
       AND (include_inactive OR c.status = 'active')
     ORDER BY c.valid_to DESC, c.id DESC;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_certificates_for_host(hostname text, include_inactive boolean) IS 'The certificates whose DNS SANs (or CN, when there is no DNS SAN) or IP SANs cover a host, following RFC 6125: case-insensitive, "*" only as the whole left-most label and for exactly one label, never above a public suffix (*.co.uk matches nothing), IP addresses only against IP SANs. Only active ones unless include_inactive. Latest valid_to first. Index-backed.';

REVOKE ALL ON FUNCTION @extschema@.ssl_certificates_for_host(hostname text, include_inactive boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_certificates_for_host(hostname text, include_inactive boolean) TO netbox_ssl_reader;

-- ----------------------------------------------------------------------
-- ACME Renewal Information (RFC 9773)
-- ----------------------------------------------------------------------
-- The CertID needs the serial's DER INTEGER content octets (minimal two's
-- complement), not the magnitude that serial_number stores.
CREATE FUNCTION netbox_ssl_internal.ssl_serial_der_octets(serial_number text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    negative boolean := left(serial_number, 1) = '-';
    digits text := replace(ltrim(serial_number, '-'), ':', '');
    mag bytea;
    res bytea;
    carry integer := 1;
    b integer;
BEGIN
    IF digits = '' OR digits !~ '^([0-9A-Fa-f]{2})+$' THEN
        RAISE EXCEPTION 'serial number "%" is not colon-separated hex byte pairs', serial_number
            USING ERRCODE = '22023';
    END IF;
    mag := decode(digits, 'hex');
    -- Leading zero bytes carry no value; keep one for zero itself.
    WHILE length(mag) > 1 AND get_byte(mag, 0) = 0 LOOP
        mag := substring(mag FROM 2);
    END LOOP;
    IF get_byte(mag, 0) = 0 THEN
        RETURN '\x00'::bytea;  -- zero, also when written "-00"
    END IF;
    IF NOT negative THEN
        RETURN CASE WHEN get_byte(mag, 0) >= 128 THEN '\x00'::bytea || mag ELSE mag END;
    END IF;
    -- Two's complement: invert every byte, then add one from the right.
    res := mag;
    FOR i IN REVERSE length(mag) - 1 .. 0 LOOP
        b := (255 - get_byte(mag, i)) + carry;
        carry := b >> 8;
        res := set_byte(res, i, b & 255);
    END LOOP;
    IF get_byte(res, 0) < 128 THEN
        res := '\xff'::bytea || res;  -- the sign bit must be set
    END IF;
    WHILE length(res) > 1 AND get_byte(res, 0) = 255 AND get_byte(res, 1) >= 128 LOOP
        res := substring(res FROM 2);  -- minimal encoding
    END LOOP;
    RETURN res;
END
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_serial_der_octets(serial_number text) IS 'Implementation of @extschema@.ssl_serial_der_octets for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_serial_der_octets(serial_number text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_serial_der_octets($1) $_$;

COMMENT ON FUNCTION @extschema@.ssl_serial_der_octets(serial_number text) IS 'The content octets of the DER INTEGER for a serial_number value (colon hex magnitude, "-" when negative): minimal two''s complement, with a 00 sign byte when the high bit of a positive serial is set. 22023 for text that is not hex byte pairs.';

CREATE FUNCTION netbox_ssl_internal.ssl_ari_cert_id(der bytea) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    p @extschema@.ssl_certificate_info := netbox_ssl_internal.ssl_parse(der);
    cert_id text := netbox_ssl_internal.ssl_ari_cert_id(p.authority_key_id, p.serial_number);
BEGIN
    IF cert_id IS NULL THEN
        RAISE EXCEPTION 'certificate has no authority key identifier, so it has no ARI CertID'
            USING ERRCODE = '22023',
                  HINT = 'RFC 9773 identifies a certificate by its authorityKeyIdentifier keyIdentifier and serial; self-signed and old certificates often lack it, and ACME CAs do not issue such certificates.';
    END IF;
    RETURN cert_id;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(der bytea) IS 'Implementation of @extschema@.ssl_ari_cert_id for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(der bytea) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_ari_cert_id($1) $_$;

COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(der bytea) IS 'RFC 9773 CertID of a DER certificate (PEM bytes accepted, as ssl_parse). 22023 when it has no authority key identifier; 22P02 and the other ssl_parse errors for bad input.';

CREATE FUNCTION netbox_ssl_internal.ssl_ari_cert_id(id bigint) RETURNS text
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    found_id bigint;
    cert_id text;
BEGIN
    SELECT c.id, netbox_ssl_internal.ssl_ari_cert_id(c.authority_key_id, c.serial_number)
      INTO found_id, cert_id
      FROM @extschema@.ssl_certificate c WHERE c.id = ssl_ari_cert_id.id;
    IF found_id IS NULL THEN
        RAISE EXCEPTION 'certificate % does not exist', id USING ERRCODE = 'P0002';
    END IF;
    IF cert_id IS NULL THEN
        RAISE EXCEPTION 'certificate % has no authority key identifier, so it has no ARI CertID', id
            USING ERRCODE = '22023',
                  HINT = 'RFC 9773 identifies a certificate by its authorityKeyIdentifier keyIdentifier and serial; self-signed and old certificates often lack it, and ACME CAs do not issue such certificates.';
    END IF;
    RETURN cert_id;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(id bigint) IS 'Implementation of @extschema@.ssl_ari_cert_id for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(id bigint) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_ari_cert_id($1) $_$;

COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(id bigint) IS 'RFC 9773 CertID of a stored certificate. P0002 when the id does not exist, 22023 when the certificate has no authority key identifier.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(id bigint) TO netbox_ssl_reader;

REVOKE ALL ON FUNCTION @extschema@.ssl_ari_cert_id(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_ari_cert_id(id bigint) TO netbox_ssl_reader;

CREATE FUNCTION netbox_ssl_internal.ssl_ari_cert_id(pem text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    p @extschema@.ssl_certificate_info := netbox_ssl_internal.ssl_parse(pem);
    cert_id text := netbox_ssl_internal.ssl_ari_cert_id(p.authority_key_id, p.serial_number);
BEGIN
    IF cert_id IS NULL THEN
        RAISE EXCEPTION 'certificate has no authority key identifier, so it has no ARI CertID'
            USING ERRCODE = '22023',
                  HINT = 'RFC 9773 identifies a certificate by its authorityKeyIdentifier keyIdentifier and serial; self-signed and old certificates often lack it, and ACME CAs do not issue such certificates.';
    END IF;
    RETURN cert_id;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(pem text) IS 'Implementation of @extschema@.ssl_ari_cert_id for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(pem text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_ari_cert_id($1) $_$;

COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(pem text) IS 'RFC 9773 CertID of the leaf of PEM text (as ssl_parse picks it). 22023 when it has no authority key identifier.';

CREATE FUNCTION netbox_ssl_internal.ssl_ari_cert_id(authority_key_id text, serial_number text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT CASE WHEN replace(authority_key_id, ':', '') <> '' THEN
        translate(encode(decode(replace(authority_key_id, ':', ''), 'hex'), 'base64'), E'+/=\n', '-_')
        || '.' ||
        translate(encode(netbox_ssl_internal.ssl_serial_der_octets(serial_number), 'base64'), E'+/=\n', '-_')
    END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(authority_key_id text, serial_number text) IS 'Implementation of @extschema@.ssl_ari_cert_id for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(authority_key_id text, serial_number text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_ari_cert_id($1, $2) $_$;

COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(authority_key_id text, serial_number text) IS 'RFC 9773 CertID from the stored authority_key_id and serial_number columns: unpadded base64url of the AKI keyIdentifier, ".", unpadded base64url of the serial''s DER INTEGER content octets. NULL when there is no (or an empty) keyIdentifier.';

-- Created after the function it indexes; that function must stay IMMUTABLE
-- and independent of the search_path, or restores would rebuild a different
-- index.
CREATE INDEX ssl_certificate_host_keys_idx ON @extschema@.ssl_certificate USING gin (netbox_ssl_internal.ssl_host_match_keys(sans, common_name));

COMMENT ON INDEX @extschema@.ssl_certificate_host_keys_idx IS 'Host lookups: which certificates present a given DNS name, wildcard or IP address (ssl_certificates_for_host).';

-- The extension never fetches anything itself: an external poller writes
-- the ari_* columns and readers query this view.
CREATE VIEW @extschema@.ssl_ari_renewal AS
 SELECT c.id,
    c.common_name,
    c.status,
    netbox_ssl_internal.ssl_ari_cert_id(c.authority_key_id, c.serial_number) AS ari_cert_id,
    c.valid_to,
    c.ari_window_start,
    c.ari_window_end,
    c.ari_explanation_url,
    c.ari_retry_after,
    c.ari_checked_at,
        CASE
            WHEN (c.ari_window_start IS NULL) THEN 'unknown'::text
            WHEN (now() < c.ari_window_start) THEN 'not_yet'::text
            WHEN (now() <= c.ari_window_end) THEN 'open'::text
            ELSE 'passed'::text
        END AS window_state,
    ((c.ari_retry_after IS NULL) OR (c.ari_retry_after <= now())) AS poll_due
   FROM @extschema@.ssl_certificate c
  WHERE ((c.status = ANY (ARRAY['active'::text, 'pending'::text])) AND (replace(c.authority_key_id, ':'::text, ''::text) <> ''::text));

COMMENT ON VIEW @extschema@.ssl_ari_renewal IS 'Active and pending certificates that have an ARI CertID, with the window an external poller stored. window_state: unknown (never polled), not_yet, open (renew now), passed (renew immediately). poll_due: the poller should ask the CA now.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.id IS 'The certificate.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.common_name IS 'Its common name.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.status IS 'active or pending.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.ari_cert_id IS 'RFC 9773 CertID: append it to the CA''s renewalInfo URL.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.valid_to IS 'notAfter.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.ari_window_start IS 'Stored suggestedWindow.start.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.ari_window_end IS 'Stored suggestedWindow.end.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.ari_explanation_url IS 'Stored explanationURL.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.ari_retry_after IS 'When to poll again.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.ari_checked_at IS 'When last polled.';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.window_state IS 'unknown, not_yet, open or passed, relative to now().';
COMMENT ON COLUMN @extschema@.ssl_ari_renewal.poll_due IS 'True when never polled or when ari_retry_after has come.';

GRANT SELECT ON TABLE @extschema@.ssl_ari_renewal TO netbox_ssl_reader;
