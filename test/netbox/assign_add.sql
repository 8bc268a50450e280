-- Replay: adding an assignment in the UI (reference §5.2), one atomic block: run it inside BEGIN ... COMMIT.
-- Input: :cert (plugin certificate id), :model (device, service, virtualmachine), :obj.
SELECT id AS ct FROM django_content_type
 WHERE model = :'model' AND model IN ('service', 'device', 'virtualmachine') \gset
SELECT (1) AS dup FROM netbox_ssl_certificateassignment
 WHERE certificate_id = :cert AND assigned_object_type_id = :ct AND assigned_object_id = :obj LIMIT 1;
INSERT INTO netbox_ssl_certificateassignment (created, last_updated, custom_field_data,
    assigned_object_id, is_primary, notes, assigned_object_type_id, certificate_id)
VALUES (now(), now(), '{}', :obj, true, '', :ct, :cert) RETURNING id AS nb_assignment \gset
UPDATE netbox_ssl_certificate SET last_updated = now() WHERE id = :cert;
INSERT INTO netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
    new_status, actor, certificate_id, related_certificate_id)
VALUES ('assignment_added', now(), 'Assigned to ' || :'model' || ': ' || :obj, '', '', '', :cert, NULL);
