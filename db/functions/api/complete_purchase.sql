CREATE OR REPLACE FUNCTION api.complete_purchase(
    p_user_id                     bigint,
    p_invoice_payload             text,
    p_telegram_payment_charge_id  text,
    p_currency                    text,
    p_total_amount                bigint
)
RETURNS TABLE (
    outcome             text,
    purchase_id         bigint,
    premium_until       timestamptz,
    referral_reward_id  bigint,
    referrer_user_id    bigint,
    replayed            boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now         timestamptz := ops.now();
    v_payment     billing.payments;
    v_purchase    billing.purchases;
    v_redemption  promo.promo_redemptions;
    v_outcome     text;
    v_until       timestamptz;
    v_reward_id   bigint;
    v_referrer    bigint;
    v_result      jsonb;
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

    -- The charge id is the payment's idempotency key: replays queue here, then see the answer.
    PERFORM pg_catalog.pg_advisory_xact_lock(ops.lock_class('billing.charge'), pg_catalog.hashtext(p_telegram_payment_charge_id));
    SELECT * INTO v_payment FROM billing.payments AS pm
    WHERE pm.telegram_payment_charge_id = p_telegram_payment_charge_id;
    IF FOUND THEN
        IF (v_payment.user_id, v_payment.invoice_payload, v_payment.currency, v_payment.total_amount)
           IS DISTINCT FROM (p_user_id, p_invoice_payload, p_currency, p_total_amount) THEN
            RAISE EXCEPTION USING ERRCODE = 'SP409', CONSTRAINT = 'charge_id_conflict', MESSAGE = 'charge id already recorded with other details',
                DETAIL = format('payment %s', v_payment.payment_id),
                HINT = 'A charge id identifies one payment; check the update that carried it.';
        END IF;
        RETURN QUERY SELECT r.outcome, r.purchase_id, r.premium_until, r.referral_reward_id,
                            r.referrer_user_id, true
                     FROM jsonb_to_record(v_payment.result) AS r(outcome text, purchase_id bigint,
                          premium_until timestamptz, referral_reward_id bigint, referrer_user_id bigint);
        RETURN;
    END IF;

    PERFORM core.ensure_user(p_user_id);
    -- The payer's user lock (as in redemption, before any slot): a referral registered for this
    -- user is either committed before the first payment looks for it, or refused as ALREADY_PAID.
    PERFORM promo.lock_user(p_user_id);
    SELECT * INTO v_purchase FROM billing.purchases AS p WHERE p.invoice_payload = p_invoice_payload;
    IF FOUND AND v_purchase.promo_redemption_id IS NOT NULL THEN
        -- Lock order: capacity slot, redemption, purchase (the consumption moves a slot unit).
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

    v_outcome := CASE
        WHEN v_purchase.purchase_id IS NULL THEN 'UNKNOWN_PURCHASE'
        WHEN v_purchase.status IN ('PAID', 'REFUNDED') THEN 'DUPLICATE'
        -- A cancelled purchase paid late whose discount another purchase has used meanwhile:
        -- the discount would be paid twice.
        WHEN EXISTS (SELECT FROM billing.purchases AS p
                     WHERE p.promo_redemption_id = v_purchase.promo_redemption_id
                       AND p.status IN ('PAID', 'REFUNDED') AND p.purchase_id <> v_purchase.purchase_id)
            THEN 'DUPLICATE'
        WHEN v_purchase.user_id <> p_user_id OR p_currency <> v_purchase.currency
             OR p_total_amount <> v_purchase.price_stars THEN 'MISMATCH'
        ELSE 'PAID'
    END;

    IF v_outcome = 'PAID' THEN
        UPDATE billing.purchases AS p
        SET status = 'PAID', paid_at = v_now, telegram_payment_charge_id = p_telegram_payment_charge_id
        WHERE p.purchase_id = v_purchase.purchase_id;
        -- The user was promised this price: the reservation is consumed even if its hold ran
        -- out meanwhile, unless the expiry job already released the unit (then it stays EXPIRED
        -- and operators are told).
        IF v_redemption.status = 'RESERVED' THEN
            UPDATE promo.promo_redemptions AS r SET status = 'CONSUMED', consumed_at = v_now
            WHERE r.promo_redemption_id = v_redemption.promo_redemption_id;
        ELSIF v_redemption.promo_redemption_id IS NOT NULL THEN
            PERFORM ops.raise_alert('payments.reservation_lost', 'warning',
                format('purchase %s was paid at its discounted price after reservation %s became %s',
                       v_purchase.purchase_id, v_redemption.promo_redemption_id, v_redemption.status),
                jsonb_build_object('purchase_id', v_purchase.purchase_id,
                                   'promo_redemption_id', v_redemption.promo_redemption_id,
                                   'redemption_status', v_redemption.status),
                'payments.reservation_lost:' || v_purchase.purchase_id);
        END IF;
        PERFORM billing.post_ledger_entry(p_user_id, 'PURCHASE_PAYMENT', v_purchase.purchase_id,
                                          p_stars => v_purchase.price_stars, p_actor => 'telegram');
        v_until := (billing.post_ledger_entry(p_user_id, 'PURCHASE_PREMIUM', v_purchase.purchase_id,
                                              p_premium_days => v_purchase.premium_days,
                                              p_actor => 'telegram')).premium_until_after;
        -- A referred user's first paid purchase earns the referrer one reward.
        SELECT rf.referrer_user_id INTO v_referrer FROM referral.referrals AS rf
        WHERE rf.referee_user_id = p_user_id;
        IF v_referrer IS NOT NULL AND NOT EXISTS (
            SELECT FROM billing.purchases AS p
            WHERE p.user_id = p_user_id AND p.status IN ('PAID', 'REFUNDED')
              AND p.purchase_id <> v_purchase.purchase_id) THEN
            INSERT INTO referral.rewards AS rw (referrer_user_id, referee_user_id, purchase_id, created_at)
            VALUES (v_referrer, p_user_id, v_purchase.purchase_id, v_now)
            ON CONFLICT (referee_user_id) DO NOTHING
            RETURNING rw.referral_reward_id INTO v_reward_id;
        END IF;
        IF v_reward_id IS NULL THEN
            v_referrer := NULL;
        END IF;
    ELSE
        PERFORM ops.raise_alert(
            CASE v_outcome WHEN 'MISMATCH' THEN 'payments.amount_mismatch'
                           WHEN 'DUPLICATE' THEN 'payments.duplicate_payment'
                           ELSE 'payments.unknown_purchase' END,
            'critical',
            left(format('payment %s (%s %s from user %s) did not settle a purchase: %s',
                        p_telegram_payment_charge_id, p_total_amount, p_currency, p_user_id, v_outcome), 500),
            jsonb_build_object('telegram_payment_charge_id', p_telegram_payment_charge_id,
                               'user_id', p_user_id, 'purchase_id', v_purchase.purchase_id,
                               'currency', p_currency, 'total_amount', p_total_amount,
                               'expected_amount', v_purchase.price_stars,
                               'expected_user_id', v_purchase.user_id),
            'payments:' || md5(p_telegram_payment_charge_id));
    END IF;

    v_result := jsonb_build_object('outcome', v_outcome, 'purchase_id', v_purchase.purchase_id,
                                   'premium_until', v_until, 'referral_reward_id', v_reward_id,
                                   'referrer_user_id', v_referrer);
    INSERT INTO billing.payments (telegram_payment_charge_id, user_id, invoice_payload, currency,
                                  total_amount, purchase_id, outcome, result, received_at)
    VALUES (p_telegram_payment_charge_id, p_user_id, p_invoice_payload, p_currency, p_total_amount,
            v_purchase.purchase_id, v_outcome, v_result, v_now);
    RETURN QUERY SELECT v_outcome, v_purchase.purchase_id, v_until, v_reward_id, v_referrer, false;
END
$$;
COMMENT ON FUNCTION api.complete_purchase(bigint, text, text, text, bigint) IS
    'Settles a successful_payment, idempotently by charge id: PAID (premium granted, reservation consumed, ledger written, referral reward offered on a first purchase), or MISMATCH / DUPLICATE / UNKNOWN_PURCHASE (recorded, alerted, nothing granted).';
