CREATE OR REPLACE FUNCTION api.precheckout_purchase(
    p_user_id          bigint,
    p_invoice_payload  text,
    p_currency         text,
    p_total_amount     bigint
)
RETURNS TABLE (
    ok           boolean,
    refusal      text,
    purchase_id  bigint
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Telegram waits 10 s for the answer: a row held longer by a settlement fails fast (55P03).
SET lock_timeout = '2s'
AS $$
DECLARE
    v_now         timestamptz := ops.now();
    v_purchase    billing.purchases;
    v_redemption  promo.promo_redemptions;
    v_refusal     text;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.invoice_payload = p_invoice_payload;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, 'UNKNOWN_PAYLOAD', NULL::bigint;
        RETURN;
    END IF;

    -- Lock order: redemption, then purchase.
    IF v_purchase.promo_redemption_id IS NOT NULL THEN
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = v_purchase.promo_redemption_id
        FOR UPDATE;
    END IF;
    SELECT * INTO v_purchase FROM billing.purchases AS p
    WHERE p.purchase_id = v_purchase.purchase_id
    FOR UPDATE;

    v_refusal := CASE
        WHEN v_purchase.user_id <> p_user_id THEN 'OTHER_USER'
        WHEN v_purchase.status IN ('PAID', 'REFUNDED') THEN 'ALREADY_PAID'
        WHEN v_purchase.status = 'CANCELLED' THEN 'CANCELLED'
        WHEN p_currency IS DISTINCT FROM v_purchase.currency THEN 'WRONG_CURRENCY'
        WHEN p_total_amount IS DISTINCT FROM v_purchase.price_stars THEN 'WRONG_AMOUNT'
        WHEN NOT (SELECT pl.is_active FROM billing.plans AS pl WHERE pl.plan_code = v_purchase.plan_code)
            THEN 'PLAN_WITHDRAWN'
        WHEN v_purchase.promo_redemption_id IS NOT NULL
             AND (v_redemption.status <> 'RESERVED' OR v_redemption.reserved_until <= v_now)
            THEN 'RESERVATION_EXPIRED'
    END;
    IF v_refusal IS NOT NULL THEN
        RETURN QUERY SELECT false, v_refusal, v_purchase.purchase_id;
        RETURN;
    END IF;

    -- Hold the discount through the payment: the expiry job must not release it now.
    IF v_redemption.promo_redemption_id IS NOT NULL THEN
        UPDATE promo.promo_redemptions AS r
        SET reserved_until = greatest(r.reserved_until, v_now + ops.setting_interval('billing.precheckout_grace'))
        WHERE r.promo_redemption_id = v_redemption.promo_redemption_id;
    END IF;
    IF v_purchase.status = 'INIT' THEN
        UPDATE billing.purchases AS p SET status = 'PRECHECKOUT_OK', prechecked_at = v_now
        WHERE p.purchase_id = v_purchase.purchase_id;
    END IF;
    RETURN QUERY SELECT true, NULL::text, v_purchase.purchase_id;
END
$$;
COMMENT ON FUNCTION api.precheckout_purchase(bigint, text, text, bigint) IS
    'Answers Telegram''s pre_checkout_query: ok, or a refusal (UNKNOWN_PAYLOAD, OTHER_USER, ALREADY_PAID, CANCELLED, WRONG_CURRENCY, WRONG_AMOUNT, PLAN_WITHDRAWN, RESERVATION_EXPIRED); extends a discount''s hold by the grace period.';
