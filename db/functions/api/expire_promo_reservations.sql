CREATE OR REPLACE FUNCTION api.expire_promo_reservations(p_limit integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now      timestamptz := ops.now();
    v_expired  integer;
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 100000, 'p_limit', 'a batch is 1 to 100000 rows', NULL);
    -- Lock order slot -> redemption, as everywhere: slots are taken with SKIP LOCKED (a busy one
    -- waits for the next run), then the reservations, re-checked: a reservation consumed or
    -- extended meanwhile is left alone.
    WITH candidates AS (
        SELECT r.promo_redemption_id, r.promo_code_id, r.slot_no
        FROM promo.promo_redemptions AS r
        WHERE r.status = 'RESERVED' AND r.reserved_until <= v_now
        ORDER BY r.reserved_until
        LIMIT p_limit
    ), free_slots AS (
        SELECT s.promo_code_id, s.slot_no
        FROM promo.capacity_slots AS s
        WHERE (s.promo_code_id, s.slot_no) IN (SELECT c.promo_code_id, c.slot_no FROM candidates AS c)
        FOR UPDATE OF s SKIP LOCKED
    ), expired AS (
        -- promo.book_capacity releases each expired reservation's unit from its slot.
        UPDATE promo.promo_redemptions AS r
        SET status = 'EXPIRED', expired_at = v_now
        FROM candidates AS c JOIN free_slots AS f USING (promo_code_id, slot_no)
        WHERE r.promo_redemption_id = c.promo_redemption_id
          AND r.status = 'RESERVED' AND r.reserved_until <= v_now
        RETURNING r.promo_redemption_id
    )
    SELECT count(*) INTO v_expired FROM expired;
    RETURN v_expired;
END
$$;
COMMENT ON FUNCTION api.expire_promo_reservations(integer) IS
    'Job: RESERVED -> EXPIRED for holds that have passed (pre-checkout grace included), releasing their capacity, in one bounded batch; returns how many. Never expires a reservation consumed or extended meanwhile.';
