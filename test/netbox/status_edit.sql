-- Replay: editing a certificate's status in the UI (a full-row save, then
-- Certificate.save()'s event). Input: :cert, :status.
SELECT status AS old_status FROM netbox_ssl_certificate WHERE id = :cert \gset
UPDATE netbox_ssl_certificate SET status = :'status', last_updated = now(),
       archived_at = CASE WHEN :'status' = 'archived' THEN now() ELSE archived_at END,
       common_name = common_name, pem_content = pem_content
 WHERE id = :cert;
INSERT INTO netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
    new_status, actor, certificate_id, related_certificate_id)
VALUES (CASE WHEN :'status' IN ('revoked', 'archived') THEN :'status' ELSE 'status_changed' END, now(),
        'Status changed from ' || :'old_status' || ' to ' || :'status', :'old_status', :'status', '', :cert, NULL);
