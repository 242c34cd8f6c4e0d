CREATE OR REPLACE FUNCTION api.register_referral(p_referee_user_id bigint, p_referral_code text)
RETURNS TABLE (
    outcome           text,
    referrer_user_id  bigint
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_referrer  bigint;
    v_existing  bigint;
BEGIN
    PERFORM core.check_user_id(p_referee_user_id);
    -- Registrations are rare; one lock for all of them makes the cycle check exact.
    PERFORM pg_catalog.pg_advisory_xact_lock(ops.lock_class('referral.registration'), 0);
    -- Against the referee's first payment, which takes the same user lock.
    PERFORM promo.lock_user(p_referee_user_id);
    SELECT c.user_id INTO v_referrer FROM referral.codes AS c
    WHERE c.code = upper(regexp_replace(coalesce(p_referral_code, ''), '\s', '', 'g'));
    SELECT r.referrer_user_id INTO v_existing FROM referral.referrals AS r
    WHERE r.referee_user_id = p_referee_user_id;

    outcome := CASE
        WHEN v_referrer IS NULL THEN 'UNKNOWN_CODE'
        WHEN v_referrer = p_referee_user_id THEN 'SELF_REFERRAL'
        WHEN v_existing IS NOT NULL THEN 'ALREADY_REFERRED'
        WHEN EXISTS (SELECT FROM billing.purchases AS p
                     WHERE p.user_id = p_referee_user_id AND p.status IN ('PAID', 'REFUNDED'))
            THEN 'ALREADY_PAID'
        -- A cycle: the referee is already above the referrer in the referral chain.
        WHEN EXISTS (
            WITH RECURSIVE chain(user_id) AS (
                SELECT v_referrer
                UNION
                SELECT r.referrer_user_id FROM referral.referrals AS r JOIN chain ON r.referee_user_id = chain.user_id)
            SELECT FROM chain WHERE chain.user_id = p_referee_user_id)
            THEN 'CYCLE'
        ELSE 'REGISTERED'
    END;
    IF outcome = 'REGISTERED' THEN
        PERFORM core.ensure_user(p_referee_user_id);
        INSERT INTO referral.referrals (referee_user_id, referrer_user_id, created_at)
        VALUES (p_referee_user_id, v_referrer, ops.now());
    END IF;
    referrer_user_id := CASE WHEN outcome = 'ALREADY_REFERRED' THEN v_existing
                             WHEN outcome = 'REGISTERED' THEN v_referrer END;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION api.register_referral(bigint, text) IS
    'Records who referred a user: REGISTERED, or UNKNOWN_CODE, SELF_REFERRAL, ALREADY_REFERRED (the first wins), ALREADY_PAID, CYCLE.';
