CREATE OR REPLACE FUNCTION api.rollover_promo_campaigns()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now      timestamptz := ops.now();
    v_expired  integer;
    v_depleted integer;
BEGIN
    -- Campaign rows only (SKIP LOCKED: an operator's change in flight wins this run).
    WITH due AS (
        SELECT c.promo_code_id FROM promo.promo_codes AS c
        WHERE c.status IN ('ACTIVE', 'PAUSED') AND c.ends_at <= v_now
        ORDER BY c.ends_at LIMIT 10000
        FOR UPDATE SKIP LOCKED
    )
    UPDATE promo.promo_codes AS c SET status = 'EXPIRED', expired_at = v_now, updated_at = v_now
    FROM due WHERE c.promo_code_id = due.promo_code_id;
    GET DIAGNOSTICS v_expired = ROW_COUNT;

    WITH due AS (
        SELECT c.promo_code_id FROM promo.promo_codes AS c
        WHERE c.status = 'ACTIVE' AND c.max_uses IS NOT NULL
          AND (SELECT sum(s.used) FROM promo.capacity_slots AS s WHERE s.promo_code_id = c.promo_code_id) >= c.max_uses
          AND NOT EXISTS (SELECT FROM promo.promo_redemptions AS r
                          WHERE r.promo_code_id = c.promo_code_id AND r.status = 'RESERVED')
        LIMIT 10000
        FOR UPDATE SKIP LOCKED
    )
    UPDATE promo.promo_codes AS c SET status = 'DEPLETED', depleted_at = v_now, updated_at = v_now
    FROM due WHERE c.promo_code_id = due.promo_code_id;
    GET DIAGNOSTICS v_depleted = ROW_COUNT;
    RETURN v_expired + v_depleted;
END
$$;
COMMENT ON FUNCTION api.rollover_promo_campaigns() IS
    'Job: ACTIVE/PAUSED -> EXPIRED after ends_at; ACTIVE -> DEPLETED when used_total reached max_uses and no reservation remains. Returns how many campaigns changed.';
