CREATE OR REPLACE FUNCTION promo.pepper_id(p_pepper bytea)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT substr(promo.hmac('starpass:pepper-id', p_pepper), 1, 8) $$;
COMMENT ON FUNCTION promo.pepper_id(bytea) IS
    'An 8-byte fingerprint that tells peppers apart without revealing them.';
