CREATE OR REPLACE FUNCTION api.check_pepper()
RETURNS TABLE (
    ok                boolean,
    outcome           text,
    current_matches   boolean,
    previous_matches  boolean,
    other_peppers     integer
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_current   bytea := promo.pepper_id(promo.pepper());
    v_previous  bytea := promo.pepper_id(promo.pepper(p_previous => true));  -- NULL: no rotation
    v_internal  bigint := referral.discount_campaign_id();
    v_in_use    bytea[];
BEGIN
    -- The fingerprints the live campaigns (ACTIVE, PAUSED: codes that can still be redeemed)
    -- were hashed under: a skip scan of promo_codes_live_pepper_idx (one index probe per
    -- distinct fingerprint, of which there are a handful), each kept when a campaign other
    -- than the code-less internal referral campaign carries it. The cost does not grow with
    -- the number of campaigns.
    WITH RECURSIVE fingerprints (pepper_id) AS (
        (SELECT c.pepper_id FROM promo.promo_codes AS c
         WHERE c.status IN ('ACTIVE', 'PAUSED') ORDER BY c.pepper_id LIMIT 1)
        UNION ALL
        SELECT (SELECT c.pepper_id FROM promo.promo_codes AS c
                WHERE c.status IN ('ACTIVE', 'PAUSED') AND c.pepper_id > f.pepper_id
                ORDER BY c.pepper_id LIMIT 1)
        FROM fingerprints AS f
        WHERE f.pepper_id IS NOT NULL
    )
    SELECT coalesce(array_agg(f.pepper_id), '{}') INTO v_in_use
    FROM fingerprints AS f
    WHERE f.pepper_id IS NOT NULL
      AND EXISTS (SELECT FROM promo.promo_codes AS c
                  WHERE c.status IN ('ACTIVE', 'PAUSED') AND c.pepper_id = f.pepper_id
                    AND c.promo_code_id IS DISTINCT FROM v_internal);

    current_matches := v_current = ANY (v_in_use);
    previous_matches := coalesce(v_previous = ANY (v_in_use), false);
    other_peppers := (SELECT count(*) FROM unnest(v_in_use) AS u (pepper_id)
                      WHERE u.pepper_id <> v_current AND u.pepper_id IS DISTINCT FROM v_previous);
    outcome := CASE
        WHEN cardinality(v_in_use) = 0 THEN 'NO_CAMPAIGNS'
        WHEN NOT (current_matches OR previous_matches) THEN 'MISMATCH'
        WHEN other_peppers > 0 THEN 'UNKNOWN_PEPPER'
        ELSE 'MATCH'
    END;
    ok := outcome <> 'MISMATCH';
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION api.check_pepper() IS
    'Whether the session''s promo.pepper (or promo.pepper_previous) is the one the live campaigns were hashed with: MATCH, NO_CAMPAIGNS, UNKNOWN_PEPPER (a warning: some campaigns use a third pepper) or MISMATCH (ok = false); SP500 without a pepper. Never reveals a pepper.';
