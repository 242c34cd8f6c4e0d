CREATE OR REPLACE FUNCTION promo.campaign_by_prefix(p_code text)
RETURNS bigint
LANGUAGE plpgsql STABLE
-- A custom plan per call would plan (and lock) every index of promo.promo_codes on each guess.
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    -- The campaign whose public prefix the (normalized) input starts with: the longest prefix,
    -- an ACTIVE campaign before others, then the newest. Prefixes are 2 to 16 characters, so
    -- the candidates are the input's first 2..16 characters, each an index lookup.
    RETURN (SELECT c.promo_code_id FROM promo.promo_codes AS c
            WHERE c.prefix = ANY (ARRAY(SELECT left(p_code, n) FROM generate_series(2, least(16, char_length(p_code))) AS n))
            ORDER BY char_length(c.prefix) DESC, c.status = 'ACTIVE' DESC, c.promo_code_id DESC
            LIMIT 1);
END
$$;
COMMENT ON FUNCTION promo.campaign_by_prefix(text) IS
    'The campaign a normalized guess is attributed to by its public prefix (for the brute-force guard), or NULL.';
