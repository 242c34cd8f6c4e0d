CREATE OR REPLACE FUNCTION promo.book_redemption(
    p_result   api.redeem_result,
    p_user_id  bigint,
    p_slot_no  smallint,
    p_now      timestamptz
)
RETURNS api.redeem_result
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_result  api.redeem_result := p_result;
BEGIN
    -- The caller holds the slot's row lock (promo.take_capacity); promo.book_capacity moves its
    -- counters with this insert.
    IF p_result.kind = 'PREMIUM_GRANT' THEN
        INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status, created_at)
        VALUES (p_result.promo_code_id, p_slot_no, p_user_id, p_result.kind, 'APPLIED', p_now)
        RETURNING promo_redemption_id INTO v_result.promo_redemption_id;
        v_result.premium_until := (billing.post_ledger_entry(p_user_id, 'PROMO_PREMIUM',
            v_result.promo_redemption_id, p_premium_days => p_result.grant_days,
            p_actor => 'promo')).premium_until_after;
        v_result.outcome := 'APPLIED';
    ELSE
        v_result.reserved_until := p_now + ops.setting_interval('promo.reservation_ttl');
        INSERT INTO promo.promo_redemptions (promo_code_id, slot_no, user_id, kind, status,
                                             created_at, reserved_until)
        VALUES (p_result.promo_code_id, p_slot_no, p_user_id, p_result.kind, 'RESERVED', p_now,
                v_result.reserved_until)
        RETURNING promo_redemption_id INTO v_result.promo_redemption_id;
        v_result.outcome := 'RESERVED';
    END IF;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION promo.book_redemption(api.redeem_result, bigint, smallint, timestamptz) IS
    'Books the unit a redemption decided to take: PREMIUM_GRANT -> APPLIED with its premium days in the ledger, PERCENT_DISCOUNT -> RESERVED until now + promo.reservation_ttl. Returns the result with the redemption id and its times.';
