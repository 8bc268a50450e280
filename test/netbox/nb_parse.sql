-- nb_parse(pem): what the plugin's Python parser derives from a pasted PEM
-- (utils/parser.py), in the plugin's formats, for the replays: this
-- extension's ssl_netbox_fields computes exactly those values; Django sends
-- them as literals.
CREATE FUNCTION nb_parse(pem text) RETURNS SETOF ssl_netbox_fields
LANGUAGE sql AS $$ SELECT * FROM ssl_netbox_fields(pem) $$;
