CREATE OR REPLACE FUNCTION promo.record_attempt(
    p_user_id          bigint,
    p_idempotency_key  text,
    p_request_hash     bytea,
    p_result           api.redeem_result,
    p_now              timestamptz,
    p_attributed_to    bigint DEFAULT NULL,
    p_countable        boolean DEFAULT true
)
RETURNS api.redeem_result
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_result    api.redeem_result := p_result;
    -- p_countable false: a refusal decided from the code alone, which the throttle ignores
    -- (a wrong check character: docs/promo.md, "Batch codes").
    v_counted   boolean := p_countable AND NOT coalesce(p_result.replayed, false)
                           AND p_result.outcome NOT IN ('APPLIED', 'RESERVED', 'THROTTLED');
    v_after     bigint;
    v_blocked   timestamptz;
    v_failures  bigint;
BEGIN
    v_result.replayed := coalesce(v_result.replayed, false);
    IF v_counted THEN
        PERFORM promo.lock_user(p_user_id);
        -- The user's row mirrors the throttle state (promo.mirror_throttle): no other relation.
        SELECT u.promo_counting_after_attempt_id, u.promo_blocked_until INTO v_after, v_blocked
        FROM core.users AS u WHERE u.user_id = p_user_id;
        -- Nothing a blocked user does counts or extends the block.
        v_counted := NOT coalesce(v_blocked > p_now, false);
    END IF;
    IF v_counted THEN
        SELECT count(*) + 1 INTO v_failures
        FROM promo.promo_attempts AS a
        WHERE a.user_id = p_user_id AND a.counted
          AND a.created_at > p_now - ops.setting_interval('promo.throttle_window')
          AND a.attempt_id > coalesce(v_after, 0);
        IF v_failures >= ops.setting_integer('promo.throttle_max_failures') THEN
            v_result.blocked_until := p_now + ops.setting_interval('promo.throttle_block');
            PERFORM core.ensure_user(p_user_id);
            INSERT INTO promo.user_throttle AS t (user_id, blocked_until, blocked_at, updated_at)
            VALUES (p_user_id, v_result.blocked_until, p_now, p_now)
            ON CONFLICT ON CONSTRAINT user_throttle_pkey DO UPDATE
            SET blocked_until = excluded.blocked_until, blocked_at = excluded.blocked_at,
                updated_at = excluded.updated_at;
        END IF;
    END IF;

    INSERT INTO promo.promo_attempts (user_id, idempotency_key, request_hash, outcome, promo_code_id,
                                      promo_redemption_id, replayed, counted, created_at)
    -- promo_code_id: the campaign of the code, or for a NOT_FOUND guess the campaign whose public
    -- prefix it starts with (for the guard; never returned to the caller).
    VALUES (p_user_id, p_idempotency_key, p_request_hash, v_result.outcome,
            coalesce(v_result.promo_code_id, p_attributed_to),
            v_result.promo_redemption_id, v_result.replayed, v_counted, p_now);
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION promo.record_attempt(bigint, text, bytea, api.redeem_result, timestamptz, bigint, boolean) IS
    'Logs a redemption attempt; a counted refusal (any refusal unless p_countable is false) that reaches the threshold within the window blocks the user (blocked_until is set in the returned result).';
