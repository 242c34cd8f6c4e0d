CREATE OR REPLACE FUNCTION api.reset_promo_throttle(
    p_user_id  bigint,
    p_actor    text,
    p_reason   text
)
RETURNS TABLE (
    user_id             bigint,
    is_blocked          boolean,
    blocked_until       timestamptz,
    failures_in_window  bigint,
    max_failures        integer,
    window_length       interval,
    counting_since      timestamptz,
    changed             boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now     timestamptz := ops.now();
    v_before  record;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'an unblock needs a reason of 1 to 1000 characters', 'Say why, e.g. the support ticket.');
    PERFORM promo.lock_user(p_user_id);
    SELECT * INTO v_before FROM api.get_promo_throttle(p_user_id);
    IF v_before.is_blocked OR v_before.failures_in_window > 0 THEN
        PERFORM ops.write_audit(p_actor, 'promo.throttle_reset', 'user', p_user_id::text, p_reason,
            jsonb_build_object('blocked_until', v_before.blocked_until,
                               'failures_in_window', v_before.failures_in_window));
        PERFORM core.ensure_user(p_user_id);
        -- Under the user lock every counted attempt of this user has committed: the count
        -- restarts after the last of them.
        INSERT INTO promo.user_throttle AS t (user_id, counting_since, counting_after_attempt_id,
                                              updated_at)
        VALUES (p_user_id, v_now,
                (SELECT max(a.attempt_id) FROM promo.promo_attempts AS a
                 WHERE a.user_id = p_user_id AND a.counted),
                v_now)
        ON CONFLICT ON CONSTRAINT user_throttle_pkey DO UPDATE
        SET blocked_until = NULL, blocked_at = NULL, counting_since = excluded.counting_since,
            counting_after_attempt_id = excluded.counting_after_attempt_id,
            updated_at = excluded.updated_at;
    END IF;
    RETURN QUERY SELECT t.*, v_before.is_blocked OR v_before.failures_in_window > 0
                 FROM api.get_promo_throttle(p_user_id) AS t;
END
$$;
COMMENT ON FUNCTION api.reset_promo_throttle(bigint, text, text) IS
    'Support unblock: lifts a block and restarts the failure count (audited); a user with nothing to reset is left alone (changed = false).';
