-- Replay: the plugin's "Renew & Transfer Assignments" (reference §3, §5.3),
-- inside transaction.atomic(). Input: :old (plugin id), :pem. Output: :nb_new.
-- Runs inside the caller's BEGIN ... COMMIT (or ROLLBACK).
SELECT status AS old_status FROM netbox_ssl_certificate WHERE id = :old \gset
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
       NULL, (SELECT tenant_id FROM netbox_ssl_certificate WHERE id = :old), NULL, 'unknown', '', NULL, NULL,
       false, '', '', '', '', false, NULL, 30, false, NULL, '', NULL, '', false, '', NULL, NULL, '', NULL,
       NULL, '', NULL
  FROM nb_parse(:'pem') f
RETURNING id AS nb_new \gset
INSERT INTO netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
    new_status, actor, certificate_id, related_certificate_id)
VALUES ('imported', now(), 'Certificate imported with status active', '', 'active', '', :nb_new, NULL);
-- per old assignment, ordered by content type: copy it (the old row stays)
INSERT INTO netbox_ssl_certificateassignment (created, last_updated, custom_field_data,
    assigned_object_id, is_primary, notes, assigned_object_type_id, certificate_id)
SELECT now(), now(), '{}', a.assigned_object_id, a.is_primary, a.notes, a.assigned_object_type_id, :nb_new
  FROM netbox_ssl_certificateassignment a WHERE a.certificate_id = :old
 ORDER BY a.assigned_object_type_id, a.id;
UPDATE netbox_ssl_certificate SET last_updated = now() WHERE id = :nb_new;
INSERT INTO netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
    new_status, actor, certificate_id, related_certificate_id)
SELECT 'assignment_added', now(), 'Assigned to ' || ct.model || ': ' || a.assigned_object_id, '', '', '', :nb_new, NULL
  FROM netbox_ssl_certificateassignment a JOIN django_content_type ct ON ct.id = a.assigned_object_type_id
 WHERE a.certificate_id = :nb_new ORDER BY a.assigned_object_type_id, a.id;
-- the old certificate: a full-row save with status and replaced_by changed
UPDATE netbox_ssl_certificate SET status = 'replaced', replaced_by_id = :nb_new, last_updated = now(),
       common_name = common_name, serial_number = serial_number, pem_content = pem_content
 WHERE id = :old;
INSERT INTO netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
    new_status, actor, certificate_id, related_certificate_id)
VALUES ('status_changed', now(), 'Status changed from ' || :'old_status' || ' to replaced', :'old_status',
        'replaced', '', :old, NULL);
