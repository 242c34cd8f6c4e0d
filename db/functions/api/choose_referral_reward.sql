CREATE OR REPLACE FUNCTION api.choose_referral_reward(
    p_user_id    bigint,
    p_reward_id  bigint,
    p_choice     text
)
RETURNS TABLE (
    outcome              text,
    choice               text,
    premium_until        timestamptz,
    promo_redemption_id  bigint,
    reserved_until       timestamptz,
    replayed             boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now       timestamptz := ops.now();
    v_reward    referral.rewards;
    v_campaign  bigint;
    v_slot_no   smallint;
    v_until     timestamptz;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_value(p_choice, 'referral.reward_choice', 'p_choice');
    -- The first choice wins: a double tap or a replayed callback waits here, then replays.
    SELECT * INTO v_reward FROM referral.rewards AS rw WHERE rw.referral_reward_id = p_reward_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'NOT_FOUND', NULL::text, NULL::timestamptz, NULL::bigint, NULL::timestamptz, false;
        RETURN;
    ELSIF v_reward.referrer_user_id <> p_user_id THEN
        RETURN QUERY SELECT 'NOT_YOURS', NULL::text, NULL::timestamptz, NULL::bigint, NULL::timestamptz, false;
        RETURN;
    ELSIF v_reward.status = 'CANCELLED' THEN
        RETURN QUERY SELECT 'CANCELLED', NULL::text, NULL::timestamptz, NULL::bigint, NULL::timestamptz, false;
        RETURN;
    ELSIF v_reward.status = 'CHOSEN' THEN
        RETURN QUERY SELECT 'CHOSEN', v_reward.choice, v_reward.premium_until, v_reward.promo_redemption_id,
                            (SELECT r.reserved_until FROM promo.promo_redemptions AS r
                             WHERE r.promo_redemption_id = v_reward.promo_redemption_id), true;
        RETURN;
    END IF;

    IF p_choice = 'PREMIUM_DAYS' THEN
        v_reward.premium_until := (billing.post_ledger_entry(p_user_id, 'REFERRAL_PREMIUM', p_reward_id,
            p_premium_days => ops.setting_integer('referral.reward_premium_days'),
            p_actor => 'referral')).premium_until_after;
    ELSE
        -- A personal discount is a reservation of the code-less referral campaign, used through
        -- the normal purchase flow (api.init_purchase with this redemption).
        v_campaign := referral.discount_campaign_id();
        v_slot_no := promo.take_capacity(v_campaign, v_now);
        v_until := v_now + ops.setting_interval('referral.reward_discount_valid');
        INSERT INTO promo.promo_redemptions AS r (promo_code_id, slot_no, user_id, kind, status,
                                                  created_at, reserved_until)
        VALUES (v_campaign, v_slot_no, p_user_id, 'PERCENT_DISCOUNT', 'RESERVED', v_now, v_until)
        RETURNING r.promo_redemption_id INTO v_reward.promo_redemption_id;
    END IF;
    UPDATE referral.rewards AS rw
    SET status = 'CHOSEN', choice = p_choice, chosen_at = v_now, premium_until = v_reward.premium_until,
        promo_redemption_id = v_reward.promo_redemption_id
    WHERE rw.referral_reward_id = p_reward_id;
    RETURN QUERY SELECT 'CHOSEN', p_choice, v_reward.premium_until, v_reward.promo_redemption_id, v_until, false;
END
$$;
COMMENT ON FUNCTION api.choose_referral_reward(bigint, bigint, text) IS
    'The referrer''s one choice of reward: PREMIUM_DAYS (days now) or DISCOUNT (a personal reservation for a purchase). The first choice wins; replays and second choices return it with replayed = true.';
