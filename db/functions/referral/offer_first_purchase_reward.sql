CREATE OR REPLACE FUNCTION referral.offer_first_purchase_reward(
    p_purchase  billing.purchases,
    p_now       timestamptz
)
RETURNS referral.rewards
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_referrer  bigint;
    v_reward    referral.rewards;
BEGIN
    -- A referred user's first paid purchase earns the referrer one reward. The payer's user lock
    -- (taken by the settlement) orders this against a registration for the same user.
    SELECT rf.referrer_user_id INTO v_referrer FROM referral.referrals AS rf
    WHERE rf.referee_user_id = p_purchase.user_id;
    IF v_referrer IS NOT NULL AND NOT EXISTS (
        SELECT FROM billing.purchases AS p
        WHERE p.user_id = p_purchase.user_id AND p.status IN ('PAID', 'REFUNDED')
          AND p.purchase_id <> p_purchase.purchase_id) THEN
        INSERT INTO referral.rewards AS rw (referrer_user_id, referee_user_id, purchase_id, created_at)
        VALUES (v_referrer, p_purchase.user_id, p_purchase.purchase_id, p_now)
        ON CONFLICT (referee_user_id) DO NOTHING
        RETURNING * INTO v_reward;
    END IF;
    RETURN v_reward;
END
$$;
COMMENT ON FUNCTION referral.offer_first_purchase_reward(billing.purchases, timestamptz) IS
    'Offers the referrer a reward (OFFERED) when this paid purchase is a referred user''s first; returns the reward, or a NULL row when none is due.';
