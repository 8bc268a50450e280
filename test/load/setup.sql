-- Load-test fixture: wrappers that turn the expected conflicts of a busy
-- inventory (a replacement someone else stored first, a certificate renewed
-- under our feet) into counted outcomes, so pgbench clients keep going.
CREATE SCHEMA load;
CREATE TABLE load.outcome (kind text, outcome text, n bigint DEFAULT 0, PRIMARY KEY (kind, outcome));

CREATE FUNCTION load.count(kind text, outcome text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO load.outcome VALUES (kind, outcome, 1)
    ON CONFLICT (kind, outcome) DO UPDATE SET n = load.outcome.n + 1
$$;

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
