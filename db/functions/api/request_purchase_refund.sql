CREATE OR REPLACE FUNCTION api.request_purchase_refund(
    p_purchase_id  bigint,
    p_actor        text,
    p_reason       text
)
RETURNS TABLE (
    purchase_id                 bigint,
    user_id                     bigint,
    telegram_payment_charge_id  text,
    status                      text,
    refund_request_id           bigint
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_purchase  billing.purchases;
    v_request   bigint;
BEGIN
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'a refund needs a reason of 1 to 1000 characters', NULL);
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.purchase_id = p_purchase_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SP404', CONSTRAINT = 'purchase_not_found', MESSAGE = 'purchase not found',
            DETAIL = format('no purchase %s', p_purchase_id);
    END IF;
    IF v_purchase.status NOT IN ('PAID', 'REFUNDED') THEN
        RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'purchase_not_paid', MESSAGE = 'purchase is not paid',
            DETAIL = format('purchase %s is %s', p_purchase_id, v_purchase.status),
            HINT = 'Only a paid purchase can be refunded.';
    END IF;
    -- The intent is on record before Telegram is asked: a crash between the two leaves a
    -- request an operator sees (billing.refund_requests without a REFUNDED purchase) and
    -- finishes by calling the refund endpoint again; a refund Telegram did make is recorded by
    -- `starpass payments reconcile`.
    IF v_purchase.status = 'PAID' THEN
        INSERT INTO billing.refund_requests (purchase_id, requested_at, actor, reason)
        VALUES (p_purchase_id, ops.now(), p_actor, btrim(p_reason))
        RETURNING refund_requests.refund_request_id INTO v_request;
        PERFORM ops.write_audit(p_actor, 'billing.refund_requested', 'purchase', p_purchase_id::text,
                                btrim(p_reason), jsonb_build_object('refund_request_id', v_request));
    END IF;
    RETURN QUERY SELECT v_purchase.purchase_id, v_purchase.user_id, v_purchase.telegram_payment_charge_id,
                        v_purchase.status, v_request;
END
$$;
COMMENT ON FUNCTION api.request_purchase_refund(bigint, text, text) IS
    'Records an operator''s refund request for a PAID purchase (audited) and returns what refundStarPayment needs; for a REFUNDED purchase records nothing and says so (status), so a retry does not ask Telegram again.';
