-- Replay: deleting a certificate in the UI (reference §4, §5.4): SET NULL
-- emulation, then children first, in one atomic block: run it inside BEGIN ... COMMIT. Input: :cert.
SELECT id FROM netbox_ssl_certificateassignment WHERE certificate_id IN (:cert);
SELECT id FROM netbox_ssl_compliancecheck WHERE certificate_id IN (:cert);
SELECT id FROM netbox_ssl_certificateeventlog WHERE certificate_id IN (:cert);
SELECT id FROM netbox_ssl_certificatelifecycleevent WHERE certificate_id IN (:cert);
UPDATE netbox_ssl_certificate SET replaced_by_id = NULL, last_updated = now() WHERE replaced_by_id IN (:cert);
UPDATE netbox_ssl_certificatesigningrequest SET resulting_certificate_id = NULL WHERE resulting_certificate_id IN (:cert);
UPDATE netbox_ssl_certificatelifecycleevent SET related_certificate_id = NULL WHERE related_certificate_id IN (:cert);
DELETE FROM netbox_ssl_compliancecheck WHERE certificate_id IN (:cert);
DELETE FROM netbox_ssl_certificateeventlog WHERE certificate_id IN (:cert);
DELETE FROM netbox_ssl_certificatelifecycleevent WHERE certificate_id IN (:cert);
DELETE FROM netbox_ssl_certificateassignment WHERE certificate_id IN (:cert);
DELETE FROM netbox_ssl_certificate WHERE id IN (:cert);
