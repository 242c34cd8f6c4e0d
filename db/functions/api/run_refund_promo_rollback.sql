CREATE OR REPLACE FUNCTION api.run_refund_promo_rollback(
    p_limit  integer DEFAULT 100,
    p_actor  text DEFAULT 'job:refund_promo_rollback'
)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_candidate  record;
    v_revoked    integer := 0;
BEGIN
    PERFORM ops.check_argument(p_limit BETWEEN 1 AND 10000, 'p_limit', 'a batch is 1 to 10000 rows', NULL);
    PERFORM ops.check_actor(p_actor);
    -- Redemptions locked with SKIP LOCKED: a manual rollback or another run holding one is
    -- passed over, and whoever holds it finishes it.
    FOR v_candidate IN
        SELECT p.purchase_id
        FROM promo.promo_redemptions AS r
        JOIN billing.purchases AS p ON p.promo_redemption_id = r.promo_redemption_id
        WHERE r.status = 'CONSUMED' AND p.status = 'REFUNDED'
        ORDER BY p.refunded_at
        LIMIT p_limit
        FOR UPDATE OF r SKIP LOCKED
    LOOP
        IF (SELECT v.outcome FROM promo.revoke_refunded_redemption(v_candidate.purchase_id, p_actor) AS v) = 'REVOKED' THEN
            v_revoked := v_revoked + 1;
        END IF;
    END LOOP;
    RETURN v_revoked;
END
$$;
COMMENT ON FUNCTION api.run_refund_promo_rollback(integer, text) IS
    'Job: revokes the promo redemptions of refunded purchases in one SKIP LOCKED batch, audited as p_actor (the job, or the operator who runs it by hand); returns how many it revoked. Safe beside itself and the manual rollback.';
