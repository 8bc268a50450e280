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
SELECT 'renewed events = activated events = successful renewals; replaced certificates = renewals - reverts'
       || '; renewal_reverted events = 2 x reverts = 2 x revoked certificates',
       CASE WHEN r = a AND a = ok_renewals AND rc = ok_renewals - ok_reverts AND rr = 2 * ok_reverts AND rv = ok_reverts
            THEN 'ok (' || r || ' renewals, ' || ok_reverts || ' reverts)'
            ELSE format('renewed %s, activated %s, replaced %s, counted renewals %s, reverted events %s, revoked %s, counted reverts %s',
                        r, a, rc, ok_renewals, rr, rv, ok_reverts) END
  FROM (SELECT (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'renewed') AS r,
               (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'activated') AS a,
               (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'renewal_reverted') AS rr,
               (SELECT count(*) FROM ssl_certificate WHERE status = 'replaced') AS rc,
               (SELECT count(*) FROM ssl_certificate WHERE status = 'revoked') AS rv,
               (SELECT coalesce(sum(n), 0) FROM load.outcome WHERE kind = 'renew' AND outcome = 'renewed') AS ok_renewals,
               (SELECT coalesce(sum(n), 0) FROM load.outcome WHERE kind = 'revert' AND outcome = 'reverted') AS ok_reverts) s
UNION ALL
SELECT 'imported events = certificates not created by a renewal',
       CASE WHEN i = c - a THEN 'ok (' || i || ')' ELSE format('imported %s, certificates %s, activated %s', i, c, a) END
  FROM (SELECT (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'imported') AS i,
               (SELECT count(*) FROM ssl_certificate) AS c,
               (SELECT count(*) FROM ssl_lifecycle_event WHERE event_type = 'activated') AS a) s
UNION ALL
-- Renewals and reverts move assignments without assignment events, so the
-- history is checked per object: added - removed events = rows assigned now.
SELECT 'per object: assignment_added - assignment_removed events = assignments now',
       CASE WHEN bad = 0 THEN format('ok (%s objects, %s added, %s removed events)', objects, added, removed)
            ELSE bad || ' objects disagree' END
  FROM (SELECT count(*) FILTER (WHERE coalesce(e.added, 0) - coalesce(e.removed, 0) <> coalesce(a.n, 0)) AS bad,
               count(*) AS objects, coalesce(sum(e.added), 0) AS added, coalesce(sum(e.removed), 0) AS removed
          FROM (SELECT object_type, object_id,
                       count(*) FILTER (WHERE event_type = 'assignment_added') AS added,
                       count(*) FILTER (WHERE event_type = 'assignment_removed') AS removed
                  FROM ssl_lifecycle_event WHERE event_type IN ('assignment_added', 'assignment_removed')
                 GROUP BY object_type, object_id) e
          FULL JOIN (SELECT object_type, object_id, count(*) AS n FROM ssl_assignment GROUP BY object_type, object_id) a
            USING (object_type, object_id)) s
UNION ALL
SELECT 'every assignment is on an active or expired certificate',
       CASE WHEN count(*) = 0 THEN 'ok' ELSE count(*) || ' violations' END
  FROM ssl_assignment a JOIN ssl_certificate c ON c.id = a.certificate_id WHERE c.status NOT IN ('active', 'expired')
UNION ALL
-- Janus mode (LOAD_MODE=janus); vacuous in the default mode.
SELECT 'janus: each family has exactly one certificate in service',
       CASE WHEN count(*) FILTER (WHERE n <> 1) = 0 THEN 'ok (' || count(*) || ' families)'
            ELSE count(*) FILTER (WHERE n <> 1) || ' families with ' || string_agg(DISTINCT n::text, '/') || ' in service' END
  FROM (SELECT f.f, (SELECT count(*) FROM ssl_certificate c
                      WHERE lower(c.common_name) = lower(f.cn) AND c.status IN ('active', 'expired')) AS n
          FROM load.family f) s
UNION ALL
SELECT 'janus: every block object is assigned exactly once, to its family''s certificate in service',
       CASE WHEN bad = 0 THEN 'ok (' || total || ' assignments)' ELSE bad || ' objects missing, doubled or misplaced' END
  FROM (SELECT count(*) FILTER (WHERE a.n IS DISTINCT FROM 1 OR a.cert <> load.active(o.f)) AS bad,
               coalesce(sum(a.n), 0) AS total
          FROM (SELECT f.f, load.big_object(f.f, g) AS object_id
                  FROM load.family f, generate_series(1, (SELECT value FROM load.setting WHERE name = 'assignments')) g) o
          LEFT JOIN (SELECT object_id, count(*) AS n, min(certificate_id) AS cert FROM ssl_assignment
                      WHERE object_type = 'load.big' GROUP BY object_id) a USING (object_id)) s
UNION ALL
SELECT 'no deadlock (40P01) and no unexpected error in any client',
       CASE WHEN count(*) = 0 THEN 'ok' ELSE string_agg(kind || ': ' || outcome || ' x' || n, '; ') END
  FROM load.outcome WHERE outcome LIKE 'DEADLOCK%' OR outcome LIKE 'UNEXPECTED%';
