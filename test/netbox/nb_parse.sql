-- nb_parse(pem): what the plugin's Python parser derives from a pasted PEM
-- (utils/parser.py), in the plugin's formats, for the replays. Uses
-- ssl_netbox_fields when installed (the exact formats), else our parser.
CREATE FUNCTION nb_parse(pem text)
    RETURNS TABLE (common_name text, serial_number text, fingerprint_sha256 text, issuer text,
                   issuer_chain text, valid_from timestamptz, valid_to timestamptz, sans text[],
                   key_size integer, algorithm text, pem_content text)
LANGUAGE plpgsql AS $$
DECLARE
    p ssl_certificate_info;
    hex text;
BEGIN
    IF to_regprocedure('ssl_netbox_fields(text)') IS NOT NULL THEN
        RETURN QUERY EXECUTE 'SELECT f.common_name, f.serial_number, f.fingerprint_sha256, f.issuer, f.issuer_chain,'
            ' f.valid_from, f.valid_to, f.sans, f.key_size, f.algorithm, f.pem_content FROM ssl_netbox_fields($1) f'
            USING pem;
        RETURN;
    END IF;
    p := ssl_parse(pem);
    hex := ltrim(replace(p.serial_number, ':', ''), '0');
    RETURN QUERY SELECT coalesce(p.common_name, 'Unknown'),
        regexp_replace(CASE WHEN hex = '' THEN '0' ELSE hex END, '(..)(?=.)', '\1:', 'g'),
        p.fingerprint_sha256, p.issuer, rtrim(p.issuer_chain, E'\n'), p.valid_from, p.valid_to, p.sans,
        CASE WHEN p.algorithm IN ('rsa', 'ecdsa') THEN p.key_size END,
        CASE WHEN p.algorithm IN ('rsa', 'ecdsa', 'ed25519') THEN p.algorithm ELSE 'unknown' END,
        rtrim(p.pem_content, E'\n');
END
$$;
