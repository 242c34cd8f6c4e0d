CREATE OR REPLACE FUNCTION api.get_promo_throttle(p_user_id bigint)
RETURNS TABLE (
    user_id             bigint,
    is_blocked          boolean,
    blocked_until       timestamptz,
    failures_in_window  bigint,
    max_failures        integer,
    window_length       interval,
    counting_since      timestamptz
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now     timestamptz := ops.now();
    v_window  interval := ops.setting_interval('promo.throttle_window');
    v_state   promo.user_throttle;
BEGIN
    PERFORM core.check_user_id(p_user_id);
    SELECT * INTO v_state FROM promo.user_throttle AS t WHERE t.user_id = p_user_id;
    RETURN QUERY
    SELECT p_user_id, coalesce(v_state.blocked_until > v_now, false),
           CASE WHEN v_state.blocked_until > v_now THEN v_state.blocked_until END,
           (SELECT count(*) FROM promo.promo_attempts AS a
            WHERE a.user_id = p_user_id AND a.counted AND a.created_at > v_now - v_window
              AND a.attempt_id > coalesce(v_state.counting_after_attempt_id, 0)),
           ops.setting_integer('promo.throttle_max_failures'), v_window, v_state.counting_since;
END
$$;
COMMENT ON FUNCTION api.get_promo_throttle(bigint) IS
    'A user''s redemption throttle: blocked and until when, counted failures in the sliding window, the threshold.';
