CREATE OR REPLACE FUNCTION billing.alert_unsettled_payment(
    p_outcome       text,
    p_purchase      billing.purchases,
    p_user_id       bigint,
    p_charge_id     text,
    p_currency      text,
    p_total_amount  bigint
)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    -- Telegram took the Stars but nothing was granted: an operator refunds or settles by hand.
    PERFORM ops.raise_alert(
        CASE p_outcome WHEN 'MISMATCH' THEN 'payments.amount_mismatch'
                       WHEN 'DUPLICATE' THEN 'payments.duplicate_payment'
                       ELSE 'payments.unknown_purchase' END,
        'critical',
        left(format('payment %s (%s %s from user %s) did not settle a purchase: %s',
                    p_charge_id, p_total_amount, p_currency, p_user_id, p_outcome), 500),
        jsonb_build_object('telegram_payment_charge_id', p_charge_id,
                           'user_id', p_user_id, 'purchase_id', p_purchase.purchase_id,
                           'currency', p_currency, 'total_amount', p_total_amount,
                           'expected_amount', p_purchase.price_stars,
                           'expected_user_id', p_purchase.user_id),
        'payments:' || md5(p_charge_id));
END
$$;
COMMENT ON FUNCTION billing.alert_unsettled_payment(text, billing.purchases, bigint, text, text, bigint) IS
    'Raises the critical alert of a confirmed payment that settled nothing (MISMATCH, DUPLICATE, UNKNOWN_PURCHASE).';
