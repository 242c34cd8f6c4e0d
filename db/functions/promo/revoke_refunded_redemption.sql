CREATE OR REPLACE FUNCTION promo.revoke_refunded_redemption(
    p_purchase_id  bigint,
    p_actor        text
)
RETURNS TABLE (
    outcome              text,
    promo_redemption_id  bigint
)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_purchase    billing.purchases;
    v_redemption  promo.promo_redemptions;
BEGIN
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.purchase_id = p_purchase_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'purchase_not_found', MESSAGE = 'purchase not found',
            DETAIL = format('no purchase %s', p_purchase_id);
    END IF;
    -- Lock order: redemption, then purchase.
    IF v_purchase.promo_redemption_id IS NOT NULL THEN
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = v_purchase.promo_redemption_id
        FOR UPDATE;
    END IF;
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.purchase_id = p_purchase_id FOR UPDATE;
    IF v_purchase.status <> 'REFUNDED' THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'purchase_not_refunded', MESSAGE = 'purchase is not refunded',
            DETAIL = format('purchase %s is %s', p_purchase_id, v_purchase.status),
            HINT = 'Only a refunded purchase''s promo redemption is rolled back.';
    END IF;
    IF v_purchase.promo_redemption_id IS NULL THEN
        RETURN QUERY SELECT 'NO_PROMO', NULL::bigint;
        RETURN;
    END IF;
    IF v_redemption.status = 'REVOKED' THEN
        RETURN QUERY SELECT 'ALREADY_REVOKED', v_redemption.promo_redemption_id;
        RETURN;
    END IF;
    IF v_redemption.status <> 'CONSUMED' THEN
        -- Paid after its reservation had expired: nothing was consumed, nothing to revoke.
        RETURN QUERY SELECT 'NO_PROMO', v_redemption.promo_redemption_id;
        RETURN;
    END IF;
    -- used_total is not decremented: the unit stays spent (audit-conservative).
    UPDATE promo.promo_redemptions AS r
    SET status = 'REVOKED', revoked_at = ops.now(), revoked_reason = format('purchase %s refunded', p_purchase_id)
    WHERE r.promo_redemption_id = v_redemption.promo_redemption_id;
    PERFORM ops.write_audit(p_actor, 'promo.redemption_revoked', 'promo_redemption',
                            v_redemption.promo_redemption_id::text, 'purchase refunded',
                            jsonb_build_object('purchase_id', p_purchase_id));
    RETURN QUERY SELECT 'REVOKED', v_redemption.promo_redemption_id;
END
$$;
COMMENT ON FUNCTION promo.revoke_refunded_redemption(bigint, text) IS
    'Revokes the promo redemption a refunded purchase consumed: REVOKED, ALREADY_REVOKED or NO_PROMO; SP404/SP409 for a missing or unrefunded purchase.';
