CREATE OR REPLACE FUNCTION promo.has_capacity(p_promo_code_id bigint, p_now timestamptz)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- As committed now: a slot with room, or a reservation whose hold has run out (its unit is
    -- free for the taking). Takes no locks.
    -- Two statements, not one OR: the second (and its index) is rarely needed.
    IF EXISTS (SELECT FROM promo.capacity_slots AS s
               WHERE s.promo_code_id = p_promo_code_id
                 AND (s.capacity IS NULL OR s.used + s.held < s.capacity)) THEN
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT FROM promo.promo_redemptions AS r
                   WHERE r.status = 'RESERVED' AND r.reserved_until <= p_now
                     AND r.promo_code_id = p_promo_code_id);
END
$$;
COMMENT ON FUNCTION promo.has_capacity(bigint, timestamptz) IS
    'Whether the campaign has a free unit at p_now, live reservations counted (committed state, no locks).';
