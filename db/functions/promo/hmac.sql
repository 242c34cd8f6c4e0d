CREATE OR REPLACE FUNCTION promo.hmac(p_text text, p_pepper bytea)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT extensions.hmac(convert_to(p_text, 'UTF8'), p_pepper, 'sha256') $$;
COMMENT ON FUNCTION promo.hmac(text, bytea) IS 'HMAC-SHA256 of a text under a pepper (NULL pepper gives NULL).';
