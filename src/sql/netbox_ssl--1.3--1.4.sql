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


-- netbox_ssl 1.3 -> 1.4, part "outbox": the transactional outbox with NOTIFY
-- wake-ups, consumers that claim and acknowledge, and expiry alerts that fire
-- on crossing a threshold rather than on equality.

--------------------------------------------------------------------------
-- Outbox tables
--------------------------------------------------------------------------

-- One row per published lifecycle event. No foreign key to the event or the
-- certificate: the outbox is a message log, and ssl_purge_certificate must
-- still be able to delete a certificate's history.
CREATE TABLE @extschema@.ssl_outbox (
    id             bigint PRIMARY KEY,
    certificate_id bigint NOT NULL,
    event_type     text NOT NULL,
    payload        jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ssl_outbox_created_at_idx ON @extschema@.ssl_outbox (created_at);
COMMENT ON TABLE @extschema@.ssl_outbox IS
    'Transactional outbox: every lifecycle event written with the current transaction time is copied here, in the same transaction, with its JSON payload. Consumers read it through ssl_outbox_claim and ssl_outbox_ack; ssl_outbox_prune removes old rows.';
COMMENT ON COLUMN @extschema@.ssl_outbox.id IS 'The id of the lifecycle event (ssl_lifecycle_event.id); also the id consumers acknowledge.';
COMMENT ON COLUMN @extschema@.ssl_outbox.certificate_id IS 'The certificate the event is about (no foreign key: outbox rows outlive a purge).';
COMMENT ON COLUMN @extschema@.ssl_outbox.event_type IS 'The event type (imported, renewed, activated, expired, expiring, ...).';
COMMENT ON COLUMN @extschema@.ssl_outbox.payload IS 'The message, the same JSON object that was sent with NOTIFY on channel ssl_lifecycle (text fields cut to 200 characters, see "truncated").';
COMMENT ON COLUMN @extschema@.ssl_outbox.created_at IS 'Transaction time of the publishing transaction.';
COMMENT ON INDEX @extschema@.ssl_outbox_created_at_idx IS 'Keeps ssl_outbox_prune an index range scan.';
COMMENT ON CONSTRAINT ssl_outbox_pkey ON @extschema@.ssl_outbox IS 'An event is published once.';

CREATE TABLE @extschema@.ssl_outbox_consumer (
    name          text PRIMARY KEY
        CONSTRAINT ssl_outbox_consumer_name_check CHECK (name <> '' AND length(name) <= 200),
    subscribed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.ssl_outbox_consumer IS
    'Named outbox consumers. Each receives every event published after it subscribed, plus every row still in the outbox when it subscribed.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.name IS 'Consumer name, as passed to ssl_outbox_claim (1 to 200 characters).';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.subscribed_at IS 'When the consumer subscribed (explicitly or by its first claim).';
COMMENT ON CONSTRAINT ssl_outbox_consumer_name_check ON @extschema@.ssl_outbox_consumer IS 'Consumer names are non-empty and at most 200 characters.';
COMMENT ON CONSTRAINT ssl_outbox_consumer_pkey ON @extschema@.ssl_outbox_consumer IS 'Consumer names are unique.';

-- The per-consumer queue. Claims lock these rows, never the shared outbox
-- row, so workers of one consumer skip each other's rows while other
-- consumers still see them. Acknowledging deletes the row.
CREATE TABLE @extschema@.ssl_outbox_delivery (
    consumer  text NOT NULL REFERENCES @extschema@.ssl_outbox_consumer (name) ON DELETE CASCADE,
    outbox_id bigint NOT NULL REFERENCES @extschema@.ssl_outbox (id) ON DELETE CASCADE,
    CONSTRAINT ssl_outbox_delivery_pkey PRIMARY KEY (consumer, outbox_id)
);
CREATE INDEX ssl_outbox_delivery_outbox_idx ON @extschema@.ssl_outbox_delivery (outbox_id);
COMMENT ON TABLE @extschema@.ssl_outbox_delivery IS
    'One row per consumer and outbox row not yet acknowledged by that consumer. ssl_outbox_claim locks these rows (FOR UPDATE SKIP LOCKED); ssl_outbox_ack deletes them.';
COMMENT ON COLUMN @extschema@.ssl_outbox_delivery.consumer IS 'The consumer that still has to acknowledge the row.';
COMMENT ON COLUMN @extschema@.ssl_outbox_delivery.outbox_id IS 'The outbox row (event id).';
COMMENT ON CONSTRAINT ssl_outbox_delivery_pkey ON @extschema@.ssl_outbox_delivery IS 'A consumer''s queue in id order: what ssl_outbox_claim scans.';
COMMENT ON INDEX @extschema@.ssl_outbox_delivery_outbox_idx IS 'Pending deliveries of one outbox row, for ssl_outbox_prune.';
COMMENT ON CONSTRAINT ssl_outbox_delivery_consumer_fkey ON @extschema@.ssl_outbox_delivery IS 'Unsubscribing a consumer drops its queue.';
COMMENT ON CONSTRAINT ssl_outbox_delivery_outbox_id_fkey ON @extschema@.ssl_outbox_delivery IS 'Queue rows point at existing outbox rows (pruning removes only rows without any).';

CREATE VIEW @extschema@.ssl_outbox_backlog AS
SELECT s.name AS consumer,
       s.subscribed_at,
       count(d.outbox_id) AS pending,
       min(o.created_at) AS oldest_pending
  FROM @extschema@.ssl_outbox_consumer s
  LEFT JOIN @extschema@.ssl_outbox_delivery d ON d.consumer = s.name
  LEFT JOIN @extschema@.ssl_outbox o ON o.id = d.outbox_id
 GROUP BY s.name, s.subscribed_at;
COMMENT ON VIEW @extschema@.ssl_outbox_backlog IS
    'Per consumer: how many outbox rows it has not acknowledged yet (including rows a live worker holds claimed) and when the oldest was published.';

--------------------------------------------------------------------------
-- Expiry alert bookkeeping (used by the outbox payload, so created first)
--------------------------------------------------------------------------

CREATE TABLE @extschema@.ssl_expiry_alert (
    certificate_id bigint NOT NULL REFERENCES @extschema@.ssl_certificate (id) ON DELETE CASCADE,
    threshold      integer NOT NULL CONSTRAINT ssl_expiry_alert_threshold_check CHECK (threshold >= 0),
    event_id       bigint,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ssl_expiry_alert_pkey PRIMARY KEY (certificate_id, threshold)
);
CREATE UNIQUE INDEX ssl_expiry_alert_event_idx ON @extschema@.ssl_expiry_alert (event_id) WHERE event_id IS NOT NULL;
COMMENT ON TABLE @extschema@.ssl_expiry_alert IS
    'What ssl_expiry_scan has dealt with, per certificate and threshold: an alert it sent (event_id set) or a larger threshold covered by a smaller one''s alert (event_id NULL). Threshold 0 stands for expiry itself.';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.certificate_id IS 'The certificate (rows go with it when it is purged).';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.threshold IS 'Days before valid_to; 0 means the certificate expired.';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.event_id IS 'The expiring or expired lifecycle event that announced it; NULL when covered without an event of its own.';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.recorded_at IS 'Transaction time of the scan that recorded it.';
COMMENT ON CONSTRAINT ssl_expiry_alert_pkey ON @extschema@.ssl_expiry_alert IS 'Each threshold is dealt with at most once per certificate.';
COMMENT ON CONSTRAINT ssl_expiry_alert_threshold_check ON @extschema@.ssl_expiry_alert IS 'Thresholds are whole days; 0 is expiry.';
COMMENT ON CONSTRAINT ssl_expiry_alert_certificate_id_fkey ON @extschema@.ssl_expiry_alert IS 'Alert rows go with their certificate when it is purged.';
COMMENT ON INDEX @extschema@.ssl_expiry_alert_event_idx IS 'Finds the threshold of an expiring event (for the outbox payload).';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_outbox', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_outbox_consumer', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_outbox_delivery', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_expiry_alert', '');

--------------------------------------------------------------------------
-- Publishing: a statement-level trigger on the history
--------------------------------------------------------------------------

-- Set-based, so a statement that logs many events pays one trigger call.
-- Only events dated at or after the transaction's start are news: rows with
-- an older occurred_at are history being restored (pg_dump writes events
-- with their original times; the outbox rows come from the dump as well)
-- or backfilled, and must not be published again.
-- The consumer list is read by the same statement that inserts into
-- ssl_outbox, whose lock is taken before the statement's snapshot: a
-- subscription (which locks ssl_outbox in SHARE ROW EXCLUSIVE mode) either
-- sees this transaction's rows when it backfills, or is seen here.
-- Text fields are cut to 200 characters: jsonb escapes a character in at
-- most 6 bytes, so five such fields plus the fixed keys stay well below
-- NOTIFY's 8000-byte payload limit.
CREATE FUNCTION @extschema@.ssl_outbox_publish() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
DECLARE
    sent bigint;
BEGIN
    WITH published AS (
        INSERT INTO @extschema@.ssl_outbox (id, certificate_id, event_type, payload)
        SELECT n.id, n.certificate_id, n.event_type,
               jsonb_build_object(
                   'id', n.id,
                   'certificate_id', n.certificate_id,
                   'type', left(n.event_type, 200),
                   'old_status', left(n.old_status, 200),
                   'new_status', left(n.new_status, 200),
                   'related_certificate_id', n.related_certificate_id,
                   'common_name', left(c.common_name, 200),
                   'actor', left(n.actor, 200),
                   'occurred_at', to_char(n.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   'threshold', CASE WHEN n.event_type = 'expiring' THEN
                                    (SELECT a.threshold FROM @extschema@.ssl_expiry_alert a WHERE a.event_id = n.id) END,
                   'truncated', coalesce(greatest(length(n.event_type), length(n.old_status), length(n.new_status),
                                                  length(c.common_name), length(n.actor)) > 200, false))
          FROM new_rows n
          LEFT JOIN @extschema@.ssl_certificate c ON c.id = n.certificate_id
         WHERE n.occurred_at >= now()
         ORDER BY n.id
        RETURNING id, payload
    ), queued AS (
        INSERT INTO @extschema@.ssl_outbox_delivery (consumer, outbox_id)
        SELECT s.name, p.id FROM published p CROSS JOIN @extschema@.ssl_outbox_consumer s
    )
    SELECT count(pg_notify('ssl_lifecycle', p.payload::text)) INTO sent FROM published p;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_publish() IS
    'Trigger function: copies new lifecycle events (those dated at or after the transaction start) into ssl_outbox, queues them for every consumer and sends NOTIFY ssl_lifecycle with the JSON payload; all in the writing transaction.';
CREATE TRIGGER ssl_lifecycle_event_outbox AFTER INSERT ON @extschema@.ssl_lifecycle_event
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_outbox_publish();
COMMENT ON TRIGGER ssl_lifecycle_event_outbox ON @extschema@.ssl_lifecycle_event IS
    'Every new event reaches the outbox and a NOTIFY in the same transaction, whichever path wrote it; a rollback publishes nothing.';

--------------------------------------------------------------------------
-- Consumers: subscribe, claim, acknowledge, unsubscribe, prune
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    queued bigint;
BEGIN
    IF consumer IS NULL OR consumer = '' OR length(consumer) > 200 THEN
        RAISE EXCEPTION 'consumer must be a name of 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_subscribe.consumer) THEN
        -- Waits for transactions that are publishing right now, so that the
        -- backfill below sees their rows; publishers that start later wait
        -- for this transaction and then see the new consumer.
        LOCK TABLE @extschema@.ssl_outbox IN SHARE ROW EXCLUSIVE MODE;
        INSERT INTO @extschema@.ssl_outbox_consumer (name) VALUES (ssl_outbox_subscribe.consumer)
            ON CONFLICT DO NOTHING;
        IF FOUND THEN
            INSERT INTO @extschema@.ssl_outbox_delivery (consumer, outbox_id)
            SELECT ssl_outbox_subscribe.consumer, o.id FROM @extschema@.ssl_outbox o;
        END IF;
    END IF;
    SELECT count(*) INTO queued FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_subscribe.consumer;
    RETURN queued;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_subscribe(text) IS
    'Registers a consumer if it is new, queueing every row still in the outbox for it (a new consumer starts from the beginning of the outbox); returns how many rows it has pending. Call it in a short transaction of its own: subscribing a new consumer locks ssl_outbox against publishers until commit.';

CREATE FUNCTION @extschema@.ssl_outbox_claim(consumer text, max integer DEFAULT 100)
    RETURNS TABLE (id bigint, certificate_id bigint, event_type text, payload jsonb, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF consumer IS NULL OR consumer = '' OR length(consumer) > 200 THEN
        RAISE EXCEPTION 'consumer must be a name of 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF max IS NULL OR max < 1 THEN
        RAISE EXCEPTION 'max must be at least 1, not %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_claim.consumer) THEN
        PERFORM @extschema@.ssl_outbox_subscribe(ssl_outbox_claim.consumer);
    END IF;
    RETURN QUERY
    SELECT o.id, o.certificate_id, o.event_type, o.payload, o.created_at
      FROM (SELECT d.outbox_id
              FROM @extschema@.ssl_outbox_delivery d
             WHERE d.consumer = ssl_outbox_claim.consumer
             ORDER BY d.outbox_id
             LIMIT ssl_outbox_claim.max
               FOR UPDATE SKIP LOCKED) q
      JOIN @extschema@.ssl_outbox o ON o.id = q.outbox_id
     ORDER BY o.id;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_claim(text, integer) IS
    'Returns up to max outbox rows that consumer has not acknowledged, oldest first, and locks them (FOR UPDATE SKIP LOCKED on the consumer''s own queue rows) until the calling transaction ends: other workers of the same consumer skip them, other consumers are not affected. Unacknowledged rows become claimable again when the transaction ends (at-least-once). Subscribes an unknown consumer first.';

CREATE FUNCTION @extschema@.ssl_outbox_ack(consumer text, ids bigint[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    acked integer;
BEGIN
    IF consumer IS NULL OR consumer = '' OR length(consumer) > 200 THEN
        RAISE EXCEPTION 'consumer must be a name of 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF ids IS NULL THEN
        RAISE EXCEPTION 'ids must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_ack.consumer) THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', ssl_outbox_ack.consumer
            USING ERRCODE = 'P0002', HINT = 'Consumers are created by ssl_outbox_subscribe or their first ssl_outbox_claim.';
    END IF;
    DELETE FROM @extschema@.ssl_outbox_delivery d
     WHERE d.consumer = ssl_outbox_ack.consumer AND d.outbox_id = ANY (ids);
    GET DIAGNOSTICS acked = ROW_COUNT;
    RETURN acked;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_ack(text, bigint[]) IS
    'Acknowledges outbox rows for consumer (takes effect when the calling transaction commits); returns how many were still pending. Ids already acknowledged or unknown are ignored. P0002 for an unknown consumer.';

CREATE FUNCTION @extschema@.ssl_outbox_unsubscribe(consumer text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    dropped bigint;
BEGIN
    IF consumer IS NULL OR consumer = '' THEN
        RAISE EXCEPTION 'consumer must not be empty' USING ERRCODE = '22023';
    END IF;
    SELECT count(*) INTO dropped FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_unsubscribe.consumer;
    DELETE FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_unsubscribe.consumer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', ssl_outbox_unsubscribe.consumer USING ERRCODE = 'P0002';
    END IF;
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_unsubscribe(text) IS
    'Administrators: removes a consumer and its pending deliveries (so ssl_outbox_prune can remove those rows); returns how many were pending.';

CREATE FUNCTION @extschema@.ssl_outbox_prune(older_than interval DEFAULT '30 days') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    removed bigint;
BEGIN
    IF older_than IS NULL OR older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval' USING ERRCODE = '22023';
    END IF;
    DELETE FROM @extschema@.ssl_outbox o
     WHERE o.created_at < now() - older_than
       AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_delivery d WHERE d.outbox_id = o.id);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_prune(interval) IS
    'Administrators: deletes outbox rows published more than older_than ago that every consumer has acknowledged (rows some consumer still has pending are kept); returns the count. The lifecycle history itself is untouched.';

--------------------------------------------------------------------------
-- Expiry scan
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_expiry_scan(thresholds integer[] DEFAULT '{90,60,30,14,7,1}')
    RETURNS TABLE (certificate_id bigint, threshold integer, event text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t integer[];
    widest integer;
    gone bigint[];
    fired bigint[];
    fired_at integer[];
BEGIN
    IF thresholds IS NULL OR cardinality(thresholds) = 0 THEN
        RAISE EXCEPTION 'thresholds must be a non-empty array of days' USING ERRCODE = '22023';
    END IF;
    IF array_ndims(thresholds) > 1 THEN
        RAISE EXCEPTION 'thresholds must be a one-dimensional array' USING ERRCODE = '22023';
    END IF;
    IF array_position(thresholds, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'thresholds must not contain NULL' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(thresholds) x WHERE x < 1 OR x > 36500) THEN
        RAISE EXCEPTION 'thresholds must be whole days from 1 to 36500, got %', thresholds USING ERRCODE = '22023';
    END IF;
    -- A set: order and duplicates do not matter.
    t := ARRAY(SELECT DISTINCT x FROM unnest(thresholds) x ORDER BY x);
    widest := t[cardinality(t)];

    -- One scan at a time: a second one waits and then sees what the first
    -- recorded. Readers of the table are not blocked.
    LOCK TABLE @extschema@.ssl_expiry_alert IN SHARE ROW EXCLUSIVE MODE;

    -- Expiry is a status change, made exactly as ssl_refresh_status makes it,
    -- so the status trigger logs the one expired event (and a later refresh
    -- finds nothing to do).
    WITH expired AS (
        UPDATE @extschema@.ssl_certificate c SET status = 'expired'
         WHERE c.status = 'active' AND c.valid_to < now()
        RETURNING c.id
    )
    SELECT coalesce(array_agg(e.id ORDER BY e.id), '{}') INTO gone FROM expired e;

    -- Every expired certificate is recorded once, with its expired event,
    -- whether this scan or ssl_refresh_status (or a plain UPDATE) logged it.
    -- Certificates that never had an expired event (imported after their
    -- expiry) are recorded without one.
    INSERT INTO @extschema@.ssl_expiry_alert (certificate_id, threshold, event_id)
    SELECT c.id, 0,
           (SELECT max(e.id) FROM @extschema@.ssl_lifecycle_event e
             WHERE e.certificate_id = c.id AND e.event_type = 'expired')
      FROM @extschema@.ssl_certificate c
     WHERE c.status = 'expired'
       AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_expiry_alert a WHERE a.certificate_id = c.id AND a.threshold = 0);

    -- Crossing: the smallest threshold a certificate is within, unless that
    -- threshold or a smaller one was already dealt with. The row lock makes
    -- a concurrent renewal either win (the certificate is no longer active
    -- when rechecked) or wait for this scan.
    WITH due AS (
        SELECT c.id AS cid, c.valid_to, s.crossed
          FROM @extschema@.ssl_certificate c
         CROSS JOIN LATERAL (SELECT min(x) AS crossed FROM unnest(t) x
                              WHERE c.valid_to <= now() + make_interval(days => x)) s
         WHERE c.status = 'active'
           AND c.valid_to >= now()
           AND c.valid_to <= now() + make_interval(days => widest)
           AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_expiry_alert a
                            WHERE a.certificate_id = c.id AND a.threshold > 0 AND a.threshold <= s.crossed)
           FOR SHARE OF c
    ), logged AS (
        INSERT INTO @extschema@.ssl_lifecycle_event AS ev (certificate_id, event_type, description)
        SELECT d.cid, 'expiring',
               format('Expires in %s day(s), at %s UTC: crossed the %s-day threshold',
                      floor(extract(epoch FROM d.valid_to - now()) / 86400)::integer,
                      to_char(d.valid_to AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), d.crossed)
          FROM due d ORDER BY d.cid
        RETURNING ev.id, ev.certificate_id
    ), sent AS (
        INSERT INTO @extschema@.ssl_expiry_alert AS al (certificate_id, threshold, event_id)
        SELECT l.certificate_id, d.crossed, l.id FROM logged l JOIN due d ON d.cid = l.certificate_id
        RETURNING al.certificate_id, al.threshold
    ), covered AS (
        INSERT INTO @extschema@.ssl_expiry_alert (certificate_id, threshold)
        SELECT d.cid, x FROM due d CROSS JOIN unnest(t) x WHERE x > d.crossed
        ON CONFLICT DO NOTHING
    )
    SELECT coalesce(array_agg(s.certificate_id ORDER BY s.certificate_id), '{}'),
           coalesce(array_agg(s.threshold ORDER BY s.certificate_id), '{}')
      INTO fired, fired_at FROM sent s;

    RETURN QUERY
    SELECT g.id, 0, 'expired'::text FROM unnest(gone) g(id)
    UNION ALL
    SELECT f.id, f.th, 'expiring'::text FROM unnest(fired, fired_at) f(id, th)
    ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_expiry_scan(integer[]) IS
    'Expiry alerts that fire on crossing: for each active certificate, logs one expiring event (which reaches the outbox) for the smallest threshold (days before valid_to) it is within and has not been alerted for, recording larger ones as covered; marks active certificates past valid_to expired (one expired event, as ssl_refresh_status would). Returns what it emitted; running it again emits nothing new. Thresholds are a set of whole days from 1 to 36500 (order and duplicates ignored); NULL, empty, NULL elements or values out of range raise 22023.';

--------------------------------------------------------------------------
-- Privileges (as in 1.2)
--------------------------------------------------------------------------

REVOKE ALL ON FUNCTION
    @extschema@.ssl_outbox_publish(), @extschema@.ssl_outbox_subscribe(text),
    @extschema@.ssl_outbox_claim(text, integer), @extschema@.ssl_outbox_ack(text, bigint[]),
    @extschema@.ssl_outbox_unsubscribe(text), @extschema@.ssl_outbox_prune(interval),
    @extschema@.ssl_expiry_scan(integer[])
FROM PUBLIC;
GRANT SELECT ON @extschema@.ssl_outbox, @extschema@.ssl_outbox_consumer, @extschema@.ssl_outbox_delivery,
                @extschema@.ssl_outbox_backlog, @extschema@.ssl_expiry_alert
   TO netbox_ssl_reader;
GRANT EXECUTE ON FUNCTION
    @extschema@.ssl_outbox_subscribe(text), @extschema@.ssl_outbox_claim(text, integer),
    @extschema@.ssl_outbox_ack(text, bigint[]), @extschema@.ssl_expiry_scan(integer[])
   TO netbox_ssl_operator;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_outbox_unsubscribe(text), @extschema@.ssl_outbox_prune(interval)
   TO netbox_ssl_admin;


--------------------------------------------------------------------------
-- Chain validation with a trust store (issue 5, section 2).
-- OpenSSL's own path builder (X509_verify_cert over an X509_STORE) plus the
-- web-PKI rules it lacks; see docs/chain-validation.md.
--------------------------------------------------------------------------

CREATE TABLE @extschema@.ssl_trust_anchor (
    id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    fingerprint_sha256 text NOT NULL
        CONSTRAINT ssl_trust_anchor_fingerprint_key UNIQUE
        CONSTRAINT ssl_trust_anchor_fingerprint_format
            CHECK (fingerprint_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$'),
    subject            text NOT NULL,
    common_name        text,
    is_ca              boolean NOT NULL,
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz NOT NULL,
    der                bytea NOT NULL,
    pem_content        text NOT NULL,
    source             text,
    added_at           timestamptz NOT NULL DEFAULT now(),
    added_by           text NOT NULL DEFAULT @extschema@.ssl_caller()
);
COMMENT ON TABLE @extschema@.ssl_trust_anchor IS
    'Trusted roots for ssl_validate_chain. Filled by ssl_trust_anchor_load; an admin removes an anchor with DELETE.';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.id IS 'Surrogate key.';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.fingerprint_sha256 IS 'SHA-256 of the DER, uppercase colon hex, as in ssl_certificate. Unique.';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.subject IS 'Subject DN as RFC 4514 text (XN_FLAG_RFC2253).';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.common_name IS 'First subject CN (else first DNS SAN), for display.';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.is_ca IS 'The basicConstraints CA flag. A non-CA anchor only ever validates itself (a pinned self-signed certificate).';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.valid_from IS 'notBefore.';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.valid_to IS 'notAfter. An anchor past it no longer validates anything.';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.der IS 'The certificate, DER.';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.pem_content IS 'The certificate as canonical PEM.';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.source IS 'Where the anchor came from, as given to ssl_trust_anchor_load (e.g. a file name).';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.added_at IS 'When the anchor was loaded.';
COMMENT ON COLUMN @extschema@.ssl_trust_anchor.added_by IS 'The role that loaded it (ssl_caller()).';
COMMENT ON CONSTRAINT ssl_trust_anchor_fingerprint_key ON @extschema@.ssl_trust_anchor IS 'An anchor is stored at most once.';
COMMENT ON CONSTRAINT ssl_trust_anchor_fingerprint_format ON @extschema@.ssl_trust_anchor IS 'Fingerprints are uppercase colon hex.';
COMMENT ON SEQUENCE @extschema@.ssl_trust_anchor_id_seq IS 'Identity of ssl_trust_anchor.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_trust_anchor', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_trust_anchor_id_seq', '');

ALTER TABLE @extschema@.ssl_certificate
    ADD COLUMN chain_status text
        CONSTRAINT ssl_certificate_chain_status_check
            CHECK (chain_status IN ('valid', 'invalid', 'self_signed', 'no_chain', 'untrusted_root', 'expired',
                                    'not_yet_valid', 'hostname_mismatch', 'unknown')),
    ADD COLUMN chain_validated_at timestamptz,
    ADD COLUMN chain_message text,
    ADD COLUMN chain_depth integer;
COMMENT ON COLUMN @extschema@.ssl_certificate.chain_status IS
    'Result of the last stored chain validation (ssl_validate_chain at now() without a host name, or ssl_validate_all); NULL if never validated.';
COMMENT ON COLUMN @extschema@.ssl_certificate.chain_validated_at IS 'When chain_status was computed (the validation time used).';
COMMENT ON COLUMN @extschema@.ssl_certificate.chain_message IS 'One sentence explaining chain_status.';
COMMENT ON COLUMN @extschema@.ssl_certificate.chain_depth IS
    'For valid: the depth of the trust anchor (certificates above the leaf); otherwise the depth of the certificate the status is about (0 = this certificate).';
COMMENT ON CONSTRAINT ssl_certificate_chain_status_check ON @extschema@.ssl_certificate IS 'The documented chain statuses.';

CREATE INDEX ssl_certificate_ca_idx ON @extschema@.ssl_certificate (id) WHERE is_ca AND status <> 'revoked';
COMMENT ON INDEX @extschema@.ssl_certificate_ca_idx IS
    'Stored CA certificates that are not revoked: the intermediate pool of ssl_validate_chain, read without scanning every leaf.';
CREATE INDEX ssl_certificate_chain_status_idx ON @extschema@.ssl_certificate (chain_status) WHERE chain_status IS DISTINCT FROM 'valid';
COMMENT ON INDEX @extschema@.ssl_certificate_chain_status_idx IS 'Finds certificates whose stored chain is not valid.';

--------------------------------------------------------------------------
-- Internal C helpers (not callable by PUBLIC)
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[],
                                             at timestamptz, hostname text,
                                             OUT status text, OUT depth integer, OUT message text, OUT chain text[])
    RETURNS record
    AS 'MODULE_PATHNAME', 'ssl_chain_verify'
    LANGUAGE C IMMUTABLE PARALLEL SAFE COST 20000;
COMMENT ON FUNCTION @extschema@.ssl_chain_verify(text, text, text[], bytea[], timestamptz, text) IS
    'Internal: validates the PEM leaf with its PEM chain, the PEM pool of intermediates and the DER anchors at a time, for an optional host name or IP. The store is cached per backend while pool and anchors are unchanged.';

CREATE FUNCTION @extschema@.ssl_chain_split_pem(pem text) RETURNS bytea[]
    AS 'MODULE_PATHNAME', 'ssl_chain_split_pem'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 5000;
COMMENT ON FUNCTION @extschema@.ssl_chain_split_pem(text) IS
    'Internal: every CERTIFICATE block of a PEM text as DER, in order; refuses private keys (22023) and undecodable certificates (22P02).';

--------------------------------------------------------------------------
-- Trust anchors
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_trust_anchor_load(pem_bundle text, source text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp COST 50000 AS $$
DECLARE
    added integer;
    ders bytea[];
BEGIN
    IF pem_bundle IS NULL THEN
        RAISE EXCEPTION 'the PEM bundle must not be NULL' USING ERRCODE = '22004';
    END IF;
    ders := @extschema@.ssl_chain_split_pem(pem_bundle);
    IF cardinality(ders) = 0 THEN
        RAISE EXCEPTION 'the PEM bundle holds no certificate' USING ERRCODE = '22P02',
              HINT = 'Pass PEM text with -----BEGIN CERTIFICATE----- blocks, e.g. /etc/ssl/certs/ca-certificates.crt.';
    END IF;
    WITH parsed AS (
        SELECT p.*, d.der, d.ord
          FROM unnest(ders) WITH ORDINALITY AS d(der, ord),
               LATERAL @extschema@.ssl_parse(d.der) AS p
    ), ins AS (
        INSERT INTO @extschema@.ssl_trust_anchor
               (fingerprint_sha256, subject, common_name, is_ca, valid_from, valid_to, der, pem_content, source)
        SELECT DISTINCT ON (fingerprint_sha256)
               fingerprint_sha256, subject, common_name, is_ca, valid_from, valid_to, der, pem_content,
               ssl_trust_anchor_load.source
          FROM parsed
         ORDER BY fingerprint_sha256, ord
        ON CONFLICT (fingerprint_sha256) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO added FROM ins;
    RETURN added;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_trust_anchor_load(text, text) IS
    'Adds every certificate of a PEM bundle to ssl_trust_anchor and returns how many were added; certificates already present (or repeated in the bundle) are skipped. Refuses private keys (22023) and malformed input (22P02). Admin only.';

--------------------------------------------------------------------------
-- Validation
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamptz DEFAULT now(), hostname text DEFAULT NULL)
RETURNS TABLE(status text, depth integer, message text, chain text[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp COST 50000 ROWS 1 AS $$
DECLARE
    cert record;
    r record;
BEGIN
    IF ssl_validate_chain.id IS NULL THEN
        RAISE EXCEPTION 'id must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF ssl_validate_chain.at IS NULL OR NOT isfinite(ssl_validate_chain.at) THEN
        RAISE EXCEPTION 'the validation time must be a finite timestamp' USING ERRCODE = '22023';
    END IF;
    SELECT c.pem_content, c.issuer_chain INTO cert
      FROM @extschema@.ssl_certificate AS c WHERE c.id = ssl_validate_chain.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', ssl_validate_chain.id USING ERRCODE = 'P0002';
    END IF;
    r := @extschema@.ssl_chain_verify(
            cert.pem_content, cert.issuer_chain,
            coalesce((SELECT array_agg(p.pem_content ORDER BY p.id) FROM @extschema@.ssl_certificate AS p WHERE p.is_ca AND p.status <> 'revoked'), '{}'),
            coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}'),
            ssl_validate_chain.at, ssl_validate_chain.hostname);
    -- Only a check of the certificate as it stands (now, no host name) is
    -- stored, and only for callers who may write (operators and admins);
    -- readers get the answer without a write.
    IF ssl_validate_chain.at = now() AND ssl_validate_chain.hostname IS NULL
       AND pg_catalog.pg_has_role(@extschema@.ssl_caller(), 'netbox_ssl_operator', 'MEMBER') THEN
        UPDATE @extschema@.ssl_certificate AS c
           SET chain_status = r.status, chain_validated_at = ssl_validate_chain.at,
               chain_message = r.message, chain_depth = r.depth
         WHERE c.id = ssl_validate_chain.id;
    END IF;
    status := r.status;
    depth := r.depth;
    message := r.message;
    chain := r.chain;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_validate_chain(bigint, timestamptz, text) IS
    'Validates a stored certificate''s chain with OpenSSL''s path builder and the web-PKI rules: intermediates from its issuer_chain and from stored CA certificates, anchors from ssl_trust_anchor, at a time, for an optional host name or IP. Stores the result on the certificate when called at now() without a host name by an operator or admin.';

CREATE FUNCTION @extschema@.ssl_validate_all() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp COST 1000000 AS $$
DECLARE
    pool text[];
    anchors bytea[];
    cert record;
    r record;
    n integer := 0;
    t timestamptz := now();
BEGIN
    -- Read once: the C function then keeps one X509_STORE for every call
    -- (its cache key is these two arrays).
    pool := coalesce((SELECT array_agg(p.pem_content ORDER BY p.id) FROM @extschema@.ssl_certificate AS p WHERE p.is_ca AND p.status <> 'revoked'), '{}');
    anchors := coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}');
    FOR cert IN SELECT c.id, c.pem_content, c.issuer_chain FROM @extschema@.ssl_certificate AS c
                 WHERE c.status = 'active' ORDER BY c.id LOOP
        r := @extschema@.ssl_chain_verify(cert.pem_content, cert.issuer_chain, pool, anchors, t, NULL);
        UPDATE @extschema@.ssl_certificate AS c
           SET chain_status = r.status, chain_validated_at = t, chain_message = r.message, chain_depth = r.depth
         WHERE c.id = cert.id;
        n := n + 1;
        IF n % 10000 = 0 THEN
            RAISE NOTICE 'ssl_validate_all: % certificates validated', n;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_validate_all() IS
    'Validates and stores the chain of every active certificate at now(); returns the number validated, with a NOTICE every 10,000. Builds the trust store once per call.';

--------------------------------------------------------------------------
-- Privileges
--------------------------------------------------------------------------

REVOKE ALL ON FUNCTION
    @extschema@.ssl_chain_verify(text, text, text[], bytea[], timestamptz, text),
    @extschema@.ssl_chain_split_pem(text),
    @extschema@.ssl_trust_anchor_load(text, text),
    @extschema@.ssl_validate_chain(bigint, timestamptz, text),
    @extschema@.ssl_validate_all()
FROM PUBLIC;
GRANT SELECT ON @extschema@.ssl_trust_anchor TO netbox_ssl_reader;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_validate_chain(bigint, timestamptz, text) TO netbox_ssl_reader;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_validate_all() TO netbox_ssl_operator;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_trust_anchor_load(text, text) TO netbox_ssl_admin;
GRANT DELETE ON @extschema@.ssl_trust_anchor TO netbox_ssl_admin;


-- netbox_ssl 1.3 -> 1.4 (bundles and CSRs): PKCS#7 input (in the C parser,
-- no SQL change), ssl_import_bundle, and certificate signing requests.

--------------------------------------------------------------------------
-- Bulk import of bundles
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_import_bundle(data text, on_conflict text DEFAULT 'error', tenant text DEFAULT NULL)
    RETURNS TABLE (ordinality integer, fingerprint_sha256 text, certificate_id bigint, outcome text)
    AS 'MODULE_PATHNAME', 'ssl_import_bundle_text'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    COST 20000 ROWS 100;
CREATE FUNCTION @extschema@.ssl_import_bundle(data bytea, on_conflict text DEFAULT 'error', tenant text DEFAULT NULL)
    RETURNS TABLE (ordinality integer, fingerprint_sha256 text, certificate_id bigint, outcome text)
    AS 'MODULE_PATHNAME', 'ssl_import_bundle_bytea'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    COST 20000 ROWS 100;
COMMENT ON FUNCTION @extschema@.ssl_import_bundle(text, text, text) IS
    'Imports every certificate of a PEM stream (CERTIFICATE, TRUSTED CERTIFICATE and PKCS7 blocks) as its own row, with an issuer_chain built from the bundle''s CA certificates. on_conflict: error (23505 naming the item), skip (outcome exists) or update_chain (fills a missing issuer_chain: chain_updated). All or nothing.';
COMMENT ON FUNCTION @extschema@.ssl_import_bundle(bytea, text, text) IS
    'ssl_import_bundle for bytes: a DER PKCS#7/CMS certs-only bundle (.p7b/.p7c), concatenated DER certificates, or PEM text.';

--------------------------------------------------------------------------
-- Certificate signing requests
--------------------------------------------------------------------------

CREATE TYPE @extschema@.ssl_csr_info AS (
    subject             text,
    common_name         text,
    sans                text[],
    algorithm           text,
    key_size            integer,
    spki_sha256         text,
    signature_algorithm text,
    signature_valid     boolean,
    fingerprint_sha256  text,
    pem_content         text
);
COMMENT ON TYPE @extschema@.ssl_csr_info IS 'The fields ssl_parse_csr reads from a certificate signing request.';

CREATE FUNCTION @extschema@.ssl_parse_csr(pem text) RETURNS @extschema@.ssl_csr_info
    AS 'MODULE_PATHNAME', 'ssl_parse_csr_text'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 5000;
CREATE FUNCTION @extschema@.ssl_parse_csr(der bytea) RETURNS @extschema@.ssl_csr_info
    AS 'MODULE_PATHNAME', 'ssl_parse_csr_bytea'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 5000;
COMMENT ON FUNCTION @extschema@.ssl_parse_csr(text) IS
    'Parses one PEM certificate request (CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST) without storing it; private keys are refused (22023), bad input is 22P02.';
COMMENT ON FUNCTION @extschema@.ssl_parse_csr(bytea) IS
    'Parses one DER (or PEM) certificate request without storing it; bad input is 22P03.';

CREATE TABLE @extschema@.ssl_csr (
    id                       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    fingerprint_sha256       text NOT NULL
        CONSTRAINT ssl_csr_fingerprint_key UNIQUE
        CONSTRAINT ssl_csr_fingerprint_format CHECK (fingerprint_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$'),
    subject                  text NOT NULL,
    common_name              text,
    sans                     text[] NOT NULL DEFAULT '{}',
    algorithm                text NOT NULL
        CONSTRAINT ssl_csr_algorithm_check CHECK (algorithm IN ('rsa', 'ecdsa', 'ed25519', 'ed448', 'dsa', 'unknown')),
    key_size                 integer CONSTRAINT ssl_csr_key_size_check CHECK (key_size > 0),
    spki_sha256              text NOT NULL,
    signature_algorithm      text NOT NULL,
    signature_valid          boolean NOT NULL,
    pem                      text NOT NULL,
    status                   text NOT NULL DEFAULT 'pending'
        CONSTRAINT ssl_csr_status_check CHECK (status IN ('pending', 'approved', 'rejected', 'issued', 'expired')),
    resulting_certificate_id bigint REFERENCES @extschema@.ssl_certificate (id),
    tenant                   text,
    requested_by             text NOT NULL
        DEFAULT coalesce(nullif(current_setting('netbox_ssl.actor', true), ''), @extschema@.ssl_caller()),
    notes                    text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ssl_csr_issued_check CHECK ((status = 'issued') = (resulting_certificate_id IS NOT NULL))
);
CREATE INDEX ssl_csr_open_spki_idx ON @extschema@.ssl_csr (spki_sha256) WHERE status IN ('pending', 'approved');
CREATE INDEX ssl_csr_resulting_certificate_idx ON @extschema@.ssl_csr (resulting_certificate_id)
    WHERE resulting_certificate_id IS NOT NULL;

COMMENT ON TABLE @extschema@.ssl_csr IS
    'Certificate signing requests, one row per request (by SHA-256 of its DER). A certificate imported for the key of a pending or approved request marks it issued and links it.';
COMMENT ON COLUMN @extschema@.ssl_csr.id IS 'Surrogate key.';
COMMENT ON COLUMN @extschema@.ssl_csr.fingerprint_sha256 IS 'SHA-256 of the request''s DER encoding, uppercase colon hex. Unique.';
COMMENT ON COLUMN @extschema@.ssl_csr.subject IS 'Requested subject DN as RFC 4514 text, as OpenSSL prints it with XN_FLAG_RFC2253 (may be empty).';
COMMENT ON COLUMN @extschema@.ssl_csr.common_name IS 'First subject CN; if there is none, the first DNS SAN requested; otherwise NULL.';
COMMENT ON COLUMN @extschema@.ssl_csr.sans IS 'subjectAltName entries of the extensionRequest attribute, in the form ssl_certificate.sans uses (DNS:, IP:, ...).';
COMMENT ON COLUMN @extschema@.ssl_csr.algorithm IS 'Public key type: rsa, ecdsa, ed25519, ed448, dsa or unknown.';
COMMENT ON COLUMN @extschema@.ssl_csr.key_size IS 'RSA modulus bits, EC curve bits, DSA bits; NULL for EdDSA and unknown keys.';
COMMENT ON COLUMN @extschema@.ssl_csr.spki_sha256 IS 'SHA-256 of the SubjectPublicKeyInfo DER, computed as for ssl_certificate.spki_sha256: equal values mean the same key.';
COMMENT ON COLUMN @extschema@.ssl_csr.signature_algorithm IS 'OpenSSL''s long name of the request''s signature algorithm.';
COMMENT ON COLUMN @extschema@.ssl_csr.signature_valid IS 'Whether the request''s self-signature verifies with its own public key (proof of possession).';
COMMENT ON COLUMN @extschema@.ssl_csr.pem IS 'The request as canonical PEM (CERTIFICATE REQUEST, 64-character lines).';
COMMENT ON COLUMN @extschema@.ssl_csr.status IS 'pending, approved, rejected, issued or expired; transitions are checked by a trigger.';
COMMENT ON COLUMN @extschema@.ssl_csr.resulting_certificate_id IS 'The certificate issued for this request; set exactly when the status is issued.';
COMMENT ON COLUMN @extschema@.ssl_csr.tenant IS 'Free-form tenant name.';
COMMENT ON COLUMN @extschema@.ssl_csr.requested_by IS 'Who stored the request: the requested_by argument, else netbox_ssl.actor, else the calling role.';
COMMENT ON COLUMN @extschema@.ssl_csr.notes IS 'Free text, e.g. why a request was rejected.';
COMMENT ON COLUMN @extschema@.ssl_csr.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.ssl_csr.updated_at IS 'When the row was last updated (maintained by a trigger).';
COMMENT ON CONSTRAINT ssl_csr_fingerprint_key ON @extschema@.ssl_csr IS 'A request is stored at most once.';
COMMENT ON CONSTRAINT ssl_csr_fingerprint_format ON @extschema@.ssl_csr IS 'Fingerprints are uppercase colon hex.';
COMMENT ON CONSTRAINT ssl_csr_algorithm_check ON @extschema@.ssl_csr IS 'The documented key types.';
COMMENT ON CONSTRAINT ssl_csr_key_size_check ON @extschema@.ssl_csr IS 'Key sizes are positive when known.';
COMMENT ON CONSTRAINT ssl_csr_status_check ON @extschema@.ssl_csr IS 'The documented request statuses.';
COMMENT ON CONSTRAINT ssl_csr_issued_check ON @extschema@.ssl_csr IS 'resulting_certificate_id is set exactly when the request is issued.';
COMMENT ON CONSTRAINT ssl_csr_resulting_certificate_id_fkey ON @extschema@.ssl_csr IS 'The issued certificate exists.';
COMMENT ON INDEX @extschema@.ssl_csr_open_spki_idx IS 'Finds the open requests for a key when a certificate is imported.';
COMMENT ON INDEX @extschema@.ssl_csr_resulting_certificate_idx IS 'Finds the request a certificate was issued for.';
COMMENT ON SEQUENCE @extschema@.ssl_csr_id_seq IS 'Identity of ssl_csr.id.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_csr', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_csr_id_seq', '');

-- The parsed fields never change; status follows its state machine.
CREATE FUNCTION @extschema@.ssl_csr_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed boolean;
BEGIN
    IF (NEW.id, NEW.fingerprint_sha256, NEW.subject, NEW.common_name, NEW.sans, NEW.algorithm, NEW.key_size,
        NEW.spki_sha256, NEW.signature_algorithm, NEW.signature_valid, NEW.pem, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.fingerprint_sha256, OLD.subject, OLD.common_name, OLD.sans, OLD.algorithm, OLD.key_size,
        OLD.spki_sha256, OLD.signature_algorithm, OLD.signature_valid, OLD.pem, OLD.created_at) THEN
        RAISE EXCEPTION 'certificate request % cannot be edited to hold other request data', OLD.id
            USING ERRCODE = '55000',
                  HINT = 'Import the new request with ssl_import_csr(); only status, resulting_certificate_id, tenant, requested_by and notes can change.';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        allowed := CASE OLD.status
                       WHEN 'pending'  THEN NEW.status IN ('approved', 'rejected', 'issued', 'expired')
                       WHEN 'approved' THEN NEW.status IN ('issued', 'rejected', 'expired')
                       ELSE false
                   END;
        IF NOT allowed THEN
            RAISE EXCEPTION 'certificate request % cannot change status from % to %', OLD.id, OLD.status, NEW.status
                USING ERRCODE = '55000',
                      HINT = 'Allowed: pending to approved, rejected, issued or expired; approved to issued, rejected or expired. rejected, issued and expired are final.';
        END IF;
        IF (NEW.status = 'issued') <> (NEW.resulting_certificate_id IS NOT NULL) THEN
            RAISE EXCEPTION 'certificate request % can only become issued together with resulting_certificate_id', OLD.id
                USING ERRCODE = '55000',
                      HINT = 'Importing the certificate for the request''s key (ssl_import) does both.';
        END IF;
    ELSIF NEW.resulting_certificate_id IS DISTINCT FROM OLD.resulting_certificate_id THEN
        RAISE EXCEPTION 'certificate request %''s resulting_certificate_id can only change with its status', OLD.id
            USING ERRCODE = '55000';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_csr_guard() IS
    'Trigger function: refuses edits to the parsed request fields, enforces the request status machine (55000) and maintains updated_at.';
CREATE TRIGGER ssl_csr_guard BEFORE UPDATE ON @extschema@.ssl_csr
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_csr_guard();
COMMENT ON TRIGGER ssl_csr_guard ON @extschema@.ssl_csr IS 'Plain UPDATEs obey the request lifecycle too.';

CREATE FUNCTION @extschema@.ssl_import_csr(pem text, tenant text DEFAULT NULL, requested_by text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    parsed @extschema@.ssl_csr_info := @extschema@.ssl_parse_csr(pem);
    new_id bigint;
    existing_id bigint;
BEGIN
    IF pem IS NULL THEN
        RAISE EXCEPTION 'the certificate request argument must not be NULL' USING ERRCODE = '22004';
    END IF;
    INSERT INTO @extschema@.ssl_csr (fingerprint_sha256, subject, common_name, sans, algorithm, key_size, spki_sha256,
                                     signature_algorithm, signature_valid, pem, tenant, requested_by)
    VALUES (parsed.fingerprint_sha256, parsed.subject, parsed.common_name, parsed.sans, parsed.algorithm,
            parsed.key_size, parsed.spki_sha256, parsed.signature_algorithm, parsed.signature_valid,
            parsed.pem_content, ssl_import_csr.tenant,
            coalesce(ssl_import_csr.requested_by, nullif(current_setting('netbox_ssl.actor', true), ''),
                     @extschema@.ssl_caller()))
    ON CONFLICT (fingerprint_sha256) DO NOTHING
    RETURNING id INTO new_id;
    IF new_id IS NULL THEN
        SELECT r.id INTO existing_id FROM @extschema@.ssl_csr r WHERE r.fingerprint_sha256 = parsed.fingerprint_sha256;
        RAISE EXCEPTION 'certificate request with fingerprint % is already stored as id %', parsed.fingerprint_sha256,
                        coalesce(existing_id::text, '(concurrent)')
            USING ERRCODE = '23505', HINT = 'Use the existing row; importing the same request twice is refused.';
    END IF;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_import_csr(text, text, text) IS
    'Stores a certificate request as pending and returns its id; a request stored already is refused with 23505.';

-- Every import path (ssl_import, ssl_import_bundle, ssl_renew, plain
-- INSERT) links the request for the new certificate's key, in the same
-- statement. Statement-level, so a bulk insert pays one set-based query.
CREATE FUNCTION @extschema@.ssl_csr_link_certificate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE @extschema@.ssl_csr r
       SET status = 'issued', resulting_certificate_id = n.id
      FROM (SELECT DISTINCT ON (spki_sha256) id, spki_sha256 FROM new_rows ORDER BY spki_sha256, id) n
     WHERE r.spki_sha256 = n.spki_sha256
       AND r.status IN ('pending', 'approved');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_csr_link_certificate() IS
    'Trigger function: marks every pending or approved request for the key (spki_sha256) of a newly inserted certificate issued, linking the certificate (the lowest new id when one statement inserts several for that key).';
CREATE TRIGGER ssl_csr_link_certificate AFTER INSERT ON @extschema@.ssl_certificate
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_csr_link_certificate();
COMMENT ON TRIGGER ssl_csr_link_certificate ON @extschema@.ssl_certificate IS
    'Links imported certificates to the open requests for their key.';

--------------------------------------------------------------------------
-- Privileges (as in 1.2)
--------------------------------------------------------------------------

REVOKE ALL ON FUNCTION
    @extschema@.ssl_import_bundle(text, text, text), @extschema@.ssl_import_bundle(bytea, text, text),
    @extschema@.ssl_import_csr(text, text, text),
    @extschema@.ssl_csr_guard(), @extschema@.ssl_csr_link_certificate()
FROM PUBLIC;
GRANT SELECT ON @extschema@.ssl_csr TO netbox_ssl_reader;
GRANT EXECUTE ON FUNCTION
    @extschema@.ssl_import_bundle(text, text, text), @extschema@.ssl_import_bundle(bytea, text, text),
    @extschema@.ssl_import_csr(text, text, text)
   TO netbox_ssl_operator;
GRANT UPDATE (status, resulting_certificate_id, tenant, notes) ON @extschema@.ssl_csr TO netbox_ssl_operator;

-- netbox_ssl 1.3 -> 1.4 (part: certificate authorities and compliance policies).
-- Certificate authorities with issuer patterns and key-id matching, the
-- issuing_ca_id link filled at import, renewal instructions; compliance
-- policies checked in set-based SQL over the stored columns, with stored
-- results and a score per tenant. See docs/authorities-and-compliance.md.

\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.4'" to load this file. \quit

--------------------------------------------------------------------------
-- Certificate authorities
--------------------------------------------------------------------------

-- Built-in authorities have fixed ids below 1000 (so a later version can add
-- more without colliding with user rows); user rows start at 1000.
CREATE TABLE @extschema@.ssl_certificate_authority (
    id                   bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 1000) PRIMARY KEY,
    name                 text NOT NULL
        CONSTRAINT ssl_certificate_authority_name_key UNIQUE
        CONSTRAINT ssl_certificate_authority_name_check CHECK (btrim(name) <> ''),
    type                 text NOT NULL DEFAULT 'internal'
        CONSTRAINT ssl_certificate_authority_type_check CHECK (type IN ('public', 'internal', 'acme')),
    issuer_pattern       text,
    renewal_instructions text,
    is_approved          boolean NOT NULL DEFAULT false,
    website_url          text,
    portal_url           text,
    acme_directory_url   text,
    contact_name         text,
    contact_email        text,
    contact_phone        text,
    comments             text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.ssl_certificate_authority IS
    'Certificate authorities (public, internal or ACME) that issue the inventory''s certificates. Rows with id below 1000 are built in (seeded by the extension); administrators add their own with INSERT.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.id IS 'Surrogate key; below 1000 for the built-in authorities, from 1000 for rows added by users.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.name IS 'Unique display name, e.g. Let''s Encrypt.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.type IS 'public (a publicly trusted CA ordered by hand), internal (a private PKI) or acme (certificates obtained automatically with the ACME protocol).';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.issuer_pattern IS 'Case-insensitive POSIX regular expression (the ~* operator) matched against the certificate''s issuer DN in RFC 4514 form, e.g. (^|,)O=Example Corp(,|$). NULL: never matched by pattern, only by key id or by hand.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.renewal_instructions IS 'How certificates of this authority are renewed; returned by ssl_renewal_instructions when a certificate has no note of its own.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.is_approved IS 'Whether the organisation approves this authority for new certificates (false by default, also for the built-in rows).';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.website_url IS 'Public web site of the authority.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.portal_url IS 'Where certificates are ordered or managed (customer portal, internal request form).';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.acme_directory_url IS 'ACME directory URL, for authorities that offer ACME.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.contact_name IS 'Contact person or team.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.contact_email IS 'Contact e-mail address.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.contact_phone IS 'Contact telephone number.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.comments IS 'Free text.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.ssl_certificate_authority.updated_at IS 'When the row was last updated (maintained by a trigger).';
COMMENT ON CONSTRAINT ssl_certificate_authority_name_key ON @extschema@.ssl_certificate_authority IS 'Authority names are unique.';
COMMENT ON CONSTRAINT ssl_certificate_authority_name_check ON @extschema@.ssl_certificate_authority IS 'A name is not blank.';
COMMENT ON CONSTRAINT ssl_certificate_authority_type_check ON @extschema@.ssl_certificate_authority IS 'The documented authority types.';
COMMENT ON SEQUENCE @extschema@.ssl_certificate_authority_id_seq IS 'Identity of ssl_certificate_authority.id (user rows start at 1000).';

-- Built-in rows are recreated by CREATE EXTENSION; only user rows are dumped.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_certificate_authority', 'WHERE id >= 1000');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_certificate_authority_id_seq', '');

CREATE FUNCTION @extschema@.ssl_certificate_authority_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.issuer_pattern IS NOT NULL THEN
        BEGIN
            PERFORM '' ~* NEW.issuer_pattern;
        EXCEPTION WHEN invalid_regular_expression THEN
            RAISE EXCEPTION 'issuer_pattern of authority "%" is not a valid regular expression: %', NEW.name, SQLERRM
                USING ERRCODE = '22023',
                      HINT = 'Patterns are case-insensitive POSIX regular expressions matched with ~* against the issuer DN, e.g. (^|,)O=Example Corp(,|$).';
        END;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificate_authority_check() IS
    'Trigger function: refuses an issuer_pattern that is not a valid regular expression (22023) and maintains updated_at.';
CREATE TRIGGER ssl_certificate_authority_check BEFORE INSERT OR UPDATE ON @extschema@.ssl_certificate_authority
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_certificate_authority_check();
COMMENT ON TRIGGER ssl_certificate_authority_check ON @extschema@.ssl_certificate_authority IS
    'Patterns must compile; keeps updated_at current.';

-- The well-known public authorities. The patterns anchor on the O= attribute
-- of the issuer DN (the CN of issuing CAs changes with every generation, the
-- organisation does not); they were checked against the real issuers of the
-- corpus (see docs/authorities-and-compliance.md).
INSERT INTO @extschema@.ssl_certificate_authority
    (id, name, type, issuer_pattern, website_url, acme_directory_url, renewal_instructions, comments)
OVERRIDING SYSTEM VALUE VALUES
 (1, 'Let''s Encrypt', 'acme', '(^|,)O=(Let''s Encrypt|Internet Security Research Group)(,|$)',
  'https://letsencrypt.org/', 'https://acme-v02.api.letsencrypt.org/directory',
  'Renewed automatically by the ACME client of the host (certbot, lego, acme.sh, Caddy...). Check the client''s timer and logs if a certificate gets close to expiry; import the new certificate with ssl_renew.',
  'Issuing CAs R3, R10, R11, E1, E5, E6...; roots ISRG Root X1 and X2.'),
 (2, 'DigiCert', 'public', '(^|,)O=(DigiCert|GeoTrust|Thawte|RapidSSL|Symantec Corporation|VeriSign)',
  'https://www.digicert.com/', NULL,
  'Reissue or renew the order in DigiCert CertCentral with a new CSR, then import the issued certificate with ssl_renew.',
  'Includes the GeoTrust, Thawte, RapidSSL and former Symantec brands.'),
 (3, 'Sectigo', 'public', '(^|,)O=(Sectigo Limited|COMODO CA Limited|The USERTRUST Network)(,|$)',
  'https://www.sectigo.com/', NULL,
  'Renew the order in the Sectigo Certificate Manager (or with the reseller it was bought from) with a new CSR, then import it with ssl_renew.',
  'Includes the former Comodo CA and the USERTrust roots.'),
 (4, 'GlobalSign', 'public', '(^|,)O=GlobalSign',
  'https://www.globalsign.com/', NULL,
  'Renew the order in GlobalSign''s GCC/Atlas portal with a new CSR, then import it with ssl_renew.', NULL),
 (5, 'Google Trust Services', 'public', '(^|,)O=Google Trust Services',
  'https://pki.goog/', 'https://dv.acme-v02.api.pki.goog/directory',
  'Certificates of Google services renew on their own; for certificates obtained through ACME with External Account Binding, check the ACME client.',
  'Issuing CAs GTS CA 1C3, WR1/WR2, WE1...; roots GTS Root R1-R4.'),
 (6, 'Amazon', 'public', '(^|,)O=Amazon(,|$)',
  'https://www.amazontrust.com/', NULL,
  'AWS Certificate Manager renews DNS-validated certificates that are in use; check ACM''s renewal status and the validation records if it does not.',
  'Issuing CAs Amazon RSA 2048 M01-M04, Amazon ECDSA 256 M01...; roots Amazon Root CA 1-4.'),
 (7, 'ZeroSSL', 'acme', '(^|,)O=ZeroSSL(,|$)',
  'https://zerossl.com/', 'https://acme.zerossl.com/v2/DV90',
  'Renewed automatically by the ACME client of the host (External Account Binding credentials from the ZeroSSL dashboard); import the new certificate with ssl_renew.',
  'Operated by Sectigo: its issuing CAs chain to USERTrust roots.'),
 (8, 'Buypass', 'public', '(^|,)O=Buypass',
  'https://www.buypass.com/', NULL,
  'Renew the order with Buypass with a new CSR, then import it with ssl_renew.', NULL),
 (9, 'Entrust', 'public', '(^|,)O=Entrust',
  'https://www.entrust.com/', NULL,
  'Renew the order in the Entrust Certificate Services portal with a new CSR, then import it with ssl_renew. Check first whether browsers still trust newly issued Entrust certificates.', NULL),
 (10, 'GoDaddy', 'public', '(^|,)O=(GoDaddy\.com|Go Daddy|Starfield Technologies)',
  'https://www.godaddy.com/', NULL,
  'Re-key or renew the certificate in the GoDaddy account with a new CSR, then import it with ssl_renew.',
  'Includes the Starfield brand.'),
 (11, 'Microsoft', 'public', '(^|,)O=Microsoft Corporation(,|$)',
  'https://www.microsoft.com/pkiops/docs/repository.htm', NULL,
  'Certificates issued by Microsoft''s public CAs belong to Microsoft services (Azure, Microsoft 365); renewal is Microsoft''s.',
  'Microsoft Azure TLS Issuing CAs and Microsoft RSA/ECC TLS CAs. A private Active Directory CA is an internal authority: add it with its own pattern.');

--------------------------------------------------------------------------
-- The certificate's authority and renewal note
--------------------------------------------------------------------------

ALTER TABLE @extschema@.ssl_certificate
    ADD COLUMN issuing_ca_id bigint
        CONSTRAINT ssl_certificate_issuing_ca_id_fkey
        REFERENCES @extschema@.ssl_certificate_authority (id) ON DELETE SET NULL,
    ADD COLUMN issuing_ca_source text,
    ADD COLUMN renewal_instructions text,
    ADD CONSTRAINT ssl_certificate_issuing_ca_source_check
        CHECK (issuing_ca_source IN ('key_id', 'pattern', 'manual')
               AND (issuing_ca_id IS NULL) = (issuing_ca_source IS NULL));
COMMENT ON COLUMN @extschema@.ssl_certificate.issuing_ca_id IS
    'The authority that issued the certificate: matched at import (by authority key id, else by issuer pattern), or set by hand with UPDATE. NULL when no authority matches.';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuing_ca_source IS
    'How issuing_ca_id was found: key_id (inherited from the stored CA certificate whose subject key id is this certificate''s authority key id), pattern (issuer_pattern), manual (set by an UPDATE; ssl_match_authorities leaves it alone). NULL exactly when issuing_ca_id is NULL.';
COMMENT ON COLUMN @extschema@.ssl_certificate.renewal_instructions IS
    'A note on how to renew this certificate; when NULL, ssl_renewal_instructions returns the issuing authority''s instructions.';
COMMENT ON CONSTRAINT ssl_certificate_issuing_ca_id_fkey ON @extschema@.ssl_certificate IS
    'Deleting an authority unlinks its certificates.';
COMMENT ON CONSTRAINT ssl_certificate_issuing_ca_source_check ON @extschema@.ssl_certificate IS
    'issuing_ca_source is key_id, pattern or manual, and set exactly when issuing_ca_id is.';

CREATE INDEX ssl_certificate_ca_key_idx ON @extschema@.ssl_certificate (subject_key_id) WHERE is_ca;
CREATE INDEX ssl_certificate_issuing_ca_idx ON @extschema@.ssl_certificate (issuing_ca_id) WHERE issuing_ca_id IS NOT NULL;
COMMENT ON INDEX @extschema@.ssl_certificate_ca_key_idx IS
    'Finds the stored CA certificate whose subject key id is a certificate''s authority key id.';
COMMENT ON INDEX @extschema@.ssl_certificate_issuing_ca_idx IS
    'Certificates of one authority; keeps ON DELETE SET NULL of an authority cheap.';

-- The matching rule, in one place for the import trigger and the re-match:
--  1. the stored CA certificate (is_ca) whose subject_key_id equals the
--     certificate's authority_key_id, when that CA certificate was linked by
--     hand or itself by key id: links made by people, and what follows from
--     them down a chain, beat any pattern;
--  2. the authority whose issuer_pattern matches the issuer DN (the longest
--     pattern when several match, then the lowest id);
--  3. that CA certificate's authority when it came from a pattern.
-- Rule 3 after rule 2 attributes a leaf of ZeroSSL (issued by an intermediate
-- that Sectigo's USERTrust root signed) to ZeroSSL, not Sectigo.
-- PL/pgSQL with two static queries, so their plans are kept for the session
-- (a SQL function with SET clauses is planned again at every call, which
-- cost 0.5 ms per imported certificate). enable_seqscan = off for the same
-- reason as ssl_import: a plan kept from a tiny table must not stay a
-- sequential scan while a bulk import grows it. jit = off: the authorities
-- can only be scanned sequentially, which enable_seqscan = off prices at
-- 1e10, far above jit_above_cost, so every call JIT-compiled its query
-- (250 ms per import).
CREATE FUNCTION @extschema@.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint DEFAULT NULL)
    RETURNS TABLE (authority_id bigint, source text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET jit = off AS $$
DECLARE
    ca_id bigint;
    ca_source text;
    pattern_id bigint;
BEGIN
    IF ssl_find_authority.authority_key_id IS NOT NULL THEN
        SELECT c.issuing_ca_id, c.issuing_ca_source INTO ca_id, ca_source
          FROM @extschema@.ssl_certificate c
         WHERE c.is_ca
           AND c.subject_key_id = ssl_find_authority.authority_key_id
           AND c.issuing_ca_id IS NOT NULL
           AND c.id IS DISTINCT FROM ssl_find_authority.exclude_id
         ORDER BY (c.subject = ssl_find_authority.issuer) DESC, (c.issuing_ca_source <> 'pattern') DESC,
                  c.valid_to DESC, c.id
         LIMIT 1;
        IF ca_source IN ('manual', 'key_id') THEN
            authority_id := ca_id; source := 'key_id';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    SELECT a.id INTO pattern_id
      FROM @extschema@.ssl_certificate_authority a
     WHERE a.issuer_pattern IS NOT NULL AND ssl_find_authority.issuer ~* a.issuer_pattern
     ORDER BY length(a.issuer_pattern) DESC, a.id
     LIMIT 1;
    IF pattern_id IS NOT NULL THEN
        authority_id := pattern_id; source := 'pattern';
        RETURN NEXT;
    ELSIF ca_id IS NOT NULL THEN
        authority_id := ca_id; source := 'key_id';
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_find_authority(text, text, bigint) IS
    'The authority for an issuer DN and authority key id, and how it was found (key_id or pattern); no row when none matches. exclude_id leaves one stored certificate out of the key-id match (the certificate itself). No side effects.';

CREATE FUNCTION @extschema@.ssl_certificate_match_authority() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_id bigint;
    found_source text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.issuing_ca_id IS NULL AND NEW.issuing_ca_source IS NULL THEN
            SELECT f.authority_id, f.source INTO found_id, found_source
              FROM @extschema@.ssl_find_authority(NEW.issuer, NEW.authority_key_id, NEW.id) f;
            NEW.issuing_ca_id := found_id;
            NEW.issuing_ca_source := found_source;
        ELSIF NEW.issuing_ca_source IS NULL THEN
            NEW.issuing_ca_source := 'manual';
        END IF;
        RETURN NEW;
    END IF;
    -- UPDATE: ssl_match_authorities sets both columns itself.
    IF current_setting('netbox_ssl_authorities.matching', true) = 'on' THEN
        RETURN NEW;
    END IF;
    IF NEW.issuing_ca_id IS DISTINCT FROM OLD.issuing_ca_id THEN
        NEW.issuing_ca_source := CASE WHEN NEW.issuing_ca_id IS NULL THEN NULL ELSE 'manual' END;
    ELSE
        NEW.issuing_ca_source := OLD.issuing_ca_source;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificate_match_authority() IS
    'Trigger function: on insert, fills issuing_ca_id and issuing_ca_source (unless given, as in a restore); on update, marks a link set by hand as manual, and clearing it (or deleting the authority) makes the certificate automatic again.';
CREATE TRIGGER ssl_certificate_match_authority BEFORE INSERT OR UPDATE OF issuing_ca_id, issuing_ca_source
    ON @extschema@.ssl_certificate
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_certificate_match_authority();
COMMENT ON TRIGGER ssl_certificate_match_authority ON @extschema@.ssl_certificate IS
    'Every insert path (ssl_import, ssl_renew, bulk imports, plain INSERT) links the certificate to its authority.';

CREATE FUNCTION @extschema@.ssl_match_authorities() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    changed integer;
    total integer := 0;
BEGIN
    PERFORM set_config('netbox_ssl_authorities.matching', 'on', true);
    -- One set-based pass per level of a CA hierarchy: a pass can only use the
    -- links of CA certificates as they were before it.
    FOR pass IN 1..16 LOOP
        UPDATE @extschema@.ssl_certificate c
           SET issuing_ca_id = m.authority_id, issuing_ca_source = m.source
          FROM (SELECT x.id, f.authority_id, f.source
                  FROM @extschema@.ssl_certificate x
                  LEFT JOIN LATERAL @extschema@.ssl_find_authority(x.issuer, x.authority_key_id, x.id) f ON true
                 WHERE x.issuing_ca_source IS DISTINCT FROM 'manual') m
         WHERE c.id = m.id
           AND (c.issuing_ca_id, c.issuing_ca_source) IS DISTINCT FROM (m.authority_id, m.source);
        GET DIAGNOSTICS changed = ROW_COUNT;
        total := total + changed;
        EXIT WHEN changed = 0;
    END LOOP;
    PERFORM set_config('netbox_ssl_authorities.matching', '', true);
    RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_match_authorities() IS
    'Re-runs the authority matching over every stored certificate whose link was not set by hand (after adding or changing authorities, or after upgrading to 1.4); returns the number of row updates.';

CREATE FUNCTION @extschema@.ssl_renewal_instructions(id bigint) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    own text;
    ca_id bigint;
BEGIN
    SELECT c.renewal_instructions, c.issuing_ca_id INTO own, ca_id
      FROM @extschema@.ssl_certificate c WHERE c.id = ssl_renewal_instructions.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', ssl_renewal_instructions.id USING ERRCODE = 'P0002';
    END IF;
    IF own IS NOT NULL THEN
        RETURN own;
    END IF;
    RETURN (SELECT a.renewal_instructions FROM @extschema@.ssl_certificate_authority a WHERE a.id = ca_id);
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_renewal_instructions(bigint) IS
    'The certificate''s own renewal_instructions, else those of its issuing authority, else NULL; P0002 when the certificate does not exist.';

--------------------------------------------------------------------------
-- Compliance policies
--------------------------------------------------------------------------

CREATE TABLE @extschema@.ssl_compliance_policy (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        text NOT NULL
        CONSTRAINT ssl_compliance_policy_name_key UNIQUE
        CONSTRAINT ssl_compliance_policy_name_check CHECK (btrim(name) <> ''),
    policy_type text NOT NULL
        CONSTRAINT ssl_compliance_policy_type_check CHECK (policy_type IN (
            'min_key_size', 'max_validity_days', 'algorithm_allowed', 'algorithm_forbidden',
            'signature_algorithm_forbidden', 'expiry_warning', 'san_required', 'issuer_allowed',
            'issuer_forbidden', 'wildcard_forbidden', 'chain_required', 'key_reuse_forbidden')),
    severity    text NOT NULL DEFAULT 'warning'
        CONSTRAINT ssl_compliance_policy_severity_check CHECK (severity IN ('critical', 'warning', 'info')),
    enabled     boolean NOT NULL DEFAULT true,
    parameters  jsonb NOT NULL DEFAULT '{}',
    tenant      text,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.ssl_compliance_policy IS
    'Compliance rules checked by ssl_check_compliance. Administrators add them with a plain INSERT; parameters are validated (22023) and normalised by a trigger.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.id IS 'Surrogate key.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.name IS 'Unique name, reported as policy by ssl_check_compliance.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.policy_type IS 'min_key_size, max_validity_days, algorithm_allowed, algorithm_forbidden, signature_algorithm_forbidden, expiry_warning, san_required, issuer_allowed, issuer_forbidden, wildcard_forbidden, chain_required or key_reuse_forbidden.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.severity IS 'critical, warning or info: how serious a failure is.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.enabled IS 'Disabled policies are not checked, and their stored results are removed by the next check.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.parameters IS 'The policy''s settings, shaped by policy_type (see the documentation); lists of names are stored lower-case.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.tenant IS 'When set, the policy applies only to certificates of this tenant; NULL: to all certificates.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.description IS 'Free text: why the policy exists.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.ssl_compliance_policy.updated_at IS 'When the row was last updated (maintained by a trigger).';
COMMENT ON CONSTRAINT ssl_compliance_policy_name_key ON @extschema@.ssl_compliance_policy IS 'Policy names are unique.';
COMMENT ON CONSTRAINT ssl_compliance_policy_name_check ON @extschema@.ssl_compliance_policy IS 'A name is not blank.';
COMMENT ON CONSTRAINT ssl_compliance_policy_type_check ON @extschema@.ssl_compliance_policy IS 'The documented policy types.';
COMMENT ON CONSTRAINT ssl_compliance_policy_severity_check ON @extschema@.ssl_compliance_policy IS 'The documented severities.';
COMMENT ON SEQUENCE @extschema@.ssl_compliance_policy_id_seq IS 'Identity of ssl_compliance_policy.id.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_compliance_policy', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_compliance_policy_id_seq', '');

-- The hash named inside an OpenSSL signature algorithm name, in one spelling:
-- sha1WithRSAEncryption, ecdsa-with-SHA1, dsaWithSHA1 -> sha1;
-- RSA-SHA3-256, ecdsa_with_SHA3-256 -> sha3-256; shaWithRSAEncryption -> sha0.
-- Digits are never cut short: sha256 is not sha2, sha1 does not match sha128.
-- NULL when the name carries no hash (ED25519, ED448, RSASSA-PSS, whose hash
-- is in the parameters, unknown OIDs).
-- No SET clause (it costs a configuration save and restore per call); the
-- operators are schema-qualified instead, so a caller's search_path cannot
-- redirect them.
CREATE FUNCTION @extschema@.ssl_signature_hash(signature_algorithm text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN s OPERATOR(pg_catalog.~) 'sha3-?(224|256|384|512)(?![0-9])'
            THEN 'sha3-' OPERATOR(pg_catalog.||) pg_catalog.substring(s, 'sha3-?(224|256|384|512)(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'sha512[-/](224|256)(?![0-9])'
            THEN 'sha512-' OPERATOR(pg_catalog.||) pg_catalog.substring(s, 'sha512[-/](224|256)(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'shake(128|256)(?![0-9])'
            THEN 'shake' OPERATOR(pg_catalog.||) pg_catalog.substring(s, 'shake(128|256)(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'sha-?(1|224|256|384|512)(?![0-9])'
            THEN 'sha' OPERATOR(pg_catalog.||) pg_catalog.substring(s, 'sha-?(1|224|256|384|512)(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'ripemd-?160(?![0-9])' THEN 'ripemd160'
        WHEN s OPERATOR(pg_catalog.~) 'mdc2(?![0-9])' THEN 'mdc2'
        WHEN s OPERATOR(pg_catalog.~) '(^|[^a-z])md[245](?![0-9])'
            THEN pg_catalog.substring(s, '(?:^|[^a-z])(md[245])(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'sm3(?![0-9])' THEN 'sm3'
        WHEN s OPERATOR(pg_catalog.~) 'sha(?![0-9]|-[0-9]|ke)' THEN 'sha0'
    END
      FROM (SELECT pg_catalog.lower(signature_algorithm) AS s) AS n
$$;
COMMENT ON FUNCTION @extschema@.ssl_signature_hash(text) IS
    'The hash inside a signature algorithm name (sha1WithRSAEncryption and ecdsa-with-SHA1 give sha1; RSA-SHA3-256 gives sha3-256), lower-case; NULL when the name carries none (EdDSA, RSASSA-PSS, unknown OIDs).';

CREATE FUNCTION @extschema@.ssl_compliance_policy_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p jsonb := NEW.parameters;
    t text := NEW.policy_type;
    k text;
    v jsonb;
    allowed_keys text[];
    list_key text;
    names text[];
    known text[];
    int_key text;
BEGIN
    IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN
        RAISE EXCEPTION 'parameters of policy "%" must be a JSON object', NEW.name USING ERRCODE = '22023';
    END IF;
    allowed_keys := CASE t
        WHEN 'min_key_size' THEN ARRAY['rsa', 'ecdsa', 'dsa']
        WHEN 'max_validity_days' THEN ARRAY['max_days']
        WHEN 'algorithm_allowed' THEN ARRAY['algorithms']
        WHEN 'algorithm_forbidden' THEN ARRAY['algorithms']
        WHEN 'signature_algorithm_forbidden' THEN ARRAY['algorithms']
        WHEN 'expiry_warning' THEN ARRAY['warning_days']
        WHEN 'san_required' THEN ARRAY['min_count']
        WHEN 'issuer_allowed' THEN ARRAY['issuers']
        WHEN 'issuer_forbidden' THEN ARRAY['issuers']
        ELSE ARRAY[]::text[]
    END;
    FOR k IN SELECT jsonb_object_keys(p) LOOP
        IF NOT k = ANY (allowed_keys) THEN
            RAISE EXCEPTION 'policy "%" of type % does not take the parameter "%"', NEW.name, t, k
                USING ERRCODE = '22023',
                      HINT = CASE WHEN cardinality(allowed_keys) = 0 THEN 'This type takes no parameters: use {}.'
                                  ELSE 'Parameters of this type: ' || array_to_string(allowed_keys, ', ') || '.' END;
        END IF;
    END LOOP;

    -- Positive integers.
    IF t = 'min_key_size' AND p = '{}' THEN
        RAISE EXCEPTION 'policy "%" of type min_key_size needs a minimum for at least one of rsa, ecdsa, dsa', NEW.name
            USING ERRCODE = '22023', HINT = 'For example {"rsa": 2048, "ecdsa": 256}.';
    END IF;
    FOREACH int_key IN ARRAY CASE t
            WHEN 'min_key_size' THEN ARRAY(SELECT jsonb_object_keys(p))
            WHEN 'max_validity_days' THEN ARRAY['max_days']
            WHEN 'expiry_warning' THEN ARRAY['warning_days']
            WHEN 'san_required' THEN ARRAY['min_count']
            ELSE ARRAY[]::text[] END
    LOOP
        v := p -> int_key;
        IF v IS NULL THEN
            RAISE EXCEPTION 'policy "%" of type % needs the parameter "%"', NEW.name, t, int_key
                USING ERRCODE = '22023';
        END IF;
        IF jsonb_typeof(v) <> 'number' OR v::text !~ '^[0-9]+$' OR length(v::text) > 9 OR v::text::integer <= 0 THEN
            RAISE EXCEPTION 'parameter "%" of policy "%" must be a positive whole number, not %', int_key, NEW.name, v
                USING ERRCODE = '22023';
        END IF;
    END LOOP;

    -- Non-empty lists of strings, normalised to one spelling.
    list_key := CASE WHEN t IN ('algorithm_allowed', 'algorithm_forbidden', 'signature_algorithm_forbidden') THEN 'algorithms'
                     WHEN t IN ('issuer_allowed', 'issuer_forbidden') THEN 'issuers' END;
    IF list_key IS NOT NULL THEN
        v := p -> list_key;
        IF v IS NULL OR jsonb_typeof(v) <> 'array' OR jsonb_array_length(v) = 0
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string' OR btrim(e #>> '{}') = '') THEN
            RAISE EXCEPTION 'parameter "%" of policy "%" must be a non-empty array of non-empty strings', list_key, NEW.name
                USING ERRCODE = '22023',
                      HINT = CASE list_key WHEN 'issuers' THEN 'For example {"issuers": ["Let''s Encrypt"]}.'
                                           ELSE 'For example {"algorithms": ["rsa", "ecdsa"]}.' END;
        END IF;
        IF t = 'signature_algorithm_forbidden' THEN
            names := ARRAY(SELECT DISTINCT regexp_replace(replace(replace(lower(btrim(e)), '_', '-'), '/', '-'),
                                                          '^sha-(1|224|256|384|512)$', 'sha\1')
                             FROM jsonb_array_elements_text(v) e ORDER BY 1);
            known := ARRAY['md2', 'md4', 'md5', 'mdc2', 'ripemd160', 'sha0', 'sha1', 'sha224', 'sha256', 'sha384',
                           'sha512', 'sha512-224', 'sha512-256', 'sha3-224', 'sha3-256', 'sha3-384', 'sha3-512',
                           'shake128', 'shake256', 'sm3'];
        ELSIF list_key = 'algorithms' THEN
            names := ARRAY(SELECT DISTINCT lower(btrim(e)) FROM jsonb_array_elements_text(v) e ORDER BY 1);
            known := ARRAY['rsa', 'ecdsa', 'dsa', 'ed25519', 'ed448', 'unknown'];
        ELSE
            names := ARRAY(SELECT DISTINCT btrim(e) FROM jsonb_array_elements_text(v) e ORDER BY 1);
            known := NULL;
        END IF;
        IF known IS NOT NULL THEN
            SELECT n INTO k FROM unnest(names) n WHERE NOT n = ANY (known) LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'policy "%" names the unknown % "%"', NEW.name,
                    CASE t WHEN 'signature_algorithm_forbidden' THEN 'hash' ELSE 'key algorithm' END, k
                    USING ERRCODE = '22023', HINT = 'Known: ' || array_to_string(known, ', ') || '.';
            END IF;
        END IF;
        NEW.parameters := jsonb_build_object(list_key, to_jsonb(names));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_compliance_policy_check() IS
    'Trigger function: refuses parameters of the wrong shape for the policy type (22023, one sentence naming the parameter), stores name lists lower-case and de-duplicated, and maintains updated_at.';
CREATE TRIGGER ssl_compliance_policy_check BEFORE INSERT OR UPDATE ON @extschema@.ssl_compliance_policy
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_compliance_policy_check();
COMMENT ON TRIGGER ssl_compliance_policy_check ON @extschema@.ssl_compliance_policy IS
    'Policies are valid whoever writes them.';

CREATE TABLE @extschema@.ssl_compliance_result (
    certificate_id bigint NOT NULL,
    policy_id      bigint NOT NULL,
    result         text NOT NULL CONSTRAINT ssl_compliance_result_result_check CHECK (result IN ('pass', 'fail')),
    severity       text NOT NULL CONSTRAINT ssl_compliance_result_severity_check CHECK (severity IN ('critical', 'warning', 'info')),
    message        text NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ssl_compliance_result_pkey PRIMARY KEY (certificate_id, policy_id)
);
CREATE INDEX ssl_compliance_result_policy_idx ON @extschema@.ssl_compliance_result (policy_id);

COMMENT ON TABLE @extschema@.ssl_compliance_result IS
    'The latest result of every policy for every checked certificate, written by ssl_check_compliance.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.certificate_id IS 'The checked certificate.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.policy_id IS 'The policy.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.result IS 'pass or fail.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.severity IS 'The policy''s severity when it was checked.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.message IS 'One sentence with the values compared.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.changed_at IS 'Since when this result holds: the transaction time of the check that first gave this result, severity and message (unchanged results are not rewritten).';
COMMENT ON CONSTRAINT ssl_compliance_result_pkey ON @extschema@.ssl_compliance_result IS 'One result per certificate and policy.';
COMMENT ON CONSTRAINT ssl_compliance_result_result_check ON @extschema@.ssl_compliance_result IS 'pass or fail.';
COMMENT ON CONSTRAINT ssl_compliance_result_severity_check ON @extschema@.ssl_compliance_result IS 'The documented severities.';
COMMENT ON INDEX @extschema@.ssl_compliance_result_policy_idx IS 'Results of one policy; keeps deleting a policy cheap.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_compliance_result', '');

-- No foreign keys: their per-row checks (two lookups and a row lock on every
-- certificate) were half the time of a full check. Results are written only
-- by ssl_check_compliance from rows it has just read, and these statement
-- triggers remove the results of deleted certificates and policies; a result
-- left behind by a certificate deleted while a check ran is removed by the
-- next full check.
CREATE FUNCTION @extschema@.ssl_compliance_result_cleanup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'ssl_certificate' THEN
        DELETE FROM @extschema@.ssl_compliance_result r USING old_rows o WHERE r.certificate_id = o.id;
    ELSE
        DELETE FROM @extschema@.ssl_compliance_result r USING old_rows o WHERE r.policy_id = o.id;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_compliance_result_cleanup() IS
    'Trigger function: deletes the stored compliance results of deleted certificates or policies, set-based.';
CREATE TRIGGER ssl_compliance_result_cleanup AFTER DELETE ON @extschema@.ssl_certificate
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_compliance_result_cleanup();
CREATE TRIGGER ssl_compliance_result_cleanup AFTER DELETE ON @extschema@.ssl_compliance_policy
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_compliance_result_cleanup();
COMMENT ON TRIGGER ssl_compliance_result_cleanup ON @extschema@.ssl_certificate IS
    'A purged certificate leaves no compliance results.';
COMMENT ON TRIGGER ssl_compliance_result_cleanup ON @extschema@.ssl_compliance_policy IS
    'A deleted policy leaves no compliance results.';

-- One SELECT per policy type over the checked certificates (a UNION ALL, one
-- statement in all), then one upsert and one delete: no loop over rows, so
-- the cost grows with certificates x policies as a few hash joins.
CREATE FUNCTION @extschema@.ssl_check_compliance(id bigint DEFAULT NULL)
    RETURNS TABLE (certificate_id bigint, policy text, policy_type text, result text, severity text, message text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    only_id bigint := ssl_check_compliance.id;
BEGIN
    IF only_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_certificate c WHERE c.id = only_id) THEN
        RAISE EXCEPTION 'certificate % does not exist', only_id USING ERRCODE = 'P0002';
    END IF;
    RETURN QUERY
    WITH checked AS MATERIALIZED (
        SELECT c.id, c.tenant, c.algorithm, c.key_size, c.valid_from, c.valid_to, c.signature_algorithm,
               c.sans, c.common_name, c.issuer, c.subject, c.spki_sha256, c.issuer_chain <> '' AS has_chain,
               c.chain_status = 'valid' AS chain_valid,
               CASE c.algorithm WHEN 'rsa' THEN 'RSA' WHEN 'ecdsa' THEN 'ECDSA' WHEN 'dsa' THEN 'DSA'
                                WHEN 'ed25519' THEN 'Ed25519' WHEN 'ed448' THEN 'Ed448' ELSE 'unknown' END AS alg_name
          FROM @extschema@.ssl_certificate c
         WHERE CASE WHEN only_id IS NULL THEN c.status = 'active' ELSE c.id = only_id END
    ), pol AS MATERIALIZED (
        SELECT p.id, p.name, p.policy_type, p.severity, p.parameters, p.tenant
          FROM @extschema@.ssl_compliance_policy p WHERE p.enabled
    ), applicable AS NOT MATERIALIZED (
        -- Inlined into each branch, so each joins the certificates to the
        -- few policies of its type instead of filtering one big product.
        SELECT c.*, p.id AS pid, p.name AS pname, p.policy_type AS ptype, p.severity AS psev, p.parameters AS prm
          FROM checked c JOIN pol p ON p.tenant IS NULL OR p.tenant = c.tenant
    ), hashes AS MATERIALIZED (
        -- A handful of distinct names: the regular expressions run once per
        -- name (inlined, they ran once per certificate: 1 s per 10,000).
        SELECT d.signature_algorithm, @extschema@.ssl_signature_hash(d.signature_algorithm) AS hash
          FROM (SELECT DISTINCT c.signature_algorithm FROM checked c) d
    ), res (cid, pid, pname, ptype, psev, failed, msg) AS (
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               CASE WHEN m.min IS NULL THEN false ELSE a.key_size IS NULL OR a.key_size < m.min END,
               CASE WHEN m.min IS NULL THEN format('%s keys are not covered by this policy.', a.alg_name)
                    WHEN a.key_size IS NULL THEN format('%s key size is unknown; the minimum is %s bits.', a.alg_name, m.min)
                    WHEN a.key_size < m.min THEN format('%s key of %s bits is below the minimum of %s.', a.alg_name, a.key_size, m.min)
                    ELSE format('%s key of %s bits meets the minimum of %s.', a.alg_name, a.key_size, m.min) END
          FROM applicable a CROSS JOIN LATERAL (SELECT (a.prm ->> a.algorithm)::integer AS min) m
         WHERE a.ptype = 'min_key_size'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               a.valid_to - a.valid_from + interval '1 second' > make_interval(days => (a.prm ->> 'max_days')::integer),
               format(CASE WHEN a.valid_to - a.valid_from + interval '1 second' > make_interval(days => (a.prm ->> 'max_days')::integer)
                           THEN 'Validity of %s days exceeds the maximum of %s.'
                           ELSE 'Validity of %s days is within the maximum of %s.' END,
                      ceil((extract(epoch FROM a.valid_to - a.valid_from) + 1) / 86400), a.prm ->> 'max_days')
          FROM applicable a WHERE a.ptype = 'max_validity_days'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               NOT (a.prm -> 'algorithms') ? a.algorithm,
               CASE WHEN (a.prm -> 'algorithms') ? a.algorithm THEN format('Key algorithm %s is allowed.', a.alg_name)
                    ELSE format('Key algorithm %s is not allowed (allowed: %s).', a.alg_name,
                                (SELECT string_agg(e, ', ') FROM jsonb_array_elements_text(a.prm -> 'algorithms') e)) END
          FROM applicable a WHERE a.ptype = 'algorithm_allowed'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               (a.prm -> 'algorithms') ? a.algorithm,
               CASE WHEN (a.prm -> 'algorithms') ? a.algorithm THEN format('Key algorithm %s is forbidden.', a.alg_name)
                    ELSE format('Key algorithm %s is not forbidden.', a.alg_name) END
          FROM applicable a WHERE a.ptype = 'algorithm_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               coalesce((a.prm -> 'algorithms') ? h.hash, false),
               CASE WHEN coalesce((a.prm -> 'algorithms') ? h.hash, false)
                    THEN format('Signature algorithm %s uses the forbidden hash %s.', a.signature_algorithm, upper(h.hash))
                    WHEN h.hash IS NULL THEN format('Signature algorithm %s names no hash, so none of the forbidden ones.', a.signature_algorithm)
                    ELSE format('Signature algorithm %s uses %s, which is not forbidden.', a.signature_algorithm, upper(h.hash)) END
          FROM applicable a JOIN hashes h ON h.signature_algorithm = a.signature_algorithm
         WHERE a.ptype = 'signature_algorithm_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               a.valid_to < now() + make_interval(days => (a.prm ->> 'warning_days')::integer),
               CASE WHEN a.valid_to < now()
                    THEN format('Expired %s days ago.', floor(extract(epoch FROM now() - a.valid_to) / 86400))
                    WHEN a.valid_to < now() + make_interval(days => (a.prm ->> 'warning_days')::integer)
                    THEN format('Expires in %s days, within the warning window of %s days.',
                                floor(extract(epoch FROM a.valid_to - now()) / 86400), a.prm ->> 'warning_days')
                    ELSE format('Expires in %s days, outside the warning window of %s days.',
                                floor(extract(epoch FROM a.valid_to - now()) / 86400), a.prm ->> 'warning_days') END
          FROM applicable a WHERE a.ptype = 'expiry_warning'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               cardinality(a.sans) < (a.prm ->> 'min_count')::integer,
               format(CASE WHEN cardinality(a.sans) < (a.prm ->> 'min_count')::integer
                           THEN 'SAN count %s is below the required %s.'
                           ELSE 'SAN count %s meets the required %s.' END,
                      cardinality(a.sans), a.prm ->> 'min_count')
          FROM applicable a WHERE a.ptype = 'san_required'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               i.hit IS NULL,
               CASE WHEN i.hit IS NULL THEN format('Issuer %s matches none of the allowed issuers.', a.issuer)
                    ELSE format('Issuer %s matches the allowed issuer "%s".', a.issuer, i.hit) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT min(e) AS hit FROM jsonb_array_elements_text(a.prm -> 'issuers') e
                               WHERE strpos(lower(a.issuer), lower(e)) > 0) i
         WHERE a.ptype = 'issuer_allowed'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               i.hit IS NOT NULL,
               CASE WHEN i.hit IS NULL THEN format('Issuer %s matches no forbidden issuer.', a.issuer)
                    ELSE format('Issuer %s matches the forbidden issuer "%s".', a.issuer, i.hit) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT min(e) AS hit FROM jsonb_array_elements_text(a.prm -> 'issuers') e
                               WHERE strpos(lower(a.issuer), lower(e)) > 0) i
         WHERE a.ptype = 'issuer_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               w.name IS NOT NULL,
               CASE WHEN w.name IS NULL THEN 'No wildcard names.'
                    ELSE format('Wildcard name %s is forbidden.', w.name) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT coalesce(
                 (SELECT substr(s, 5) FROM unnest(a.sans) WITH ORDINALITY AS u(s, n)
                   WHERE s LIKE 'DNS:%*%' ORDER BY n LIMIT 1),
                 CASE WHEN strpos(a.common_name, '*') > 0 THEN a.common_name END) AS name) w
         WHERE a.ptype = 'wildcard_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               NOT a.has_chain AND a.chain_valid IS NOT TRUE AND a.subject <> a.issuer,
               CASE WHEN a.has_chain THEN 'An issuer chain is stored.'
                    WHEN a.chain_valid THEN 'The chain was validated from the trust store and stored CA certificates.'
                    WHEN a.subject = a.issuer THEN 'Self-signed, so no issuer chain is needed.'
                    ELSE 'No issuer chain is stored.' END
          FROM applicable a WHERE a.ptype = 'chain_required'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               r.pred IS NOT NULL,
               CASE WHEN r.pred IS NULL THEN 'Does not reuse the key of a certificate it replaced.'
                    ELSE format('Renewal kept the key of certificate %s, which it replaced.', r.pred) END
          FROM applicable a
          CROSS JOIN LATERAL (
              SELECT min(x.pred) AS pred FROM (
                  SELECT o.id AS pred FROM @extschema@.ssl_certificate o
                   WHERE o.replaced_by = a.id AND o.spki_sha256 = a.spki_sha256
                  UNION ALL
                  SELECT o.id FROM @extschema@.ssl_lifecycle_event e
                    JOIN @extschema@.ssl_certificate o ON o.id = e.related_certificate_id
                   WHERE e.certificate_id = a.id AND e.event_type = 'activated' AND o.spki_sha256 = a.spki_sha256
              ) x) r
         WHERE a.ptype = 'key_reuse_forbidden'
    ), stored AS (
        INSERT INTO @extschema@.ssl_compliance_result AS t (certificate_id, policy_id, result, severity, message, changed_at)
        SELECT r.cid, r.pid, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg, now()
          FROM res r
          LEFT JOIN @extschema@.ssl_compliance_result o ON o.certificate_id = r.cid AND o.policy_id = r.pid
         -- One hash join skips the unchanged results (most of them, at
         -- every run after the first) instead of one conflict probe each.
         WHERE o.certificate_id IS NULL
            OR (o.result, o.severity, o.message)
               IS DISTINCT FROM (CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg)
        ON CONFLICT ON CONSTRAINT ssl_compliance_result_pkey DO UPDATE
           SET result = excluded.result, severity = excluded.severity, message = excluded.message,
               changed_at = excluded.changed_at
         -- An unchanged result is not rewritten: a check of 100,000
         -- certificates would otherwise write a million row versions.
         WHERE (t.result, t.severity, t.message) IS DISTINCT FROM (excluded.result, excluded.severity, excluded.message)
        RETURNING 1
    ), stale AS (
        DELETE FROM @extschema@.ssl_compliance_result t
         WHERE (only_id IS NULL OR t.certificate_id = only_id)
           AND NOT EXISTS (SELECT 1 FROM res r WHERE r.cid = t.certificate_id AND r.pid = t.policy_id)
        RETURNING 1
    )
    SELECT r.cid, r.pname, r.ptype, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg
      FROM res r;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_check_compliance(bigint) IS
    'Checks one certificate (any status; P0002 if it does not exist) or, with no id, every active certificate against every enabled policy that applies to its tenant; stores the latest result per certificate and policy, removes results that no longer apply (with no id: also those of certificates no longer active), and returns the results (unordered).';

CREATE VIEW @extschema@.ssl_compliance_score AS
SELECT c.tenant,
       count(DISTINCT r.certificate_id) AS certificates,
       count(*) AS checks,
       count(*) FILTER (WHERE r.result = 'pass') AS passed,
       count(*) FILTER (WHERE r.result = 'fail') AS failed,
       count(*) FILTER (WHERE r.result = 'fail' AND r.severity = 'critical') AS critical_failures,
       count(*) FILTER (WHERE r.result = 'fail' AND r.severity = 'warning') AS warning_failures,
       count(*) FILTER (WHERE r.result = 'fail' AND r.severity = 'info') AS info_failures,
       round(100.0 * count(*) FILTER (WHERE r.result = 'pass') / count(*), 1) AS score,
       max(r.changed_at) AS last_changed
  FROM @extschema@.ssl_compliance_result r
  JOIN @extschema@.ssl_certificate c ON c.id = r.certificate_id
  -- Skips a result of a policy deleted while a check was running.
  JOIN @extschema@.ssl_compliance_policy p ON p.id = r.policy_id
 GROUP BY c.tenant;
COMMENT ON VIEW @extschema@.ssl_compliance_score IS
    'Per tenant (NULL: certificates without a tenant), from the stored results: certificates checked, checks, passed, failed, failures by severity, score = percentage of checks passed, and the latest time a result changed.';

CREATE VIEW @extschema@.ssl_certificate_compliance AS
SELECT c.id AS certificate_id,
       c.common_name,
       c.tenant,
       count(*) AS checks,
       count(*) FILTER (WHERE r.result = 'fail') AS failed,
       count(*) FILTER (WHERE r.result = 'fail' AND r.severity = 'critical') AS critical_failures,
       CASE WHEN bool_or(r.result = 'fail' AND r.severity = 'critical') THEN 'critical'
            WHEN bool_or(r.result = 'fail' AND r.severity = 'warning') THEN 'warning'
            WHEN bool_or(r.result = 'fail') THEN 'info'
            ELSE 'compliant' END AS compliance_status,
       round(100.0 * count(*) FILTER (WHERE r.result = 'pass') / count(*), 1) AS score,
       array_agg(p.name ORDER BY p.name) FILTER (WHERE r.result = 'fail') AS failed_policies,
       max(r.changed_at) AS last_changed
  FROM @extschema@.ssl_compliance_result r
  JOIN @extschema@.ssl_certificate c ON c.id = r.certificate_id
  JOIN @extschema@.ssl_compliance_policy p ON p.id = r.policy_id
 GROUP BY c.id;
COMMENT ON VIEW @extschema@.ssl_certificate_compliance IS
    'Per checked certificate: checks, failures, compliance_status (the worst severity failed, or compliant), score and the names of the failed policies.';

--------------------------------------------------------------------------
-- Privileges (as in 1.2): readers read, operators run the checks and edit
-- a certificate's authority link and note, administrators manage authorities
-- and policies.
--------------------------------------------------------------------------

REVOKE ALL ON FUNCTION
    @extschema@.ssl_certificate_authority_check(), @extschema@.ssl_certificate_match_authority(),
    @extschema@.ssl_compliance_policy_check(), @extschema@.ssl_compliance_result_cleanup(),
    @extschema@.ssl_find_authority(text, text, bigint), @extschema@.ssl_match_authorities(),
    @extschema@.ssl_renewal_instructions(bigint), @extschema@.ssl_check_compliance(bigint)
FROM PUBLIC;

GRANT SELECT ON @extschema@.ssl_certificate_authority, @extschema@.ssl_compliance_policy,
                @extschema@.ssl_compliance_result, @extschema@.ssl_compliance_score,
                @extschema@.ssl_certificate_compliance
   TO netbox_ssl_reader;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_find_authority(text, text, bigint),
                          @extschema@.ssl_renewal_instructions(bigint)
   TO netbox_ssl_reader;

GRANT EXECUTE ON FUNCTION @extschema@.ssl_check_compliance(bigint), @extschema@.ssl_match_authorities()
   TO netbox_ssl_operator;
GRANT UPDATE (issuing_ca_id, renewal_instructions) ON @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT INSERT, UPDATE, DELETE ON @extschema@.ssl_certificate_authority, @extschema@.ssl_compliance_policy
   TO netbox_ssl_admin;
GRANT USAGE ON SEQUENCE @extschema@.ssl_certificate_authority_id_seq, @extschema@.ssl_compliance_policy_id_seq
   TO netbox_ssl_admin;

-- netbox_ssl 1.3 -> 1.4, part "hosts and ARI": RFC 9773 CertIDs with the
-- columns an external ARI poller fills in, and the RFC 6125 host lookup
-- (ssl_certificates_for_host) backed by a GIN index of normalised names.
-- Everything here is plain SQL over the stored columns (sans, common_name,
-- authority_key_id, serial_number); no C is needed.

\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.4'" to load this file. \quit

--------------------------------------------------------------------------
-- ACME Renewal Information (RFC 9773)
--------------------------------------------------------------------------

-- serial_number holds the magnitude as colon hex with a "-" for negative
-- serials (what openssl x509 -serial prints). The CertID needs the DER
-- INTEGER content octets instead: minimal two's complement, so a positive
-- serial whose high bit is set gains a 0x00 sign byte and a negative one is
-- the complement of its magnitude.
CREATE FUNCTION @extschema@.ssl_serial_der_octets(serial_number text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
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
$$;
COMMENT ON FUNCTION @extschema@.ssl_serial_der_octets(text) IS
    'The content octets of the DER INTEGER for a serial_number value (colon hex magnitude, "-" when negative): minimal two''s complement, with a 00 sign byte when the high bit of a positive serial is set. 22023 for text that is not hex byte pairs.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(authority_key_id text, serial_number text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN replace(authority_key_id, ':', '') <> '' THEN
        translate(encode(decode(replace(authority_key_id, ':', ''), 'hex'), 'base64'), E'+/=\n', '-_')
        || '.' ||
        translate(encode(@extschema@.ssl_serial_der_octets(serial_number), 'base64'), E'+/=\n', '-_')
    END
$$;
COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(text, text) IS
    'RFC 9773 CertID from the stored authority_key_id and serial_number columns: unpadded base64url of the AKI keyIdentifier, ".", unpadded base64url of the serial''s DER INTEGER content octets. NULL when there is no (or an empty) keyIdentifier.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(der bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p @extschema@.ssl_certificate_info := @extschema@.ssl_parse(der);
    cert_id text := @extschema@.ssl_ari_cert_id(p.authority_key_id, p.serial_number);
BEGIN
    IF cert_id IS NULL THEN
        RAISE EXCEPTION 'certificate has no authority key identifier, so it has no ARI CertID'
            USING ERRCODE = '22023',
                  HINT = 'RFC 9773 identifies a certificate by its authorityKeyIdentifier keyIdentifier and serial; self-signed and old certificates often lack it, and ACME CAs do not issue such certificates.';
    END IF;
    RETURN cert_id;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(bytea) IS
    'RFC 9773 CertID of a DER certificate (PEM bytes accepted, as ssl_parse). 22023 when it has no authority key identifier; 22P02 and the other ssl_parse errors for bad input.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(pem text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p @extschema@.ssl_certificate_info := @extschema@.ssl_parse(pem);
    cert_id text := @extschema@.ssl_ari_cert_id(p.authority_key_id, p.serial_number);
BEGIN
    IF cert_id IS NULL THEN
        RAISE EXCEPTION 'certificate has no authority key identifier, so it has no ARI CertID'
            USING ERRCODE = '22023',
                  HINT = 'RFC 9773 identifies a certificate by its authorityKeyIdentifier keyIdentifier and serial; self-signed and old certificates often lack it, and ACME CAs do not issue such certificates.';
    END IF;
    RETURN cert_id;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(text) IS
    'RFC 9773 CertID of the leaf of PEM text (as ssl_parse picks it). 22023 when it has no authority key identifier.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(id bigint) RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found_id bigint;
    cert_id text;
BEGIN
    SELECT c.id, @extschema@.ssl_ari_cert_id(c.authority_key_id, c.serial_number)
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
COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(bigint) IS
    'RFC 9773 CertID of a stored certificate. P0002 when the id does not exist, 22023 when the certificate has no authority key identifier.';

-- The suggested renewal window, as an external poller last saw it. The
-- extension never fetches anything itself; the poller writes these columns
-- (netbox_ssl_operator may, by column privilege) and readers query the view.
ALTER TABLE @extschema@.ssl_certificate
    ADD COLUMN ari_window_start timestamptz,
    ADD COLUMN ari_window_end timestamptz,
    ADD COLUMN ari_explanation_url text,
    ADD COLUMN ari_retry_after timestamptz,
    ADD COLUMN ari_checked_at timestamptz,
    ADD CONSTRAINT ssl_certificate_ari_window_check
        CHECK ((ari_window_start IS NULL) = (ari_window_end IS NULL) AND ari_window_start <= ari_window_end);
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_window_start IS
    'ARI (RFC 9773) suggestedWindow.start from the CA''s last renewalInfo answer; written by an external poller. NULL until polled.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_window_end IS
    'ARI suggestedWindow.end; set together with ari_window_start, never before it.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_explanation_url IS
    'ARI explanationURL, when the CA gave one (e.g. for a mass revocation).';
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_retry_after IS
    'When the poller should ask again: the time of the last poll plus the CA''s Retry-After (or the poller''s back-off after an error).';
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_checked_at IS
    'When the poller last asked the CA, successfully or not.';
COMMENT ON CONSTRAINT ssl_certificate_ari_window_check ON @extschema@.ssl_certificate IS
    'An ARI window has both ends or none, and does not end before it starts.';

CREATE VIEW @extschema@.ssl_ari_renewal AS
SELECT c.id,
       c.common_name,
       c.status,
       @extschema@.ssl_ari_cert_id(c.authority_key_id, c.serial_number) AS ari_cert_id,
       c.valid_to,
       c.ari_window_start,
       c.ari_window_end,
       c.ari_explanation_url,
       c.ari_retry_after,
       c.ari_checked_at,
       CASE
           WHEN c.ari_window_start IS NULL THEN 'unknown'
           WHEN now() < c.ari_window_start THEN 'not_yet'
           WHEN now() <= c.ari_window_end THEN 'open'
           ELSE 'passed'
       END AS window_state,
       (c.ari_retry_after IS NULL OR c.ari_retry_after <= now()) AS poll_due
  FROM @extschema@.ssl_certificate c
 WHERE c.status IN ('active', 'pending')
   AND replace(c.authority_key_id, ':', '') <> '';
COMMENT ON VIEW @extschema@.ssl_ari_renewal IS
    'Active and pending certificates that have an ARI CertID, with the window an external poller stored. window_state: unknown (never polled), not_yet, open (renew now), passed (renew immediately). poll_due: the poller should ask the CA now.';
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

--------------------------------------------------------------------------
-- Host lookup (RFC 6125 / RFC 9525)
--------------------------------------------------------------------------
-- The index holds, per certificate, the identifiers a TLS client would
-- compare: DNS SANs (or the CN when there is no DNS SAN) ASCII-lower-cased
-- without a trailing dot, wildcards kept literally ("*.example.com"), and
-- IP SANs as 'IP:' || their canonical inet text. The lookup turns a host name
-- into the only keys that can cover it (the name itself and "*." || its
-- parent), so the GIN overlap test is exact and needs no recheck. Upper-case
-- 'IP:' cannot collide with a lower-cased DNS key.

-- The helpers have SQL-standard bodies, bound when created, or a fixed
-- search_path, so the index expression does not depend on the search_path
-- of whoever writes a row (pg_dump's restore runs with an empty one).
-- lower() under the "C" collation folds ASCII letters only, whatever the
-- database's collation (RFC 6125 compares A-labels case-insensitively in
-- ASCII), and is thirty times cheaper than translate().
CREATE FUNCTION @extschema@.ssl_host_dns_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.lower(CASE WHEN pg_catalog.right(name, 1) OPERATOR(pg_catalog.=) '.'
                             THEN pg_catalog.left(name, -1) ELSE name END COLLATE pg_catalog."C");
COMMENT ON FUNCTION @extschema@.ssl_host_dns_key(text) IS
    'A DNS name as a host-lookup key: ASCII letters lower-cased (RFC 6125 compares A-labels case-insensitively), one trailing dot removed.';

CREATE FUNCTION @extschema@.ssl_host_ip_key(address text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE
        WHEN pg_catalog.strpos(address, ':') OPERATOR(pg_catalog.=) 0
        THEN CASE WHEN address ~ '^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$'
                  THEN 'IP:' OPERATOR(pg_catalog.||) pg_catalog.host(address::pg_catalog.inet) END
        WHEN address ~ '^(([0-9A-Fa-f]{1,4}:){6}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|::([0-9A-Fa-f]{1,4}:){5}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|([0-9A-Fa-f]{1,4})?::([0-9A-Fa-f]{1,4}:){4}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,1}[0-9A-Fa-f]{1,4})?::([0-9A-Fa-f]{1,4}:){3}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,2}[0-9A-Fa-f]{1,4})?::([0-9A-Fa-f]{1,4}:){2}([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,3}[0-9A-Fa-f]{1,4})?::[0-9A-Fa-f]{1,4}:([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,4}[0-9A-Fa-f]{1,4})?::([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})|(([0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4})?::[0-9A-Fa-f]{1,4}|(([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})?::)$'
        THEN 'IP:' OPERATOR(pg_catalog.||) pg_catalog.host(address::pg_catalog.inet)
    END;
END;
COMMENT ON FUNCTION @extschema@.ssl_host_ip_key(text) IS
    'An IPv4 (dotted quad, no leading zeros) or IPv6 (RFC 3986 syntax) address as a host-lookup key: ''IP:'' and PostgreSQL''s canonical inet text, so equal addresses written differently give one key. NULL for anything else, never an error.';

-- PL/pgSQL rather than one SQL query: it runs for every row written and
-- for every row of a sequential scan, and a loop costs about a third of
-- the equivalent query (measured: 26 against 91 microseconds a row).
-- COST: about 25 microseconds a row, so the planner does not think a scan
-- that computes it for every row is cheap.
CREATE FUNCTION @extschema@.ssl_host_match_keys(sans text[], common_name text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 500
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keys text[] := '{}';
    has_dns boolean := false;
    san text;
    k text;
BEGIN
    FOREACH san IN ARRAY coalesce(sans, '{}') LOOP
        IF starts_with(san, 'DNS:') THEN
            has_dns := true;
            k := @extschema@.ssl_host_dns_key(substr(san, 5));
        ELSIF starts_with(san, 'IP:') THEN
            k := @extschema@.ssl_host_ip_key(substr(san, 4));
        ELSE
            CONTINUE;
        END IF;
        IF k <> '' THEN
            keys := keys || k;
        END IF;
    END LOOP;
    IF NOT has_dns AND common_name <> '' THEN
        keys := keys || @extschema@.ssl_host_dns_key(common_name);
    END IF;
    RETURN keys;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_host_match_keys(text[], text) IS
    'The identifiers a certificate presents for host matching: its DNS SANs, or its common name when it has no DNS SAN, as ssl_host_dns_key; and its IP SANs as ssl_host_ip_key. Indexed by ssl_certificate_host_keys_idx.';

CREATE FUNCTION @extschema@.ssl_host_probes(hostname text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
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
        ip_key := @extschema@.ssl_host_ip_key(name);
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
    name := @extschema@.ssl_host_dns_key(name);
    parent := substr(name, strpos(name, '.') + 1);
    -- "*" stands for exactly one whole label, and only above a name of at
    -- least two labels: *.example.com covers www.example.com, but *.com
    -- covers nothing (as OpenSSL's X509_check_host decides).
    IF strpos(name, '.') > 0 AND strpos(parent, '.') > 0 THEN
        RETURN ARRAY[name, '*.' || parent];
    END IF;
    RETURN ARRAY[name];
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_host_probes(text) IS
    'The index keys that can cover a host: for a DNS name the name and "*." || its parent (when the parent has two labels or more); for an IP address its ssl_host_ip_key. 22023 for an empty name, an empty label, a wildcard, or an invalid IP-looking string.';

CREATE INDEX ssl_certificate_host_keys_idx ON @extschema@.ssl_certificate
    USING gin (@extschema@.ssl_host_match_keys(sans, common_name));
COMMENT ON INDEX @extschema@.ssl_certificate_host_keys_idx IS
    'Host lookups: which certificates present a given DNS name, wildcard or IP address (ssl_certificates_for_host).';

-- PL/pgSQL, not an inlinable SQL function: the keys are nearly unique, so
-- the planner cannot know how rare a probe is and expects about 0.5% of the
-- table to match. Inlined into a caller's query, that estimate made it plan
-- "... LIMIT 1" as a walk down another index testing every row, and at
-- 1,000,000 rows start two parallel workers (20 ms) for a one-row answer.
-- Here the query is always the whole GIN lookup, without workers.
CREATE FUNCTION @extschema@.ssl_certificates_for_host(hostname text, include_inactive boolean DEFAULT false)
    RETURNS SETOF @extschema@.ssl_certificate
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 2
SET search_path = pg_catalog, pg_temp
SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
    probes text[] := @extschema@.ssl_host_probes(hostname);
BEGIN
    RETURN QUERY
    SELECT c.*
      FROM @extschema@.ssl_certificate AS c
     WHERE @extschema@.ssl_host_match_keys(c.sans, c.common_name) && probes
       AND (include_inactive OR c.status = 'active')
     ORDER BY c.valid_to DESC, c.id DESC;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificates_for_host(text, boolean) IS
    'The certificates whose DNS SANs (or CN, when there is no DNS SAN) or IP SANs cover a host, following RFC 6125: case-insensitive, "*" only as the whole left-most label and for exactly one label, IP addresses only against IP SANs. Only active ones unless include_inactive. Latest valid_to first. Index-backed.';

--------------------------------------------------------------------------
-- Privileges
--------------------------------------------------------------------------
-- The pure functions stay callable by PUBLIC, like ssl_parse; the ones that
-- read the inventory follow the reader role.
REVOKE ALL ON FUNCTION @extschema@.ssl_ari_cert_id(bigint),
                       @extschema@.ssl_certificates_for_host(text, boolean)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_ari_cert_id(bigint),
                          @extschema@.ssl_certificates_for_host(text, boolean)
   TO netbox_ssl_reader;
GRANT SELECT ON @extschema@.ssl_ari_renewal TO netbox_ssl_reader;
GRANT UPDATE (ari_window_start, ari_window_end, ari_explanation_url, ari_retry_after, ari_checked_at)
   ON @extschema@.ssl_certificate TO netbox_ssl_operator;


--------------------------------------------------------------------------
-- Renewals keep the certificate's own renewal note
--------------------------------------------------------------------------

-- ssl_renew copies tenant and private_key_location to the successor; the
-- renewal note (renewal_instructions) describes the same deployment, so it
-- follows too, unless the successor already has a note of its own. Done when
-- the old row becomes replaced, which every renewal path (ssl_renew, a plain
-- UPDATE setting replaced_by) goes through.
CREATE FUNCTION @extschema@.ssl_certificate_carry_note() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE @extschema@.ssl_certificate s
       SET renewal_instructions = NEW.renewal_instructions
     WHERE s.id = NEW.replaced_by AND s.renewal_instructions IS NULL;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificate_carry_note() IS
    'Trigger function: copies a replaced certificate''s renewal_instructions to its successor when the successor has none.';
REVOKE ALL ON FUNCTION @extschema@.ssl_certificate_carry_note() FROM PUBLIC;
CREATE TRIGGER ssl_certificate_carry_note AFTER UPDATE OF status ON @extschema@.ssl_certificate
    FOR EACH ROW
    WHEN (NEW.status = 'replaced' AND OLD.status IS DISTINCT FROM 'replaced' AND NEW.renewal_instructions IS NOT NULL)
    EXECUTE FUNCTION @extschema@.ssl_certificate_carry_note();
COMMENT ON TRIGGER ssl_certificate_carry_note ON @extschema@.ssl_certificate IS
    'Carries the renewal note to the successor of a renewal.';
