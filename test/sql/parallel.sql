-- ssl_parse is PARALLEL SAFE and costed as the expensive function it is, so
-- a scan that parses every row can run in parallel workers.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`
\set other `cat test/fixtures/other-cn.pem`
CREATE TABLE certs AS
SELECT CASE WHEN g % 2 = 0 THEN :'old' ELSE :'other' END AS pem FROM generate_series(1, 400) g;
ANALYZE certs;
SELECT proname, procost, proparallel, provolatile FROM pg_proc
 WHERE proname IN ('ssl_parse', 'ssl_import', 'ssl_renew') ORDER BY proname, procost;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT (ssl_parse(pem)).common_name, count(*) FROM certs GROUP BY 1;
-- The same query runs in the workers and gives the serial result.
SELECT (ssl_parse(pem)).common_name, count(*) FROM certs GROUP BY 1 ORDER BY 1;
RESET max_parallel_workers_per_gather;
SELECT (ssl_parse(pem)).common_name, count(*) FROM certs GROUP BY 1 ORDER BY 1;
DROP TABLE certs;
