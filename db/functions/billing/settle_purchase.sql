CREATE OR REPLACE FUNCTION billing.settle_purchase(
    p_purchase    billing.purchases,
    p_redemption  promo.promo_redemptions,
    p_charge_id   text,
    p_now         timestamptz
)
RETURNS api.complete_purchase_result
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_result  api.complete_purchase_result;
    v_reward  referral.rewards;
BEGIN
    -- The caller holds the locks (slot, redemption, purchase) and decided PAID.
    UPDATE billing.purchases AS p
    SET status = 'PAID', paid_at = p_now, telegram_payment_charge_id = p_charge_id
    WHERE p.purchase_id = p_purchase.purchase_id;
    PERFORM billing.use_purchase_reservation(p_purchase, p_redemption, p_now);
    v_result.premium_until := billing.book_purchase(p_purchase);
    v_reward := referral.offer_first_purchase_reward(p_purchase, p_now);
    v_result.outcome := 'PAID';
    v_result.purchase_id := p_purchase.purchase_id;
    v_result.referral_reward_id := v_reward.referral_reward_id;
    v_result.referrer_user_id := v_reward.referrer_user_id;
    v_result.replayed := false;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION billing.settle_purchase(billing.purchases, promo.promo_redemptions, text, timestamptz) IS
    'The PAID settlement of a locked purchase: PAID with the charge id, its reservation used, Stars and premium booked, a first-purchase referral reward offered; returns api.complete_purchase''s answer.';
