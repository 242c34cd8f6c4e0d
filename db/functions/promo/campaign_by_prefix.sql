CREATE OR REPLACE FUNCTION promo.campaign_by_prefix(p_code text)
RETURNS bigint
LANGUAGE plpgsql STABLE
-- A custom plan per call would plan (and lock) every index of promo.promo_codes on each guess.
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    -- The campaign whose public prefix the (normalized) input starts with: the longest prefix,
    -- an ACTIVE campaign before others, then the newest. Prefixes are 2 to 16 characters, so
    -- the candidates are the input's first 16..2 characters, longest first, each one backward
    -- probe of promo_codes_prefix_idx (prefix, ACTIVE, id): a batch's million campaigns under
    -- one prefix cost one probe, not a million rows sorted (migration 0025).
    RETURN (SELECT x.promo_code_id
            FROM generate_series(least(16, char_length(p_code)), 2, -1) AS n
            CROSS JOIN LATERAL (SELECT c.promo_code_id FROM promo.promo_codes AS c
                                WHERE c.prefix = left(p_code, n)
                                ORDER BY c.status = 'ACTIVE' DESC, c.promo_code_id DESC
                                LIMIT 1) AS x
            LIMIT 1);
END
$$;
COMMENT ON FUNCTION promo.campaign_by_prefix(text) IS
    'The campaign a normalized guess is attributed to by its public prefix (for the brute-force guard), or NULL.';
