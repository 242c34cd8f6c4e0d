CREATE OR REPLACE FUNCTION api.touch_user(
    p_user_id        bigint,
    p_username       text DEFAULT NULL,
    p_first_name     text DEFAULT NULL,
    p_language_code  text DEFAULT NULL
)
RETURNS TABLE (
    user_id        bigint,
    username       text,
    first_name     text,
    language_code  text,
    created_at     timestamptz,
    updated_at     timestamptz,
    created        boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now  timestamptz := ops.now();
BEGIN
    PERFORM core.check_user_id(p_user_id);
    PERFORM ops.check_argument(p_username IS NULL OR p_username ~ '^[A-Za-z0-9_]{1,32}$', 'p_username',
        'a username is 1 to 32 letters, digits or underscores, without the @', NULL);
    PERFORM ops.check_argument(p_first_name IS NULL OR char_length(p_first_name) BETWEEN 1 AND 64,
        'p_first_name', 'a first name is 1 to 64 characters', NULL);
    PERFORM ops.check_argument(p_language_code IS NULL
                               OR p_language_code ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$',
        'p_language_code', format('%L is not an IETF language tag', p_language_code),
        'Pass Telegram''s from.language_code, e.g. de or pt-br.');

    -- The arguments are the user's current Telegram profile: they replace what was stored.
    INSERT INTO core.users AS u (user_id, username, first_name, language_code,
                                 created_at, updated_at, last_seen_at)
    VALUES (p_user_id, p_username, p_first_name, p_language_code, v_now, v_now, v_now)
    ON CONFLICT ON CONSTRAINT users_pkey DO UPDATE
    SET username      = excluded.username,
        first_name    = excluded.first_name,
        language_code = excluded.language_code,
        updated_at    = CASE
            WHEN (u.username, u.first_name, u.language_code)
                 IS DISTINCT FROM (excluded.username, excluded.first_name, excluded.language_code)
            THEN v_now ELSE u.updated_at END,
        last_seen_at  = v_now
    -- xmax is 0 only on a freshly inserted row version: the insert-or-update tell.
    RETURNING u.user_id, u.username, u.first_name, u.language_code, u.created_at, u.updated_at,
              u.xmax = 0
    INTO user_id, username, first_name, language_code, created_at, updated_at, created;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION api.touch_user(bigint, text, text, text) IS
    'Creates or updates a user from their current Telegram profile (username, first name, language); created tells which.';
