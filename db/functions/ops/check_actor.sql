CREATE OR REPLACE FUNCTION ops.check_actor(p_actor text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    -- Every change an operator or service makes is audited under this name.
    IF (char_length(p_actor) BETWEEN 1 AND 128) IS NOT TRUE THEN
        PERFORM ops.check_argument(false, 'p_actor', 'the actor is 1 to 128 characters',
            'Name the operator or service responsible.');
    END IF;
END
$$;
COMMENT ON FUNCTION ops.check_actor(text) IS
    'Raises SP422 "invalid argument p_actor" unless the actor is 1 to 128 characters.';
