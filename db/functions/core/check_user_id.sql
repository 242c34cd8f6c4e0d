CREATE OR REPLACE FUNCTION core.check_user_id(p_user_id bigint)
RETURNS void
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ops.check_argument(p_user_id > 0, 'p_user_id',
        format('user id %s is not a positive Telegram user id', coalesce(p_user_id::text, 'NULL')),
        'Pass the numeric id of the Telegram user (from.id).')
$$;
COMMENT ON FUNCTION core.check_user_id(bigint) IS
    'Raises SP422 "invalid argument p_user_id" unless the id is a positive Telegram user id.';
