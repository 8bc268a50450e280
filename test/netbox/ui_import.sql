-- Replay: the plugin's UI "Smart Paste" import (reference §5.1), autocommit.
-- Input: :pem (the pasted PEM: leaf first, then its chain). Output: :nb_id.
-- The parser's derived values are computed here the way the plugin's
-- Python parser does; Django then sends them as literals.
SELECT id AS dup FROM netbox_ssl_certificate
 WHERE (serial_number, issuer) = (SELECT f.serial_number, f.issuer FROM nb_parse(:'pem') f)
 ORDER BY valid_to DESC, common_name LIMIT 1;
INSERT INTO netbox_ssl_certificate (created, last_updated, custom_field_data, comments, common_name,
    serial_number, fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, key_size,
    algorithm, status, private_key_location, pem_content, replaced_by_id, tenant_id, issuing_ca_id,
    chain_status, chain_validation_message, chain_validated_at, chain_depth, is_acme, acme_provider,
    acme_account_email, acme_challenge_type, acme_server_url, acme_auto_renewal, acme_last_renewed,
    acme_renewal_days, archive_pinned, archived_at, renewal_note, external_source_id, external_id,
    source_removed, ari_cert_id, ari_suggested_start, ari_suggested_end, ari_explanation_url,
    ari_last_checked, ari_retry_after, discovered_via_url, last_seen_at)
SELECT now(), now(), '{}', NULL, f.common_name, f.serial_number, f.fingerprint_sha256, f.issuer, f.issuer_chain,
       f.valid_from, f.valid_to, f.sans::varchar(255)[], f.key_size, f.algorithm, 'active', '', f.pem_content,
       NULL, NULL, NULL, 'unknown', '', NULL, NULL, false, '', '', '', '', false, NULL, 30, false, NULL, '',
       NULL, '', false, '', NULL, NULL, '', NULL, NULL, '', NULL
  FROM nb_parse(:'pem') f
RETURNING id AS nb_id \gset
INSERT INTO netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
    new_status, actor, certificate_id, related_certificate_id)
VALUES ('imported', now(), 'Certificate imported with status active', '', 'active', '', :nb_id, NULL);
