CREATE OR REPLACE FUNCTION promo.hash_code(p_code text)
RETURNS bytea
LANGUAGE sql STABLE
AS $$ SELECT promo.hmac(promo.normalize_code(p_code), promo.pepper()) $$;
COMMENT ON FUNCTION promo.hash_code(text) IS
    'HMAC-SHA256 of the normalized code under promo.pepper: the only form in which a code is stored.';
