CREATE OR REPLACE FUNCTION api.mark_purchase_refunded(
    p_telegram_payment_charge_id  text,
    p_actor                       text,
    p_reason                      text
)
RETURNS TABLE (
    outcome        text,
    purchase_id    bigint,
    premium_until  timestamptz,
    replayed       boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now       timestamptz := ops.now();
    v_purchase  billing.purchases;
    v_until     timestamptz;
BEGIN
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'a refund needs a reason of 1 to 1000 characters', NULL);
    SELECT * INTO v_purchase FROM billing.purchases AS p
    WHERE p.telegram_payment_charge_id = p_telegram_payment_charge_id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'paid_purchase_not_found', MESSAGE = 'paid purchase not found',
            DETAIL = 'no purchase was settled by this charge id',
            HINT = 'Payments that settled nothing are in billing.payments; refund them with Telegram directly.';
    END IF;
    IF v_purchase.status = 'REFUNDED' THEN
        -- The first answer: where the refund's own ledger entry left premium_until.
        SELECT l.premium_until_after INTO v_until FROM billing.ledger AS l
        WHERE l.kind = 'REFUND_PREMIUM' AND l.ref_type = 'purchase' AND l.ref_id = v_purchase.purchase_id;
        RETURN QUERY SELECT 'REFUNDED', v_purchase.purchase_id, v_until, true;
        RETURN;
    END IF;
    -- Lock order: reward before entitlement, as api.choose_referral_reward takes them.
    PERFORM FROM referral.rewards AS rw WHERE rw.purchase_id = v_purchase.purchase_id FOR UPDATE;

    UPDATE billing.purchases AS p
    SET status = 'REFUNDED', refunded_at = v_now, refund_actor = p_actor, refund_reason = p_reason
    WHERE p.purchase_id = v_purchase.purchase_id;
    PERFORM billing.post_ledger_entry(v_purchase.user_id, 'REFUND_PAYMENT', v_purchase.purchase_id,
                                      p_stars => -v_purchase.price_stars, p_actor => p_actor);
    v_until := (billing.post_ledger_entry(v_purchase.user_id, 'REFUND_PREMIUM', v_purchase.purchase_id,
                                          p_premium_days => -v_purchase.premium_days,
                                          p_actor => p_actor)).premium_until_after;
    -- A refund before the referrer chose cancels the offer; after the choice nothing is clawed back.
    UPDATE referral.rewards AS rw SET status = 'CANCELLED', cancelled_at = v_now
    WHERE rw.purchase_id = v_purchase.purchase_id AND rw.status = 'OFFERED';
    PERFORM ops.write_audit(p_actor, 'billing.purchase_refunded', 'purchase', v_purchase.purchase_id::text,
                            p_reason, jsonb_build_object('price_stars', v_purchase.price_stars,
                                                         'premium_days', v_purchase.premium_days));
    RETURN QUERY SELECT 'REFUNDED', v_purchase.purchase_id, v_until, false;
END
$$;
COMMENT ON FUNCTION api.mark_purchase_refunded(text, text, text) IS
    'PAID -> REFUNDED for the purchase a charge id settled, idempotently: debits its Stars and premium days, cancels a referral offer not yet chosen, audits. Leaves the promo redemption to the rollback.';
