CREATE OR REPLACE FUNCTION api.block_promo_user(
    p_user_id  bigint,
    p_until    timestamptz,
    p_actor    text,
    p_reason   text
)
RETURNS TABLE (
    user_id        bigint,
    blocked_until  timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_timestamp(p_until, 'p_until');
    PERFORM ops.check_argument(p_until > v_now AND p_until <= v_now + interval '365 days', 'p_until',
        'a block ends in the future, within a year', NULL);
    PERFORM ops.check_actor(p_actor);
    PERFORM ops.check_argument(char_length(btrim(p_reason)) BETWEEN 1 AND 1000, 'p_reason',
        'a block needs a reason of 1 to 1000 characters', NULL);
    -- The same lock and row as the throttle: redemptions answer THROTTLED until p_until.
    PERFORM promo.lock_user(p_user_id);
    PERFORM core.ensure_user(p_user_id);
    INSERT INTO promo.user_throttle AS t (user_id, blocked_until, blocked_at, updated_at)
    VALUES (p_user_id, p_until, v_now, v_now)
    ON CONFLICT ON CONSTRAINT user_throttle_pkey DO UPDATE
    SET blocked_until = excluded.blocked_until, blocked_at = excluded.blocked_at, updated_at = excluded.updated_at;
    PERFORM ops.write_audit(p_actor, 'promo.user_blocked', 'user', p_user_id::text, p_reason,
                            jsonb_build_object('until', p_until));
    RETURN QUERY SELECT p_user_id, p_until;
END
$$;
COMMENT ON FUNCTION api.block_promo_user(bigint, timestamptz, text, text) IS
    'Operator block: the user''s redemptions answer THROTTLED until p_until (audited); api.reset_promo_throttle lifts it.';
