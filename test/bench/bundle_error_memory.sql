-- Memory after errors: 5,000 ssl_import_bundle calls that fail in their
-- second pass (23505, with the reader and its CA set alive) must not grow the
-- backend. Run from the repository root in a fresh database:
--   psql -X -q -f test/bench/bundle_error_memory.sql
-- See docs/bulk-and-csr.md.
SET client_min_messages = warning;
CREATE EXTENSION netbox_ssl;
\set shuffled `cat test/fixtures/bundle-shuffled.pem`
SELECT count(*) FROM ssl_import_bundle(:'shuffled');
CREATE FUNCTION pg_temp.rss() RETURNS bigint LANGUAGE sql AS
  $$ SELECT substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM 'RssAnon:\s+(\d+)')::bigint $$;
CREATE FUNCTION pg_temp.fail_many(n int, b text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE failed int := 0;
BEGIN
  FOR i IN 1..n LOOP
    BEGIN
      PERFORM count(*) FROM ssl_import_bundle(b);
    EXCEPTION WHEN unique_violation THEN failed := failed + 1;
    END;
  END LOOP;
  RETURN failed;
END $$;
SELECT pg_temp.fail_many(500, :'shuffled');
SELECT pg_temp.rss() AS before \gset
SELECT pg_temp.fail_many(5000, :'shuffled');
SELECT pg_temp.rss() AS after \gset
SELECT :before AS rss_before_kb, :after AS rss_after_kb, :after - :before AS growth_kb;
