CREATE OR REPLACE FUNCTION core.check_user_id(p_user_id bigint)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF core.is_user_id(p_user_id) THEN
        RETURN;
    END IF;
    PERFORM ops.check_argument(false, 'p_user_id',
        format('user id %s is not a Telegram user id (1 to 2^53-1)', coalesce(p_user_id::text, 'NULL')),
        'Pass the numeric id of the Telegram user (from.id).');
END
$$;
COMMENT ON FUNCTION core.check_user_id(bigint) IS
    'Raises SP422 "invalid argument p_user_id" unless the id is a positive Telegram user id.';
