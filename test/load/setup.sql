-- Load-test fixture: wrappers that turn the expected conflicts of a busy
-- inventory (a replacement someone else stored first, a certificate renewed
-- under our feet) into counted outcomes, so pgbench clients keep going.
CREATE SCHEMA load;
-- One row per outcome, appended (no shared counter row: a counter updated by
-- every client would serialise them and add lock waits of its own).
CREATE TABLE load.outcome_log (kind text NOT NULL, outcome text NOT NULL, rows bigint NOT NULL DEFAULT 1,
                               sample text);
CREATE VIEW load.outcome AS
    SELECT kind, outcome, count(*) AS n, sum(rows) AS rows, min(sample) AS sample
      FROM load.outcome_log GROUP BY kind, outcome;

CREATE FUNCTION load.count(kind text, outcome text, rows bigint DEFAULT 1, sample text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO load.outcome_log VALUES (kind, outcome, rows, sample)
$$;

-- Errors the extension reports by design, per kind of work (load janus mode);
-- any other SQLSTATE, and 40P01 above all, fails the run.
CREATE TABLE load.expected (kind text, sqlstate text, why text, PRIMARY KEY (kind, sqlstate));

CREATE FUNCTION load.random_active() RETURNS bigint LANGUAGE sql AS $$
    SELECT id FROM ssl_certificate
     WHERE status = 'active' AND id >= (SELECT floor(random() * max(id))::bigint FROM ssl_certificate)
     ORDER BY id LIMIT 1
$$;

CREATE FUNCTION load.import(k integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ssl_import(pem) FROM load.pool WHERE id = k;
    PERFORM load.count('import', 'stored');
EXCEPTION WHEN unique_violation THEN
    PERFORM load.count('import', 'already stored (23505)');
END $$;

CREATE FUNCTION load.renew(k integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old_id bigint := load.random_active();
BEGIN
    IF old_id IS NULL THEN RETURN; END IF;
    PERFORM ssl_renew(old_id, (SELECT pem FROM load.pool WHERE id = k), NULL, true);
    PERFORM load.count('renew', 'renewed');
EXCEPTION
    WHEN unique_violation THEN PERFORM load.count('renew', 'replacement already stored (23505)');
    WHEN object_not_in_prerequisite_state THEN PERFORM load.count('renew', 'renewed by someone else first (55000)');
END $$;

CREATE FUNCTION load.assign(k integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
    VALUES (load.random_active(), 'load.object', k);
    PERFORM load.count('assign', 'added');
EXCEPTION
    WHEN unique_violation THEN PERFORM load.count('assign', 'already assigned (23505)');
    WHEN object_not_in_prerequisite_state THEN PERFORM load.count('assign', 'certificate renewed meanwhile (55000)');
END $$;

CREATE FUNCTION load.read(k integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM id FROM ssl_certificate WHERE fingerprint_sha256 = (SELECT fp FROM load.pool WHERE id = k);
    PERFORM id FROM ssl_certificate WHERE lower(common_name) = lower((SELECT cn FROM load.pool WHERE id = k));
    PERFORM count(*) FROM ssl_expiring('7 days');
    PERFORM load.count('read', 'done');
END $$;

--------------------------------------------------------------------------
-- Janus mode (scripts/loadtest.sh with LOAD_MODE=janus, security item 13):
-- a few certificate families (one Common Name each) whose active certificate
-- carries thousands of assignments; clients renew and revert them while
-- others delete blocks of those assignments with one multi-row DELETE and
-- insert them again, and others add single assignments.
--------------------------------------------------------------------------
CREATE TABLE load.family (f integer PRIMARY KEY, cn text NOT NULL);
-- Fresh certificates of the family's Common Name, claimed once by a renewal.
CREATE TABLE load.fresh (f integer, seq integer, pem text NOT NULL, used boolean NOT NULL DEFAULT false,
                         PRIMARY KEY (f, seq));
CREATE TABLE load.setting (name text PRIMARY KEY, value bigint NOT NULL);

INSERT INTO load.expected VALUES
    ('renew', '55000', 'the certificate was renewed (or reverted) by another client first'),
    ('revert', '55000', 'nothing to revert, renewed again since, or assignments changed since the renewal'),
    ('reinsert', '55000', 'the certificate was renewed meanwhile (retried on the new one)'),
    ('insert', '55000', 'the certificate was renewed meanwhile'),
    ('insert', '23505', 'the object is already assigned to that certificate');

CREATE FUNCTION load.big_object(f integer, i bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS $$ SELECT f::bigint * 1000000 + i $$;

-- The family's certificate in service (the newest active or expired one).
CREATE FUNCTION load.active(fam integer) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT c.id FROM ssl_certificate c, load.family f
     WHERE f.f = fam AND lower(c.common_name) = lower(f.cn) AND c.status IN ('active', 'expired')
     ORDER BY c.id DESC LIMIT 1
$$;

-- Records an error outcome: SQLSTATE plus a sample message (no key material
-- can occur in these messages; they name ids and states).
CREATE FUNCTION load.error(kind text, state text, msg text) RETURNS void LANGUAGE sql AS $$
    SELECT load.count(kind, CASE WHEN state = '40P01' THEN 'DEADLOCK 40P01'
                                 WHEN EXISTS (SELECT 1 FROM load.expected e WHERE e.kind = error.kind AND e.sqlstate = state)
                                 THEN 'refused ' || state
                                 ELSE 'UNEXPECTED ' || state END, 1, left(msg, CASE WHEN state = '40P01' THEN 2000 ELSE 160 END))
$$;

CREATE FUNCTION load.renew_family(fam integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    old_id bigint := load.active(fam);
    detail text;
    fresh_pem text;
    new_id bigint;
BEGIN
    IF old_id IS NULL THEN PERFORM load.count('renew', 'UNEXPECTED no certificate in service'); RETURN 0; END IF;
    BEGIN
        -- Claimed inside the block: a refused renewal gives the certificate back.
        UPDATE load.fresh SET used = true
         WHERE (f, seq) = (SELECT r.f, r.seq FROM load.fresh r WHERE r.f = fam AND NOT r.used
                            ORDER BY r.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING pem INTO fresh_pem;
        IF fresh_pem IS NULL THEN PERFORM load.count('renew', 'skipped: no fresh certificate left'); RETURN 0; END IF;
        new_id := ssl_renew(old_id, fresh_pem);
        PERFORM load.count('renew', 'renewed', (SELECT count(*) FROM ssl_assignment WHERE certificate_id = new_id));
        RETURN new_id;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
        PERFORM load.error('renew', SQLSTATE, SQLERRM || coalesce(': ' || nullif(detail, ''), ''));
        RETURN 0;
    END;
END $$;

-- Reverts the renewal that produced the family's certificate in service (if
-- any: a certificate imported at setup has none, which ssl_revert_renewal
-- refuses with 55000 like any other refusal).
CREATE FUNCTION load.revert_family(fam integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    cur bigint := load.active(fam);
    detail text;
    back bigint;
BEGIN
    IF cur IS NULL THEN PERFORM load.count('revert', 'UNEXPECTED no certificate in service'); RETURN; END IF;
    back := ssl_revert_renewal(cur);
    PERFORM load.count('revert', 'reverted', (SELECT count(*) FROM ssl_assignment WHERE certificate_id = back));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    PERFORM load.error('revert', SQLSTATE, SQLERRM || coalesce(': ' || nullif(detail, ''), ''));
END $$;

-- One multi-row DELETE of a block of the family's assignments, by
-- certificate id (the statement of the 1.4 deadlock), in its own transaction.
CREATE FUNCTION load.delete_block(fam integer, b integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    blk bigint := (SELECT value FROM load.setting WHERE name = 'block');
    cur bigint := load.active(fam);
    detail text;
    n bigint;
BEGIN
    -- Rows locked in the unique index's order, the order ssl_renew and
    -- ssl_revert_renewal lock them in (docs/concurrency.md, lock order).
    DELETE FROM ssl_assignment d
     USING (SELECT l.id FROM ssl_assignment l
             WHERE l.certificate_id = cur AND l.object_type = 'load.big'
               AND l.object_id BETWEEN load.big_object(fam, b * blk + 1) AND load.big_object(fam, (b + 1) * blk)
             ORDER BY l.object_type, l.object_id FOR UPDATE) l
     WHERE d.id = l.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN PERFORM load.count('delete', 'deleted', n);
    ELSE PERFORM load.count('delete', 'nothing left to delete (moved or deleted meanwhile)'); END IF;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    PERFORM load.error('delete', SQLSTATE, SQLERRM || coalesce(': ' || nullif(detail, ''), ''));
END $$;

-- Puts a deleted block back on the family's certificate in service, in the
-- next transaction; a renewal committed in between refuses it (55000), and
-- it is retried on the new certificate.
CREATE FUNCTION load.reinsert_block(fam integer, b integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    blk bigint := (SELECT value FROM load.setting WHERE name = 'block');
    detail text;
    n bigint;
BEGIN
    FOR attempt IN 1..20 LOOP
        BEGIN
            INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
            SELECT load.active(fam), 'load.big', load.big_object(fam, g)
              FROM generate_series(b * blk + 1, (b + 1) * blk) g
            ON CONFLICT (certificate_id, object_type, object_id) DO NOTHING;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n > 0 THEN PERFORM load.count('reinsert', 'inserted', n);
            ELSE PERFORM load.count('reinsert', 'nothing missing'); END IF;
            RETURN;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
            PERFORM load.error('reinsert', SQLSTATE, SQLERRM || coalesce(': ' || nullif(detail, ''), ''));
            IF SQLSTATE <> '55000' THEN RETURN; END IF;
        END;
    END LOOP;
    PERFORM load.count('reinsert', 'UNEXPECTED gave up after 20 refusals');
END $$;

-- A plain single-row assignment insert on the family's certificate.
CREATE FUNCTION load.insert_one(fam integer, k integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (load.active(fam), 'load.extra', k);
    PERFORM load.count('insert', 'added');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    PERFORM load.error('insert', SQLSTATE, SQLERRM || coalesce(': ' || nullif(detail, ''), ''));
END $$;
