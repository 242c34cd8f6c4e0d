CREATE OR REPLACE FUNCTION api.cancel_abandoned_purchases(p_limit integer DEFAULT 100)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now        timestamptz := ops.now();
    v_cancelled  integer;
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 10000, 'p_limit', 'a batch is 1 to 10000 rows', NULL);
    -- A purchase being settled holds its row: SKIP LOCKED leaves it to the settlement. A payment
    -- that still arrives for a cancelled purchase settles it (CANCELLED -> PAID).
    WITH abandoned AS (
        SELECT p.purchase_id FROM billing.purchases AS p
        WHERE p.status IN ('INIT', 'PRECHECKOUT_OK')
          AND p.created_at <= v_now - ops.setting_interval('billing.purchase_abandon_after')
        ORDER BY p.created_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE billing.purchases AS p SET status = 'CANCELLED', cancelled_at = v_now
    FROM abandoned AS a WHERE p.purchase_id = a.purchase_id;
    GET DIAGNOSTICS v_cancelled = ROW_COUNT;
    RETURN v_cancelled;
END
$$;
COMMENT ON FUNCTION api.cancel_abandoned_purchases(integer) IS
    'Job: CANCELLED for open purchases older than billing.purchase_abandon_after, in one SKIP LOCKED batch; returns how many. A late payment still settles them.';
