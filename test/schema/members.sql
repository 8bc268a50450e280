-- Lists the schema of the installed netbox_ssl extension from the catalogs,
-- one fact per line ("kind | object | detail"), without OIDs and sorted, so
-- that two databases can be compared with diff. pg_dump cannot be used: it
-- leaves extension members out. Used by test/schema/identity.sh.
--
-- Covered: every object the extension owns (pg_depend deptype 'e'):
-- functions (full definition: arguments, result, language, volatility,
-- strictness, parallel safety, SECURITY DEFINER, SET options, COST, ROWS,
-- body), tables, views, sequences and types with their columns (position,
-- type, NOT NULL, default, identity, generated, collation, column ACL),
-- constraints, indexes, triggers (and whether enabled), rules, policies,
-- view definitions, sequence parameters and state, comments on all of these,
-- ACLs and the initial privileges pg_dump relies on (pg_init_privs); the
-- extension's own row (version, pg_extension_config_dump markings), the ACL
-- of its schema, the extension's roles, and the rows of its config tables
-- (built-in seeds; timestamps of insertion are left out).
-- Column order counts: it is visible to SELECT * and to row types.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
\pset null '<null>'

CREATE FUNCTION pg_temp.nl(text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT replace(replace($1, E'\\', E'\\\\'), E'\n', E'\\n') $$;

-- Rows of the config tables, as JSON without timestamp columns, ordered.
CREATE FUNCTION pg_temp.config_rows() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    t regclass;
    drop_cols text[];
BEGIN
    FOR t IN SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'netbox_ssl' LOOP
        CONTINUE WHEN (SELECT relkind FROM pg_class WHERE oid = t) <> 'r';
        SELECT coalesce(array_agg(attname::text), '{}') INTO drop_cols FROM pg_attribute
         WHERE attrelid = t AND attnum > 0 AND NOT attisdropped
           AND atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype);
        RETURN QUERY EXECUTE format(
            'SELECT %L || '' | '' || (to_jsonb(r) - $1)::text FROM %s AS r ORDER BY 1', 'row ' || t::text, t)
            USING drop_cols;
    END LOOP;
END
$$;

