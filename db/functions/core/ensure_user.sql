CREATE OR REPLACE FUNCTION core.ensure_user(p_user_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    IF NOT core.is_user_id(p_user_id) THEN  -- a plain IF: a PERFORM costs a query
        PERFORM core.check_user_id(p_user_id);
    END IF;
    INSERT INTO core.users (user_id, created_at, updated_at, last_seen_at)
    VALUES (p_user_id, v_now, v_now, v_now)
    ON CONFLICT (user_id) DO NOTHING;
END
$$;
COMMENT ON FUNCTION core.ensure_user(bigint) IS
    'Makes sure a user row exists (for callers that know only the id); never changes a profile.';
