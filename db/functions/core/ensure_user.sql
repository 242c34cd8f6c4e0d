CREATE OR REPLACE FUNCTION core.ensure_user(p_user_id bigint)
RETURNS void
LANGUAGE sql VOLATILE
AS $$
    SELECT core.check_user_id(p_user_id);
    INSERT INTO core.users (user_id, created_at, updated_at, last_seen_at)
    VALUES (p_user_id, ops.now(), ops.now(), ops.now())
    ON CONFLICT (user_id) DO NOTHING;
$$;
COMMENT ON FUNCTION core.ensure_user(bigint) IS
    'Makes sure a user row exists (for callers that know only the id); never changes a profile.';