WITH ext AS (
    SELECT oid, extname FROM pg_extension WHERE extname = 'netbox_ssl'
), members AS (
    SELECT d.classid, d.objid, d.objsubid, i.type, i.identity
      FROM pg_depend d, ext, LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) i
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rels AS (  -- tables, views, sequences, and the relations behind composite types
    SELECT m.identity AS owner, c.oid AS relid FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    SELECT m.identity, t.typrelid FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
     WHERE t.typrelid <> 0
), facts(f) AS (
    SELECT 'member | ' || type || ' ' || identity FROM members
    UNION ALL
    SELECT 'function | ' || m.identity || ' | ' || pg_temp.nl(pg_get_functiondef(p.oid))
      FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    SELECT 'acl | ' || m.identity || ' | ' || coalesce(p.proacl::text, '<default>')
      FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    SELECT 'relation | ' || r.owner || ' | kind=' || c.relkind::text || ' persistence=' || c.relpersistence::text
           || ' options=' || coalesce(c.reloptions::text, '') || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity
           || ' acl=' || coalesce(c.relacl::text, '<default>')
      FROM rels r JOIN pg_class c ON c.oid = r.relid
    UNION ALL
    SELECT 'column | ' || r.owner || ' | ' || lpad(row_number() OVER (PARTITION BY r.relid ORDER BY a.attnum)::text, 3, '0')
           || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
           || coalesce(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), '')
           || CASE a.attidentity WHEN '' THEN '' ELSE ' IDENTITY ' || a.attidentity::text END
           || CASE a.attgenerated WHEN '' THEN '' ELSE ' GENERATED ' || a.attgenerated::text END
           || coalesce(' COLLATE ' || nullif(co.collname, 'default'), '')
           || coalesce(' ACL ' || a.attacl::text, '')
           || coalesce(' STORAGE ' || nullif(a.attstorage, t.typstorage)::text, '')
      FROM rels r JOIN pg_attribute a ON a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
    UNION ALL
    SELECT 'comment | column ' || r.owner || '.' || a.attname || ' | ' || pg_temp.nl(d.description)
      FROM rels r JOIN pg_attribute a ON a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN pg_description d ON d.objoid = r.relid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
    UNION ALL
    SELECT 'constraint | ' || r.owner || ' | ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
           || CASE WHEN con.condeferrable THEN ' DEFERRABLE' ELSE '' END
           || CASE WHEN con.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END
           || CASE WHEN con.convalidated THEN '' ELSE ' NOT VALID' END
           || coalesce(' -- ' || pg_temp.nl(obj_description(con.oid, 'pg_constraint')), '')
      FROM rels r JOIN pg_constraint con ON con.conrelid = r.relid
    UNION ALL
    SELECT 'index | ' || r.owner || ' | ' || pg_get_indexdef(i.indexrelid)
           || coalesce(' -- ' || pg_temp.nl(obj_description(i.indexrelid, 'pg_class')), '')
      FROM rels r JOIN pg_index i ON i.indrelid = r.relid
    UNION ALL
    SELECT 'trigger | ' || r.owner || ' | ' || pg_get_triggerdef(tg.oid) || ' enabled=' || tg.tgenabled::text
           || coalesce(' -- ' || pg_temp.nl(obj_description(tg.oid, 'pg_trigger')), '')
      FROM rels r JOIN pg_trigger tg ON tg.tgrelid = r.relid AND NOT tg.tgisinternal
    UNION ALL
    SELECT 'rule | ' || r.owner || ' | ' || ru.rulename || ' ' || pg_temp.nl(pg_get_ruledef(ru.oid))
      FROM rels r JOIN pg_rewrite ru ON ru.ev_class = r.relid AND ru.rulename <> '_RETURN'
    UNION ALL
    SELECT 'policy | ' || r.owner || ' | ' || po.polname || ' ' || po.polcmd::text || ' ' || po.polpermissive
           || ' ' || coalesce(pg_get_expr(po.polqual, po.polrelid), '') || ' ' || coalesce(pg_get_expr(po.polwithcheck, po.polrelid), '')
      FROM rels r JOIN pg_policy po ON po.polrelid = r.relid
    UNION ALL
    SELECT 'view | ' || r.owner || ' | ' || pg_temp.nl(pg_get_viewdef(r.relid))
      FROM rels r JOIN pg_class c ON c.oid = r.relid AND c.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'sequence | ' || r.owner || ' | ' || format_type(s.seqtypid, NULL) || ' start=' || s.seqstart
           || ' inc=' || s.seqincrement || ' min=' || s.seqmin || ' max=' || s.seqmax || ' cache=' || s.seqcache
           || ' cycle=' || s.seqcycle
           || ' owned_by=' || coalesce((SELECT pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) || ' ' || d.deptype::text::text
                                          FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = r.relid
                                           AND d.refclassid = 'pg_class'::regclass AND d.deptype::text IN ('a', 'i')), '-')
           || ' state=' || coalesce(pg_sequence_last_value(r.relid)::text, 'unused')
      FROM rels r JOIN pg_sequence s ON s.seqrelid = r.relid
    UNION ALL
    SELECT 'type | ' || m.identity || ' | ' || t.typtype::text || ' ' || coalesce(t.typacl::text, '<default>')
      FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    SELECT 'comment | ' || m.type || ' ' || m.identity || ' | ' || pg_temp.nl(d.description)
      FROM members m JOIN pg_description d ON d.classoid = m.classid AND d.objoid = m.objid AND d.objsubid = 0
    UNION ALL  -- comments on composite types' attributes
    SELECT 'comment | type ' || m.identity || ' (relation) | ' || pg_temp.nl(d.description)
      FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
      JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = t.typrelid AND d.objsubid = 0
    UNION ALL
    SELECT 'init_privs | ' || i.type || ' ' || i.identity || ' | ' || ip.privtype::text || ' ' || ip.initprivs::text
      FROM pg_init_privs ip, LATERAL pg_identify_object(ip.classoid, ip.objoid, ip.objsubid) i
     WHERE EXISTS (SELECT 1 FROM members m WHERE m.classid = ip.classoid AND m.objid = ip.objoid)
    UNION ALL
    SELECT 'extension | ' || e.extname || ' | version=' || e.extversion || ' schema=' || e.extnamespace::regnamespace
           || ' relocatable=' || e.extrelocatable
      FROM pg_extension e WHERE e.extname = 'netbox_ssl'
    UNION ALL
    SELECT 'config_dump | ' || c.t::regclass::text || ' | ' || coalesce(c.cond, '')
      FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS c(t, cond) WHERE e.extname = 'netbox_ssl'
    UNION ALL
    SELECT 'schema | ' || n.nspname || ' | acl=' || coalesce(n.nspacl::text, '<default>')
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'netbox_ssl'
    UNION ALL
    SELECT 'role | ' || r.rolname || ' | login=' || r.rolcanlogin || ' inherit=' || r.rolinherit
           || ' member_of=' || coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members am
                                          JOIN pg_roles g ON g.oid = am.roleid WHERE am.member = r.oid), '')
           || ' comment=' || coalesce(shobj_description(r.oid, 'pg_authid'), '')
      FROM pg_roles r WHERE r.rolname LIKE 'netbox\_ssl\_%'
    UNION ALL
    SELECT * FROM pg_temp.config_rows()
)
SELECT f FROM facts ORDER BY f COLLATE "C";
