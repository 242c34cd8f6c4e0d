CREATE OR REPLACE FUNCTION promo.check_rotation(p_pepper_id bytea)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_pepper_min bytea;
    v_pepper_max bytea;
BEGIN
    -- Called without a previous pepper. During a rotation a code may exist under the previous
    -- pepper: a duplicate check without it would miss it, so creation waits for the previous
    -- pepper to be configured. The rotation is over when no live campaign carries another
    -- pepper (docs/promo.md): ended campaigns under a dropped pepper can never be redeemed, so
    -- they do not hold creation up. The smallest and largest live fingerprint are two index
    -- probes, however many campaigns exist.
    -- (No parameters: a generic plan cannot turn these into scans. bytea has no min/max.)
    v_pepper_min := (SELECT c.pepper_id FROM promo.promo_codes AS c
                     WHERE c.status IN ('ACTIVE', 'PAUSED') AND NOT c.internal
                     ORDER BY c.pepper_id LIMIT 1);
    v_pepper_max := (SELECT c.pepper_id FROM promo.promo_codes AS c
                     WHERE c.status IN ('ACTIVE', 'PAUSED') AND NOT c.internal
                     ORDER BY c.pepper_id DESC LIMIT 1);
    IF v_pepper_min <> p_pepper_id OR v_pepper_max <> p_pepper_id THEN
        RAISE EXCEPTION USING ERRCODE = 'SP500', CONSTRAINT = 'pepper_previous_not_set', MESSAGE = 'promo.pepper_previous is not set',
            DETAIL = 'campaigns hashed with another pepper exist (a rotation is under way)',
            HINT = 'Set PROMO_SECRET_PEPPER_PREVIOUS to the pepper used before the rotation.';
    END IF;
END
$$;
COMMENT ON FUNCTION promo.check_rotation(bytea) IS
    'Without a previous pepper: SP500 pepper_previous_not_set when live campaigns were hashed by a pepper other than this fingerprint''s (a rotation is under way). Shared by every function that creates codes.';
