-- Tables: columns, constraints, indexes, identities and pg_dump markings.
-- Every table of the extension is defined here, in one place, so that its
-- shape can be read without the functions around it. Column order is the one
-- existing installations have (columns added by later versions come last):
-- it is visible to SELECT * and to row types, so a fresh install keeps it.
-- Tables are registered with pg_extension_config_dump, otherwise pg_dump
-- would leave their rows out; tables with built-in rows dump only user rows.
-- Triggers are in 15_triggers.sql; foreign keys come last, once all tables exist.

-- ----------------------------------------------------------------------
-- Certificates
-- ----------------------------------------------------------------------
-- Rows hold immutable certificate data (the guard trigger refuses edits of
-- parsed columns); only the inventory columns granted to operators below
-- can change. Column privileges rather than table UPDATE, so an operator
-- cannot rewrite what the certificate says about itself.
CREATE TABLE @extschema@.ssl_certificate (
    id bigint NOT NULL,
    common_name text,
    subject text NOT NULL,
    issuer text NOT NULL,
    serial_number text NOT NULL,
    fingerprint_sha256 text NOT NULL,
    valid_from timestamp with time zone NOT NULL,
    valid_to timestamp with time zone NOT NULL,
    sans text[] DEFAULT '{}'::text[] NOT NULL,
    algorithm text NOT NULL,
    key_size integer,
    signature_algorithm text NOT NULL,
    is_ca boolean NOT NULL,
    subject_key_id text,
    authority_key_id text,
    spki_sha256 text NOT NULL,
    pem_content text NOT NULL,
    issuer_chain text DEFAULT ''::text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    replaced_by bigint,
    tenant text,
    private_key_location text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    archive_pinned boolean DEFAULT false NOT NULL,
    issuer_cn text,
    issuer_org text,
    tbs_sha256 text,
    is_acme boolean DEFAULT false NOT NULL,
    acme_provider text,
    chain_status text,
    chain_validated_at timestamp with time zone,
    chain_message text,
    chain_depth integer,
    issuing_ca_id bigint,
    issuing_ca_source text,
    renewal_instructions text,
    ari_window_start timestamp with time zone,
    ari_window_end timestamp with time zone,
    ari_explanation_url text,
    ari_retry_after timestamp with time zone,
    ari_checked_at timestamp with time zone,
    crl_urls text[] DEFAULT '{}'::text[] NOT NULL,
    ocsp_urls text[] DEFAULT '{}'::text[] NOT NULL,
    ca_issuers_urls text[] DEFAULT '{}'::text[] NOT NULL,
    ocsp_status text,
    ocsp_this_update timestamp with time zone,
    ocsp_next_update timestamp with time zone,
    ocsp_checked_at timestamp with time zone,
    ocsp_revoked_at timestamp with time zone,
    ocsp_revocation_reason text,
    CONSTRAINT ssl_certificate_acme_consistent CHECK ((is_acme = (acme_provider IS NOT NULL))),
    CONSTRAINT ssl_certificate_acme_provider_check CHECK ((acme_provider = ANY (ARRAY['letsencrypt'::text, 'letsencrypt_staging'::text, 'zerossl'::text, 'buypass'::text, 'google'::text, 'sectigo'::text, 'digicert'::text, 'other'::text]))),
    CONSTRAINT ssl_certificate_algorithm_check CHECK ((algorithm = ANY (ARRAY['rsa'::text, 'ecdsa'::text, 'ed25519'::text, 'ed448'::text, 'dsa'::text, 'unknown'::text]))),
    CONSTRAINT ssl_certificate_ari_window_check CHECK ((((ari_window_start IS NULL) = (ari_window_end IS NULL)) AND (ari_window_start <= ari_window_end))),
    CONSTRAINT ssl_certificate_chain_status_check CHECK ((chain_status = ANY (ARRAY['valid'::text, 'invalid'::text, 'self_signed'::text, 'no_chain'::text, 'untrusted_root'::text, 'expired'::text, 'not_yet_valid'::text, 'hostname_mismatch'::text, 'unknown'::text, 'revoked'::text]))),
    CONSTRAINT ssl_certificate_fingerprint_format CHECK ((fingerprint_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$'::text)),
    CONSTRAINT ssl_certificate_issuing_ca_source_check CHECK (((issuing_ca_source = ANY (ARRAY['key_id'::text, 'pattern'::text, 'manual'::text])) AND ((issuing_ca_id IS NULL) = (issuing_ca_source IS NULL)))),
    CONSTRAINT ssl_certificate_key_size_check CHECK ((key_size > 0)),
    CONSTRAINT ssl_certificate_replaced_by_check CHECK ((((status = 'replaced'::text) = (replaced_by IS NOT NULL)) AND (replaced_by IS DISTINCT FROM id))),
    CONSTRAINT ssl_certificate_status_check CHECK ((status = ANY (ARRAY['active'::text, 'expired'::text, 'replaced'::text, 'revoked'::text, 'pending'::text, 'archived'::text]))),
    CONSTRAINT ssl_certificate_tbs_sha256_format CHECK ((tbs_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$'::text))
);

COMMENT ON TABLE @extschema@.ssl_certificate IS 'One row per certificate, identified by its SHA-256 fingerprint. A row is never edited to hold another certificate: renewals create a new row (ssl_renew).';
COMMENT ON COLUMN @extschema@.ssl_certificate.id IS 'Surrogate key.';
COMMENT ON COLUMN @extschema@.ssl_certificate.common_name IS 'First subject CN; if there is none, the first DNS SAN; otherwise NULL. Control characters and invalid UTF-8 appear as \XX escapes.';
COMMENT ON COLUMN @extschema@.ssl_certificate.subject IS 'Subject DN as RFC 4514 text, exactly as OpenSSL prints it with XN_FLAG_RFC2253 (may be empty).';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuer IS 'Issuer DN as RFC 4514 text, exactly as OpenSSL prints it with XN_FLAG_RFC2253.';
COMMENT ON COLUMN @extschema@.ssl_certificate.serial_number IS 'Serial number as uppercase hex byte pairs joined by colons (a leading "-" for a negative serial), the digits openssl x509 -serial prints.';
COMMENT ON COLUMN @extschema@.ssl_certificate.fingerprint_sha256 IS 'SHA-256 of the DER encoding, uppercase colon hex (95 characters), as openssl x509 -fingerprint -sha256 prints it. Unique.';
COMMENT ON COLUMN @extschema@.ssl_certificate.valid_from IS 'notBefore.';
COMMENT ON COLUMN @extschema@.ssl_certificate.valid_to IS 'notAfter.';
COMMENT ON COLUMN @extschema@.ssl_certificate.sans IS 'subjectAltName entries in certificate order: DNS:, IP:, Email:, URI:, DirName:, RID:, otherName:<oid>[;value].';
COMMENT ON COLUMN @extschema@.ssl_certificate.algorithm IS 'Public key type: rsa, ecdsa, ed25519, ed448, dsa or unknown.';
COMMENT ON COLUMN @extschema@.ssl_certificate.key_size IS 'RSA modulus bits, EC curve bits, DSA bits; NULL for EdDSA and unknown keys.';
COMMENT ON COLUMN @extschema@.ssl_certificate.signature_algorithm IS 'OpenSSL''s long name of the signature algorithm (dotted OID when OpenSSL does not know it).';
COMMENT ON COLUMN @extschema@.ssl_certificate.is_ca IS 'The basicConstraints CA flag (false when the extension is absent).';
COMMENT ON COLUMN @extschema@.ssl_certificate.subject_key_id IS 'subjectKeyIdentifier, colon hex.';
COMMENT ON COLUMN @extschema@.ssl_certificate.authority_key_id IS 'authorityKeyIdentifier keyIdentifier, colon hex.';
COMMENT ON COLUMN @extschema@.ssl_certificate.spki_sha256 IS 'SHA-256 of the SubjectPublicKeyInfo DER, colon hex: equal values mean the same key.';
COMMENT ON COLUMN @extschema@.ssl_certificate.pem_content IS 'The certificate as canonical PEM (64-character lines).';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuer_chain IS 'The other certificates of the imported bundle as PEM, ordered leaf to root; '''' for none. Only decodable PEM CERTIFICATE blocks, no private key, at most netbox_ssl.max_input_bytes (checked on every write since 1.5).';
COMMENT ON COLUMN @extschema@.ssl_certificate.status IS 'active, expired, replaced, revoked, pending or archived.';
COMMENT ON COLUMN @extschema@.ssl_certificate.replaced_by IS 'The successor after a renewal; set exactly when status is replaced.';
COMMENT ON COLUMN @extschema@.ssl_certificate.tenant IS 'Free-form tenant name (e.g. a NetBox tenant slug).';
COMMENT ON COLUMN @extschema@.ssl_certificate.private_key_location IS 'A hint such as a vault path. Private keys themselves are never stored.';
COMMENT ON COLUMN @extschema@.ssl_certificate.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.ssl_certificate.updated_at IS 'When the row was last updated (maintained by a trigger).';
COMMENT ON COLUMN @extschema@.ssl_certificate.archive_pinned IS 'When true, ssl_auto_archive leaves the certificate alone.';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuer_cn IS 'First commonName of the issuer, as text (same conventions as common_name); NULL when the issuer has none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuer_org IS 'First organizationName of the issuer; NULL when the issuer has none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.tbs_sha256 IS 'SHA-256 (colon hex) of the TBSCertificate without the CT poison and SCT list extensions, re-encoded in DER: equal for a precertificate and its final certificate.';
COMMENT ON COLUMN @extschema@.ssl_certificate.is_acme IS 'Whether the issuer matched an ACME rule of ssl_acme_issuer at import (or at the last ssl_detect_acme()).';
COMMENT ON COLUMN @extschema@.ssl_certificate.acme_provider IS 'The ACME provider of the matching ssl_acme_issuer rule; NULL when not ACME.';
COMMENT ON COLUMN @extschema@.ssl_certificate.chain_status IS 'Result of the last stored chain validation (ssl_validate_chain at now() without a host name, or ssl_validate_all); NULL if never validated.';
COMMENT ON COLUMN @extschema@.ssl_certificate.chain_validated_at IS 'When chain_status was computed (the validation time used).';
COMMENT ON COLUMN @extschema@.ssl_certificate.chain_message IS 'One sentence explaining chain_status.';
COMMENT ON COLUMN @extschema@.ssl_certificate.chain_depth IS 'For valid: the depth of the trust anchor (certificates above the leaf); otherwise the depth of the certificate the status is about (0 = this certificate).';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuing_ca_id IS 'The authority that issued the certificate: matched at import (by authority key id, else by issuer pattern), or set by hand with UPDATE. NULL when no authority matches.';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuing_ca_source IS 'How issuing_ca_id was found: key_id (inherited from the stored CA certificate whose subject key id is this certificate''s authority key id), pattern (issuer_pattern), manual (set by an UPDATE; ssl_match_authorities leaves it alone). NULL exactly when issuing_ca_id is NULL.';
COMMENT ON COLUMN @extschema@.ssl_certificate.renewal_instructions IS 'A note on how to renew this certificate; when NULL, ssl_renewal_instructions returns the issuing authority''s instructions.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_window_start IS 'ARI (RFC 9773) suggestedWindow.start from the CA''s last renewalInfo answer; written by an external poller. NULL until polled.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_window_end IS 'ARI suggestedWindow.end; set together with ari_window_start, never before it.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_explanation_url IS 'ARI explanationURL, when the CA gave one (e.g. for a mass revocation).';
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_retry_after IS 'When the poller should ask again: the time of the last poll plus the CA''s Retry-After (or the poller''s back-off after an error).';
COMMENT ON COLUMN @extschema@.ssl_certificate.ari_checked_at IS 'When the poller last asked the CA, successfully or not.';
COMMENT ON COLUMN @extschema@.ssl_certificate.crl_urls IS 'The URIs of the CRL Distribution Points extension (fullName URIs), in certificate order; ''{}'' when there are none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_urls IS 'The OCSP responder URIs of the Authority Information Access extension, in certificate order; ''{}'' when there are none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ca_issuers_urls IS 'The caIssuers URIs of the Authority Information Access extension, in certificate order; ''{}'' when there are none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_status IS 'The last OCSP answer recorded by ssl_ocsp_record: good, revoked or unknown; NULL when none was recorded.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_this_update IS 'thisUpdate of the recorded OCSP answer.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_next_update IS 'nextUpdate of the recorded OCSP answer (NULL when the responder gave none); past it the answer is no longer current.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_checked_at IS 'When the OCSP answer was recorded.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_revoked_at IS 'revocationTime of a revoked OCSP answer.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_revocation_reason IS 'The revocation reason of a revoked OCSP answer (RFC 5280 name), NULL when it gave none.';

ALTER TABLE @extschema@.ssl_certificate ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_certificate_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_certificate_id_seq IS 'Identity of ssl_certificate.id.';

GRANT SELECT ON TABLE @extschema@.ssl_certificate TO netbox_ssl_reader;

GRANT UPDATE(issuer_chain) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(status) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(tenant) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(private_key_location) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(archive_pinned) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(issuing_ca_id) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(renewal_instructions) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(ari_window_start) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(ari_window_end) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(ari_explanation_url) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(ari_retry_after) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

GRANT UPDATE(ari_checked_at) ON TABLE @extschema@.ssl_certificate TO netbox_ssl_operator;

COMMENT ON CONSTRAINT ssl_certificate_acme_consistent ON @extschema@.ssl_certificate IS 'is_acme is true exactly when acme_provider is set.';

COMMENT ON CONSTRAINT ssl_certificate_acme_provider_check ON @extschema@.ssl_certificate IS 'The known ACME providers; other is for any further CA an admin adds.';

COMMENT ON CONSTRAINT ssl_certificate_algorithm_check ON @extschema@.ssl_certificate IS 'The documented key types.';

COMMENT ON CONSTRAINT ssl_certificate_ari_window_check ON @extschema@.ssl_certificate IS 'An ARI window has both ends or none, and does not end before it starts.';

COMMENT ON CONSTRAINT ssl_certificate_chain_status_check ON @extschema@.ssl_certificate IS 'The documented chain statuses.';

COMMENT ON CONSTRAINT ssl_certificate_fingerprint_format ON @extschema@.ssl_certificate IS 'Fingerprints are uppercase colon hex, so equal certificates compare equal.';

COMMENT ON CONSTRAINT ssl_certificate_issuing_ca_source_check ON @extschema@.ssl_certificate IS 'issuing_ca_source is key_id, pattern or manual, and set exactly when issuing_ca_id is.';

COMMENT ON CONSTRAINT ssl_certificate_replaced_by_check ON @extschema@.ssl_certificate IS 'replaced_by is set exactly when the status is replaced, and never points at the row itself.';

COMMENT ON CONSTRAINT ssl_certificate_status_check ON @extschema@.ssl_certificate IS 'The documented lifecycle statuses.';

COMMENT ON CONSTRAINT ssl_certificate_tbs_sha256_format ON @extschema@.ssl_certificate IS 'Same format as fingerprint_sha256: 32 upper-case hex bytes joined by colons.';

ALTER TABLE ONLY @extschema@.ssl_certificate
    ADD CONSTRAINT ssl_certificate_fingerprint_key UNIQUE (fingerprint_sha256);

COMMENT ON CONSTRAINT ssl_certificate_fingerprint_key ON @extschema@.ssl_certificate IS 'A certificate is stored at most once.';

ALTER TABLE ONLY @extschema@.ssl_certificate
    ADD CONSTRAINT ssl_certificate_pkey PRIMARY KEY (id);

-- Partial indexes on is_ca: CA certificates are a small minority, and chain
-- validation looks only at them, so indexing leaves would cost every import
-- and help no look-up.
CREATE INDEX ssl_certificate_ca_idx ON @extschema@.ssl_certificate USING btree (id) WHERE (is_ca AND (status <> 'revoked'::text));

COMMENT ON INDEX @extschema@.ssl_certificate_ca_idx IS 'Stored CA certificates that are not revoked: the intermediate pool of ssl_validate_chain, read without scanning every leaf.';

CREATE INDEX ssl_certificate_ca_key_idx ON @extschema@.ssl_certificate USING btree (subject_key_id) WHERE is_ca;

COMMENT ON INDEX @extschema@.ssl_certificate_ca_key_idx IS 'Finds the stored CA certificate whose subject key id is a certificate''s authority key id.';

-- Issuer candidates are found by name (any letter case, hence lower()) and
-- by key id through these indexes, instead of handing every stored CA
-- certificate to OpenSSL for every validation. Hash: only equality is asked.
CREATE INDEX ssl_certificate_ca_subject_idx ON @extschema@.ssl_certificate USING hash (lower(subject)) WHERE is_ca;

COMMENT ON INDEX @extschema@.ssl_certificate_ca_subject_idx IS 'CA certificates by subject name (lower case): issuer candidates for chain validation. Hash, so no name is too long for it.';

CREATE INDEX ssl_certificate_chain_status_idx ON @extschema@.ssl_certificate USING btree (chain_status) WHERE (chain_status IS DISTINCT FROM 'valid'::text);

COMMENT ON INDEX @extschema@.ssl_certificate_chain_status_idx IS 'Finds certificates whose stored chain is not valid.';

CREATE INDEX ssl_certificate_common_name_idx ON @extschema@.ssl_certificate USING btree (lower(common_name), valid_to DESC);

COMMENT ON INDEX @extschema@.ssl_certificate_common_name_idx IS 'Case-insensitive Common Name lookups (WHERE lower(common_name) = lower($1)), newest first; used by ssl_renewal_candidate.';

CREATE INDEX ssl_certificate_issuing_ca_idx ON @extschema@.ssl_certificate USING btree (issuing_ca_id) WHERE (issuing_ca_id IS NOT NULL);

COMMENT ON INDEX @extschema@.ssl_certificate_issuing_ca_idx IS 'Certificates of one authority; keeps ON DELETE SET NULL of an authority cheap.';

CREATE INDEX ssl_certificate_pending_idx ON @extschema@.ssl_certificate USING btree (valid_from) WHERE (status = 'pending'::text);

COMMENT ON INDEX @extschema@.ssl_certificate_pending_idx IS 'Keeps ssl_refresh_status cheap: pending certificates by start of validity.';

-- Partial on purpose: a plain unique index makes replaced_by a key column, so
-- setting it would need FOR UPDATE on the row a renewal holds FOR NO KEY
-- UPDATE, and would wait for the KEY SHARE lock a concurrent assignment
-- insert's foreign key takes while that insert waits for the renewal: a
-- deadlock. Columns of partial indexes are not key columns.
CREATE UNIQUE INDEX ssl_certificate_replaced_by_key ON @extschema@.ssl_certificate USING btree (replaced_by) WHERE (replaced_by IS NOT NULL);

COMMENT ON INDEX @extschema@.ssl_certificate_replaced_by_key IS 'A certificate has at most one predecessor. Partial, so that replaced_by is not a key column and setting it needs no lock beyond FOR NO KEY UPDATE.';

CREATE INDEX ssl_certificate_sans_idx ON @extschema@.ssl_certificate USING gin (sans);

COMMENT ON INDEX @extschema@.ssl_certificate_sans_idx IS 'SAN containment lookups: WHERE sans @> ARRAY[''DNS:www.example.com''].';

CREATE INDEX ssl_certificate_spki_idx ON @extschema@.ssl_certificate USING btree (spki_sha256);

COMMENT ON INDEX @extschema@.ssl_certificate_spki_idx IS 'Finds every certificate for one key.';

CREATE INDEX ssl_certificate_status_valid_to_idx ON @extschema@.ssl_certificate USING btree (status, valid_to);

COMMENT ON INDEX @extschema@.ssl_certificate_status_valid_to_idx IS 'Expiry queries per status.';

CREATE INDEX ssl_certificate_tbs_idx ON @extschema@.ssl_certificate USING btree (tbs_sha256);

COMMENT ON INDEX @extschema@.ssl_certificate_tbs_idx IS 'ssl_find_known: finds the final certificate of a precertificate (and the other way round).';

CREATE INDEX ssl_certificate_valid_to_idx ON @extschema@.ssl_certificate USING btree (valid_to);

COMMENT ON INDEX @extschema@.ssl_certificate_valid_to_idx IS 'Expiry queries across statuses.';

-- pg_dump leaves the rows of extension tables out unless they are
-- registered; the identity sequence is registered too, so a restored
-- database continues numbering after the restored ids.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_certificate', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_certificate_id_seq', '');

-- ----------------------------------------------------------------------
-- Assignments, history and observations
-- ----------------------------------------------------------------------
CREATE TABLE @extschema@.ssl_assignment (
    id bigint NOT NULL,
    certificate_id bigint NOT NULL,
    object_type text NOT NULL,
    object_id bigint NOT NULL,
    is_primary boolean DEFAULT true NOT NULL,
    notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ssl_assignment_object_type_check CHECK ((object_type <> ''::text))
);

COMMENT ON TABLE @extschema@.ssl_assignment IS 'Where a certificate is deployed. Insert and delete rows with plain SQL; ssl_renew moves them to the successor.';
COMMENT ON COLUMN @extschema@.ssl_assignment.id IS 'Surrogate key; unchanged when a renewal moves the assignment.';
COMMENT ON COLUMN @extschema@.ssl_assignment.certificate_id IS 'The deployed certificate; never a replaced one.';
COMMENT ON COLUMN @extschema@.ssl_assignment.object_type IS 'The kind of object, in the application''s own terms, e.g. ipam.service, dcim.device, virtualization.virtualmachine.';
COMMENT ON COLUMN @extschema@.ssl_assignment.object_id IS 'The object''s id in the application.';
COMMENT ON COLUMN @extschema@.ssl_assignment.is_primary IS 'Whether this is the object''s primary certificate.';
COMMENT ON COLUMN @extschema@.ssl_assignment.notes IS 'Free text.';
COMMENT ON COLUMN @extschema@.ssl_assignment.created_at IS 'When the assignment was made.';

ALTER TABLE @extschema@.ssl_assignment ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_assignment_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_assignment_id_seq IS 'Identity of ssl_assignment.id.';

GRANT SELECT ON TABLE @extschema@.ssl_assignment TO netbox_ssl_reader;
GRANT INSERT,DELETE ON TABLE @extschema@.ssl_assignment TO netbox_ssl_operator;

GRANT UPDATE(certificate_id) ON TABLE @extschema@.ssl_assignment TO netbox_ssl_operator;

GRANT UPDATE(is_primary) ON TABLE @extschema@.ssl_assignment TO netbox_ssl_operator;

GRANT UPDATE(notes) ON TABLE @extschema@.ssl_assignment TO netbox_ssl_operator;

GRANT USAGE ON SEQUENCE @extschema@.ssl_assignment_id_seq TO netbox_ssl_operator;

ALTER TABLE ONLY @extschema@.ssl_assignment
    ADD CONSTRAINT ssl_assignment_pkey PRIMARY KEY (id);

ALTER TABLE ONLY @extschema@.ssl_assignment
    ADD CONSTRAINT ssl_assignment_unique UNIQUE (certificate_id, object_type, object_id);

COMMENT ON CONSTRAINT ssl_assignment_unique ON @extschema@.ssl_assignment IS 'One assignment per certificate and object.';

CREATE INDEX ssl_assignment_object_idx ON @extschema@.ssl_assignment USING btree (object_type, object_id);

COMMENT ON INDEX @extschema@.ssl_assignment_object_idx IS 'Which certificates are deployed on an object.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_assignment', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_assignment_id_seq', '');

CREATE TABLE @extschema@.ssl_lifecycle_event (
    id bigint NOT NULL,
    certificate_id bigint NOT NULL,
    event_type text NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    old_status text,
    new_status text,
    related_certificate_id bigint,
    description text,
    actor text DEFAULT @extschema@.ssl_caller() NOT NULL,
    object_type text,
    object_id bigint,
    on_behalf_of text DEFAULT NULLIF(current_setting('netbox_ssl.actor'::text, true), ''::text),
    CONSTRAINT ssl_lifecycle_event_event_type_check CHECK ((event_type ~ '^[a-z][a-z_]*$'::text))
);

COMMENT ON TABLE @extschema@.ssl_lifecycle_event IS 'The audit trail. Rows reference their certificate without ON DELETE CASCADE, so a certificate with history cannot be deleted by accident.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.id IS 'Surrogate key, increasing in commit-independent insertion order.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.certificate_id IS 'The certificate the event is about.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.event_type IS 'imported, renewed, activated, status_changed, expired, revoked, archived, renewal_reverted, assignment_added, assignment_removed (an assignment moved by UPDATE logs both: removed on the certificate it left, added on the one it joined); later versions may add more (lower-case words).';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.occurred_at IS 'Transaction time of the event.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.old_status IS 'Status before the event, if it changed one.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.new_status IS 'Status after the event.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.related_certificate_id IS 'The other certificate of a renewal (successor on renewed, predecessor on activated).';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.description IS 'A human-readable sentence.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.actor IS 'The role that made the change: ssl_caller(), the current role outside the extension''s SECURITY DEFINER functions (the login role, or the role chosen with SET ROLE, which needs membership). Not settable by the caller; before 1.5 the setting netbox_ssl.actor replaced it when set.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.object_type IS 'For assignment_added / assignment_removed: the object''s type.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.object_id IS 'For assignment_added / assignment_removed: the object''s id.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.on_behalf_of IS 'The setting netbox_ssl.actor at the time of the change (SET LOCAL netbox_ssl.actor = ''alice''): the application user the role acted for, as claimed by the application. NULL when not set, and for events written before 1.5.';

ALTER TABLE @extschema@.ssl_lifecycle_event ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_lifecycle_event_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_lifecycle_event_id_seq IS 'Identity of ssl_lifecycle_event.id.';

GRANT SELECT ON TABLE @extschema@.ssl_lifecycle_event TO netbox_ssl_reader;

ALTER TABLE ONLY @extschema@.ssl_lifecycle_event
    ADD CONSTRAINT ssl_lifecycle_event_pkey PRIMARY KEY (id);

CREATE INDEX ssl_lifecycle_event_certificate_idx ON @extschema@.ssl_lifecycle_event USING btree (certificate_id, occurred_at DESC);

COMMENT ON INDEX @extschema@.ssl_lifecycle_event_certificate_idx IS 'A certificate''s history, newest first.';

CREATE INDEX ssl_lifecycle_event_related_idx ON @extschema@.ssl_lifecycle_event USING btree (related_certificate_id) WHERE (related_certificate_id IS NOT NULL);

COMMENT ON INDEX @extschema@.ssl_lifecycle_event_related_idx IS 'Finds the renewal events that point at a certificate.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_lifecycle_event', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_lifecycle_event_id_seq', '');

CREATE TABLE @extschema@.ssl_observation (
    id bigint NOT NULL,
    object_type text NOT NULL,
    object_id bigint NOT NULL,
    fingerprint_sha256 text NOT NULL,
    certificate_id bigint,
    common_name text,
    valid_to timestamp with time zone NOT NULL,
    first_seen_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    times_seen integer DEFAULT 1 NOT NULL,
    recorded_by text DEFAULT @extschema@.ssl_caller() NOT NULL,
    CONSTRAINT ssl_observation_fingerprint_format CHECK ((fingerprint_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$'::text)),
    CONSTRAINT ssl_observation_object_type_check CHECK ((object_type <> ''::text)),
    CONSTRAINT ssl_observation_span CHECK ((first_seen_at <= last_seen_at)),
    CONSTRAINT ssl_observation_times_seen_check CHECK ((times_seen > 0))
);

COMMENT ON TABLE @extschema@.ssl_observation IS 'What scanners saw objects serve: one row per run of identical sightings of an object (a new row whenever the served certificate changes), so the latest row per object is its current state and older rows are its history.';
COMMENT ON COLUMN @extschema@.ssl_observation.id IS 'Surrogate key.';
COMMENT ON COLUMN @extschema@.ssl_observation.object_type IS 'Kind of object, as in ssl_assignment (e.g. dcim.device).';
COMMENT ON COLUMN @extschema@.ssl_observation.object_id IS 'Id of the object, as in ssl_assignment.';
COMMENT ON COLUMN @extschema@.ssl_observation.fingerprint_sha256 IS 'Fingerprint of the served (leaf) certificate.';
COMMENT ON COLUMN @extschema@.ssl_observation.certificate_id IS 'The inventory row with that fingerprint when it was recorded (NULL if unknown then); ssl_deployment_drift looks it up afresh.';
COMMENT ON COLUMN @extschema@.ssl_observation.common_name IS 'common_name of the served certificate, for certificates the inventory does not hold.';
COMMENT ON COLUMN @extschema@.ssl_observation.valid_to IS 'notAfter of the served certificate.';
COMMENT ON COLUMN @extschema@.ssl_observation.first_seen_at IS 'Earliest observed_at of this run of sightings.';
COMMENT ON COLUMN @extschema@.ssl_observation.last_seen_at IS 'Latest observed_at of this run of sightings.';
COMMENT ON COLUMN @extschema@.ssl_observation.times_seen IS 'Number of ssl_record_observation calls folded into this row.';
COMMENT ON COLUMN @extschema@.ssl_observation.recorded_by IS 'Role that recorded the latest sighting.';

ALTER TABLE @extschema@.ssl_observation ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_observation_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_observation_id_seq IS 'Identity of ssl_observation.id.';

GRANT SELECT ON TABLE @extschema@.ssl_observation TO netbox_ssl_reader;

COMMENT ON CONSTRAINT ssl_observation_fingerprint_format ON @extschema@.ssl_observation IS 'Same format as ssl_certificate.fingerprint_sha256.';

COMMENT ON CONSTRAINT ssl_observation_object_type_check ON @extschema@.ssl_observation IS 'An object type is named.';

COMMENT ON CONSTRAINT ssl_observation_span ON @extschema@.ssl_observation IS 'A run of sightings does not end before it starts.';

COMMENT ON CONSTRAINT ssl_observation_times_seen_check ON @extschema@.ssl_observation IS 'A row holds at least one sighting.';

ALTER TABLE ONLY @extschema@.ssl_observation
    ADD CONSTRAINT ssl_observation_pkey PRIMARY KEY (id);

COMMENT ON CONSTRAINT ssl_observation_pkey ON @extschema@.ssl_observation IS 'Surrogate key.';

CREATE INDEX ssl_observation_certificate_idx ON @extschema@.ssl_observation USING btree (certificate_id) WHERE (certificate_id IS NOT NULL);

COMMENT ON INDEX @extschema@.ssl_observation_certificate_idx IS 'Keeps ON DELETE SET NULL cheap when a certificate is purged.';

CREATE INDEX ssl_observation_fingerprint_idx ON @extschema@.ssl_observation USING btree (fingerprint_sha256);

COMMENT ON INDEX @extschema@.ssl_observation_fingerprint_idx IS 'Where a certificate was seen.';

CREATE INDEX ssl_observation_object_idx ON @extschema@.ssl_observation USING btree (object_type, object_id, last_seen_at DESC, id DESC);

COMMENT ON INDEX @extschema@.ssl_observation_object_idx IS 'Latest observation of an object.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_observation', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_observation_id_seq', '');

-- ----------------------------------------------------------------------
-- Expiry alerts and the outbox
-- ----------------------------------------------------------------------
-- Expiry alert bookkeeping: one row per certificate and threshold, so a scan
-- fires on crossing a threshold, once, rather than on an exact day count.
CREATE TABLE @extschema@.ssl_expiry_alert (
    certificate_id bigint NOT NULL,
    threshold integer NOT NULL,
    event_id bigint,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ssl_expiry_alert_threshold_check CHECK ((threshold >= 0))
);

COMMENT ON TABLE @extschema@.ssl_expiry_alert IS 'What ssl_expiry_scan has dealt with, per certificate and threshold: an alert it sent (event_id set) or a larger threshold covered by a smaller one''s alert (event_id NULL). Threshold 0 stands for expiry itself.';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.certificate_id IS 'The certificate (rows go with it when it is purged).';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.threshold IS 'Days before valid_to; 0 means the certificate expired.';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.event_id IS 'The expiring or expired lifecycle event that announced it; NULL when covered without an event of its own.';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.recorded_at IS 'Transaction time of the scan that recorded it.';

GRANT SELECT ON TABLE @extschema@.ssl_expiry_alert TO netbox_ssl_reader;

COMMENT ON CONSTRAINT ssl_expiry_alert_threshold_check ON @extschema@.ssl_expiry_alert IS 'Thresholds are whole days; 0 is expiry.';

ALTER TABLE ONLY @extschema@.ssl_expiry_alert
    ADD CONSTRAINT ssl_expiry_alert_pkey PRIMARY KEY (certificate_id, threshold);

COMMENT ON CONSTRAINT ssl_expiry_alert_pkey ON @extschema@.ssl_expiry_alert IS 'Each threshold is dealt with at most once per certificate.';

CREATE UNIQUE INDEX ssl_expiry_alert_event_idx ON @extschema@.ssl_expiry_alert USING btree (event_id) WHERE (event_id IS NOT NULL);

COMMENT ON INDEX @extschema@.ssl_expiry_alert_event_idx IS 'Finds the threshold of an expiring event (for the outbox payload).';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_expiry_alert', '');

-- One row per published lifecycle event. No foreign key to the event or the
-- certificate: the outbox is a message log, and ssl_purge_certificate must
-- still be able to delete a certificate's history.
CREATE TABLE @extschema@.ssl_outbox (
    id bigint NOT NULL,
    certificate_id bigint NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    xid xid8,
    published_snapshot pg_snapshot
);

COMMENT ON TABLE @extschema@.ssl_outbox IS 'Transactional outbox: every lifecycle event written with the current transaction time is copied here, in the same transaction, with its JSON payload. Consumers read it through ssl_outbox_claim and ssl_outbox_ack; ssl_outbox_prune removes old rows.';
COMMENT ON COLUMN @extschema@.ssl_outbox.id IS 'The id of the lifecycle event (ssl_lifecycle_event.id); also the id consumers acknowledge.';
COMMENT ON COLUMN @extschema@.ssl_outbox.certificate_id IS 'The certificate the event is about (no foreign key: outbox rows outlive a purge).';
COMMENT ON COLUMN @extschema@.ssl_outbox.event_type IS 'The event type (imported, renewed, activated, expired, expiring, ...).';
COMMENT ON COLUMN @extschema@.ssl_outbox.payload IS 'The message (text fields cut to 200 characters, see "truncated"), returned by ssl_outbox_claim. NOTIFY ssl_lifecycle carries only id, certificate_id and type.';
COMMENT ON COLUMN @extschema@.ssl_outbox.created_at IS 'Transaction time of the publishing transaction.';
COMMENT ON COLUMN @extschema@.ssl_outbox.xid IS 'The publishing transaction (pg_current_xact_id()); NULL for rows published before 1.5. Used to queue rows published concurrently with a subscription.';
COMMENT ON COLUMN @extschema@.ssl_outbox.published_snapshot IS 'Snapshot of the statement that queued the row for the consumers it could see; NULL for rows published before 1.5.';

GRANT SELECT ON TABLE @extschema@.ssl_outbox TO netbox_ssl_reader;

ALTER TABLE ONLY @extschema@.ssl_outbox
    ADD CONSTRAINT ssl_outbox_pkey PRIMARY KEY (id);

COMMENT ON CONSTRAINT ssl_outbox_pkey ON @extschema@.ssl_outbox IS 'An event is published once.';

CREATE INDEX ssl_outbox_created_at_idx ON @extschema@.ssl_outbox USING btree (created_at);

COMMENT ON INDEX @extschema@.ssl_outbox_created_at_idx IS 'Keeps ssl_outbox_prune an index range scan.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_outbox', '');

CREATE TABLE @extschema@.ssl_outbox_consumer (
    name text NOT NULL,
    subscribed_at timestamp with time zone DEFAULT now() NOT NULL,
    owner regrole,
    subscribed_xid xid8,
    since pg_snapshot,
    catch_up_horizon xid8,
    caught_up boolean DEFAULT true NOT NULL,
    CONSTRAINT ssl_outbox_consumer_name_check CHECK (((name <> ''::text) AND (length(name) <= 200)))
);

COMMENT ON TABLE @extschema@.ssl_outbox_consumer IS 'Named outbox consumers, each owned by the role that subscribed it. Each receives every event published after it subscribed, plus every row still in the outbox when it subscribed.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.name IS 'Consumer name, as passed to ssl_outbox_claim (1 to 200 characters).';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.subscribed_at IS 'When the consumer subscribed (explicitly or by its first claim).';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.owner IS 'The role that subscribed the consumer: it, its members and netbox_ssl_admin may claim, acknowledge and unsubscribe. NULL (consumers created before 1.5): administrators only, until ssl_outbox_set_owner hands it over.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.subscribed_xid IS 'The subscribing transaction; NULL before 1.5.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.since IS 'Snapshot of the subscription''s backfill: rows it could not see are queued by the publish trigger or by the catch-up.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.catch_up_horizon IS 'The xid of the first claim after the subscription committed: every transaction that could have published without seeing the consumer has a smaller xid. Later claims catch up once all of those have ended.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.caught_up IS 'false until rows published concurrently with the subscription have been queued (by a claim, once the transactions below catch_up_horizon have ended).';

GRANT SELECT ON TABLE @extschema@.ssl_outbox_consumer TO netbox_ssl_reader;

COMMENT ON CONSTRAINT ssl_outbox_consumer_name_check ON @extschema@.ssl_outbox_consumer IS 'Consumer names are non-empty and at most 200 characters.';

ALTER TABLE ONLY @extschema@.ssl_outbox_consumer
    ADD CONSTRAINT ssl_outbox_consumer_pkey PRIMARY KEY (name);

COMMENT ON CONSTRAINT ssl_outbox_consumer_pkey ON @extschema@.ssl_outbox_consumer IS 'Consumer names are unique.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_outbox_consumer', '');

-- The per-consumer queue. Claims lock these rows, never the shared outbox
-- row, so workers of one consumer skip each other's rows (SKIP LOCKED) while
-- other consumers still see them. Acknowledging deletes the row.
CREATE TABLE @extschema@.ssl_outbox_delivery (
    consumer text NOT NULL,
    outbox_id bigint NOT NULL
);

COMMENT ON TABLE @extschema@.ssl_outbox_delivery IS 'One row per consumer and outbox row not yet acknowledged by that consumer. ssl_outbox_claim locks these rows (FOR UPDATE SKIP LOCKED); ssl_outbox_ack deletes them.';
COMMENT ON COLUMN @extschema@.ssl_outbox_delivery.consumer IS 'The consumer that still has to acknowledge the row.';
COMMENT ON COLUMN @extschema@.ssl_outbox_delivery.outbox_id IS 'The outbox row (event id).';

GRANT SELECT ON TABLE @extschema@.ssl_outbox_delivery TO netbox_ssl_reader;

ALTER TABLE ONLY @extschema@.ssl_outbox_delivery
    ADD CONSTRAINT ssl_outbox_delivery_pkey PRIMARY KEY (consumer, outbox_id);

COMMENT ON CONSTRAINT ssl_outbox_delivery_pkey ON @extschema@.ssl_outbox_delivery IS 'A consumer''s queue in id order: what ssl_outbox_claim scans.';

CREATE INDEX ssl_outbox_delivery_outbox_idx ON @extschema@.ssl_outbox_delivery USING btree (outbox_id);

COMMENT ON INDEX @extschema@.ssl_outbox_delivery_outbox_idx IS 'Pending deliveries of one outbox row, for ssl_outbox_prune.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_outbox_delivery', '');

-- ----------------------------------------------------------------------
-- Chain validation and signing requests
-- ----------------------------------------------------------------------
CREATE TABLE @extschema@.ssl_trust_anchor (
    id bigint NOT NULL,
    fingerprint_sha256 text NOT NULL,
    subject text NOT NULL,
    common_name text,
    is_ca boolean NOT NULL,
    valid_from timestamp with time zone NOT NULL,
    valid_to timestamp with time zone NOT NULL,
    der bytea NOT NULL,
    pem_content text NOT NULL,
    source text,
    added_at timestamp with time zone DEFAULT now() NOT NULL,
    added_by text DEFAULT @extschema@.ssl_caller() NOT NULL,
    CONSTRAINT ssl_trust_anchor_fingerprint_format CHECK ((fingerprint_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$'::text))
);

COMMENT ON TABLE @extschema@.ssl_trust_anchor IS 'Trusted roots for ssl_validate_chain. Filled by ssl_trust_anchor_load; an admin removes an anchor with DELETE.';
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

ALTER TABLE @extschema@.ssl_trust_anchor ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_trust_anchor_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_trust_anchor_id_seq IS 'Identity of ssl_trust_anchor.';

GRANT SELECT ON TABLE @extschema@.ssl_trust_anchor TO netbox_ssl_reader;
GRANT DELETE ON TABLE @extschema@.ssl_trust_anchor TO netbox_ssl_admin;

COMMENT ON CONSTRAINT ssl_trust_anchor_fingerprint_format ON @extschema@.ssl_trust_anchor IS 'Fingerprints are uppercase colon hex.';

ALTER TABLE ONLY @extschema@.ssl_trust_anchor
    ADD CONSTRAINT ssl_trust_anchor_fingerprint_key UNIQUE (fingerprint_sha256);

COMMENT ON CONSTRAINT ssl_trust_anchor_fingerprint_key ON @extschema@.ssl_trust_anchor IS 'An anchor is stored at most once.';

ALTER TABLE ONLY @extschema@.ssl_trust_anchor
    ADD CONSTRAINT ssl_trust_anchor_pkey PRIMARY KEY (id);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_trust_anchor', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_trust_anchor_id_seq', '');

CREATE TABLE @extschema@.ssl_csr (
    id bigint NOT NULL,
    fingerprint_sha256 text NOT NULL,
    subject text NOT NULL,
    common_name text,
    sans text[] DEFAULT '{}'::text[] NOT NULL,
    algorithm text NOT NULL,
    key_size integer,
    spki_sha256 text NOT NULL,
    signature_algorithm text NOT NULL,
    signature_valid boolean NOT NULL,
    pem text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    resulting_certificate_id bigint,
    tenant text,
    requested_by text DEFAULT COALESCE(NULLIF(current_setting('netbox_ssl.actor'::text, true), ''::text), @extschema@.ssl_caller()) NOT NULL,
    notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ssl_csr_algorithm_check CHECK ((algorithm = ANY (ARRAY['rsa'::text, 'ecdsa'::text, 'ed25519'::text, 'ed448'::text, 'dsa'::text, 'unknown'::text]))),
    CONSTRAINT ssl_csr_fingerprint_format CHECK ((fingerprint_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$'::text)),
    CONSTRAINT ssl_csr_issued_check CHECK (((status = 'issued'::text) = (resulting_certificate_id IS NOT NULL))),
    CONSTRAINT ssl_csr_key_size_check CHECK ((key_size > 0)),
    CONSTRAINT ssl_csr_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'approved'::text, 'rejected'::text, 'issued'::text, 'expired'::text])))
);

COMMENT ON TABLE @extschema@.ssl_csr IS 'Certificate signing requests, one row per request (by SHA-256 of its DER). A certificate imported for the key of a pending or approved request marks it issued and links it.';
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

ALTER TABLE @extschema@.ssl_csr ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_csr_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_csr_id_seq IS 'Identity of ssl_csr.id.';

GRANT SELECT ON TABLE @extschema@.ssl_csr TO netbox_ssl_reader;

GRANT UPDATE(status) ON TABLE @extschema@.ssl_csr TO netbox_ssl_operator;

GRANT UPDATE(resulting_certificate_id) ON TABLE @extschema@.ssl_csr TO netbox_ssl_operator;

GRANT UPDATE(tenant) ON TABLE @extschema@.ssl_csr TO netbox_ssl_operator;

GRANT UPDATE(notes) ON TABLE @extschema@.ssl_csr TO netbox_ssl_operator;

COMMENT ON CONSTRAINT ssl_csr_algorithm_check ON @extschema@.ssl_csr IS 'The documented key types.';

COMMENT ON CONSTRAINT ssl_csr_fingerprint_format ON @extschema@.ssl_csr IS 'Fingerprints are uppercase colon hex.';

COMMENT ON CONSTRAINT ssl_csr_issued_check ON @extschema@.ssl_csr IS 'resulting_certificate_id is set exactly when the request is issued.';

COMMENT ON CONSTRAINT ssl_csr_key_size_check ON @extschema@.ssl_csr IS 'Key sizes are positive when known.';

COMMENT ON CONSTRAINT ssl_csr_status_check ON @extschema@.ssl_csr IS 'The documented request statuses.';

ALTER TABLE ONLY @extschema@.ssl_csr
    ADD CONSTRAINT ssl_csr_fingerprint_key UNIQUE (fingerprint_sha256);

COMMENT ON CONSTRAINT ssl_csr_fingerprint_key ON @extschema@.ssl_csr IS 'A request is stored at most once.';

ALTER TABLE ONLY @extschema@.ssl_csr
    ADD CONSTRAINT ssl_csr_pkey PRIMARY KEY (id);

CREATE INDEX ssl_csr_open_spki_idx ON @extschema@.ssl_csr USING btree (spki_sha256) WHERE (status = ANY (ARRAY['pending'::text, 'approved'::text]));

COMMENT ON INDEX @extschema@.ssl_csr_open_spki_idx IS 'Finds the open requests for a key when a certificate is imported.';

CREATE INDEX ssl_csr_resulting_certificate_idx ON @extschema@.ssl_csr USING btree (resulting_certificate_id) WHERE (resulting_certificate_id IS NOT NULL);

COMMENT ON INDEX @extschema@.ssl_csr_resulting_certificate_idx IS 'Finds the request a certificate was issued for.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_csr', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_csr_id_seq', '');

-- ----------------------------------------------------------------------
-- Authorities, ACME rules and compliance
-- ----------------------------------------------------------------------
-- Built-in authorities have fixed ids below 1000, so a later version can add
-- more without colliding with user rows; user rows start at 1000.
CREATE TABLE @extschema@.ssl_certificate_authority (
    id bigint NOT NULL,
    name text NOT NULL,
    type text DEFAULT 'internal'::text NOT NULL,
    issuer_pattern text,
    renewal_instructions text,
    is_approved boolean DEFAULT false NOT NULL,
    website_url text,
    portal_url text,
    acme_directory_url text,
    contact_name text,
    contact_email text,
    contact_phone text,
    comments text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ssl_certificate_authority_name_check CHECK ((btrim(name) <> ''::text)),
    CONSTRAINT ssl_certificate_authority_type_check CHECK ((type = ANY (ARRAY['public'::text, 'internal'::text, 'acme'::text])))
);

COMMENT ON TABLE @extschema@.ssl_certificate_authority IS 'Certificate authorities (public, internal or ACME) that issue the inventory''s certificates. Rows with id below 1000 are built in (seeded by the extension); administrators add their own with INSERT.';
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

ALTER TABLE @extschema@.ssl_certificate_authority ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_certificate_authority_id_seq
    START WITH 1000
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_certificate_authority_id_seq IS 'Identity of ssl_certificate_authority.id (user rows start at 1000).';

GRANT SELECT ON TABLE @extschema@.ssl_certificate_authority TO netbox_ssl_reader;
GRANT INSERT,DELETE,UPDATE ON TABLE @extschema@.ssl_certificate_authority TO netbox_ssl_admin;

GRANT USAGE ON SEQUENCE @extschema@.ssl_certificate_authority_id_seq TO netbox_ssl_admin;

COMMENT ON CONSTRAINT ssl_certificate_authority_name_check ON @extschema@.ssl_certificate_authority IS 'A name is not blank.';

COMMENT ON CONSTRAINT ssl_certificate_authority_type_check ON @extschema@.ssl_certificate_authority IS 'The documented authority types.';

ALTER TABLE ONLY @extschema@.ssl_certificate_authority
    ADD CONSTRAINT ssl_certificate_authority_name_key UNIQUE (name);

COMMENT ON CONSTRAINT ssl_certificate_authority_name_key ON @extschema@.ssl_certificate_authority IS 'Authority names are unique.';

ALTER TABLE ONLY @extschema@.ssl_certificate_authority
    ADD CONSTRAINT ssl_certificate_authority_pkey PRIMARY KEY (id);

-- Built-in rows are recreated by CREATE EXTENSION; dumping them as well would
-- make the restore fail on duplicate keys, so only user rows are dumped.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_certificate_authority', 'WHERE id >= 1000');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_certificate_authority_id_seq', '');

CREATE TABLE @extschema@.ssl_acme_issuer (
    id bigint NOT NULL,
    issuer_org text,
    issuer_cn text,
    provider text,
    builtin boolean DEFAULT false NOT NULL,
    note text,
    CONSTRAINT ssl_acme_issuer_pattern_check CHECK (((issuer_org IS NOT NULL) OR (issuer_cn IS NOT NULL))),
    CONSTRAINT ssl_acme_issuer_provider_check CHECK ((provider = ANY (ARRAY['letsencrypt'::text, 'letsencrypt_staging'::text, 'zerossl'::text, 'buypass'::text, 'google'::text, 'sectigo'::text, 'digicert'::text, 'other'::text])))
);

COMMENT ON TABLE @extschema@.ssl_acme_issuer IS 'Rules that mark certificates as ACME-issued, by the issuer''s organization and common name (LIKE patterns on issuer_org and issuer_cn, never the whole DN). Admins edit it; ssl_detect_acme() re-applies it.';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.id IS 'Surrogate key; among equally specific rules the lowest id wins.';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.issuer_org IS 'LIKE pattern (case-sensitive) the issuer''s first O must match; NULL matches any (including none).';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.issuer_cn IS 'LIKE pattern (case-sensitive) the issuer''s first CN must match; NULL matches any (including none).';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.provider IS 'The ACME provider to record; NULL makes the rule an exception: matching certificates are not ACME.';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.builtin IS 'Seeded by the extension. Admin rows (false) win over built-in ones and are the only rows pg_dump saves.';
COMMENT ON COLUMN @extschema@.ssl_acme_issuer.note IS 'Free text: where the rule comes from.';

ALTER TABLE @extschema@.ssl_acme_issuer ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_acme_issuer_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_acme_issuer_id_seq IS 'Identity of ssl_acme_issuer.id.';

GRANT SELECT ON TABLE @extschema@.ssl_acme_issuer TO netbox_ssl_reader;
GRANT INSERT,DELETE,UPDATE ON TABLE @extschema@.ssl_acme_issuer TO netbox_ssl_admin;

GRANT USAGE ON SEQUENCE @extschema@.ssl_acme_issuer_id_seq TO netbox_ssl_admin;

COMMENT ON CONSTRAINT ssl_acme_issuer_pattern_check ON @extschema@.ssl_acme_issuer IS 'A rule names at least the organization or the common name.';

COMMENT ON CONSTRAINT ssl_acme_issuer_provider_check ON @extschema@.ssl_acme_issuer IS 'The providers ssl_certificate.acme_provider accepts.';

ALTER TABLE ONLY @extschema@.ssl_acme_issuer
    ADD CONSTRAINT ssl_acme_issuer_pkey PRIMARY KEY (id);

COMMENT ON CONSTRAINT ssl_acme_issuer_pkey ON @extschema@.ssl_acme_issuer IS 'Surrogate key.';

ALTER TABLE ONLY @extschema@.ssl_acme_issuer
    ADD CONSTRAINT ssl_acme_issuer_unique UNIQUE NULLS NOT DISTINCT (issuer_org, issuer_cn, builtin);

COMMENT ON CONSTRAINT ssl_acme_issuer_unique ON @extschema@.ssl_acme_issuer IS 'One rule per pattern pair among built-in rules and one among admin rules.';

-- Same split as the authorities: built-in rules come from the install
-- script, only rules an administrator added are dumped.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_acme_issuer', 'WHERE NOT builtin');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_acme_issuer_id_seq', '');

CREATE TABLE @extschema@.ssl_compliance_policy (
    id bigint NOT NULL,
    name text NOT NULL,
    policy_type text NOT NULL,
    severity text DEFAULT 'warning'::text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    parameters jsonb DEFAULT '{}'::jsonb NOT NULL,
    tenant text,
    description text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ssl_compliance_policy_name_check CHECK ((btrim(name) <> ''::text)),
    CONSTRAINT ssl_compliance_policy_severity_check CHECK ((severity = ANY (ARRAY['critical'::text, 'warning'::text, 'info'::text]))),
    CONSTRAINT ssl_compliance_policy_type_check CHECK ((policy_type = ANY (ARRAY['min_key_size'::text, 'max_validity_days'::text, 'algorithm_allowed'::text, 'algorithm_forbidden'::text, 'signature_algorithm_forbidden'::text, 'expiry_warning'::text, 'san_required'::text, 'issuer_allowed'::text, 'issuer_forbidden'::text, 'wildcard_forbidden'::text, 'chain_required'::text, 'key_reuse_forbidden'::text])))
);

COMMENT ON TABLE @extschema@.ssl_compliance_policy IS 'Compliance rules checked by ssl_check_compliance. Administrators add them with a plain INSERT; parameters are validated (22023) and normalised by a trigger.';
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

ALTER TABLE @extschema@.ssl_compliance_policy ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_compliance_policy_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_compliance_policy_id_seq IS 'Identity of ssl_compliance_policy.id.';

GRANT SELECT ON TABLE @extschema@.ssl_compliance_policy TO netbox_ssl_reader;
GRANT INSERT,DELETE,UPDATE ON TABLE @extschema@.ssl_compliance_policy TO netbox_ssl_admin;

GRANT USAGE ON SEQUENCE @extschema@.ssl_compliance_policy_id_seq TO netbox_ssl_admin;

COMMENT ON CONSTRAINT ssl_compliance_policy_name_check ON @extschema@.ssl_compliance_policy IS 'A name is not blank.';

COMMENT ON CONSTRAINT ssl_compliance_policy_severity_check ON @extschema@.ssl_compliance_policy IS 'The documented severities.';

COMMENT ON CONSTRAINT ssl_compliance_policy_type_check ON @extschema@.ssl_compliance_policy IS 'The documented policy types.';

ALTER TABLE ONLY @extschema@.ssl_compliance_policy
    ADD CONSTRAINT ssl_compliance_policy_name_key UNIQUE (name);

COMMENT ON CONSTRAINT ssl_compliance_policy_name_key ON @extschema@.ssl_compliance_policy IS 'Policy names are unique.';

ALTER TABLE ONLY @extschema@.ssl_compliance_policy
    ADD CONSTRAINT ssl_compliance_policy_pkey PRIMARY KEY (id);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_compliance_policy', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_compliance_policy_id_seq', '');

-- No foreign keys: their per-row checks (two look-ups and a row lock per
-- certificate) were half the time of a full check. Results are written only
-- by ssl_check_compliance from rows it has just read; statement triggers
-- remove the results of deleted certificates and policies.
CREATE TABLE @extschema@.ssl_compliance_result (
    certificate_id bigint NOT NULL,
    policy_id bigint NOT NULL,
    result text NOT NULL,
    severity text NOT NULL,
    message text NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ssl_compliance_result_result_check CHECK ((result = ANY (ARRAY['pass'::text, 'fail'::text]))),
    CONSTRAINT ssl_compliance_result_severity_check CHECK ((severity = ANY (ARRAY['critical'::text, 'warning'::text, 'info'::text])))
);

COMMENT ON TABLE @extschema@.ssl_compliance_result IS 'The latest result of every policy for every checked certificate, written by ssl_check_compliance.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.certificate_id IS 'The checked certificate.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.policy_id IS 'The policy.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.result IS 'pass or fail.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.severity IS 'The policy''s severity when it was checked.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.message IS 'One sentence with the values compared.';
COMMENT ON COLUMN @extschema@.ssl_compliance_result.changed_at IS 'Since when this result holds: the transaction time of the check that first gave this result, severity and message (unchanged results are not rewritten).';

GRANT SELECT ON TABLE @extschema@.ssl_compliance_result TO netbox_ssl_reader;

COMMENT ON CONSTRAINT ssl_compliance_result_result_check ON @extschema@.ssl_compliance_result IS 'pass or fail.';

COMMENT ON CONSTRAINT ssl_compliance_result_severity_check ON @extschema@.ssl_compliance_result IS 'The documented severities.';

ALTER TABLE ONLY @extschema@.ssl_compliance_result
    ADD CONSTRAINT ssl_compliance_result_pkey PRIMARY KEY (certificate_id, policy_id);

COMMENT ON CONSTRAINT ssl_compliance_result_pkey ON @extschema@.ssl_compliance_result IS 'One result per certificate and policy.';

CREATE INDEX ssl_compliance_result_policy_idx ON @extschema@.ssl_compliance_result USING btree (policy_id);

COMMENT ON INDEX @extschema@.ssl_compliance_result_policy_idx IS 'Results of one policy; keeps deleting a policy cheap.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_compliance_result', '');

-- ----------------------------------------------------------------------
-- NetBox bridge state
-- ----------------------------------------------------------------------
-- A singleton (primary key on a column that can only be true): one bridge
-- per database, and the early exit of every bridge trigger reads one row.
CREATE TABLE @extschema@.ssl_netbox_bridge (
    singleton boolean DEFAULT true NOT NULL,
    plugin_schema name NOT NULL,
    attached boolean NOT NULL,
    attached_at timestamp with time zone,
    detached_at timestamp with time zone,
    CONSTRAINT ssl_netbox_bridge_singleton_check CHECK (singleton)
);

COMMENT ON TABLE @extschema@.ssl_netbox_bridge IS 'The NetBox bridge''s state: at most one row, naming the schema of NetBox''s tables and whether the bridge is attached (written by ssl_netbox_attach and ssl_netbox_detach).';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.singleton IS 'Always true: the table holds one row.';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.plugin_schema IS 'The schema of the NetBox SSL plugin''s tables and NetBox''s core tables.';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.attached IS 'Whether changes are mirrored (triggers installed on NetBox''s tables).';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.attached_at IS 'When ssl_netbox_attach last ran.';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.detached_at IS 'When ssl_netbox_detach last ran.';

GRANT SELECT ON TABLE @extschema@.ssl_netbox_bridge TO netbox_ssl_reader;

ALTER TABLE ONLY @extschema@.ssl_netbox_bridge
    ADD CONSTRAINT ssl_netbox_bridge_pkey PRIMARY KEY (singleton);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_netbox_bridge', '');

CREATE TABLE @extschema@.ssl_netbox_link (
    netbox_certificate_id bigint NOT NULL,
    certificate_id bigint NOT NULL,
    linked_at timestamp with time zone DEFAULT now() NOT NULL
);

COMMENT ON TABLE @extschema@.ssl_netbox_link IS 'Which NetBox SSL plugin certificate (netbox_ssl_certificate.id) is which certificate of this inventory. Written only by the bridge.';
COMMENT ON COLUMN @extschema@.ssl_netbox_link.netbox_certificate_id IS 'The plugin''s netbox_ssl_certificate.id.';
COMMENT ON COLUMN @extschema@.ssl_netbox_link.certificate_id IS 'ssl_certificate.id of the same certificate (same SHA-256 fingerprint).';
COMMENT ON COLUMN @extschema@.ssl_netbox_link.linked_at IS 'When the two rows were linked.';

GRANT SELECT ON TABLE @extschema@.ssl_netbox_link TO netbox_ssl_reader;

ALTER TABLE ONLY @extschema@.ssl_netbox_link
    ADD CONSTRAINT ssl_netbox_link_certificate_key UNIQUE (certificate_id);

COMMENT ON CONSTRAINT ssl_netbox_link_certificate_key ON @extschema@.ssl_netbox_link IS 'A certificate has at most one NetBox twin.';

ALTER TABLE ONLY @extschema@.ssl_netbox_link
    ADD CONSTRAINT ssl_netbox_link_pkey PRIMARY KEY (netbox_certificate_id);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_netbox_link', '');

CREATE TABLE @extschema@.ssl_netbox_unlinked (
    certificate_id bigint NOT NULL,
    netbox_certificate_id bigint NOT NULL,
    unlinked_at timestamp with time zone DEFAULT now() NOT NULL,
    reason text NOT NULL
);

COMMENT ON TABLE @extschema@.ssl_netbox_unlinked IS 'Certificates of this inventory whose NetBox twin was deleted in NetBox: kept here with their history, and not reported by ssl_netbox_check as missing in NetBox.';
COMMENT ON COLUMN @extschema@.ssl_netbox_unlinked.certificate_id IS 'The certificate that lost its NetBox twin.';
COMMENT ON COLUMN @extschema@.ssl_netbox_unlinked.netbox_certificate_id IS 'The id the twin had in NetBox.';
COMMENT ON COLUMN @extschema@.ssl_netbox_unlinked.unlinked_at IS 'When it was unlinked.';
COMMENT ON COLUMN @extschema@.ssl_netbox_unlinked.reason IS 'Why, e.g. deleted in NetBox.';

GRANT SELECT ON TABLE @extschema@.ssl_netbox_unlinked TO netbox_ssl_reader;

ALTER TABLE ONLY @extschema@.ssl_netbox_unlinked
    ADD CONSTRAINT ssl_netbox_unlinked_pkey PRIMARY KEY (certificate_id);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_netbox_unlinked', '');

-- The NetBox row being imported, for the duration of the import inside its
-- own trigger: lets our insert trigger link that row instead of creating one.
-- Rows never outlive the statement, so the table is unlogged and is not
-- registered for pg_dump: it has nothing to save or to replicate.
CREATE UNLOGGED TABLE @extschema@.ssl_netbox_importing (
    fingerprint_sha256 text NOT NULL,
    netbox_certificate_id bigint NOT NULL
);

COMMENT ON TABLE @extschema@.ssl_netbox_importing IS 'Internal (NetBox bridge): the NetBox row whose PEM is being imported right now (empty outside that moment).';
COMMENT ON COLUMN @extschema@.ssl_netbox_importing.fingerprint_sha256 IS 'Fingerprint of the certificate being imported.';
COMMENT ON COLUMN @extschema@.ssl_netbox_importing.netbox_certificate_id IS 'The NetBox row it comes from.';

ALTER TABLE ONLY @extschema@.ssl_netbox_importing
    ADD CONSTRAINT ssl_netbox_importing_pkey PRIMARY KEY (fingerprint_sha256);

-- Foreign keys, once every table exists.

ALTER TABLE ONLY @extschema@.ssl_certificate
    ADD CONSTRAINT ssl_certificate_issuing_ca_id_fkey FOREIGN KEY (issuing_ca_id) REFERENCES @extschema@.ssl_certificate_authority(id) ON DELETE SET NULL;

COMMENT ON CONSTRAINT ssl_certificate_issuing_ca_id_fkey ON @extschema@.ssl_certificate IS 'Deleting an authority unlinks its certificates.';

ALTER TABLE ONLY @extschema@.ssl_certificate
    ADD CONSTRAINT ssl_certificate_replaced_by_fkey FOREIGN KEY (replaced_by) REFERENCES @extschema@.ssl_certificate(id);

ALTER TABLE ONLY @extschema@.ssl_assignment
    ADD CONSTRAINT ssl_assignment_certificate_id_fkey FOREIGN KEY (certificate_id) REFERENCES @extschema@.ssl_certificate(id);

ALTER TABLE ONLY @extschema@.ssl_lifecycle_event
    ADD CONSTRAINT ssl_lifecycle_event_certificate_id_fkey FOREIGN KEY (certificate_id) REFERENCES @extschema@.ssl_certificate(id);

ALTER TABLE ONLY @extschema@.ssl_lifecycle_event
    ADD CONSTRAINT ssl_lifecycle_event_related_certificate_id_fkey FOREIGN KEY (related_certificate_id) REFERENCES @extschema@.ssl_certificate(id);

ALTER TABLE ONLY @extschema@.ssl_observation
    ADD CONSTRAINT ssl_observation_certificate_id_fkey FOREIGN KEY (certificate_id) REFERENCES @extschema@.ssl_certificate(id) ON DELETE SET NULL;

COMMENT ON CONSTRAINT ssl_observation_certificate_id_fkey ON @extschema@.ssl_observation IS 'Purging a certificate keeps the sightings, without the link.';

ALTER TABLE ONLY @extschema@.ssl_expiry_alert
    ADD CONSTRAINT ssl_expiry_alert_certificate_id_fkey FOREIGN KEY (certificate_id) REFERENCES @extschema@.ssl_certificate(id) ON DELETE CASCADE;

COMMENT ON CONSTRAINT ssl_expiry_alert_certificate_id_fkey ON @extschema@.ssl_expiry_alert IS 'Alert rows go with their certificate when it is purged.';

ALTER TABLE ONLY @extschema@.ssl_outbox_delivery
    ADD CONSTRAINT ssl_outbox_delivery_consumer_fkey FOREIGN KEY (consumer) REFERENCES @extschema@.ssl_outbox_consumer(name) ON DELETE CASCADE;

COMMENT ON CONSTRAINT ssl_outbox_delivery_consumer_fkey ON @extschema@.ssl_outbox_delivery IS 'Unsubscribing a consumer drops its queue.';

ALTER TABLE ONLY @extschema@.ssl_outbox_delivery
    ADD CONSTRAINT ssl_outbox_delivery_outbox_id_fkey FOREIGN KEY (outbox_id) REFERENCES @extschema@.ssl_outbox(id) ON DELETE CASCADE;

COMMENT ON CONSTRAINT ssl_outbox_delivery_outbox_id_fkey ON @extschema@.ssl_outbox_delivery IS 'Queue rows point at existing outbox rows (pruning removes only rows without any).';

ALTER TABLE ONLY @extschema@.ssl_csr
    ADD CONSTRAINT ssl_csr_resulting_certificate_id_fkey FOREIGN KEY (resulting_certificate_id) REFERENCES @extschema@.ssl_certificate(id);

COMMENT ON CONSTRAINT ssl_csr_resulting_certificate_id_fkey ON @extschema@.ssl_csr IS 'The issued certificate exists.';

ALTER TABLE ONLY @extschema@.ssl_netbox_link
    ADD CONSTRAINT ssl_netbox_link_certificate_id_fkey FOREIGN KEY (certificate_id) REFERENCES @extschema@.ssl_certificate(id);

ALTER TABLE ONLY @extschema@.ssl_netbox_unlinked
    ADD CONSTRAINT ssl_netbox_unlinked_certificate_id_fkey FOREIGN KEY (certificate_id) REFERENCES @extschema@.ssl_certificate(id);
