CREATE OR REPLACE FUNCTION promo.take_capacity(p_promo_code_id bigint, p_now timestamptz)
RETURNS smallint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_slot_no  smallint;
    v_stale    record;
BEGIN
    -- 1. A free slot nobody holds: concurrent redemptions spread over the slots.
    SELECT s.slot_no INTO v_slot_no
    FROM promo.capacity_slots AS s
    WHERE s.promo_code_id = p_promo_code_id AND (s.capacity IS NULL OR s.used + s.held < s.capacity)
    ORDER BY random()
    LIMIT 1
    FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        RETURN v_slot_no;
    END IF;

    -- 2. Every slot with room is locked by a redemption in flight: wait for one. After the
    --    wait the row is re-checked, and a slot filled meanwhile is passed over.
    SELECT s.slot_no INTO v_slot_no
    FROM promo.capacity_slots AS s
    WHERE s.promo_code_id = p_promo_code_id AND (s.capacity IS NULL OR s.used + s.held < s.capacity)
    ORDER BY s.slot_no
    LIMIT 1
    FOR UPDATE;
    IF FOUND THEN
        RETURN v_slot_no;
    END IF;

    -- 3. A reservation whose hold ran out still holds its unit until the expiry job runs:
    --    expire it now and reuse the unit. Lock order: slot, then redemption.
    FOR v_stale IN
        SELECT r.promo_redemption_id, r.slot_no
        FROM promo.promo_redemptions AS r
        WHERE r.promo_code_id = p_promo_code_id AND r.status = 'RESERVED' AND r.reserved_until <= p_now
        ORDER BY r.reserved_until
        LIMIT 8
    LOOP
        PERFORM FROM promo.capacity_slots AS s
        WHERE s.promo_code_id = p_promo_code_id AND s.slot_no = v_stale.slot_no
        FOR UPDATE;
        UPDATE promo.promo_redemptions AS r
        SET status = 'EXPIRED', expired_at = p_now
        WHERE r.promo_redemption_id = v_stale.promo_redemption_id
          AND r.status = 'RESERVED' AND r.reserved_until <= p_now;
        IF FOUND THEN
            UPDATE promo.capacity_slots AS s SET held = s.held - 1
            WHERE s.promo_code_id = p_promo_code_id AND s.slot_no = v_stale.slot_no;
            RETURN v_stale.slot_no;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION promo.take_capacity(bigint, timestamptz) IS
    'Locks and returns a capacity slot of the campaign with one free unit (NULL: depleted, counting live reservations). The caller books the unit.';
