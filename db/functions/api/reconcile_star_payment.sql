CREATE OR REPLACE FUNCTION api.reconcile_star_payment(
    p_telegram_payment_charge_id  text,
    p_user_id                     bigint,
    p_amount                      bigint,
    p_refunded                    boolean,
    p_actor                       text
)
RETURNS TABLE (
    outcome      text,
    purchase_id  bigint
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_payment   billing.payments;
    v_purchase  billing.purchases;
BEGIN
    -- One Stars transaction as Telegram's getStarTransactions lists it, against our records:
    -- MATCHED; REFUND_RECORDED (refunded at Telegram, now refunded here too); UNKNOWN_CHARGE or
    -- AMOUNT_DIFFERS (alerted for an operator: a payment we never recorded, or recorded otherwise).
    PERFORM ops.check_actor(p_actor);
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(char_length(p_telegram_payment_charge_id) BETWEEN 1 AND 255,
        'p_telegram_payment_charge_id', 'a charge id is 1 to 255 characters', NULL);
    SELECT * INTO v_payment FROM billing.payments AS p
    WHERE p.telegram_payment_charge_id = p_telegram_payment_charge_id;
    IF NOT FOUND THEN
        PERFORM ops.raise_alert('payments.unknown_charge', 'critical',
            format('Telegram lists a Stars payment of %s by user %s that was never recorded', p_amount, p_user_id),
            jsonb_build_object('user_id', p_user_id, 'amount', p_amount, 'refunded', p_refunded),
            'payments.unknown_charge:' || md5(p_telegram_payment_charge_id));
        RETURN QUERY SELECT 'UNKNOWN_CHARGE'::text, NULL::bigint;
        RETURN;
    END IF;
    IF v_payment.user_id <> p_user_id OR v_payment.total_amount <> p_amount THEN
        PERFORM ops.raise_alert('payments.reconcile_mismatch', 'critical',
            format('payment %s differs from Telegram''s record (user or amount)', v_payment.payment_id),
            jsonb_build_object('payment_id', v_payment.payment_id, 'amount', p_amount),
            'payments.reconcile_mismatch:' || v_payment.payment_id);
        RETURN QUERY SELECT 'AMOUNT_DIFFERS'::text, v_payment.purchase_id;
        RETURN;
    END IF;
    SELECT * INTO v_purchase FROM billing.purchases AS p
    WHERE p.telegram_payment_charge_id = p_telegram_payment_charge_id;
    IF p_refunded AND v_purchase.status = 'PAID' THEN
        PERFORM api.mark_purchase_refunded(p_telegram_payment_charge_id, p_actor,
                                           'refunded at Telegram (reconciliation)');
        RETURN QUERY SELECT 'REFUND_RECORDED'::text, v_purchase.purchase_id;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'MATCHED'::text, v_payment.purchase_id;
END
$$;
COMMENT ON FUNCTION api.reconcile_star_payment(text, bigint, bigint, boolean, text) IS
    'Reconciles one transaction from Telegram''s getStarTransactions: MATCHED, REFUND_RECORDED (marks the purchase refunded), UNKNOWN_CHARGE or AMOUNT_DIFFERS (critical alerts).';
