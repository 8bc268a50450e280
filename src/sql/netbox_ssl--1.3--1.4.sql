\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.4'" to load this file. \quit

-- netbox_ssl 1.3 -> 1.4, intelligence part (docs/intelligence.md): issuer
-- names and the CT-neutral TBS hash from the parser, ACME detection,
-- ownership lookup for CT monitors, and observed deployments.

--------------------------------------------------------------------------
-- Parser columns: issuer_cn, issuer_org, tbs_sha256
--------------------------------------------------------------------------

-- ssl_certificate_info is only a function result and a PL/pgSQL variable
-- type (ssl_renewal_candidate, ssl_renewal_preview); no table column uses
-- it, so attributes can be added in place. The C parser fills them in this
-- order (src/pg/adapter.hpp, FlatCert).
ALTER TYPE @extschema@.ssl_certificate_info
    ADD ATTRIBUTE issuer_cn text,
    ADD ATTRIBUTE issuer_org text,
    ADD ATTRIBUTE tbs_sha256 text;

ALTER TABLE @extschema@.ssl_certificate
    ADD COLUMN issuer_cn text,
    ADD COLUMN issuer_org text,
    ADD COLUMN tbs_sha256 text
        CONSTRAINT ssl_certificate_tbs_sha256_format
            CHECK (tbs_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$'),
    ADD COLUMN is_acme boolean NOT NULL DEFAULT false,
    ADD COLUMN acme_provider text
        CONSTRAINT ssl_certificate_acme_provider_check
            CHECK (acme_provider IN ('letsencrypt', 'letsencrypt_staging', 'zerossl', 'buypass', 'google',
                                     'sectigo', 'digicert', 'other')),
    ADD CONSTRAINT ssl_certificate_acme_consistent CHECK (is_acme = (acme_provider IS NOT NULL));

COMMENT ON COLUMN @extschema@.ssl_certificate.issuer_cn IS
    'First commonName of the issuer, as text (same conventions as common_name); NULL when the issuer has none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuer_org IS
    'First organizationName of the issuer; NULL when the issuer has none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.tbs_sha256 IS
    'SHA-256 (colon hex) of the TBSCertificate without the CT poison and SCT list extensions, re-encoded in DER: equal for a precertificate and its final certificate.';
COMMENT ON COLUMN @extschema@.ssl_certificate.is_acme IS
    'Whether the issuer matched an ACME rule of ssl_acme_issuer at import (or at the last ssl_detect_acme()).';
COMMENT ON COLUMN @extschema@.ssl_certificate.acme_provider IS
    'The ACME provider of the matching ssl_acme_issuer rule; NULL when not ACME.';
COMMENT ON CONSTRAINT ssl_certificate_tbs_sha256_format ON @extschema@.ssl_certificate IS
    'Same format as fingerprint_sha256: 32 upper-case hex bytes joined by colons.';
COMMENT ON CONSTRAINT ssl_certificate_acme_provider_check ON @extschema@.ssl_certificate IS
    'The known ACME providers; other is for any further CA an admin adds.';
COMMENT ON CONSTRAINT ssl_certificate_acme_consistent ON @extschema@.ssl_certificate IS
    'is_acme is true exactly when acme_provider is set.';

CREATE INDEX ssl_certificate_tbs_idx ON @extschema@.ssl_certificate (tbs_sha256);
COMMENT ON INDEX @extschema@.ssl_certificate_tbs_idx IS
    'ssl_find_known: finds the final certificate of a precertificate (and the other way round).';
-- spki_sha256 is indexed since 1.0 (ssl_certificate_spki_idx).

-- Rows are immutable certificate data: the parsed columns of 1.4 join the
-- list the guard protects. The rest of the function is as in 1.0.
CREATE OR REPLACE FUNCTION @extschema@.ssl_certificate_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (NEW.id, NEW.common_name, NEW.subject, NEW.issuer, NEW.serial_number, NEW.fingerprint_sha256,
        NEW.valid_from, NEW.valid_to, NEW.sans, NEW.algorithm, NEW.key_size, NEW.signature_algorithm,
        NEW.is_ca, NEW.subject_key_id, NEW.authority_key_id, NEW.spki_sha256, NEW.pem_content,
        NEW.created_at, NEW.issuer_cn, NEW.issuer_org, NEW.tbs_sha256)
       IS DISTINCT FROM
       (OLD.id, OLD.common_name, OLD.subject, OLD.issuer, OLD.serial_number, OLD.fingerprint_sha256,
        OLD.valid_from, OLD.valid_to, OLD.sans, OLD.algorithm, OLD.key_size, OLD.signature_algorithm,
        OLD.is_ca, OLD.subject_key_id, OLD.authority_key_id, OLD.spki_sha256, OLD.pem_content,
        OLD.created_at, OLD.issuer_cn, OLD.issuer_org, OLD.tbs_sha256) THEN
        RAISE EXCEPTION 'certificate % cannot be edited to hold other certificate data', OLD.id
            USING ERRCODE = '55000',
                  HINT = 'Import the new certificate with ssl_import(), or renew with ssl_renew(); only status, replaced_by, tenant, private_key_location and issuer_chain can change.';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- Backfill from the stored PEM, with the guard off so that updated_at keeps
-- meaning "last edited by someone". One set-based UPDATE; should a stored
-- PEM no longer parse (a later parser is stricter), row by row instead,
-- leaving that row's new columns NULL rather than failing the upgrade.
ALTER TABLE @extschema@.ssl_certificate DISABLE TRIGGER ssl_certificate_guard;
DO $$
DECLARE
    r record;
BEGIN
    BEGIN
        UPDATE @extschema@.ssl_certificate AS c
           SET issuer_cn = p.issuer_cn, issuer_org = p.issuer_org, tbs_sha256 = p.tbs_sha256
          FROM @extschema@.ssl_certificate AS c2
               CROSS JOIN LATERAL @extschema@.ssl_parse(c2.pem_content) AS p
         WHERE c2.id = c.id;
    EXCEPTION WHEN OTHERS THEN
        FOR r IN SELECT id, pem_content FROM @extschema@.ssl_certificate LOOP
            BEGIN
                UPDATE @extschema@.ssl_certificate AS c
                   SET issuer_cn = p.issuer_cn, issuer_org = p.issuer_org, tbs_sha256 = p.tbs_sha256
                  FROM @extschema@.ssl_parse(r.pem_content) AS p
                 WHERE c.id = r.id;
            EXCEPTION WHEN OTHERS THEN
                RAISE WARNING 'certificate % no longer parses (%); its issuer_cn, issuer_org and tbs_sha256 stay NULL',
                    r.id, SQLERRM;
            END;
        END LOOP;
    END;
END
$$;
ALTER TABLE @extschema@.ssl_certificate ENABLE TRIGGER ssl_certificate_guard;

--------------------------------------------------------------------------
-- ACME detection
--------------------------------------------------------------------------

CREATE TABLE @extschema@.ssl_acme_issuer (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    issuer_org  text,
    issuer_cn   text,
    provider    text
        CONSTRAINT ssl_acme_issuer_provider_check
            CHECK (provider IN ('letsencrypt', 'letsencrypt_staging', 'zerossl', 'buypass', 'google',
                                'sectigo', 'digicert', 'other')),
    builtin     boolean NOT NULL DEFAULT false,
    note        text,
    CONSTRAINT ssl_acme_issuer_pattern_check CHECK (issuer_org IS NOT NULL OR issuer_cn IS NOT NULL),
    CONSTRAINT ssl_acme_issuer_unique UNIQUE NULLS NOT DISTINCT (issuer_org, issuer_cn, builtin)
);
COMMENT ON TABLE @extschema@.ssl_acme_issuer IS
    'Rules that mark certificates as ACME-issued, by the issuer''s organization and common name (LIKE patterns on issuer_org and issuer_cn, never the whole DN). Admins edit it; ssl_detect_acme() re-applies it.';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.id IS 'Surrogate key; among equally specific rules the lowest id wins.';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.issuer_org IS
    'LIKE pattern (case-sensitive) the issuer''s first O must match; NULL matches any (including none).';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.issuer_cn IS
    'LIKE pattern (case-sensitive) the issuer''s first CN must match; NULL matches any (including none).';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.provider IS
    'The ACME provider to record; NULL makes the rule an exception: matching certificates are not ACME.';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.builtin IS
    'Seeded by the extension. Admin rows (false) win over built-in ones and are the only rows pg_dump saves.';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.note IS 'Free text: where the rule comes from.';
COMMENT ON CONSTRAINT ssl_acme_issuer_provider_check ON @extschema@.ssl_acme_issuer IS
    'The providers ssl_certificate.acme_provider accepts.';
COMMENT ON CONSTRAINT ssl_acme_issuer_pattern_check ON @extschema@.ssl_acme_issuer IS
    'A rule names at least the organization or the common name.';
COMMENT ON CONSTRAINT ssl_acme_issuer_unique ON @extschema@.ssl_acme_issuer IS
    'One rule per pattern pair among built-in rules and one among admin rules.';
COMMENT ON SEQUENCE @extschema@.ssl_acme_issuer_id_seq IS 'Identity of ssl_acme_issuer.id.';
COMMENT ON CONSTRAINT ssl_acme_issuer_pkey ON @extschema@.ssl_acme_issuer IS 'Surrogate key.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_acme_issuer', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_acme_issuer_id_seq', '');

-- Seeds: issuing CAs whose every TLS certificate comes from an ACME service.
-- Names checked against public sources, see docs/intelligence.md.
INSERT INTO @extschema@.ssl_acme_issuer (issuer_org, issuer_cn, provider, builtin, note)
SELECT 'Let''s Encrypt', cn, 'letsencrypt', true, 'Let''s Encrypt issuing intermediate'
  FROM unnest(ARRAY['Let''s Encrypt Authority X1', 'Let''s Encrypt Authority X2', 'Let''s Encrypt Authority X3',
                    'Let''s Encrypt Authority X4', 'R3', 'R4', 'E1', 'E2',
                    'R10', 'R11', 'R12', 'R13', 'R14', 'E5', 'E6', 'E7', 'E8', 'E9',
                    'YR1', 'YR2', 'YR3', 'YE1', 'YE2', 'YE3']) AS cn;
INSERT INTO @extschema@.ssl_acme_issuer (issuer_org, issuer_cn, provider, builtin, note) VALUES
    ('(STAGING) Let''s Encrypt', NULL, 'letsencrypt_staging', true, 'Let''s Encrypt staging intermediates'),
    (NULL, '(STAGING) %', 'letsencrypt_staging', true, 'Let''s Encrypt staging intermediates, by CN prefix'),
    (NULL, 'Fake LE %', 'letsencrypt_staging', true, 'Let''s Encrypt staging before 2020 (Fake LE Intermediate X1)'),
    ('ZeroSSL', 'ZeroSSL RSA Domain Secure Site CA', 'zerossl', true, 'ZeroSSL ACME issuing CA (RSA)'),
    ('ZeroSSL', 'ZeroSSL ECC Domain Secure Site CA', 'zerossl', true, 'ZeroSSL ACME issuing CA (ECDSA)'),
    ('Buypass AS-983163327', 'Buypass Class 2 CA 5', 'buypass', true, 'Buypass Go SSL (ACME) issuing CA');

CREATE FUNCTION @extschema@.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean,
                                                  OUT provider text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
-- It runs inside ssl_import, which turns enable_seqscan off; the rule table
-- is small and has no useful index, so its scan would then be costed at
-- 1e10 and JIT-compiled on every insert (about 200 ms each, measured).
SET enable_seqscan = on
SET jit = off
AS $$
    SELECT count(*) > 0, min(r.provider)
      FROM (SELECT a.provider
              FROM @extschema@.ssl_acme_issuer AS a
             WHERE (a.issuer_org IS NULL OR $1 LIKE a.issuer_org)
               AND (a.issuer_cn IS NULL OR $2 LIKE a.issuer_cn)
             ORDER BY a.builtin, (a.issuer_org IS NOT NULL AND a.issuer_cn IS NOT NULL) DESC, a.id
             LIMIT 1) AS r
$$;
COMMENT ON FUNCTION @extschema@.ssl_acme_provider_for(text, text) IS
    'The ssl_acme_issuer rule for an issuer organization and CN: admin rules first, then rules naming both fields, then the lowest id. provider is NULL when no rule or an exception rule matched.';

-- The rule query of ssl_acme_provider_for, inline: PL/pgSQL keeps its plan
-- for the session, where a SQL function call is planned on every insert.
CREATE FUNCTION @extschema@.ssl_certificate_detect_acme() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = on SET jit = off AS $$
BEGIN
    NEW.acme_provider := (SELECT a.provider
                            FROM @extschema@.ssl_acme_issuer AS a
                           WHERE (a.issuer_org IS NULL OR NEW.issuer_org LIKE a.issuer_org)
                             AND (a.issuer_cn IS NULL OR NEW.issuer_cn LIKE a.issuer_cn)
                           ORDER BY a.builtin, (a.issuer_org IS NOT NULL AND a.issuer_cn IS NOT NULL) DESC, a.id
                           LIMIT 1);
    NEW.is_acme := NEW.acme_provider IS NOT NULL;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificate_detect_acme() IS
    'Trigger function: sets is_acme and acme_provider of a new certificate from ssl_acme_issuer.';
CREATE TRIGGER ssl_certificate_detect_acme BEFORE INSERT ON @extschema@.ssl_certificate
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_certificate_detect_acme();
COMMENT ON TRIGGER ssl_certificate_detect_acme ON @extschema@.ssl_certificate IS
    'ACME detection at import, whatever path inserts the row.';

CREATE FUNCTION @extschema@.ssl_detect_acme() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed integer;
BEGIN
    WITH wanted AS (
        SELECT c.id, m.provider
          FROM @extschema@.ssl_certificate AS c
               CROSS JOIN LATERAL @extschema@.ssl_acme_provider_for(c.issuer_org, c.issuer_cn) AS m
    )
    UPDATE @extschema@.ssl_certificate AS c
       SET acme_provider = w.provider, is_acme = w.provider IS NOT NULL
      FROM wanted AS w
     WHERE w.id = c.id AND c.acme_provider IS DISTINCT FROM w.provider;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_detect_acme() IS
    'Re-applies ssl_acme_issuer to every stored certificate (after the rules changed); returns how many rows changed.';

-- Existing rows, with the guard off so that updated_at is left alone.
ALTER TABLE @extschema@.ssl_certificate DISABLE TRIGGER ssl_certificate_guard;
SELECT @extschema@.ssl_detect_acme();
ALTER TABLE @extschema@.ssl_certificate ENABLE TRIGGER ssl_certificate_guard;

--------------------------------------------------------------------------
-- Ownership lookup
--------------------------------------------------------------------------

-- Shared by both overloads: takes the parsed certificate.
CREATE FUNCTION @extschema@.ssl_find_known_parsed(cert @extschema@.ssl_certificate_info)
    RETURNS TABLE (certificate_id bigint, match text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH hits AS (
        SELECT c.id, 1 AS strength FROM @extschema@.ssl_certificate AS c
         WHERE c.fingerprint_sha256 = (ssl_find_known_parsed.cert).fingerprint_sha256
        UNION ALL
        SELECT c.id, 2 FROM @extschema@.ssl_certificate AS c
         WHERE c.tbs_sha256 = (ssl_find_known_parsed.cert).tbs_sha256
        UNION ALL
        SELECT c.id, 3 FROM @extschema@.ssl_certificate AS c
         WHERE c.spki_sha256 = (ssl_find_known_parsed.cert).spki_sha256
    ),
    best AS (SELECT h.id, min(h.strength) AS strength FROM hits AS h GROUP BY h.id)
    SELECT b.id, (ARRAY['fingerprint', 'tbs', 'spki'])[b.strength] FROM best AS b ORDER BY b.strength, b.id
$$;
COMMENT ON FUNCTION @extschema@.ssl_find_known_parsed(@extschema@.ssl_certificate_info) IS
    'Internal to ssl_find_known: the lookup for a parsed certificate.';

CREATE FUNCTION @extschema@.ssl_find_known(der bytea) RETURNS TABLE (certificate_id bigint, match text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM @extschema@.ssl_find_known_parsed(@extschema@.ssl_parse(ssl_find_known.der))
$$;
COMMENT ON FUNCTION @extschema@.ssl_find_known(bytea) IS
    'Stored certificates related to a certificate (e.g. from a CT log), each once with its strongest match: fingerprint (the same certificate), tbs (its precertificate or final twin), spki (another certificate with the same public key).';

CREATE FUNCTION @extschema@.ssl_find_known(pem text) RETURNS TABLE (certificate_id bigint, match text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM @extschema@.ssl_find_known_parsed(@extschema@.ssl_parse(ssl_find_known.pem))
$$;
COMMENT ON FUNCTION @extschema@.ssl_find_known(text) IS
    'ssl_find_known for PEM text; for a bundle, its leaf is looked up.';

--------------------------------------------------------------------------
-- Observed deployments
--------------------------------------------------------------------------

CREATE TABLE @extschema@.ssl_observation (
    id                  bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    object_type         text NOT NULL CHECK (object_type <> ''),
    object_id           bigint NOT NULL,
    fingerprint_sha256  text NOT NULL
        CONSTRAINT ssl_observation_fingerprint_format
            CHECK (fingerprint_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$'),
    certificate_id      bigint REFERENCES @extschema@.ssl_certificate (id) ON DELETE SET NULL,
    common_name         text,
    valid_to            timestamptz NOT NULL,
    first_seen_at       timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL,
    times_seen          integer NOT NULL DEFAULT 1 CHECK (times_seen > 0),
    recorded_by         text NOT NULL DEFAULT @extschema@.ssl_caller(),
    CONSTRAINT ssl_observation_span CHECK (first_seen_at <= last_seen_at)
);
COMMENT ON TABLE @extschema@.ssl_observation IS
    'What scanners saw objects serve: one row per run of identical sightings of an object (a new row whenever the served certificate changes), so the latest row per object is its current state and older rows are its history.';
COMMENT ON COLUMN @extschema@.ssl_observation.id IS 'Surrogate key.';
COMMENT ON COLUMN @extschema@.ssl_observation.object_type IS 'Kind of object, as in ssl_assignment (e.g. dcim.device).';
COMMENT ON COLUMN @extschema@.ssl_observation.object_id IS 'Id of the object, as in ssl_assignment.';
COMMENT ON COLUMN @extschema@.ssl_observation.fingerprint_sha256 IS 'Fingerprint of the served (leaf) certificate.';
COMMENT ON COLUMN @extschema@.ssl_observation.certificate_id IS
    'The inventory row with that fingerprint when it was recorded (NULL if unknown then); ssl_deployment_drift looks it up afresh.';
COMMENT ON COLUMN @extschema@.ssl_observation.common_name IS 'common_name of the served certificate, for certificates the inventory does not hold.';
COMMENT ON COLUMN @extschema@.ssl_observation.valid_to IS 'notAfter of the served certificate.';
COMMENT ON COLUMN @extschema@.ssl_observation.first_seen_at IS 'Earliest observed_at of this run of sightings.';
COMMENT ON COLUMN @extschema@.ssl_observation.last_seen_at IS 'Latest observed_at of this run of sightings.';
COMMENT ON COLUMN @extschema@.ssl_observation.times_seen IS 'Number of ssl_record_observation calls folded into this row.';
COMMENT ON COLUMN @extschema@.ssl_observation.recorded_by IS 'Role that recorded the latest sighting.';
COMMENT ON CONSTRAINT ssl_observation_fingerprint_format ON @extschema@.ssl_observation IS
    'Same format as ssl_certificate.fingerprint_sha256.';
COMMENT ON CONSTRAINT ssl_observation_span ON @extschema@.ssl_observation IS 'A run of sightings does not end before it starts.';
COMMENT ON SEQUENCE @extschema@.ssl_observation_id_seq IS 'Identity of ssl_observation.id.';
COMMENT ON CONSTRAINT ssl_observation_pkey ON @extschema@.ssl_observation IS 'Surrogate key.';
COMMENT ON CONSTRAINT ssl_observation_object_type_check ON @extschema@.ssl_observation IS 'An object type is named.';
COMMENT ON CONSTRAINT ssl_observation_times_seen_check ON @extschema@.ssl_observation IS 'A row holds at least one sighting.';
COMMENT ON CONSTRAINT ssl_observation_certificate_id_fkey ON @extschema@.ssl_observation IS
    'Purging a certificate keeps the sightings, without the link.';
CREATE INDEX ssl_observation_object_idx ON @extschema@.ssl_observation (object_type, object_id, last_seen_at DESC, id DESC);
COMMENT ON INDEX @extschema@.ssl_observation_object_idx IS 'Latest observation of an object.';
CREATE INDEX ssl_observation_fingerprint_idx ON @extschema@.ssl_observation (fingerprint_sha256);
COMMENT ON INDEX @extschema@.ssl_observation_fingerprint_idx IS 'Where a certificate was seen.';
CREATE INDEX ssl_observation_certificate_idx ON @extschema@.ssl_observation (certificate_id) WHERE certificate_id IS NOT NULL;
COMMENT ON INDEX @extschema@.ssl_observation_certificate_idx IS 'Keeps ON DELETE SET NULL cheap when a certificate is purged.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_observation', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_observation_id_seq', '');

-- Shared by both overloads: takes the parsed certificate.
CREATE FUNCTION @extschema@.ssl_record_observation_parsed(object_type text, object_id bigint,
                                                         cert @extschema@.ssl_certificate_info,
                                                         observed_at timestamptz) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    latest @extschema@.ssl_observation;
    known bigint;
    result bigint;
BEGIN
    IF object_type IS NULL OR object_id IS NULL OR observed_at IS NULL OR cert.fingerprint_sha256 IS NULL THEN
        RAISE EXCEPTION 'object_type, object_id, the certificate and observed_at must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF object_type = '' OR NOT isfinite(observed_at) THEN
        RAISE EXCEPTION 'object_type must not be empty and observed_at must be finite'
            USING ERRCODE = '22023';
    END IF;
    -- One writer per object at a time, so two scanners cannot both extend
    -- or both start the object's latest run.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(
        'netbox_ssl.observation:' || object_type || ':' || object_id, 0));
    SELECT * INTO latest
      FROM @extschema@.ssl_observation AS o
     WHERE o.object_type = ssl_record_observation_parsed.object_type
       AND o.object_id = ssl_record_observation_parsed.object_id
     ORDER BY o.last_seen_at DESC, o.id DESC
     LIMIT 1;
    SELECT c.id INTO known FROM @extschema@.ssl_certificate AS c
     WHERE c.fingerprint_sha256 = cert.fingerprint_sha256;
    IF latest.id IS NOT NULL AND latest.fingerprint_sha256 = cert.fingerprint_sha256 THEN
        UPDATE @extschema@.ssl_observation AS o
           SET first_seen_at = least(o.first_seen_at, ssl_record_observation_parsed.observed_at),
               last_seen_at = greatest(o.last_seen_at, ssl_record_observation_parsed.observed_at),
               times_seen = o.times_seen + 1,
               certificate_id = coalesce(known, o.certificate_id),
               recorded_by = @extschema@.ssl_caller()
         WHERE o.id = latest.id;
        RETURN latest.id;
    END IF;
    -- A sighting older than the latest one, of another certificate, is kept
    -- as history; it does not become the object's current state.
    INSERT INTO @extschema@.ssl_observation
        (object_type, object_id, fingerprint_sha256, certificate_id, common_name, valid_to,
         first_seen_at, last_seen_at, recorded_by)
    VALUES (object_type, object_id, cert.fingerprint_sha256, known, cert.common_name, cert.valid_to,
            observed_at, observed_at, @extschema@.ssl_caller())
    RETURNING id INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_record_observation_parsed(text, bigint, @extschema@.ssl_certificate_info, timestamptz) IS
    'Internal to ssl_record_observation: records a parsed certificate as seen on an object.';

CREATE FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, pem text,
                                                  observed_at timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT @extschema@.ssl_record_observation_parsed($1, $2, @extschema@.ssl_parse($3), $4)
$$;
COMMENT ON FUNCTION @extschema@.ssl_record_observation(text, bigint, text, timestamptz) IS
    'A scanner reports the certificate (PEM; the leaf of a chain) an object served at observed_at; returns the ssl_observation id it was folded into.';

CREATE FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, der bytea,
                                                  observed_at timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT @extschema@.ssl_record_observation_parsed($1, $2, @extschema@.ssl_parse($3), $4)
$$;
COMMENT ON FUNCTION @extschema@.ssl_record_observation(text, bigint, bytea, timestamptz) IS
    'A scanner reports the certificate (DER) an object served at observed_at; returns the ssl_observation id it was folded into.';

CREATE VIEW @extschema@.ssl_deployment_drift AS
WITH latest AS (
    SELECT DISTINCT ON (o.object_type, o.object_id) o.*
      FROM @extschema@.ssl_observation AS o
     ORDER BY o.object_type, o.object_id, o.last_seen_at DESC, o.id DESC
)
SELECT a.id                    AS assignment_id,
       a.object_type,
       a.object_id,
       a.certificate_id        AS assigned_certificate_id,
       ac.status               AS assigned_status,
       ac.fingerprint_sha256   AS assigned_fingerprint_sha256,
       l.fingerprint_sha256    AS observed_fingerprint_sha256,
       oc.id                   AS observed_certificate_id,
       oc.status               AS observed_status,
       l.common_name           AS observed_common_name,
       l.valid_to              AS observed_valid_to,
       l.last_seen_at          AS observed_at,
       CASE WHEN oc.status = 'replaced' THEN 'serving_replaced'
            WHEN l.valid_to < now() THEN 'serving_expired'
            WHEN oc.id IS NULL THEN 'serving_unknown'
            ELSE 'serving_other' END AS reason
  FROM @extschema@.ssl_assignment AS a
  JOIN latest AS l ON l.object_type = a.object_type AND l.object_id = a.object_id
  JOIN @extschema@.ssl_certificate AS ac ON ac.id = a.certificate_id
  LEFT JOIN @extschema@.ssl_certificate AS oc ON oc.fingerprint_sha256 = l.fingerprint_sha256
 WHERE NOT EXISTS (SELECT 1
                     FROM @extschema@.ssl_assignment AS a2
                     JOIN @extschema@.ssl_certificate AS c2 ON c2.id = a2.certificate_id
                    WHERE a2.object_type = a.object_type AND a2.object_id = a.object_id
                      AND c2.fingerprint_sha256 = l.fingerprint_sha256);
COMMENT ON VIEW @extschema@.ssl_deployment_drift IS
    'Assignments whose object was last seen serving a certificate that is not assigned to it (renewed on paper, not on the wire): one row per assignment of such an object.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.assignment_id IS 'The assignment (ssl_assignment.id).';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.object_type IS 'Kind of object.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.object_id IS 'Id of the object.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.assigned_certificate_id IS 'The certificate the inventory says the object serves.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.assigned_status IS 'Status of the assigned certificate.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.assigned_fingerprint_sha256 IS 'Fingerprint of the assigned certificate.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_fingerprint_sha256 IS 'Fingerprint of the certificate last seen on the object.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_certificate_id IS 'The inventory row of the served certificate; NULL if the inventory does not hold it.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_status IS 'Status of the served certificate in the inventory.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_common_name IS 'common_name of the served certificate.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_valid_to IS 'notAfter of the served certificate.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_at IS 'When the object was last seen serving it.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.reason IS
    'serving_replaced (a certificate since renewed), serving_expired, serving_unknown (not in the inventory), serving_other (an inventory certificate not assigned here).';

--------------------------------------------------------------------------
-- Privileges (as 1.2: readers read, operators write, admins edit rules)
--------------------------------------------------------------------------

REVOKE ALL ON FUNCTION
    @extschema@.ssl_acme_provider_for(text, text), @extschema@.ssl_certificate_detect_acme(),
    @extschema@.ssl_detect_acme(), @extschema@.ssl_find_known(bytea), @extschema@.ssl_find_known(text),
    @extschema@.ssl_find_known_parsed(@extschema@.ssl_certificate_info),
    @extschema@.ssl_record_observation_parsed(text, bigint, @extschema@.ssl_certificate_info, timestamptz),
    @extschema@.ssl_record_observation(text, bigint, text, timestamptz),
    @extschema@.ssl_record_observation(text, bigint, bytea, timestamptz)
FROM PUBLIC;

GRANT SELECT ON @extschema@.ssl_acme_issuer, @extschema@.ssl_observation, @extschema@.ssl_deployment_drift
   TO netbox_ssl_reader;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_acme_provider_for(text, text), @extschema@.ssl_find_known(bytea),
                          @extschema@.ssl_find_known(text),
                          @extschema@.ssl_find_known_parsed(@extschema@.ssl_certificate_info)
   TO netbox_ssl_reader;
GRANT EXECUTE ON FUNCTION
    @extschema@.ssl_record_observation(text, bigint, text, timestamptz),
    @extschema@.ssl_record_observation(text, bigint, bytea, timestamptz),
    @extschema@.ssl_detect_acme()
   TO netbox_ssl_operator;
GRANT INSERT, UPDATE, DELETE ON @extschema@.ssl_acme_issuer TO netbox_ssl_admin;
GRANT USAGE ON SEQUENCE @extschema@.ssl_acme_issuer_id_seq TO netbox_ssl_admin;
