-- Replay: deleting a device in the UI: NetBox's collector deletes the
-- device's services (GenericRelation) first, then the device. The plugin
-- itself leaves the assignments dangling. Input: :device.
-- Run it inside BEGIN ... COMMIT.
DELETE FROM ipam_service WHERE parent_object_type_id = (SELECT id FROM django_content_type
        WHERE app_label = 'dcim' AND model = 'device') AND parent_object_id IN (:device);
DELETE FROM dcim_device WHERE id IN (:device);
