-- The inventory's invariants after concurrent load; each row must say ok.
SELECT 'no assignment points at a replaced certificate' AS invariant,
       CASE WHEN count(*) = 0 THEN 'ok' ELSE count(*) || ' violations' END AS result
  FROM ssl_assignment a JOIN ssl_certificate c ON c.id = a.certificate_id WHERE c.status = 'replaced'
UNION ALL
SELECT 'every replaced certificate has an active-or-later successor and a renewed event',
       CASE WHEN count(*) = 0 THEN 'ok' ELSE count(*) || ' violations' END
  FROM ssl_certificate c
 WHERE c.status = 'replaced'
   AND (c.replaced_by IS NULL
        OR NOT EXISTS (SELECT 1 FROM ssl_certificate s WHERE s.id = c.replaced_by)
        OR NOT EXISTS (SELECT 1 FROM ssl_lifecycle_event e
                        WHERE e.certificate_id = c.id AND e.event_type = 'renewed' AND e.related_certificate_id = c.replaced_by))
UNION ALL
SELECT 'no duplicate fingerprints',
       CASE WHEN count(*) = count(DISTINCT fingerprint_sha256) THEN 'ok' ELSE 'duplicates' END
  FROM ssl_certificate
UNION ALL
SELECT 'renewed events = activated events = replaced certificates = successful renewals',
       CASE WHEN r = a AND a = rc AND rc = ok_renewals THEN 'ok (' || r || ')'
            ELSE format('renewed %s, activated %s, replaced %s, counted %s', r, a, rc, ok_renewals) END
  FROM (SELECT (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'renewed') AS r,
               (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'activated') AS a,
               (SELECT count(*) FROM ssl_certificate WHERE status = 'replaced') AS rc,
               (SELECT coalesce(sum(n), 0) FROM load.outcome WHERE kind = 'renew' AND outcome = 'renewed') AS ok_renewals) s
UNION ALL
SELECT 'imported events = certificates not created by a renewal',
       CASE WHEN i = c - a THEN 'ok (' || i || ')' ELSE format('imported %s, certificates %s, activated %s', i, c, a) END
  FROM (SELECT (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'imported') AS i,
               (SELECT count(*) FROM ssl_certificate) AS c,
               (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'activated') AS a) s
UNION ALL
SELECT 'assignment_added events = assignments (none deleted in the load)',
       CASE WHEN e = n THEN 'ok (' || n || ')' ELSE format('events %s, assignments %s', e, n) END
  FROM (SELECT (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'assignment_added') AS e,
               (SELECT count(*) FROM ssl_assignment) AS n) s;
