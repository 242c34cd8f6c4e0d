CREATE OR REPLACE FUNCTION core.is_user_id(p_user_id bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    -- Telegram ids fit in 52 bits; the bound also keeps user lock keys (the id itself) clear of
    -- the migration lock key. NULL is not an id.
    SELECT coalesce(p_user_id BETWEEN 1 AND 9007199254740991, false)
$$;
COMMENT ON FUNCTION core.is_user_id(bigint) IS 'Whether a value is a Telegram user id (1 to 2^53-1).';
