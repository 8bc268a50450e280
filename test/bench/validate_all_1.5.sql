-- The 1.5 ssl_validate_all (a PL/pgSQL loop: one ssl_chain_candidates, one
-- ssl_chain_verify and one UPDATE per certificate), kept verbatim as the
-- baseline of test/bench/validate.sh; installed as public.bench_validate_all_15.
SET search_path = public;
CREATE FUNCTION public.bench_validate_all_15() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER COST 1e+06
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    anchors bytea[];
    cert record;
    r record;
    n integer := 0;
    t timestamptz := now();
BEGIN
    -- Read once: the C function keeps one X509_STORE of the anchors for
    -- every call. Intermediates are looked up per certificate by name, so
    -- the cost does not grow with unrelated CA certificates.
    anchors := coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM public.ssl_trust_anchor AS a), '{}');
    FOR cert IN SELECT c.id, c.pem_content, c.issuer_chain, c.issuer, c.authority_key_id
                  FROM public.ssl_certificate AS c
                 WHERE c.status = 'active' ORDER BY c.id LOOP
        -- A bad stored issuer_chain is a verdict (invalid), never an error.
        r := netbox_ssl_internal.ssl_chain_verify(
                cert.pem_content, cert.issuer_chain, '{}', anchors, t, NULL,
                netbox_ssl_internal.ssl_chain_candidates(cert.issuer, cert.authority_key_id, cert.issuer_chain));
        UPDATE public.ssl_certificate AS c
           SET chain_status = r.status, chain_validated_at = t, chain_message = r.message, chain_depth = r.depth
         WHERE c.id = cert.id;
        n := n + 1;
        IF n % 10000 = 0 THEN
            RAISE NOTICE 'bench_validate_all_15: % certificates validated', n;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
RESET search_path;
