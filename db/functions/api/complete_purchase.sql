CREATE OR REPLACE FUNCTION api.complete_purchase(
    p_user_id                     bigint,
    p_invoice_payload             text,
    p_telegram_payment_charge_id  text,
    p_currency                    text,
    p_total_amount                bigint
)
RETURNS api.complete_purchase_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now         timestamptz := ops.now();
    v_key         text;
    v_hash        bytea := ops.request_hash(jsonb_build_array(p_user_id, p_invoice_payload, p_currency, p_total_amount));
    v_purchase    billing.purchases;
    v_redemption  promo.promo_redemptions;
    v_result      api.complete_purchase_result;
BEGIN
    PERFORM ops.require_read_committed('complete_purchase');
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(char_length(p_telegram_payment_charge_id) BETWEEN 1 AND 255,
        'p_telegram_payment_charge_id', 'a charge id is 1 to 255 characters', NULL);
    PERFORM ops.check_argument(char_length(p_invoice_payload) BETWEEN 1 AND 255, 'p_invoice_payload',
        'an invoice payload is 1 to 255 characters', NULL);
    PERFORM ops.check_argument(char_length(p_currency) BETWEEN 1 AND 16, 'p_currency',
        'a currency is 1 to 16 characters', NULL);
    PERFORM ops.check_argument(p_total_amount IS NOT NULL, 'p_total_amount', 'the amount is missing', NULL);

    -- The charge id is the payment's idempotency key, but Telegram does not promise it fits the
    -- key's rule (it may be longer than 128 characters or hold other characters): the key is its
    -- hex sha256. billing.payments keeps the charge id itself.
    v_key := encode(pg_catalog.sha256(convert_to(p_telegram_payment_charge_id, 'UTF8')), 'hex');
    v_result := ops.idempotent_answer(NULL::api.complete_purchase_result,
                                      ops.find_idempotent('billing.complete_purchase', v_key, v_hash));
    IF v_result.outcome = 'IDEMPOTENCY_CONFLICT' THEN
        -- Telegram never sends one charge id with two sets of details: someone or something
        -- forged or garbled a payment. Nothing is settled; an operator looks (the alert commits
        -- with this answer).
        PERFORM ops.raise_alert('payments.charge_id_conflict', 'critical',
            left(format('payment %s arrived again with other details (%s %s from user %s)',
                        p_telegram_payment_charge_id, p_total_amount, p_currency, p_user_id), 500),
            jsonb_build_object('telegram_payment_charge_id', p_telegram_payment_charge_id,
                               'user_id', p_user_id, 'currency', p_currency, 'total_amount', p_total_amount),
            'payments.charge_id_conflict:' || v_key);
        RETURN v_result;
    ELSIF v_result.outcome IS NOT NULL THEN
        RETURN v_result;  -- a replay
    END IF;

    -- Lock, in the one order: the payer (as in redemption, before any slot: a referral
    -- registered for this user is either committed before the first payment looks for it, or
    -- refused as ALREADY_PAID), the reservation's capacity slot (its consumption moves a unit),
    -- the reservation, the purchase.
    PERFORM core.ensure_user(p_user_id);
    PERFORM promo.lock_user(p_user_id);
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.invoice_payload = p_invoice_payload;
    IF FOUND AND v_purchase.promo_redemption_id IS NOT NULL THEN
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = v_purchase.promo_redemption_id;
        PERFORM FROM promo.capacity_slots AS s
        WHERE s.promo_code_id = v_redemption.promo_code_id AND s.slot_no = v_redemption.slot_no
        FOR UPDATE;
        SELECT * INTO v_redemption FROM promo.promo_redemptions AS r
        WHERE r.promo_redemption_id = v_purchase.promo_redemption_id
        FOR UPDATE;
    END IF;
    IF v_purchase.purchase_id IS NOT NULL THEN
        SELECT * INTO v_purchase FROM billing.purchases AS p
        WHERE p.purchase_id = v_purchase.purchase_id
        FOR UPDATE;
    END IF;

    -- Decide, from the locked rows.
    v_result.outcome := billing.settlement_outcome(v_purchase, p_user_id, p_currency, p_total_amount);

    -- Then record it, once.
    IF v_result.outcome = 'PAID' THEN
        v_result := billing.settle_purchase(v_purchase, v_redemption, p_telegram_payment_charge_id, v_now);
    ELSE
        PERFORM billing.alert_unsettled_payment(v_result.outcome, v_purchase, p_user_id,
                                                p_telegram_payment_charge_id, p_currency, p_total_amount);
        v_result.purchase_id := v_purchase.purchase_id;
        v_result.replayed := false;
    END IF;
    INSERT INTO billing.payments (telegram_payment_charge_id, user_id, invoice_payload, currency,
                                  total_amount, purchase_id, outcome, received_at)
    VALUES (p_telegram_payment_charge_id, p_user_id, p_invoice_payload, p_currency, p_total_amount,
            v_purchase.purchase_id, v_result.outcome, v_now);
    PERFORM ops.save_idempotent('billing.complete_purchase', v_key, v_hash, to_jsonb(v_result));
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.complete_purchase(bigint, text, text, text, bigint) IS
    'Settles a successful_payment, idempotently by charge id: PAID (premium granted, reservation consumed, ledger written, referral reward offered on a first purchase), or MISMATCH / DUPLICATE / UNKNOWN_PURCHASE (recorded, alerted, nothing granted); IDEMPOTENCY_CONFLICT (alerted, nothing recorded) for a charge id seen with other details.';
