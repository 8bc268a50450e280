-- Replay: deleting one assignment in the UI (reference §4, CertificateAssignment.delete).
-- Input: :cert, :model, :obj.
-- Run it inside BEGIN ... COMMIT.
SELECT a.id AS nb_assignment FROM netbox_ssl_certificateassignment a
  JOIN django_content_type ct ON ct.id = a.assigned_object_type_id
 WHERE a.certificate_id = :cert AND ct.model = :'model' AND a.assigned_object_id = :obj \gset
INSERT INTO netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
    new_status, actor, certificate_id, related_certificate_id)
VALUES ('assignment_removed', now(), 'Removed from ' || :'model' || ': ' || :obj, '', '', '', :cert, NULL);
DELETE FROM netbox_ssl_certificateassignment WHERE id IN (:nb_assignment);
UPDATE netbox_ssl_certificate SET last_updated = now() WHERE id = :cert;
